// Internal: the AQLM table layout's loops (see AqlmPacked and KernelSet::aqlm_build_table),
// shared by every kernel set. A set supplies only what its instruction set changes.
//
// Building, a type Build with:
//   static int32_t dot_entries(int32_t* d, const int16_t* columns, size_t entries,
//                              const int16_t* x16, size_t pairs, size_t groups)
//       for the groups i < groups of one table block: d[i * entries + k] = sum over p < pairs of
//       columns[(p * entries + k) * 2 + h] * x16[i * 2 * pairs + 2 * p + h], h = 0, 1, for
//       k < entries (a power of two); columns is one codebook of codebooks16. Exact in int32.
//       Returns max |d|.
//   static void quantize(int8_t* q, const int32_t* d, size_t n, float inv)
//       q[k] = float(d[k]) * inv rounded to nearest, ties to even (|d[k]| <= the block's amax,
//       inv = 127 / float(amax), so |q| <= 127)
// d and x16 are 64-byte aligned.
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
//   static void store(float* out, const Sums& s)   out[k] = s[k] (out 64-byte aligned)
// and may add, to read each step's table once for several blocks of a run:
//   static constexpr size_t blocks_at_once = R;
//   static void add_table_blocks(Sums* s, size_t count, const int8_t* tables, size_t table_stride,
//                                const uint8_t* codes, size_t code_stride, size_t block_stride,
//                                size_t steps, float scale)
//       add_table_block for the count (1..R) blocks s[k], whose codes start k * block_stride
//       bytes after codes (block_stride bytes are the steps of a tile of one block).
// and may lay the tables out its own way for its lookups, once per product and column (the
// prepared input stays the same in every set):
//   static void relay_tables(const int8_t** luts, size_t n, size_t step_begin, size_t step_end)
//       points each of the n columns' luts[c] at a copy of steps [step_begin, step_end) of its
//       tables, relaid, in this thread's memory (step t's table still t * 256 bytes on).
// A row's result is scales[r] * (first + second), the sums of the first aqlm_half_blocks table
// blocks and of the rest, each added in table-block order: two threads can then each build and
// read only one half's tables (Transformer::multiply) and get one thread's results bit for bit.
#pragma once

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "llamaport/aqlm.hpp"
#include "llamaport/kernels.hpp"

namespace llamaport::kernels {

// v (|v| <= 2^22) to the nearest integer, ties to even: after adding 1.5 * 2^23 no fraction bits
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

// The scalar set's Build (see the top of the file), also the other sets' for shapes too small
// to vectorise.
struct AqlmReferenceBuild {
    static int32_t dot_entries(int32_t* d, const int16_t* columns, size_t entries,
                               const int16_t* x16, size_t pairs, size_t groups) {
        int32_t most = 0;
        for (size_t i = 0; i < groups; i++, d += entries, x16 += 2 * pairs) {
            for (size_t k = 0; k < entries; k++) d[k] = 0;
            for (size_t p = 0; p < pairs; p++) {
                const int32_t x0 = x16[2 * p], x1 = x16[2 * p + 1];
                const int16_t* c = columns + p * entries * 2;
                for (size_t k = 0; k < entries; k++) d[k] += c[2 * k] * x0 + c[2 * k + 1] * x1;
            }
            for (size_t k = 0; k < entries; k++) most = std::max(most, std::abs(d[k]));
        }
        return most;
    }

    static void quantize(int8_t* q, const int32_t* d, size_t n, float inv) {
        for (size_t k = 0; k < n; k++) q[k] = int8_t(int32_t(round_to_even(float(d[k]) * inv)));
    }
};

// The 32-bit word holding a group's int16 inputs 2p and 2p + 1 as they lie in memory: splatted,
// it meets each entry's pair of codebook values in a multiply-add of int16 pairs.
inline int32_t input_pair(const int16_t* x16, size_t p) {
    int32_t word;
    std::memcpy(&word, x16 + 2 * p, sizeof word);
    return word;
}

// The block's inputs rounded to integers in [-limit, limit] at one scale (returned), held as
// int16: x16[i * 2 * pairs + j] for its n groups, zero past each group's g inputs and past the
// `valid` inputs that exist (the matrix's last group may be partial). Shared by every set, so all
// of them round the same way.
inline float quantize_inputs(int16_t* x16, const float* x, size_t n, size_t valid, size_t g,
                             size_t pairs, int32_t limit) {
    float most = 0.0f;
    for (size_t j = 0; j < valid; j++) most = std::max(most, std::fabs(x[j]));  // NaN left out
    const float l = float(limit), inv = most > 0.0f ? l / most : 0.0f;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < 2 * pairs; j++) {
            float v = j < g && i * g + j < valid ? x[i * g + j] * inv : 0.0f;
            v = v == v ? std::min(std::max(v, -l), l) : 0.0f;  // NaN: 0
            x16[i * 2 * pairs + j] = int16_t(round_to_even(v));
        }
    return most / l;
}

// Code bytes a table build hints into the caches (see aqlm_build_table_blocks).
constexpr size_t aqlm_warm_bytes = 512 * 1024;

template <class Build>
void aqlm_build_table_blocks(int8_t* lut, float* lut_scales, const AqlmPacked& a, const float* x,
                             size_t block_begin, size_t block_end) {
    constexpr size_t per_block = AqlmPacked::table_block_groups, width = AqlmPacked::table_entries;
    const size_t g = a.shape.group_size, m_count = a.shape.codebooks, entries = a.shape.entries();
    const size_t groups = a.shape.groups(), pairs = a.pairs();
    alignas(64) int32_t d[per_block * width];
    alignas(64) int16_t x16[per_block * (AqlmPacked::max_group_size + 1)];
    if (block_begin >= block_end) return;
    // Building reads little memory: meanwhile the codes its product reads first (these table
    // blocks' groups in the first run of rows; a thread that shares a half with others reads
    // later rows) are hinted into the caches, a few lines before each table is quantized. A
    // burst of hints per table block filled the miss buffers and stalled the build on them
    // (a fifth of its time). Llama-3.1-8B 2x8 on a Zen 4 EPYC: 1.03x.
    constexpr size_t rb = AqlmPacked::row_block, line = 64;
    const size_t first_run_end =
        std::min(AqlmPacked::run_blocks, a.padded_rows() / rb) * a.steps() * rb;
    size_t warm = a.code_index(0, block_begin * per_block, 0);
    const size_t warm_end = std::min(first_run_end, warm + aqlm_warm_bytes);
    const size_t tables = (block_end - block_begin) * per_block * m_count;
    const size_t warm_step = (warm_end - warm) / tables / line * line + line;  // warm < first_run_end
    for (size_t b = block_begin; b < block_end; b++) {
        const size_t first = b * per_block, n = std::min(per_block, groups - first);
        const float input_scale = quantize_inputs(x16, x + first * g, n,
                                                  std::min(n * g, a.shape.cols - first * g), g,
                                                  pairs, AqlmPacked::input_limit);
        for (size_t m = 0; m < m_count; m++) {
            const int16_t* columns = a.codebooks16 + m * pairs * entries * 2;
            const int32_t amax = Build::dot_entries(d, columns, entries, x16, pairs, n);
            lut_scales[b * m_count + m] =
                (input_scale * a.codebook_scales[m]) * (float(amax) / 127.0f);
            const float inv = amax > 0 ? 127.0f / float(amax) : 0.0f;
            for (size_t i = 0; i < n; i++) {
                for (const size_t end = std::min(warm_end, warm + warm_step); warm < end; warm += line)
                    __builtin_prefetch(a.codes8 + warm, 0, 2);
                int8_t* table = lut + ((first + i) * m_count + m) * width;
                Build::quantize(table, d + i * entries, entries, inv);
                std::memset(table + entries, 0, width - entries);
            }
        }
    }
}

// How many blocks Block takes at once: blocks_at_once, or 1 for a Block without it.
template <class Block, class = void>
struct BlocksAtOnce : std::integral_constant<size_t, 1> {};
template <class Block>
struct BlocksAtOnce<Block, std::void_t<decltype(Block::blocks_at_once)>>
    : std::integral_constant<size_t, Block::blocks_at_once> {};

template <class Block, class = void>
struct RelaysTables : std::false_type {};
template <class Block>
struct RelaysTables<Block, std::void_t<decltype(&Block::relay_tables)>> : std::true_type {};

template <class Block>
void add_table_blocks(typename Block::Sums* s, size_t count, const int8_t* tables,
                      size_t table_stride, const uint8_t* codes, size_t code_stride,
                      size_t block_stride, size_t steps, float scale) {
    if constexpr (BlocksAtOnce<Block>::value > 1) {
        Block::add_table_blocks(s, count, tables, table_stride, codes, code_stride, block_stride,
                                steps, scale);
    } else {
        for (size_t k = 0; k < count; k++, codes += block_stride)
            Block::add_table_block(s[k], tables, table_stride, codes, code_stride, steps, scale);
    }
}

// The table blocks of a product's first half (see the top of the file).
inline size_t aqlm_half_blocks(const AqlmPacked& a) { return (a.table_blocks() + 1) / 2; }

// What aqlm_table_product writes: the rows' results, or one half's sums alone.
enum class AqlmSums { result, first_half, second_half };

// n rows' results from their scales and their two halves' sums.
inline void aqlm_combine_halves(float* y, const float* scales, const float* first,
                                const float* second, size_t n) {
    for (size_t k = 0; k < n; k++) y[k] = scales[k] * (first[k] + second[k]);
}

// Up to N input columns (each its tables and scales, `stride` bytes after the previous) against
// one pass over the codes: a block's codes are read once for all of them, from the caches for
// every column after the first. Each column's sums are exactly those of a pass of its own.
template <class Block, size_t N = 2>
void aqlm_table_product(float* y, size_t y_stride, const AqlmPacked& a, const int8_t* lut,
                        const float* lut_scales, size_t stride, size_t columns, size_t row_begin,
                        size_t row_end, AqlmSums what = AqlmSums::result) {
    constexpr size_t rb = AqlmPacked::row_block, run = AqlmPacked::run_blocks;
    constexpr size_t per_block = AqlmPacked::table_block_groups, width = AqlmPacked::table_entries;
    constexpr size_t at_once = BlocksAtOnce<Block>::value;
    const size_t steps = a.steps(), tile = a.tile_steps(), m_count = a.shape.codebooks;
    const size_t all_blocks = a.padded_rows() / rb;
    const size_t first_block = row_begin / rb, end_block = (row_end + rb - 1) / rb;
    auto table = [&](size_t c) { return lut + c * stride; };
    auto scales_of = [&](size_t c) {
        return reinterpret_cast<const float*>(reinterpret_cast<const uint8_t*>(lut_scales) + c * stride);
    };
    // The groups this call adds, [group_begin, group_end). For a result, the sums so far are
    // set aside at second_group (when there is a second half), and the second half's start at 0.
    const size_t groups = a.shape.groups(), second_group = aqlm_half_blocks(a) * per_block;
    const size_t group_begin = what == AqlmSums::second_half ? second_group : 0;
    const size_t group_end = what == AqlmSums::first_half ? second_group : groups;
    const bool set_aside = what == AqlmSums::result && second_group < groups;
    for (size_t c0 = 0; c0 < columns; c0 += N) {
        const size_t n_columns = std::min(N, columns - c0);
        const int8_t* luts[N];
        for (size_t c = 0; c < n_columns; c++) luts[c] = table(c0 + c);
        if constexpr (RelaysTables<Block>::value)
            Block::relay_tables(luts, n_columns, std::min(group_begin, groups) * m_count,
                                std::min(group_end, groups) * m_count);
        typename Block::Sums sums[N][run], first_sums[N][run];
        for (size_t run_begin = first_block / run * run; run_begin < end_block; run_begin += run) {
            const size_t blocks_in_run = std::min(run, all_blocks - run_begin);
            // The blocks of this run that hold rows of the range.
            const size_t b0 = std::max(first_block, run_begin) - run_begin;
            const size_t b1 = std::min(end_block, run_begin + run) - run_begin;
            for (size_t c = 0; c < n_columns; c++)
                for (size_t b = b0; b < b1; b++) sums[c][b] = Block::no_sums();
            const uint8_t* codes = a.codes8 + run_begin * steps * rb;
            // A tile is whole table blocks: its first group starts one.
            for (size_t step = 0; step < steps; step += tile) {
                const size_t n = std::min(tile, steps - step), group0 = step / m_count;
                // The tile's groups to add: [g0, g1).
                const size_t tile_groups = n / m_count;
                const size_t g0 = std::min(tile_groups, group_begin - std::min(group_begin, group0));
                const size_t g1 = std::min(tile_groups, group_end - std::min(group_end, group0));
                for (size_t b = b0; b < b1 && g0 < g1; b += at_once) {
                    const size_t count = std::min(at_once, b1 - b);
                    const uint8_t* block_codes = codes + b * n * rb;
                    for (size_t c = 0; c < n_columns; c++) {
                        typename Block::Sums* s = sums[c] + b;
                        for (size_t i0 = g0; i0 < g1; i0 += per_block) {
                            if (set_aside && group0 + i0 == second_group) {
                                for (size_t k = 0; k < count; k++) {
                                    first_sums[c][b + k] = s[k];
                                    s[k] = Block::no_sums();
                                }
                            }
                            const size_t i1 = std::min(i0 + per_block, g1);
                            const float* scales = scales_of(c0 + c) + (group0 + i0) / per_block * m_count;
                            for (size_t m = 0; m < m_count; m++)
                                add_table_blocks<Block>(
                                    s, count, luts[c] + ((group0 + i0) * m_count + m) * width,
                                    m_count * width, block_codes + (i0 * m_count + m) * rb,
                                    m_count * rb, n * rb, i1 - i0, scales[m]);
                        }
                    }
                }
                codes += blocks_in_run * n * rb;
            }
            for (size_t c = 0; c < n_columns; c++)
                for (size_t b = b0; b < b1; b++) {
                    const size_t first = (run_begin + b) * rb;
                    const size_t r0 = std::max(row_begin, first), r1 = std::min(row_end, first + rb);
                    float* yc = y + (c0 + c) * y_stride + r0;
                    // The sums of the half added last, and (results) of the first.
                    alignas(64) float last[rb], earlier[rb];
                    Block::store(last, sums[c][b]);
                    const float* l = last + (r0 - first);
                    if (what != AqlmSums::result) {
                        std::copy(l, l + (r1 - r0), yc);
                        continue;
                    }
                    // With no second half, the first's sums came last and 0 stands for the
                    // second's: scales * (0 + s) is exactly scales * (s + 0).
                    Block::store(earlier, set_aside ? first_sums[c][b] : Block::no_sums());
                    aqlm_combine_halves(yc, a.scales + r0, earlier + (r0 - first), l, r1 - r0);
                }
        }
    }
}

// What a product of an AQLM table-layout matrix reads for one input column
// (InputFormat::AqlmTable): the int8 tables (table_bytes, rounded up to 64 bytes), then their
// fp32 scales.
inline size_t aqlm_lut_bytes(const AqlmPacked& a) { return (a.table_bytes() + 63) / 64 * 64; }
inline size_t aqlm_input_bytes(const Matrix& w) {
    const AqlmPacked& a = w.aqlm();
    return (aqlm_lut_bytes(a) + a.table_scales() * sizeof(float) + 63) / 64 * 64;
}
// Table blocks are independent work.
inline size_t aqlm_input_parts(const Matrix& w) { return w.aqlm().table_blocks(); }
inline uintptr_t aqlm_input_key(const Matrix& w) { return reinterpret_cast<uintptr_t>(w.data); }

// A set's prepare entry for AQLM: its Build fills table blocks [begin, end) (out 64-byte aligned).
template <class Build>
void aqlm_prepare(uint8_t* out, const Matrix& w, const float* x, size_t begin, size_t end) {
    const AqlmPacked& a = w.aqlm();
    aqlm_build_table_blocks<Build>(reinterpret_cast<int8_t*>(out),
                                   reinterpret_cast<float*>(out + aqlm_lut_bytes(a)), a, x, begin,
                                   end);
}

// A set's product entry for AQLM tables, and (What a half) its half-sum entries
// (KernelSet::aqlm_half_sums).
template <class Block, AqlmSums What = AqlmSums::result>
void aqlm_product(float* y, size_t y_stride, const Matrix& w, const uint8_t* in, size_t in_stride,
                  size_t columns, size_t row_begin, size_t row_end) {
    const AqlmPacked& a = w.aqlm();
    aqlm_table_product<Block>(y, y_stride, a, reinterpret_cast<const int8_t*>(in),
                              reinterpret_cast<const float*>(in + aqlm_lut_bytes(a)), in_stride,
                              columns, row_begin, row_end, What);
}
template <class Block>
void add_aqlm_half_sums(KernelSet& set) {
    set.aqlm_half_sums[0] = aqlm_product<Block, AqlmSums::first_half>;
    set.aqlm_half_sums[1] = aqlm_product<Block, AqlmSums::second_half>;
}

// The decode layout (codes over 8 bits, WeightType::AQLM_WIDE), reading the fp32 input (cols
// values; the last group may be partial): y[r] = scales[r] * sum_i dot(x group i, w_i), where
// w_i = sum_m codebook[m][codes[r][i][m]].

// The decode layout's uint16 codes go with its fp16 codebooks, the table layout's uint8 codes with
// its fp32 ones: a group decode that takes either picks its codebooks by the codes' type, at
// compile time (a test of the layout per group slowed the 1x16 decode in a trial).
template <class Code>
constexpr bool aqlm_fp16_codebooks = std::is_same_v<Code, uint16_t>;

// One row's sum over groups [first_group, groups), in the reference order: the reference product,
// and the kernels' way through a partial last group.
inline float aqlm_decode_groups(const AqlmPacked& a, size_t r, const float* x, size_t first_group) {
    const size_t g = a.shape.group_size, m_count = a.shape.codebooks, groups = a.shape.groups();
    const size_t cols = a.shape.cols;
    const uint16_t* codes = a.codes16 + (r * groups + first_group) * m_count;
    float sum = 0.0f;
    for (size_t i = first_group; i < groups; i++, codes += m_count) {
        float partial = 0.0f;
        for (size_t j = 0; j < g && i * g + j < cols; j++) {
            float w = 0.0f;
            for (size_t m = 0; m < m_count; m++) w += a.codebook(m, codes[m], j);
            partial += x[i * g + j] * w;
        }
        sum += partial;
    }
    return sum;
}

inline void aqlm_decode_reference(float* y, size_t y_stride, const Matrix& w, const uint8_t* in,
                                  size_t in_stride, size_t columns, size_t row_begin,
                                  size_t row_end) {
    const AqlmPacked& a = w.aqlm();
    for (size_t c = 0; c < columns; c++, y += y_stride, in += in_stride)
        for (size_t r = row_begin; r < row_end; r++)
            y[r] = a.scales[r] * aqlm_decode_groups(a, r, reinterpret_cast<const float*>(in), 0);
}

// A set's product for the decode layout with groups of 8, for up to 4 input columns at a time:
// each group's weights are decoded once (the codebook entries summed, a cache miss each) and
// fused with every column. A set's Decode supplies:
//   Weights, Acc          8 weights; a column's accumulators
//   Acc zero()
//   template <size_t M = 0> Weights group(const AqlmPacked&, const Code* codes, size_t stride)
//                         the M entries summed, code m at codes[m * stride] (uint8 or uint16,
//                         see aqlm_fp16_codebooks); M, when not 0, is the matrix's M known at
//                         compile time
//   Acc fma(Acc, const Weights&, const float* x, size_t parity)
//                         x: a group's 8 inputs; parity: its index's (a set may keep a chain
//                         per parity)
//   float sum(const Acc&)
// A column's result does not depend on the columns beside it. Other group sizes take the
// reference.
template <class Decode, size_t N, size_t M>
void aqlm_decode_columns(float* y, size_t y_stride, const AqlmPacked& a, const float* x,
                         size_t x_stride, size_t row_begin, size_t row_end) {
    const size_t m_count = M ? M : a.shape.codebooks, groups = a.shape.groups();
    const size_t full = a.shape.cols / 8;  // the last group may be partial
    for (size_t r = row_begin; r < row_end; r++) {
        const uint16_t* codes = a.codes16 + r * groups * m_count;
        typename Decode::Acc acc[N];
        for (size_t c = 0; c < N; c++) acc[c] = Decode::zero();
        size_t i = 0;
        // Pairs of groups: their loads issue together, and a set choosing its chain by parity
        // sees the parity at compile time.
        for (; i + 2 <= full; i += 2, codes += 2 * m_count) {
            const typename Decode::Weights w0 = Decode::template group<M>(a, codes, 1);
            const typename Decode::Weights w1 = Decode::template group<M>(a, codes + m_count, 1);
            for (size_t c = 0; c < N; c++) {
                acc[c] = Decode::fma(acc[c], w0, x + c * x_stride + 8 * i, 0);
                acc[c] = Decode::fma(acc[c], w1, x + c * x_stride + 8 * i + 8, 1);
            }
        }
        if (i < full) {
            const typename Decode::Weights w = Decode::template group<M>(a, codes, 1);
            for (size_t c = 0; c < N; c++) acc[c] = Decode::fma(acc[c], w, x + c * x_stride + 8 * i, 0);
        }
        for (size_t c = 0; c < N; c++)
            y[c * y_stride + r] = a.scales[r] * (Decode::sum(acc[c]) +
                                                 aqlm_decode_groups(a, r, x + c * x_stride, full));
    }
}

template <class Decode, size_t M>
void aqlm_decode_columns_by4(float* y, size_t y_stride, const AqlmPacked& a, const float* x,
                             size_t x_stride, size_t columns, size_t row_begin, size_t row_end) {
    for (size_t c = 0; c < columns; c += 4, y += 4 * y_stride, x += 4 * x_stride) {
        switch (std::min<size_t>(4, columns - c)) {
            case 1: aqlm_decode_columns<Decode, 1, M>(y, y_stride, a, x, x_stride, row_begin, row_end); break;
            case 2: aqlm_decode_columns<Decode, 2, M>(y, y_stride, a, x, x_stride, row_begin, row_end); break;
            case 3: aqlm_decode_columns<Decode, 3, M>(y, y_stride, a, x, x_stride, row_begin, row_end); break;
            default: aqlm_decode_columns<Decode, 4, M>(y, y_stride, a, x, x_stride, row_begin, row_end); break;
        }
    }
}

template <class Decode>
void aqlm_decode_product(float* y, size_t y_stride, const Matrix& w, const uint8_t* in,
                         size_t in_stride, size_t columns, size_t row_begin, size_t row_end) {
    const AqlmPacked& a = w.aqlm();
    if (a.shape.group_size != 8)
        return aqlm_decode_reference(y, y_stride, w, in, in_stride, columns, row_begin, row_end);
    const float* x = reinterpret_cast<const float*>(in);
    const size_t x_stride = in_stride / sizeof(float);
    // 1x16 unrolled: a group is then a handful of instructions.
    const auto decode = a.shape.codebooks == 1 ? aqlm_decode_columns_by4<Decode, 1> : aqlm_decode_columns_by4<Decode, 0>;
    decode(y, y_stride, a, x, x_stride, columns, row_begin, row_end);
}

// Prompts: a product of many columns (the type's batch product, reading the fp32 input) decodes
// a tile of rows to fp32 once, exactly as the dequantizer writes them, and hands the tile to the
// set's own fp32 product, which reads it from L2 for every column. The tables cost about as much
// per column as a product does, so past a few columns this is the cheaper way. A result is the
// set's fp32 product of the dequantized row (rows 64 bytes apart), whatever the range or the
// number of columns.

// Floats of a thread's tile: 256 KB, comfortably inside L2 beside the columns.
constexpr size_t aqlm_tile_floats = 64 * 1024;
// This thread's scratch of at least `floats` floats, 64-byte aligned, kept for the next call
// (src/aqlm/packed.cpp: compiled once, for every CPU).
float* aqlm_scratch(size_t floats);

// Row r as fp32 (cols values) into out, bit for bit AqlmPacked::row_to_f32 (up to the sign of a
// zero): whole groups of 8 through the set's Decode, which adds the M entries in order and also
// supplies
//   static void store(float* out, const Weights& w, float scale)   out[j] = scale * w[j]
// (out 32-byte aligned); the rest, and other group sizes, the reference's way. Row by row: a
// row's stores stay in a few lines (group by group over a block's rows measured 15% slower).
template <class Decode, size_t M>
void aqlm_decode_row(float* out, const AqlmPacked& a, size_t r) {
    const size_t g = a.shape.group_size, m_count = a.shape.codebooks, cols = a.shape.cols;
    const size_t groups = a.shape.groups(), full = g == 8 ? cols / 8 : 0;
    const float scale = a.scales[r];
    if (a.uses_table()) {
        // Within a tile, a row's steps are a row block apart.
        constexpr size_t rb = AqlmPacked::row_block;
        const size_t tile_groups = a.tile_steps() / m_count;
        for (size_t i0 = 0; i0 < full; i0 += tile_groups) {
            const uint8_t* codes = a.codes8 + a.code_index(r, i0, 0);
            for (size_t i = i0; i < std::min(full, i0 + tile_groups); i++, codes += m_count * rb)
                Decode::store(out + 8 * i, Decode::template group<M>(a, codes, rb), scale);
        }
    } else {
        const uint16_t* codes = a.codes16 + r * groups * m_count;
        for (size_t i = 0; i < full; i++, codes += m_count)
            Decode::store(out + 8 * i, Decode::template group<M>(a, codes, 1), scale);
    }
    for (size_t i = full; i < groups; i++)
        for (size_t j = 0; j < g && i * g + j < cols; j++) {
            float sum = 0.0f;
            for (size_t m = 0; m < m_count; m++) sum += a.codebook(m, a.code(r, i, m), j);
            out[i * g + j] = scale * sum;
        }
}

// A set's batch product for AQLM and AQLM_WIDE: Decode as above, f32_product its fp32 product.
template <class Decode, ProductFn f32_product>
void aqlm_batch_product(float* y, size_t y_stride, const Matrix& w, const uint8_t* in,
                        size_t in_stride, size_t columns, size_t row_begin, size_t row_end) {
    const AqlmPacked& a = w.aqlm();
    // Rows 64-byte aligned (the sets' fp32 products take their fast path on aligned rows),
    // a multiple of 8 of them per tile when they fit (whole lanes of the fp32 kernels).
    const size_t stride = (a.shape.cols + 15) / 16 * 16;
    size_t rows = std::max<size_t>(1, aqlm_tile_floats / stride);
    if (rows > 8) rows = rows / 8 * 8;
    float* tile = aqlm_scratch(rows * stride);
    // 2x8's two codebooks unrolled: a group is then a handful of instructions.
    const auto decode_row = a.shape.codebooks == 2 ? aqlm_decode_row<Decode, 2> : aqlm_decode_row<Decode, 0>;
    for (size_t r0 = row_begin; r0 < row_end; r0 += rows) {
        const size_t n = std::min(rows, row_end - r0);
        for (size_t r = 0; r < n; r++) decode_row(tile + r * stride, a, r0 + r);
        Matrix decoded;
        decoded.data = tile;
        decoded.rows = n;
        decoded.cols = a.shape.cols;
        decoded.row_stride = stride * sizeof(float);
        f32_product(y + r0, y_stride, decoded, in, in_stride, columns, 0, n);
    }
}

// The scalar set's Decode: plain loops, as the dequantizer adds.
struct AqlmReferenceDecode {
    struct Weights {
        float v[8];
    };
    template <size_t M = 0, class Code>
    static Weights group(const AqlmPacked& a, const Code* codes, size_t stride) {
        Weights w;
        for (size_t j = 0; j < 8; j++) {
            float sum = 0.0f;
            for (size_t m = 0; m < (M ? M : a.shape.codebooks); m++)
                sum += a.codebook(m, codes[m * stride], j);
            w.v[j] = sum;
        }
        return w;
    }
    static void store(float* out, const Weights& w, float scale) {
        for (size_t j = 0; j < 8; j++) out[j] = scale * w.v[j];
    }
};

}  // namespace llamaport::kernels
