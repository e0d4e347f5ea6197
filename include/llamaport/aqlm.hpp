// AQLM (additive quantization of language models): each group of `group_size` consecutive
// weights of a row is the sum of one vector from each of M learned codebooks (2^bits entries
// each), times a per-row scale:
//   W[o][i*g + j] = scales[o] * sum_m codebooks[m][codes[o][i][m]][j]
// "2x8" is M=2, 8-bit codes, g=8: 2 bits per weight plus the codebooks.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "llamaport/model.hpp"

namespace llamaport {

struct AqlmShape {
    size_t rows = 0;        // N outputs
    size_t cols = 0;        // K inputs (as the model sees them)
    size_t codebooks = 0;   // M
    size_t bits = 0;        // B: 2^B entries per codebook, 1..16
    size_t group_size = 0;  // g
    size_t groups() const { return (cols + group_size - 1) / group_size; }  // last may be padded
    size_t entries() const { return size_t(1) << bits; }
};

// An AQLM matrix in the reference layout of the AQLM paper's code: codes [rows][groups][M]
// (unsigned, even where the reference stores them as signed ints), codebooks [M][2^B][g],
// scales [rows]. Columns past `cols` in the last group are padding and multiply zero inputs.
struct AqlmMatrix {
    AqlmShape shape;
    std::vector<uint16_t> codes;
    std::vector<float> codebooks;
    std::vector<float> scales;

    // Throws Error when the sizes do not match the shape or a code is out of range.
    void validate(const std::string& what) const;
    // Row r as fp32 (cols values): the reference every kernel is tested against.
    void row_to_f32(size_t r, float* out) const;
    // Bytes as stored: codes bit-packed at B bits each (the whole code array rounded up to whole
    // bytes), codebooks at fp16, scales at fp32.
    size_t stored_bytes() const;
};

// An AQLM matrix as the kernels read it, in model memory (pack_aqlm). Two layouts:
// - table lookup, bits <= 8: each product first builds a table of the input's dot products with
//   every codebook entry, in int8 (see KernelSet::aqlm_build_table), then sums table entries in
//   integers. A "step" is one (input group, codebook) pair, steps = groups * M, each with its own
//   table of 256 entries (entries past 2^B are 0). Groups come in table blocks of
//   table_block_groups, whose tables of one codebook share a scale. Rows come in blocks of 64
//   (padded with code 0 and scale 0: one step's codes of a block are one 64-byte vector) and
//   blocks in runs of up to 8. For a run, a tile of table_steps() steps (whole table blocks;
//   their tables fit L1) serves every block of the run before the next tile. Codes are uint8,
//   stored in exactly that order, so the product reads them front to back:
//   [run][tile][block of the run][step of the tile][row of the block].
//   The dot products are exact integer sums of int8 inputs and int16 codebooks: the codebooks are
//   also held as codebook16 = round(codebook / codebook_scales[m]), codebook_scales[m] =
//   max |codebook m| / codebook_limit(), in pairs of inputs, [M][pairs][2^B][2] (j = 2 * pair +
//   half; 0 past g), so a multiply-add of int16 pairs (vpmaddwd, vmsumshm) makes one entry's
//   partial sum. Scales [padded rows].
// - direct decode, bits > 8 (a 1x16 table would outgrow the caches): codes uint16
//   [rows][groups][M], scales [rows], and the codebooks [M][2^B][g] as the fp16 bit patterns
//   files store (host order): 1 MiB for a 1x16 g8 matrix, twice that in fp32, with which a Zen 4
//   ran 1x16 at 0.71-0.79x (a 1 MiB L2 holds more of the halves).
// The table layout keeps fp32 codebooks [M][2^B][g] (its batch decode's and the dequantizer's).
struct AqlmPacked {
    static constexpr size_t row_block = 64;
    static constexpr size_t run_blocks = 8;
    static constexpr size_t tile_bytes = 16 * 1024;
    static constexpr size_t table_entries = 256;
    static constexpr size_t table_block_groups = 8;
    static_assert(table_block_groups * 127 <= 32767, "a table block's sums run in 16 bits");
    static constexpr size_t max_group_size = 1024;
    // Bytes a product's table may be read past its last entry: AVX2 gathers whole 32-bit words.
    static constexpr size_t table_slack = 64;

    AqlmShape shape;
    const uint8_t* codes8 = nullptr;    // table layout
    const uint16_t* codes16 = nullptr;  // decode layout
    const float* codebooks = nullptr;         // table layout
    const uint16_t* codebooks_f16 = nullptr;  // decode layout
    const int16_t* codebooks16 = nullptr;     // table layout
    const float* codebook_scales = nullptr;   // table layout, [M]
    const float* scales = nullptr;

    bool uses_table() const { return shape.bits <= 8; }
    size_t padded_rows() const {
        return uses_table() ? (shape.rows + row_block - 1) / row_block * row_block : shape.rows;
    }
    size_t steps() const { return shape.groups() * shape.codebooks; }
    // Table blocks of one product, and the steps of a whole one.
    size_t table_blocks() const {
        return (shape.groups() + table_block_groups - 1) / table_block_groups;
    }
    size_t table_block_steps() const { return table_block_groups * shape.codebooks; }
    // Steps per tile of the table layout: whole table blocks.
    size_t tile_steps() const {
        const size_t block_bytes = table_block_steps() * table_entries;
        return std::max<size_t>(1, tile_bytes / block_bytes) * table_block_steps();
    }
    // One product's table: int8 entries [steps][256] plus the slack, and fp32 scales
    // [table blocks][M].
    size_t table_bytes() const { return steps() * table_entries + table_slack; }
    size_t table_scales() const { return table_blocks() * shape.codebooks; }
    // Inputs the kernels read: the input vector zero-padded to whole groups.
    size_t padded_cols() const { return shape.groups() * shape.group_size; }
    // Input pairs per group in codebooks16.
    size_t pairs() const { return (shape.group_size + 1) / 2; }
    // The largest |value| of the rounded inputs (int8, as Q8_0 products round theirs) and of the
    // int16 codebooks: a group's dot product, at most g * 127 * codebook_limit(), fits an int32.
    static constexpr int32_t input_limit = 127;
    int32_t codebook_limit() const {
        return int32_t(std::min<int64_t>(32767, INT32_MAX / (int64_t(shape.group_size) * input_limit)));
    }

    // Where code (row, group, m) and codebook value (m, entry, j) are in codes8 / codes16 and
    // codebooks.
    size_t code_index(size_t row, size_t group, size_t m) const {
        if (!uses_table()) return (row * shape.groups() + group) * shape.codebooks + m;
        const size_t step = group * shape.codebooks + m, tile = tile_steps();
        const size_t block = row / row_block, run = block / run_blocks * run_blocks;
        const size_t blocks_in_run = std::min(run_blocks, padded_rows() / row_block - run);
        const size_t tile_begin = step / tile * tile;
        const size_t tile_len = std::min(tile, steps() - tile_begin);
        return (run * steps() + tile_begin * blocks_in_run + (block - run) * tile_len +
                (step - tile_begin)) * row_block + row % row_block;
    }
    size_t codebook_index(size_t m, size_t entry, size_t j) const {
        return (m * shape.entries() + entry) * shape.group_size + j;
    }
    size_t codebook16_index(size_t m, size_t entry, size_t j) const {
        return ((m * pairs() + j / 2) * shape.entries() + entry) * 2 + j % 2;
    }
    uint16_t code(size_t row, size_t group, size_t m) const {
        const size_t i = code_index(row, group, m);
        return uses_table() ? codes8[i] : codes16[i];
    }
    float codebook(size_t m, size_t entry, size_t j) const;

    // Bytes one product reads: codes, codebooks (int16 for tables, else fp16) and scales.
    size_t bytes() const;
    // Row r as fp32: the same arithmetic as AqlmMatrix::row_to_f32.
    void row_to_f32(size_t r, float* out) const;
};

// Validates m (throwing Error that starts with `what`) and copies it into model memory in the
// kernel layout. The Matrix (type AQLM) views memory owned by the model.
Matrix pack_aqlm(const AqlmMatrix& m, Model& model, const std::string& what);
// The reference layout back from a packed matrix (for writing files and for tests).
AqlmMatrix unpack_aqlm(const Matrix& m);

}  // namespace llamaport
