// The input formats of products (InputFormat) and their reference preparation: what each set's
// prepare entry must reproduce bit for bit.
#pragma once

#include <cmath>

#include "types/blocks32.hpp"
#include "types/q8_0.hpp"
#include "types/q8_g.hpp"

namespace llamaport::types {

// A quotient x / scale, made safe to round to int8 the same way in every set: NaN becomes 0 and
// the rest is clamped to [-127, 127]. Only bad inputs get there: a group of denormals (its scale
// loses precision) or a NaN or infinity in the activations.
inline float clamp_q8_quotient(float v) {
    return v >= -127.0f ? (v <= 127.0f ? v : 127.0f) : (v < -127.0f ? -127.0f : 0.0f);
}

// max |x| over n values, NaN left out (std::fmax ignores a NaN operand).
inline float max_abs(const float* x, size_t n) {
    float m = 0.0f;
    for (size_t i = 0; i < n; i++) m = std::fmax(m, std::fabs(x[i]));
    return m;
}

// --- F32: products read the input as it is.

inline size_t f32_input_bytes(const Matrix&) { return 0; }
inline size_t one_part(const Matrix&) { return 1; }
inline uintptr_t no_key(const Matrix&) { return 0; }

// --- Q8_G: runq.c's quantize(): scale = max|x| / 127, q = round(x / scale), halves away from 0.

inline size_t q8_g_input_bytes(const Matrix& w) { return q8_g_row_bytes(w.cols, w.block_values); }
inline size_t q8_g_groups(const Matrix& w) { return w.cols / w.block_values; }
inline uintptr_t q8_g_key(const Matrix& w) { return w.block_values; }

// Group i's scale, as every set computes it.
inline void q8_g_quantize_groups(uint8_t* out, const Matrix& w, const float* x, size_t begin,
                                 size_t end) {
    const size_t g = w.block_values;
    for (size_t i = begin; i < end; i++) {
        uint8_t* block = out + i * (q8_g_scale_bytes + g);
        const float* xg = x + i * g;
        const float scale = max_abs(xg, g) / 127.0f;
        std::memcpy(block, &scale, sizeof scale);
        int8_t* q = reinterpret_cast<int8_t*>(block + q8_g_scale_bytes);
        // An all-zero group has scale 0; its values are 0 rather than 0/0.
        for (size_t j = 0; j < g; j++)
            q[j] = scale == 0.0f ? 0 : int8_t(std::round(clamp_q8_quotient(xg[j] / scale)));
    }
}

// --- Q8_0: as llama.cpp's CPU backend quantizes activations on x86 (quantize_row_q8_0, AVX2):
// d = max|x| / 127 (stored as fp16), q = x * (127 / max|x|) rounded to nearest, ties to even.
// (Its reference quantizer, which writes weights, divides by the fp16-to-be d and rounds halves
// away from zero: types/q8_0.hpp.)

inline size_t q8_0_input_bytes(const Matrix& w) { return q8_0_row_bytes(w.cols, 0); }
inline size_t q8_0_blocks(const Matrix& w) { return w.cols / q8_0_values; }

// v (|v| <= 2^22) to the nearest integer, ties to even, in any float evaluation mode.
inline float nearest_even(float v) {
    volatile float shifted = v + 12582912.0f;  // 1.5 * 2^23: no fraction bits left
    return shifted - 12582912.0f;
}

// One block's 32 values into q; returns its scale d = max|x| / 127 in fp32.
inline float quantize_q8_block(int8_t* q, const float* xb) {
    const float most = max_abs(xb, q8_0_values);
    const float id = most != 0.0f ? 127.0f / most : 0.0f;
    for (size_t j = 0; j < q8_0_values; j++)
        q[j] = int8_t(nearest_even(clamp_q8_quotient(xb[j] * id)));
    return most / 127.0f;
}

inline void store_half(uint8_t* p, float v) {
    const uint16_t half = fp32_to_fp16(v);
    std::memcpy(p, &half, sizeof half);
}

inline void q8_0_quantize_blocks(uint8_t* out, const Matrix&, const float* x, size_t begin,
                                 size_t end) {
    for (size_t i = begin; i < end; i++) {
        uint8_t* block = out + i * q8_0_bytes;
        store_half(block, quantize_q8_block(reinterpret_cast<int8_t*>(block + 2), x + i * q8_0_values));
    }
}

// --- Q8_1: Q8_0's values and scale (llama.cpp's AVX2 quantize_row_q8_1 rounds them alike), then
// s = d * sum(q) in fp32, stored as fp16, with d the fp32 scale before its rounding to fp16.

inline size_t q8_1_input_bytes(const Matrix& w) {
    return blocked_row_bytes(w.cols, blocks32_values, q8_1_bytes);
}

inline int32_t sum_q8(const int8_t* q) {
    int32_t sum = 0;
    for (size_t j = 0; j < blocks32_values; j++) sum += q[j];
    return sum;
}

inline void q8_1_quantize_blocks(uint8_t* out, const Matrix&, const float* x, size_t begin,
                                 size_t end) {
    for (size_t i = begin; i < end; i++) {
        uint8_t* block = out + i * q8_1_bytes;
        int8_t* q = reinterpret_cast<int8_t*>(block + 4);
        const float d = quantize_q8_block(q, x + i * blocks32_values);
        store_half(block, d);
        store_half(block + 2, d * float(sum_q8(q)));
    }
}

}  // namespace llamaport::types
