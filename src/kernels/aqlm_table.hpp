// Internal: the AQLM table layout's loops (see AqlmPacked and KernelSet::aqlm_build_table),
// shared by every kernel set. A set supplies only what its instruction set changes.
//
// Building, a type Build with:
//   static float dot_entries(float* d, const float* columns, size_t entries, const float* x,
//                            size_t g, size_t groups)
//       for the groups i < groups (one table block): d[i * entries + k] = sum_j x[i * g + j] *
//       columns[j * entries + k] for k < entries, j ascending; returns max |d|, ignoring NaN as
//       std::fmax does
//   static void quantize(int8_t* q, const float* d, size_t n, float inv)
//       q[k] = d[k] * inv rounded to nearest (ties to even), clamped to [-127, 127], NaN to 0
// d is 64-byte aligned and entries a power of two.
//
// The product, a type Block for one block of 64 rows with:
//   Sums                        the block's float sums
//   static Sums no_sums();
//   static void add_table_block(Sums& s, const int8_t* tables, size_t table_stride,
//                               const uint8_t* codes, size_t code_stride, size_t steps,
//                               float scale)
//       s[k] = s[k] + n[k] * scale for the 64 rows, where n[k] is the exact integer sum over
//       t < steps of tables[t * table_stride + codes[t * code_stride + k]]: one table block's
//       steps of one codebook. Tables (256 entries each) and codes (64 per step) are 64-byte
//       aligned.
//   static void finish(float* out, const Sums& s, const float* scales)  out[k] = scales[k] * s[k]
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "kernel_sets.hpp"
#include "llamaport/aqlm.hpp"

namespace llamaport::kernels {

// The scalar set's pieces, also the other sets' for shapes too small to vectorise.
namespace aqlm_reference {

// std::max(m, v) keeps m where v is NaN, as std::fmax does, and compiles to a branch-free max
// instruction (std::fmax to a call); eight of them side by side hide its latency.
inline float max_abs(const float* d, size_t n) {
    constexpr size_t ways = 8;
    float m[ways] = {};
    size_t k = 0;
    for (; k + ways <= n; k += ways)
        for (size_t t = 0; t < ways; t++) m[t] = std::max(m[t], std::fabs(d[k + t]));
    for (; k < n; k++) m[0] = std::max(m[0], std::fabs(d[k]));
    float out = 0.0f;
    for (float v : m) out = std::max(out, v);
    return out;
}

// Entry by entry, j outer: the codebooks are stored [M][g][2^B], so the inner loop has unit
// stride; each entry still sums its g products in j order from 0.
inline float dot_entries(float* d, const float* columns, size_t entries, const float* x, size_t g,
                         size_t groups) {
    for (size_t i = 0; i < groups; i++, d += entries, x += g) {
        for (size_t k = 0; k < entries; k++) d[k] = 0.0f;
        for (size_t j = 0; j < g; j++) {
            const float xj = x[j];
            for (size_t k = 0; k < entries; k++) d[k] += xj * columns[j * entries + k];
        }
    }
    return max_abs(d - groups * entries, groups * entries);
}

// v (|v| <= 127) to the nearest integer, ties to even: after adding 1.5 * 2^23 no fraction bits
// are left, so the sum rounds exactly so (std::rint does the same, but as a library call on
// PowerPC).
inline float round_to_even(float v) {
#if FLT_EVAL_METHOD == 0
    constexpr float shift = 12582912.0f;
    return (v + shift) - shift;
#else  // excess precision (x87): the trick would keep the fraction
    return std::rint(v);
#endif
}

// The clamp as selects, which compilers vectorise where comparisons may not trap.
inline void quantize(int8_t* q, const float* d, size_t n, float inv) {
    for (size_t k = 0; k < n; k++) {
        float v = d[k] * inv;
        v = v == v ? v : 0.0f;  // NaN
        v = v < 127.0f ? v : 127.0f;
        v = v > -127.0f ? v : -127.0f;
        q[k] = int8_t(int32_t(round_to_even(v)));
    }
}

}  // namespace aqlm_reference

template <class Build>
void aqlm_build_table_blocks(int8_t* lut, float* lut_scales, const AqlmPacked& a, const float* x,
                             size_t block_begin, size_t block_end) {
    constexpr size_t per_block = AqlmPacked::table_block_groups, width = AqlmPacked::table_entries;
    const size_t g = a.shape.group_size, m_count = a.shape.codebooks, entries = a.shape.entries();
    const size_t groups = a.shape.groups();
    alignas(64) float d[per_block * width];
    for (size_t b = block_begin; b < block_end; b++) {
        const size_t first = b * per_block, n = std::min(per_block, groups - first);
        for (size_t m = 0; m < m_count; m++) {
            const float* columns = a.codebooks + m * g * entries;
            const float amax = Build::dot_entries(d, columns, entries, x + first * g, g, n);
            lut_scales[b * m_count + m] = amax / 127.0f;
            const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
            for (size_t i = 0; i < n; i++) {
                int8_t* table = lut + ((first + i) * m_count + m) * width;
                Build::quantize(table, d + i * entries, entries, inv);
                std::memset(table + entries, 0, width - entries);
            }
        }
    }
}

template <class Block>
void aqlm_table_product(float* y, const AqlmPacked& a, const int8_t* lut, const float* lut_scales,
                        size_t row_begin, size_t row_end) {
    constexpr size_t rb = AqlmPacked::row_block, run = AqlmPacked::run_blocks;
    constexpr size_t per_block = AqlmPacked::table_block_groups, width = AqlmPacked::table_entries;
    const size_t steps = a.steps(), tile = a.tile_steps(), m_count = a.shape.codebooks;
    const size_t all_blocks = a.padded_rows() / rb;
    const size_t first_block = row_begin / rb, end_block = (row_end + rb - 1) / rb;
    typename Block::Sums sums[run];
    for (size_t run_begin = first_block / run * run; run_begin < end_block; run_begin += run) {
        const size_t blocks_in_run = std::min(run, all_blocks - run_begin);
        // The blocks of this run that hold rows of the range.
        const size_t b0 = std::max(first_block, run_begin) - run_begin;
        const size_t b1 = std::min(end_block, run_begin + run) - run_begin;
        for (size_t b = b0; b < b1; b++) sums[b] = Block::no_sums();
        const uint8_t* codes = a.codes8 + run_begin * steps * rb;
        // A tile is whole table blocks: its first group starts one.
        for (size_t step = 0; step < steps; step += tile) {
            const size_t n = std::min(tile, steps - step), group0 = step / m_count;
            const size_t tile_groups = n / m_count;
            for (size_t b = b0; b < b1; b++) {
                const uint8_t* block_codes = codes + b * n * rb;
                typename Block::Sums s = sums[b];
                for (size_t i0 = 0; i0 < tile_groups; i0 += per_block) {
                    const size_t i1 = std::min(i0 + per_block, tile_groups);
                    const float* scales = lut_scales + (group0 + i0) / per_block * m_count;
                    for (size_t m = 0; m < m_count; m++)
                        Block::add_table_block(s, lut + ((group0 + i0) * m_count + m) * width,
                                               m_count * width, block_codes + (i0 * m_count + m) * rb,
                                               m_count * rb, i1 - i0, scales[m]);
                }
                sums[b] = s;
            }
            codes += blocks_in_run * n * rb;
        }
        for (size_t b = b0; b < b1; b++) {
            const size_t first = (run_begin + b) * rb;
            alignas(64) float out[rb];
            Block::finish(out, sums[b], a.scales + first);
            for (size_t r = std::max(row_begin, first); r < std::min(row_end, first + rb); r++)
                y[r] = out[r - first];
        }
    }
}

}  // namespace llamaport::kernels
