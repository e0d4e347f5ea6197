// Q8_0: ggml's block_q8_0, 32 int8 values with one fp16 scale (34 bytes), read in place from
// GGUF files. Products read the input as block_q8_0 too (InputFormat::Q8_0), as llama.cpp's CPU
// backend pairs them: per block an exact integer sum, then acc + float(isum) * (w_scale *
// x_scale), block after block, in every kernel set alike.
#pragma once

#include <cmath>

#include "loader/fp16.hpp"
#include "types/types.hpp"

namespace llamaport::types {

constexpr size_t q8_0_values = 32, q8_0_bytes = 2 + q8_0_values;

inline size_t q8_0_row_bytes(size_t cols, size_t) {
    return blocked_row_bytes(cols, q8_0_values, q8_0_bytes);
}

inline float q8_0_scale(const uint8_t* block) { return fp16_to_fp32(load_u16(block)); }
inline const int8_t* q8_0_values_of(const uint8_t* block) {
    return reinterpret_cast<const int8_t*>(block + 2);
}

inline void q8_0_dequantize_row(const Matrix& m, size_t r, float* out) {
    const uint8_t* block = m.row(r);
    for (size_t j = 0; j < m.cols; j += q8_0_values, block += q8_0_bytes) {
        const float d = q8_0_scale(block);
        for (size_t i = 0; i < q8_0_values; i++) out[j + i] = float(q8_0_values_of(block)[i]) * d;
    }
}

// llama.cpp's order for one block (ggml_vec_dot_q8_0_q8_0).
inline float q8_0_accumulate(float acc, int32_t isum, float w_scale, float x_scale) {
    return acc + float(isum) * (w_scale * x_scale);
}

inline float q8_0_row_dot(const uint8_t* w, const uint8_t* x, size_t cols) {
    float acc = 0.0f;
    for (size_t j = 0; j < cols; j += q8_0_values, w += q8_0_bytes, x += q8_0_bytes) {
        int32_t isum = 0;
        for (size_t i = 0; i < q8_0_values; i++)
            isum += int32_t(q8_0_values_of(w)[i]) * int32_t(q8_0_values_of(x)[i]);
        acc = q8_0_accumulate(acc, isum, q8_0_scale(w), q8_0_scale(x));
    }
    return acc;
}

inline void q8_0_product(float* y, size_t y_stride, const Matrix& w, const uint8_t* in,
                         size_t in_stride, size_t columns, size_t row_begin, size_t row_end) {
    for (size_t c = 0; c < columns; c++)
        for (size_t r = row_begin; r < row_end; r++)
            y[c * y_stride + r] = q8_0_row_dot(w.row(r), in + c * in_stride, w.cols);
}

// ggml's quantize_row_q8_0_ref, how llama-quantize writes Q8_0 weights: per block d = max|x| / 127
// stored as fp16, q = roundf(x * (1 / d)) with the fp32 d (halves away from zero), 0 when d = 0.
// out: blocks in host order. The clamp only keeps inf/NaN weights (undefined in ggml) defined.
inline void q8_0_quantize_weights(uint8_t* out, const float* x, size_t n) {
    for (size_t b = 0; b < n / q8_0_values; b++, x += q8_0_values, out += q8_0_bytes) {
        float amax = 0.0f;
        for (size_t j = 0; j < q8_0_values; j++) amax = std::fmax(amax, std::fabs(x[j]));
        const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        const uint16_t half = fp32_to_fp16(d);
        std::memcpy(out, &half, sizeof half);
        for (size_t j = 0; j < q8_0_values; j++) {
            const float r = std::round(x[j] * id);
            out[2 + j] = uint8_t(int8_t(r >= 127.0f ? 127 : r <= -127.0f ? -127 : r == r ? r : 0));
        }
    }
}

inline constexpr WeightTypeInfo q8_0_type = {
    WeightType::Q8_0, "q8_0", 8, q8_0_values, q8_0_bytes, {{0, 2}}, InputFormat::Q8_0, 16,
    q8_0_row_bytes, q8_0_dequantize_row, q8_0_product, nullptr, q8_0_quantize_weights};

}  // namespace llamaport::types
