// Q6_K: ggml's block_q6_K, 256 values of 6 bits in 16 groups of 16, each group an int8 scale,
// one fp16 factor d (210 bytes): the low 4 bits of the values in ql[128], the high 2 bits in
// qh[64], scales[16], d. Value i = d * scale[i / 16] * (six bits - 32). Within each half of 128
// values, value 32k + l (k < 4, l < 32) has its low bits in ql[l + 32 (k & 1)] (the high nibble
// for k >= 2) and its high bits at bit 2k of qh[l].
#pragma once

#include "types/k_quants.hpp"

namespace llamaport::types {

struct Q6K {
    static constexpr size_t bytes = 210, ql = 0, qh = 128, scales = 192, d = 208;
    static constexpr int offset = 32;
    static constexpr bool has_min = false;

    static void unpack_values(const uint8_t* block, uint8_t* u) {
        for (size_t half = 0; half < 2; half++)
            for (size_t k = 0; k < 4; k++)
                for (size_t l = 0; l < 32; l++) {
                    const uint8_t low = block[ql + 64 * half + l + 32 * (k & 1)] >> (4 * (k >> 1));
                    const uint8_t high = block[qh + 32 * half + l] >> (2 * k);
                    u[128 * half + 32 * k + l] = uint8_t((low & 0xF) | (high & 3) << 4);
                }
    }
    static void unpack_header(const uint8_t* block, KBlock& out) {
        for (size_t g = 0; g < k_groups; g++) {
            out.scale[g] = int8_t(block[scales + g]);
            out.min[g] = 0;
        }
        out.d = fp16_to_fp32(load_u16(block + d));
        out.dmin = 0.0f;
    }
};

// A simple quantizer from the format's definition (not llama-quantize's search): each group's
// scale maps its value of largest magnitude to -32; d maps the group scale of largest magnitude
// to -128 (as ggml chooses signs); each value then rounds against its group's stored d * scale.
inline void q6_k_quantize_row(uint8_t* out, const float* x, size_t n) {
    for (size_t b = 0; b < n / k_values; b++, x += k_values, out += Q6K::bytes) {
        float group_scale[k_groups], top = 0.0f;
        for (size_t g = 0; g < k_groups; g++) {
            float most = 0.0f;
            for (size_t i = 16 * g; i < 16 * g + 16; i++)
                if (std::fabs(x[i]) > std::fabs(most)) most = x[i];
            group_scale[g] = most / -32.0f;
            if (std::fabs(group_scale[g]) > std::fabs(top)) top = group_scale[g];
        }
        std::memset(out, 0, Q6K::bytes);
        const float iscale = top != 0.0f ? -128.0f / top : 0.0f;
        k_put_half(out + Q6K::d, top != 0.0f ? 1.0f / iscale : 0.0f);
        const float d = fp16_to_fp32(load_u16(out + Q6K::d));
        for (size_t g = 0; g < k_groups; g++) {
            const int scale = k_round(iscale * group_scale[g], -128.0f, 127.0f);
            out[Q6K::scales + g] = uint8_t(int8_t(scale));
            const float step = d * float(scale);
            for (size_t i = 16 * g; i < 16 * g + 16; i++) {
                const int u = 32 + (step != 0.0f ? k_round(x[i] / step, -32.0f, 31.0f) : 0);
                const size_t half = i / 128, k = i % 128 / 32, l = i % 32;
                out[Q6K::ql + 64 * half + l + 32 * (k & 1)] |= uint8_t((u & 0xF) << (4 * (k >> 1)));
                out[Q6K::qh + 32 * half + l] |= uint8_t((u >> 4) << (2 * k));
            }
        }
    }
}

inline constexpr WeightTypeInfo q6_k_type =
    k_type<Q6K>(WeightType::Q6_K, "q6_k", 14, {Q6K::d, 2}, {}, q6_k_quantize_row);

}  // namespace llamaport::types
