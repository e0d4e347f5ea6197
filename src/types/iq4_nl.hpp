// IQ4_NL: ggml's block_iq4_nl, 32 values as 4-bit indices into a fixed non-linear table of int8
// levels, with one fp16 scale d (18 bytes): value d * level[index]. Nibbles as Q4_0's. Products
// read Q8_0 input blocks (types/blocks32.hpp).
#pragma once

#include "types/blocks32.hpp"

namespace llamaport::types {

// ggml's kvalues_iq4nl: denser near zero, as weights are.
inline constexpr int8_t iq4_nl_levels[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                             1,    13,   25,  38,  53,  69,  89,  113};

struct IQ4_NL {
    static constexpr size_t values_offset = 2, bytes = values_offset + 16;
    static constexpr bool has_min = false;
    static void decode(const uint8_t* block, int8_t* q) {
        uint8_t nibbles[blocks32_values];
        split_nibbles(block + values_offset, nibbles);
        for (size_t i = 0; i < blocks32_values; i++) q[i] = iq4_nl_levels[nibbles[i]];
    }
};

inline constexpr WeightTypeInfo iq4_nl_type =
    Blocks32<IQ4_NL>::info(WeightType::IQ4_NL, "iq4_nl", 20, {0, 2});

}  // namespace llamaport::types
