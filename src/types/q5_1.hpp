// Q5_1: ggml's block_q5_1, 32 values as 5-bit q with an fp16 scale d and an fp16 minimum m
// (24 bytes): value d * q + m. Fifth bits as Q5_0's (a 4-byte field after d and m), nibbles as
// Q4_0's. Products read Q8_1 input blocks (types/blocks32.hpp).
#pragma once

#include "types/blocks32.hpp"

namespace llamaport::types {

struct Q5_1 {
    static constexpr size_t bits_offset = 4, values_offset = 8, bytes = values_offset + 16;
    static constexpr bool has_min = true;
    static void decode(const uint8_t* block, int8_t* q) {
        uint8_t nibbles[blocks32_values];
        split_nibbles(block + values_offset, nibbles);
        const uint32_t high = fifth_bits(block + bits_offset);
        for (size_t i = 0; i < blocks32_values; i++)
            q[i] = int8_t(nibbles[i] | ((high >> i & 1u) << 4));
    }
};

inline constexpr WeightTypeInfo q5_1_type =
    Blocks32<Q5_1>::info(WeightType::Q5_1, "q5_1", 7, {0, 2}, {2, 2}, {4, 4});

}  // namespace llamaport::types
