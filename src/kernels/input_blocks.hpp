// Internal: the block plumbing of the int8 input quantizers (Q8_G, Q8_0, Q8_1, Q8_K), shared by
// the kernel sets. A set supplies only its vector arithmetic, a type Values with:
//   static float max_abs(const float* x, size_t n)           max |x|, NaN left out
//   template <bool Divide>
//   static void quantize(int8_t* q, const float* x, size_t n, float s)
//       q[i] = round(clamp(x[i] / s)) halves away from zero (runq.c) when Divide, else
//       nearest-even(clamp(x[i] * s)) (llama.cpp), exactly as the reference does it
// so every set writes the reference's bytes.
#pragma once

#include <cstring>

#include "types/blocks32.hpp"
#include "types/inputs.hpp"
#include "types/k_quants.hpp"
#include "types/q8_0.hpp"

namespace llamaport::kernels {

template <class Values>
void quantize_q8_g_blocks(uint8_t* out, const Matrix& w, const float* x, size_t begin, size_t end) {
    const size_t g = w.block_values;
    for (size_t i = begin; i < end; i++) {
        uint8_t* block = out + i * (types::q8_g_scale_bytes + g);
        const float scale = Values::max_abs(x + i * g, g) / 127.0f;
        std::memcpy(block, &scale, sizeof scale);
        int8_t* q = reinterpret_cast<int8_t*>(block + types::q8_g_scale_bytes);
        if (scale == 0.0f)
            std::memset(q, 0, g);
        else
            Values::template quantize<true>(q, x + i * g, g, scale);
    }
}

template <class Values>
void quantize_q8_0_blocks(uint8_t* out, const Matrix&, const float* x, size_t begin, size_t end) {
    for (size_t i = begin; i < end; i++) {
        uint8_t* block = out + i * types::q8_0_bytes;
        const float* xb = x + i * types::q8_0_values;
        const float most = Values::max_abs(xb, types::q8_0_values);
        const uint16_t half = fp32_to_fp16(most / 127.0f);
        std::memcpy(block, &half, sizeof half);
        Values::template quantize<false>(reinterpret_cast<int8_t*>(block + 2), xb,
                                         types::q8_0_values, most != 0.0f ? 127.0f / most : 0.0f);
    }
}

template <class Values>
void quantize_q8_1_blocks(uint8_t* out, const Matrix&, const float* x, size_t begin, size_t end) {
    for (size_t i = begin; i < end; i++) {
        uint8_t* block = out + i * types::q8_1_bytes;
        const float* xb = x + i * types::blocks32_values;
        const float most = Values::max_abs(xb, types::blocks32_values), d = most / 127.0f;
        int8_t* q = reinterpret_cast<int8_t*>(block + 4);
        Values::template quantize<false>(q, xb, types::blocks32_values,
                                         most != 0.0f ? 127.0f / most : 0.0f);
        types::store_half(block, d);
        types::store_half(block + 2, d * float(types::sum_q8(q)));
    }
}

template <class Values>
void quantize_q8_k_blocks(uint8_t* out, const Matrix&, const float* x, size_t begin, size_t end) {
    for (size_t i = begin; i < end; i++) {
        uint8_t* block = out + i * types::q8_k_bytes;
        const float* xb = x + i * types::k_values;
        const float iscale = types::q8_k_iscale(xb, Values::max_abs(xb, types::k_values));
        Values::template quantize<false>(reinterpret_cast<int8_t*>(block + types::q8_k_values_offset),
                                         xb, types::k_values, iscale);
        types::q8_k_finish_block(block, iscale);
    }
}

}  // namespace llamaport::kernels
