// Q3_K: ggml's block_q3_K, 256 values of 3 bits in 16 groups of 16, each group a 6-bit signed
// scale, one fp16 factor (110 bytes): hmask[32], qs[64], scales[12], d. Within each half n of
// 128 values, value 128n + 32k + l (k < 4, l < 32) has its low 2 bits at bits 2k of qs[32n + l]
// and its third bit at bit 4n + k of hmask[l]; the value is those 3 bits minus 4 (ggml: the low
// bits minus 4 when the third bit is clear). Group j's scale: the low 4 bits from nibble j / 8 of
// scales[j % 8], the high 2 from bits 2 (j / 4) of scales[8 + j % 4], minus 32.
#pragma once

#include "types/k_quants.hpp"

namespace llamaport::types {

struct Q3K {
    static constexpr size_t bytes = 110, hmask = 0, qs = 32, scales = 96, d = 108;
    static constexpr int offset = 4;
    static constexpr bool has_min = false;

    static void unpack_values(const uint8_t* block, uint8_t* u) {
        for (size_t n = 0; n < 2; n++)
            for (size_t k = 0; k < 4; k++)
                for (size_t l = 0; l < 32; l++) {
                    const int low = block[qs + 32 * n + l] >> (2 * k) & 3;
                    const int high = block[hmask + l] >> (4 * n + k) & 1;
                    u[128 * n + 32 * k + l] = uint8_t(low | high << 2);
                }
    }
    static void unpack_header(const uint8_t* block, KBlock& out) {
        const uint8_t* s = block + scales;
        for (size_t j = 0; j < k_groups; j++) {
            const int low = s[j % 8] >> (4 * (j / 8)) & 0xF, high = s[8 + j % 4] >> (2 * (j / 4)) & 3;
            out.scale[j] = (low | high << 4) - 32;
            out.min[j] = 0;
        }
        out.d = fp16_to_fp32(load_u16(block + d));
        out.dmin = 0.0f;
    }
};

inline constexpr WeightTypeInfo q3_k_type =
    k_type<Q3K>(WeightType::Q3_K, "q3_k", 11, {Q3K::d, 2}, {});

}  // namespace llamaport::types
