// Q4_K: ggml's block_q4_K, 256 values of 4 bits in 8 groups of 32, each group a 6-bit scale and
// a 6-bit min, two fp16 factors (144 bytes): d, dmin, scales[12] (k_scale_min), qs[128]. Value
// i = d * scale * q - dmin * min; values 64c + l and 64c + 32 + l (l < 32) are the low and high
// nibbles of qs[32c + l].
#pragma once

#include "types/k_quants.hpp"

namespace llamaport::types {

struct Q4K {
    static constexpr size_t bytes = 144, d = 0, dmin = 2, scales = 4, qs = 16;
    static constexpr int offset = 0;
    static constexpr bool has_min = true;

    static void unpack_values(const uint8_t* block, uint8_t* u) {
        for (size_t c = 0; c < 4; c++)
            for (size_t l = 0; l < 32; l++) {
                u[64 * c + l] = block[qs + 32 * c + l] & 0xF;
                u[64 * c + 32 + l] = block[qs + 32 * c + l] >> 4;
            }
    }
    static void unpack_header(const uint8_t* block, KBlock& out) {
        k_unpack_scale_mins(block + scales, out);
        out.d = fp16_to_fp32(load_u16(block + d));
        out.dmin = fp16_to_fp32(load_u16(block + dmin));
    }
};

// A simple quantizer from the format's definition (not llama-quantize's search): each group of 32
// spans [min(0, lowest), highest] in 15 steps; d and dmin give the largest step and min 63 units;
// a group's scale rounds up (its range is covered), its min to nearest, and each value rounds
// against the stored d * scale and dmin * min.
inline void q4_k_quantize_row(uint8_t* out, const float* x, size_t n) {
    for (size_t b = 0; b < n / k_values; b++, x += k_values, out += Q4K::bytes) {
        float step[8], low[8], top_step = 0.0f, top_low = 0.0f;
        for (size_t j = 0; j < 8; j++) {
            float lo = 0.0f, hi = 0.0f;
            for (size_t i = 32 * j; i < 32 * j + 32; i++) {
                if (x[i] < lo) lo = x[i];
                if (x[i] > hi) hi = x[i];
            }
            step[j] = (hi - lo) / 15.0f;
            low[j] = -lo;
            top_step = std::fmax(top_step, step[j]);
            top_low = std::fmax(top_low, low[j]);
        }
        std::memset(out, 0, Q4K::bytes);
        k_put_half(out + Q4K::d, top_step / 63.0f);
        k_put_half(out + Q4K::dmin, top_low / 63.0f);
        const float d = fp16_to_fp32(load_u16(out + Q4K::d));
        const float dmin = fp16_to_fp32(load_u16(out + Q4K::dmin));
        int scale[8], min[8];
        for (size_t j = 0; j < 8; j++) {
            scale[j] = d > 0.0f ? k_round(std::ceil(step[j] / d), 0.0f, 63.0f) : 0;
            min[j] = dmin > 0.0f ? k_round(low[j] / dmin, 0.0f, 63.0f) : 0;
            const float unit = d * float(scale[j]), shift = dmin * float(min[j]);
            for (size_t i = 32 * j; i < 32 * j + 32; i++) {
                const int u = unit > 0.0f ? k_round((x[i] + shift) / unit, 0.0f, 15.0f) : 0;
                out[Q4K::qs + 32 * (i / 64) + i % 32] |= uint8_t(u << (4 * (i / 32 % 2)));
            }
        }
        uint8_t* s = out + Q4K::scales;
        for (size_t j = 0; j < 4; j++) {
            s[j] = uint8_t(scale[j] | (scale[j + 4] >> 4) << 6);
            s[j + 4] = uint8_t(min[j] | (min[j + 4] >> 4) << 6);
            s[j + 8] = uint8_t((scale[j + 4] & 0xF) | (min[j + 4] & 0xF) << 4);
        }
    }
}

inline constexpr WeightTypeInfo q4_k_type =
    k_type<Q4K>(WeightType::Q4_K, "q4_k", 12, {Q4K::d, 2}, {Q4K::dmin, 2}, q4_k_quantize_row);

}  // namespace llamaport::types
