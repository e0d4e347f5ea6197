// Internal: the row and column plumbing every kernel set's products of row-blocked matrices share
// (fp32 and the int8-block types). A set supplies only its inner kernel, a type Lanes with:
//   static constexpr size_t lanes        rows computed together (L)
//   static constexpr size_t columns      input columns computed together, at most (C)
//   static constexpr bool striped        lane l walks its own run of consecutive rows (rows
//                                        r + l * run + i: L long streams, which x86's L2 streamer
//                                        follows) rather than L adjacent rows
//   template <size_t N> static void rows(float* y, size_t y_lane_stride, size_t y_column_stride,
//                                        const uint8_t* w, size_t w_lane_stride, const Matrix& m,
//                                        const uint8_t* x, size_t x_column_stride)
//       for l < L and c < N (N <= C): y[c * y_column_stride + l * y_lane_stride] = row l of w (at
//       w + l * w_lane_stride bytes) times input column c (at x + c * x_column_stride)
//   static float row(const uint8_t* w, const Matrix& m, const uint8_t* x)
//       one row times one column in the same arithmetic, for the rows left over: a result must
//       not depend on whether its row was computed in lanes or its column in a group of columns,
//       so that no split of the rows (threads) or of the prompt (batches) changes any output
// The driver splits [row_begin, row_end) into lanes and the rest, and the columns into groups
// of C: a lane's rows are read from memory once for C columns and from the caches for the others.
#pragma once

#include <climits>
#include <cstddef>
#include <cstdint>

#include "llamaport/weights.hpp"

namespace llamaport::kernels {

// Lanes::rows<n> for a run-time n in [1, N].
template <class Lanes, size_t N = Lanes::columns>
void lane_columns(size_t n, float* y, size_t y_lane_stride, size_t y_column_stride,
                  const uint8_t* w, size_t w_lane_stride, const Matrix& m, const uint8_t* x,
                  size_t x_column_stride) {
    if constexpr (N > 1) {
        if (n < N)
            return lane_columns<Lanes, N - 1>(n, y, y_lane_stride, y_column_stride, w,
                                              w_lane_stride, m, x, x_column_stride);
    }
    Lanes::template rows<N>(y, y_lane_stride, y_column_stride, w, w_lane_stride, m, x,
                            x_column_stride);
}

template <class Lanes>
void lanes_product(float* y, size_t y_stride, const Matrix& w, const uint8_t* in, size_t in_stride,
                   size_t columns, size_t row_begin, size_t row_end) {
    constexpr size_t L = Lanes::lanes, C = Lanes::columns;
    const size_t count = row_end - row_begin, steps = count / L, tail = row_begin + steps * L;
    // Striped lanes are `steps` rows apart; a gather of their fields needs int32 offsets.
    const bool striped = Lanes::striped && (L - 1) * steps * w.row_stride <= size_t(INT32_MAX);
    const size_t lane_rows = striped ? steps : 1, step_rows = striped ? 1 : L;
    for (size_t i = 0; i < steps; i++) {
        const size_t first = row_begin + i * step_rows;
        for (size_t c = 0; c < columns; c += C)
            lane_columns<Lanes>(columns - c < C ? columns - c : C, y + c * y_stride + first,
                                lane_rows, y_stride, w.row(first), lane_rows * w.row_stride, w,
                                in + c * in_stride, in_stride);
    }
    for (size_t c = 0; c < columns; c++)
        for (size_t r = tail; r < row_end; r++)
            y[c * y_stride + r] = Lanes::row(w.row(r), w, in + c * in_stride);
}

}  // namespace llamaport::kernels
