// AQLM (additive quantization of language models): each group of `group_size` consecutive
// weights of a row is the sum of one vector from each of M learned codebooks (2^bits entries
// each), times a per-row scale:
//   W[o][i*g + j] = scales[o] * sum_m codebooks[m][codes[o][i][m]][j]
// "2x8" is M=2, 8-bit codes, g=8: 2 bits per weight plus the codebooks.
#pragma once

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
//   every codebook entry, then sums table entries. Codes are uint8 laid out
//   [rows / 8][groups][M][8]: for a block of 8 rows, input group after input group, the 8 rows'
//   codes side by side, so the inner loop walks output rows for a fixed group. Rows are padded to
//   a multiple of 8 (code 0, scale 0). Codebooks are transposed, [M][g][2^B], so that building
//   the table runs over entries with unit stride. Scales [padded rows].
// - direct decode, bits > 8 (a 1x16 table would outgrow the caches): codes uint16
//   [rows][groups][M], codebooks [M][2^B][g], scales [rows].
struct AqlmPacked {
    static constexpr size_t row_block = 8;

    AqlmShape shape;
    const uint8_t* codes8 = nullptr;    // table layout
    const uint16_t* codes16 = nullptr;  // decode layout
    const float* codebooks = nullptr;
    const float* scales = nullptr;

    bool uses_table() const { return shape.bits <= 8; }
    size_t padded_rows() const {
        return uses_table() ? (shape.rows + row_block - 1) / row_block * row_block : shape.rows;
    }
    // Floats in the lookup table of one product: [groups][M][2^B].
    size_t table_size() const { return shape.groups() * shape.codebooks * shape.entries(); }
    // Inputs the kernels read: the input vector zero-padded to whole groups.
    size_t padded_cols() const { return shape.groups() * shape.group_size; }

    // Where code (row, group, m) and codebook value (m, entry, j) are in codes8 / codes16 and
    // codebooks.
    size_t code_index(size_t row, size_t group, size_t m) const {
        if (!uses_table()) return (row * shape.groups() + group) * shape.codebooks + m;
        return ((row / row_block * shape.groups() + group) * shape.codebooks + m) * row_block +
               row % row_block;
    }
    size_t codebook_index(size_t m, size_t entry, size_t j) const {
        const size_t g = shape.group_size, entries = shape.entries();
        return uses_table() ? (m * g + j) * entries + entry : (m * entries + entry) * g + j;
    }
    uint16_t code(size_t row, size_t group, size_t m) const {
        const size_t i = code_index(row, group, m);
        return uses_table() ? codes8[i] : codes16[i];
    }
    float codebook(size_t m, size_t entry, size_t j) const {
        return codebooks[codebook_index(m, entry, j)];
    }

    // Bytes one product reads: codes, codebooks (fp32) and scales.
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
