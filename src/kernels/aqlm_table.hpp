// Internal: the AQLM table-lookup product's walk over the packed codes (see AqlmPacked for the
// layout), shared by every kernel set. A set supplies only what its instruction set changes, as a
// type Block with:
//   Sums                       a block's 8 running sums
//   static Sums zero()
//   static void add_lookups(Sums* sums, size_t blocks, const float* tables, size_t entries,
//                           const uint8_t* codes, size_t steps)
//       for each of `blocks` consecutive blocks (block b's codes start at codes + b * steps * 8,
//       one step's 8 codes after another), adds the table entry of each code, step after step;
//       step t's table is tables + t * entries
//   static void scale(float* out, const Sums& sums, const float* scales)
//       out[k] = scales[k] * sums[k] for the block's 8 rows
// Each row adds its entries in step order in every set, so for a given table all sets agree
// bit for bit.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "llamaport/aqlm.hpp"

namespace llamaport::kernels {

template <class Block>
void aqlm_table_product(float* y, const AqlmPacked& a, const float* lut, size_t row_begin,
                        size_t row_end) {
    constexpr size_t rb = AqlmPacked::row_block, run = AqlmPacked::run_blocks;
    const size_t steps = a.steps(), entries = a.shape.entries(), tile = a.tile_steps();
    const size_t all_blocks = a.padded_rows() / rb;
    const size_t first_block = row_begin / rb, end_block = (row_end + rb - 1) / rb;
    typename Block::Sums sums[run];
    for (size_t run_begin = first_block / run * run; run_begin < end_block; run_begin += run) {
        const size_t blocks_in_run = std::min(run, all_blocks - run_begin);
        // The blocks of this run that hold rows of the range.
        const size_t b0 = std::max(first_block, run_begin) - run_begin;
        const size_t b1 = std::min(end_block, run_begin + run) - run_begin;
        for (size_t b = b0; b < b1; b++) sums[b] = Block::zero();
        const uint8_t* codes = a.codes8 + run_begin * steps * rb;
        for (size_t step = 0; step < steps; step += tile) {
            const size_t n = std::min(tile, steps - step);
            Block::add_lookups(sums + b0, b1 - b0, lut + step * entries, entries,
                               codes + b0 * n * rb, n);
            codes += blocks_in_run * n * rb;
        }
        for (size_t b = b0; b < b1; b++) {
            const size_t first = (run_begin + b) * rb;
            float out[rb];
            Block::scale(out, sums[b], a.scales + first);
            for (size_t r = std::max(row_begin, first); r < std::min(row_end, first + rb); r++)
                y[r] = out[r - first];
        }
    }
}

}  // namespace llamaport::kernels
