// F32: rows of fp32 values. The reference product is run.c's matmul: one accumulator per row,
// j ascending, each multiply and add rounded on its own (-ffp-contract=off), which is what
// reproduces llama2.c's outputs token for token.
#pragma once

#include "types/types.hpp"

namespace llamaport::types {

inline size_t f32_row_bytes(size_t cols, size_t) { return cols * sizeof(float); }

inline const float* f32_row(const Matrix& m, size_t r) {
    return reinterpret_cast<const float*>(m.row(r));
}

inline void f32_dequantize_row(const Matrix& m, size_t r, float* out) {
    std::memcpy(out, f32_row(m, r), m.cols * sizeof(float));
}

inline float f32_dot(const float* w, const float* x, size_t n) {
    float sum = 0.0f;
    for (size_t j = 0; j < n; j++) sum += w[j] * x[j];
    return sum;
}

inline void f32_product(float* y, size_t y_stride, const Matrix& w, const uint8_t* in,
                        size_t in_stride, size_t columns, size_t row_begin, size_t row_end) {
    for (size_t c = 0; c < columns; c++) {
        const float* x = reinterpret_cast<const float*>(in + c * in_stride);
        for (size_t r = row_begin; r < row_end; r++)
            y[c * y_stride + r] = f32_dot(f32_row(w, r), x, w.cols);
    }
}

inline constexpr WeightTypeInfo f32_type = {
    WeightType::F32, "f32", 0, 1, 4, {{0, 4}}, InputFormat::F32, 16,
    f32_row_bytes, f32_dequantize_row, f32_product, nullptr};

}  // namespace llamaport::types
