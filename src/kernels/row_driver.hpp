// Internal: the row plumbing every kernel set's products of row-blocked matrices share (fp32 and
// the int8-block types). A set supplies only its inner kernel, a type Lanes with:
//   static constexpr size_t lanes        rows computed together (L)
//   static constexpr bool striped        lane l walks its own run of consecutive rows (rows
//                                        r + l * run + i: L long streams, which x86's L2 streamer
//                                        follows) rather than L adjacent rows
//   static void rows(float* y, size_t y_lane_stride, const uint8_t* w, size_t w_lane_stride,
//                    const Matrix& m, const uint8_t* x)
//       y[l * y_lane_stride] = row l of w (at w + l * w_lane_stride bytes) times input column x,
//       for l < L
//   static void tail(float* y, const Matrix& m, const uint8_t* x, size_t row_begin, size_t row_end)
//       the same arithmetic one row at a time, for rows [row_begin, row_end): a row's result
//       must not depend on whether it was computed in lanes, so that no split of the rows
//       (threads) changes any output
// The driver splits [row_begin, row_end) into lanes and the tail, for every column.
#pragma once

#include <climits>
#include <cstddef>
#include <cstdint>

#include "llamaport/weights.hpp"

namespace llamaport::kernels {

template <class Lanes>
void lanes_product(float* y, size_t y_stride, const Matrix& w, const uint8_t* in, size_t in_stride,
                   size_t columns, size_t row_begin, size_t row_end) {
    constexpr size_t L = Lanes::lanes;
    const size_t count = row_end - row_begin, steps = count / L, tail = row_begin + steps * L;
    // Striped lanes are `steps` rows apart; a gather of their fields needs int32 offsets.
    const bool striped = Lanes::striped && (L - 1) * steps * w.row_stride <= size_t(INT32_MAX);
    const size_t lane_rows = striped ? steps : 1, step_rows = striped ? 1 : L;
    for (size_t c = 0; c < columns; c++) {
        float* yc = y + c * y_stride;
        const uint8_t* x = in + c * in_stride;
        for (size_t i = 0; i < steps; i++) {
            const size_t first = row_begin + i * step_rows;
            Lanes::rows(yc + first, lane_rows, w.row(first), lane_rows * w.row_stride, w, x);
        }
        Lanes::tail(yc, w, x, tail, row_end);
    }
}

}  // namespace llamaport::kernels
