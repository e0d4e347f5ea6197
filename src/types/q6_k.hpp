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

    static void unpack(const uint8_t* block, KBlock& out) {
        for (size_t half = 0; half < 2; half++)
            for (size_t k = 0; k < 4; k++)
                for (size_t l = 0; l < 32; l++) {
                    const uint8_t low = block[ql + 64 * half + l + 32 * (k & 1)] >> (4 * (k >> 1));
                    const uint8_t high = block[qh + 32 * half + l] >> (2 * k);
                    out.u[128 * half + 32 * k + l] = uint8_t((low & 0xF) | (high & 3) << 4);
                }
        for (size_t g = 0; g < k_groups; g++) {
            out.scale[g] = int8_t(block[scales + g]);
            out.min[g] = 0;
        }
        out.d = fp16_to_fp32(load_u16(block + d));
        out.dmin = 0.0f;
    }
};

inline constexpr WeightTypeInfo q6_k_type =
    k_type<Q6K>(WeightType::Q6_K, "q6_k", 14, {Q6K::d, 2}, {});

}  // namespace llamaport::types
