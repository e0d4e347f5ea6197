// Q5_0: ggml's block_q5_0, 32 values as 5-bit q with one fp16 scale d (22 bytes): value
// d * (q - 16). The fifth bits form a little-endian 32-bit word after the scale (bit i: value i),
// a 4-byte block field, so a big-endian host reads it swapped into host order; the low four bits
// are nibbles as Q4_0's. Products read Q8_0 input blocks (types/blocks32.hpp).
#pragma once

#include "types/blocks32.hpp"

namespace llamaport::types {

struct Q5_0 {
    static constexpr size_t bits_offset = 2, values_offset = 6, bytes = values_offset + 16;
    static constexpr bool has_min = false;
    static void decode(const uint8_t* block, int8_t* q) {
        uint8_t nibbles[blocks32_values];
        split_nibbles(block + values_offset, nibbles);
        const uint32_t high = fifth_bits(block + bits_offset);
        for (size_t i = 0; i < blocks32_values; i++)
            q[i] = int8_t((nibbles[i] | ((high >> i & 1u) << 4)) - 16);
    }
};

inline constexpr WeightTypeInfo q5_0_type =
    Blocks32<Q5_0>::info(WeightType::Q5_0, "q5_0", 6, {0, 2}, {2, 4});

}  // namespace llamaport::types
