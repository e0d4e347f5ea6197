// Q2_K: ggml's block_q2_K, 256 values of 2 bits in 16 groups of 16, each group a 4-bit scale and
// a 4-bit min, two fp16 factors (84 bytes): scales[16] (scale low nibble, min high), qs[64], d,
// dmin. Value 128n + 32k + l (n < 2, k < 4, l < 32) is bits 2k of qs[32n + l];
// value i = d * scale * q - dmin * min.
#pragma once

#include "types/k_quants.hpp"

namespace llamaport::types {

struct Q2K {
    static constexpr size_t bytes = 84, scales = 0, qs = 16, d = 80, dmin = 82;
    static constexpr int offset = 0;
    static constexpr bool has_min = true;

    static void unpack_values(const uint8_t* block, uint8_t* u) {
        for (size_t n = 0; n < 2; n++)
            for (size_t k = 0; k < 4; k++)
                for (size_t l = 0; l < 32; l++)
                    u[128 * n + 32 * k + l] = block[qs + 32 * n + l] >> (2 * k) & 3;
    }
    static void unpack_header(const uint8_t* block, KBlock& out) {
        for (size_t g = 0; g < k_groups; g++) {
            out.scale[g] = block[scales + g] & 0xF;
            out.min[g] = block[scales + g] >> 4;
        }
        out.d = fp16_to_fp32(load_u16(block + d));
        out.dmin = fp16_to_fp32(load_u16(block + dmin));
    }
};

inline constexpr WeightTypeInfo q2_k_type =
    k_type<Q2K>(WeightType::Q2_K, "q2_k", 10, {Q2K::d, 2}, {Q2K::dmin, 2});

}  // namespace llamaport::types
