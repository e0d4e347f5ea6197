// IEEE 754 half precision <-> single precision, on the bit patterns (host-independent: the
// caller reads or writes the 16 bits in the file's byte order through byte_order.hpp).
// fp32_to_fp16 rounds to nearest, ties to even, as ggml's GGML_FP32_TO_FP16 does, so scales we
// write are bit-identical to llama.cpp's.
#pragma once

#include <cstdint>
#include <cstring>

namespace llamaport {

inline float fp16_to_fp32(uint16_t h) {
    const uint32_t sign = uint32_t(h & 0x8000) << 16;
    const uint32_t exponent = (h >> 10) & 0x1F;
    uint32_t mantissa = h & 0x3FF;
    uint32_t bits;
    if (exponent == 0x1F) {
        bits = sign | 0x7F800000 | (mantissa << 13);  // inf, or NaN keeping its payload
    } else if (exponent != 0) {
        bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
    } else if (mantissa == 0) {
        bits = sign;
    } else {
        // Subnormal half: normalise the mantissa; every half subnormal is a normal float.
        uint32_t e = 113;
        while (!(mantissa & 0x400)) {
            mantissa <<= 1;
            e--;
        }
        bits = sign | (e << 23) | ((mantissa & 0x3FF) << 13);
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

inline uint16_t fp32_to_fp16(float f) {
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    const uint16_t sign = uint16_t((bits >> 16) & 0x8000);
    const uint32_t magnitude = bits & 0x7FFFFFFF;
    if (magnitude > 0x7F800000) return sign | 0x7E00;  // NaN: the quiet NaN ggml writes
    // 65520 (0x477FF000) is halfway between the largest half, 65504, and 2^16; ties go to the
    // even neighbour, which is infinity.
    if (magnitude >= 0x477FF000) return sign | 0x7C00;
    const uint32_t exponent = magnitude >> 23;
    if (exponent >= 113) {
        // Normal half: rebias the exponent, drop 13 mantissa bits, round (a carry into the
        // exponent field is the correct result).
        uint32_t h = ((exponent - 112) << 10) | ((magnitude >> 13) & 0x3FF);
        const uint32_t rest = magnitude & 0x1FFF;
        if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) h++;
        return uint16_t(sign | h);
    }
    // Subnormal half (or zero): the value in units of 2^-24 is significand >> (126 - exponent).
    if (exponent < 102) return sign;  // below 2^-25: rounds to zero
    const uint32_t significand = (magnitude & 0x7FFFFF) | 0x800000;
    const uint32_t shift = 126 - exponent;  // 14..24
    uint32_t h = significand >> shift;
    const uint32_t rest = significand & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rest > half || (rest == half && (h & 1))) h++;  // may carry into the smallest normal
    return uint16_t(sign | h);
}

}  // namespace llamaport
