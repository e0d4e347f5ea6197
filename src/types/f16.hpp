// F16 and BF16: rows of 16-bit floats (IEEE half; bfloat16, the top half of an fp32). Products
// read the input rounded to the same 16-bit format (InputFormat::F16 / BF16), as llama.cpp's CPU
// backend pairs them, and sum exact fp32 products (a product of two 16-bit floats fits an fp32)
// in fp32: the reference adds them one by one, j ascending; other sets add in their own order,
// as for F32.
#pragma once

#include <cmath>

#include "loader/fp16.hpp"
#include "types/types.hpp"

namespace llamaport {

inline float bf16_to_fp32(uint16_t h) {
    const uint32_t bits = uint32_t(h) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

// Rounds to nearest, ties to even, as ggml's GGML_FP32_TO_BF16; a NaN stays a (quiet) NaN.
inline uint16_t fp32_to_bf16(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return uint16_t((u >> 16) | 64);
    return uint16_t((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

namespace types {

template <float (*Widen)(uint16_t)>
struct Half16 {
    static size_t row_bytes(size_t cols, size_t) { return cols * 2; }
    static float value(const uint8_t* p, size_t j) { return Widen(load_u16(p + 2 * j)); }
    static void dequantize_row(const Matrix& m, size_t r, float* out) {
        const uint8_t* row = m.row(r);
        for (size_t j = 0; j < m.cols; j++) out[j] = value(row, j);
    }
    static float row_dot(const uint8_t* w, const uint8_t* x, size_t n) {
        float sum = 0.0f;
        for (size_t j = 0; j < n; j++) sum += value(w, j) * value(x, j);
        return sum;
    }
    static void product(float* y, size_t y_stride, const Matrix& w, const uint8_t* in,
                        size_t in_stride, size_t columns, size_t row_begin, size_t row_end) {
        for (size_t c = 0; c < columns; c++)
            for (size_t r = row_begin; r < row_end; r++)
                y[c * y_stride + r] = row_dot(w.row(r), in + c * in_stride, w.cols);
    }
};
// fp32 values to 16-bit floats in host order, for writers.
template <uint16_t (*Narrow)(float)>
void narrow_row(uint8_t* out, const float* x, size_t n) {
    for (size_t j = 0; j < n; j++) {
        const uint16_t h = Narrow(x[j]);
        std::memcpy(out + 2 * j, &h, 2);
    }
}

using F16Rows = Half16<fp16_to_fp32>;
using BF16Rows = Half16<bf16_to_fp32>;

// The inputs: one 16-bit float per value.
inline size_t half_input_bytes(const Matrix& w) { return w.cols * 2; }
template <uint16_t (*Narrow)(float)>
void narrow_input(uint8_t* out, const Matrix& w, const float* x, size_t, size_t) {
    for (size_t j = 0; j < w.cols; j++) {
        const uint16_t h = Narrow(x[j]);
        std::memcpy(out + 2 * j, &h, 2);
    }
}

inline constexpr WeightTypeInfo f16_type = {
    WeightType::F16, "f16", 1, 1, 2, {{0, 2}}, InputFormat::F16, 16,
    F16Rows::row_bytes, F16Rows::dequantize_row, F16Rows::product, nullptr,
    narrow_row<fp32_to_fp16>};

inline constexpr WeightTypeInfo bf16_type = {
    WeightType::BF16, "bf16", 30, 1, 2, {{0, 2}}, InputFormat::BF16, 16,
    BF16Rows::row_bytes, BF16Rows::dequantize_row, BF16Rows::product, nullptr,
    narrow_row<fp32_to_bf16>};

}  // namespace types
}  // namespace llamaport
