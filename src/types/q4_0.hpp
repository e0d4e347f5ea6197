// Q4_0: ggml's block_q4_0, 32 values as 4-bit q with one fp16 scale d (18 bytes): value
// d * (q - 8). Byte j of the 16 packed bytes holds value j in its low nibble, value j + 16 in its
// high one. Products read Q8_0 input blocks (types/blocks32.hpp).
#pragma once

#include "types/blocks32.hpp"

namespace llamaport::types {

struct Q4_0 {
    static constexpr size_t values_offset = 2, bytes = values_offset + 16;
    static constexpr bool has_min = false;
    static void decode(const uint8_t* block, int8_t* q) {
        uint8_t nibbles[blocks32_values];
        split_nibbles(block + values_offset, nibbles);
        for (size_t i = 0; i < blocks32_values; i++) q[i] = int8_t(nibbles[i] - 8);
    }
};

inline constexpr WeightTypeInfo q4_0_type =
    Blocks32<Q4_0>::info(WeightType::Q4_0, "q4_0", 2, {0, 2});

}  // namespace llamaport::types
