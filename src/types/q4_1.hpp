// Q4_1: ggml's block_q4_1, 32 values as 4-bit q with an fp16 scale d and an fp16 minimum m
// (20 bytes): value d * q + m. Nibbles as Q4_0's. Products read Q8_1 input blocks, whose sum
// term carries the minimum (types/blocks32.hpp).
#pragma once

#include "types/blocks32.hpp"

namespace llamaport::types {

struct Q4_1 {
    static constexpr size_t values_offset = 4, bytes = values_offset + 16;
    static constexpr bool has_min = true;
    static void decode(const uint8_t* block, int8_t* q) {
        uint8_t nibbles[blocks32_values];
        split_nibbles(block + values_offset, nibbles);
        for (size_t i = 0; i < blocks32_values; i++) q[i] = int8_t(nibbles[i]);
    }
};

inline constexpr WeightTypeInfo q4_1_type =
    Blocks32<Q4_1>::info(WeightType::Q4_1, "q4_1", 3, {0, 2}, {2, 2});

}  // namespace llamaport::types
