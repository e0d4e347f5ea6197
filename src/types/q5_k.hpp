// Q5_K: ggml's block_q5_K, Q4_K's layout with a fifth bit per value (176 bytes): d, dmin,
// scales[12] (k_scale_min), qh[32], qs[128]. Value 64c + l takes the low nibble of qs[32c + l]
// plus 16 times bit 2c of qh[l]; value 64c + 32 + l the high nibble plus bit 2c + 1.
#pragma once

#include "types/k_quants.hpp"

namespace llamaport::types {

struct Q5K {
    static constexpr size_t bytes = 176, d = 0, dmin = 2, scales = 4, qh = 16, qs = 48;
    static constexpr int offset = 0;
    static constexpr bool has_min = true;

    static void unpack_values(const uint8_t* block, uint8_t* u) {
        for (size_t c = 0; c < 4; c++)
            for (size_t l = 0; l < 32; l++) {
                const uint8_t low = block[qs + 32 * c + l], high = block[qh + l] >> (2 * c);
                u[64 * c + l] = uint8_t((low & 0xF) | (high & 1) << 4);
                u[64 * c + 32 + l] = uint8_t((low >> 4) | (high & 2) << 3);
            }
    }
    static void unpack_header(const uint8_t* block, KBlock& out) {
        k_unpack_scale_mins(block + scales, out);
        out.d = fp16_to_fp32(load_u16(block + d));
        out.dmin = fp16_to_fp32(load_u16(block + dmin));
    }
};

inline constexpr WeightTypeInfo q5_k_type =
    k_type<Q5K>(WeightType::Q5_K, "q5_k", 13, {Q5K::d, 2}, {Q5K::dmin, 2});

}  // namespace llamaport::types
