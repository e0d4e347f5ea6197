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

    static void unpack(const uint8_t* block, KBlock& out) {
        for (size_t c = 0; c < 4; c++)
            for (size_t l = 0; l < 32; l++) {
                out.u[64 * c + l] = block[qs + 32 * c + l] & 0xF;
                out.u[64 * c + 32 + l] = block[qs + 32 * c + l] >> 4;
            }
        k_unpack_scale_mins(block + scales, out);
        out.d = fp16_to_fp32(load_u16(block + d));
        out.dmin = fp16_to_fp32(load_u16(block + dmin));
    }
};

inline constexpr WeightTypeInfo q4_k_type =
    k_type<Q4K>(WeightType::Q4_K, "q4_k", 12, {Q4K::d, 2}, {Q4K::dmin, 2});

}  // namespace llamaport::types
