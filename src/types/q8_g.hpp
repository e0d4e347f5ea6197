// Q8_G: llama2.c's v2 checkpoints (export.py --version 2, run by runq.c). Each row is groups of
// `block_values` (the file's group size, any size dividing the row) as {fp32 scale, int8
// values}. Products read the input quantized the same way (InputFormat::Q8_G) and follow runq.c's
// matmul exactly: per group an exact integer sum, then acc + ((float)isum * w_scale) * x_scale,
// group after group. Every kernel set keeps this order, so products are bit-identical in every
// set and llama2.c's v2 outputs reproduce on all of them.
#pragma once

#include "types/types.hpp"

namespace llamaport::types {

constexpr size_t q8_g_scale_bytes = sizeof(float);

inline size_t q8_g_row_bytes(size_t cols, size_t group) {
    return group ? blocked_row_bytes(cols, group, q8_g_scale_bytes + group) : 0;
}

inline void q8_g_dequantize_row(const Matrix& m, size_t r, float* out) {
    const size_t g = m.block_values;
    const uint8_t* block = m.row(r);
    for (size_t j = 0; j < m.cols; j += g, block += q8_g_scale_bytes + g) {
        const float d = load_f32(block);
        const int8_t* q = reinterpret_cast<const int8_t*>(block + q8_g_scale_bytes);
        for (size_t i = 0; i < g; i++) out[j + i] = float(q[i]) * d;
    }
}

inline int32_t dot_i8(const int8_t* a, const int8_t* b, size_t n) {
    int32_t sum = 0;
    for (size_t i = 0; i < n; i++) sum += int32_t(a[i]) * int32_t(b[i]);
    return sum;
}

// runq.c's order for one group.
inline float q8_g_accumulate(float acc, int32_t isum, float w_scale, float x_scale) {
    return acc + (float(isum) * w_scale) * x_scale;
}

inline float q8_g_row_dot(const uint8_t* w, const uint8_t* x, size_t cols, size_t g) {
    float acc = 0.0f;
    for (size_t j = 0; j < cols; j += g, w += q8_g_scale_bytes + g, x += q8_g_scale_bytes + g)
        acc = q8_g_accumulate(acc,
                              dot_i8(reinterpret_cast<const int8_t*>(w + q8_g_scale_bytes),
                                     reinterpret_cast<const int8_t*>(x + q8_g_scale_bytes), g),
                              load_f32(w), load_f32(x));
    return acc;
}

inline void q8_g_product(float* y, size_t y_stride, const Matrix& w, const uint8_t* in,
                         size_t in_stride, size_t columns, size_t row_begin, size_t row_end) {
    for (size_t c = 0; c < columns; c++)
        for (size_t r = row_begin; r < row_end; r++)
            y[c * y_stride + r] = q8_g_row_dot(w.row(r), in + c * in_stride, w.cols, w.block_values);
}

inline constexpr WeightTypeInfo q8_g_type = {
    WeightType::Q8_G, "q8_g", no_gguf_type, 0, 0, {{0, 4}}, InputFormat::Q8_G, 16,
    q8_g_row_bytes, q8_g_dequantize_row, q8_g_product, nullptr};

}  // namespace llamaport::types
