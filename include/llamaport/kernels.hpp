// The kernel table: every hot loop the model runs, one function pointer each.
// One KernelSet per instruction set; the scalar set is the reference and the test oracle.
// The model code only ever calls through this table, so adding an instruction set never
// touches it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace llamaport {

struct AqlmPacked;  // llamaport/aqlm.hpp

// Q8_0 layout used by every kernel: values int8 [rows][cols]; one fp32 scale per group of
// `group_size` consecutive values of a row, [rows][groups_per_row(cols, group_size)]. The last
// group of a row is short when group_size does not divide cols.
inline size_t groups_per_row(size_t cols, size_t group_size) {
    return (cols + group_size - 1) / group_size;
}

struct KernelSet {
    const char* name;

    // y[r] = sum_j w[r*cols + j] * x[j] for r in [row_begin, row_end).
    void (*matvec_f32)(float* y, const float* w, const float* x, size_t cols, size_t row_begin,
                       size_t row_end);

    // Symmetric int8 quantization of x[n] in groups: scale = max|x| / 127, q = round(x / scale).
    // scales has groups_per_row(n, group_size) entries.
    void (*quantize_q8)(int8_t* q, float* scales, const float* x, size_t n, size_t group_size);

    // y[r] = sum_g (sum_{j in g} wq[r][j] * xq[j]) * ws[r][g] * xs[g], rows [row_begin, row_end).
    void (*matvec_q8)(float* y, const int8_t* wq, const float* ws, const int8_t* xq,
                      const float* xs, size_t cols, size_t group_size, size_t row_begin,
                      size_t row_end);

    // y[i] += a * x[i], multiplied then added, each rounded: bit for bit the same in every set.
    // Attention runs on it, scores and the weighted sum of values alike.
    void (*axpy_f32)(float* y, float a, const float* x, size_t n);

    // AQLM (llamaport/aqlm.hpp). x holds a.padded_cols() values: the input, zero-padded to whole
    // groups. Table layout (bits <= 8): inputs come in table blocks b of
    // AqlmPacked::table_block_groups groups, each rounded to int8 at its own scale,
    //   xs[b] = max |x| over the block (NaN left out) / 127, x8 = round(x / xs[b]) (NaN: 0),
    // so that every dot product with the int16 codebooks is an exact integer:
    //   d[t][k] = sum_j x8[i * g + j] * codebook16[m][k][j] for step t = i * M + m (input group
    //   i, codebook m) and entry k < 2^B,
    // and rounded to int8 with one scale per table block and codebook: amax = max |d| over the
    // block's steps of codebook m,
    //   lut_scales[b * M + m] = (xs[b] * codebook_scales[m]) * (float(amax) / 127)
    //   lut[t * 256 + k] = round(float(d[t][k]) * (127 / float(amax))) (0 for k >= 2^B, and
    //                      when amax is 0)
    // Rounding is to nearest, ties to even, throughout; the float operations are single ones in
    // this order, so every set builds the same table bit for bit. Fills table blocks
    // [block_begin, block_end). lut (a.table_bytes()) starts on a 64-byte boundary.
    void (*aqlm_build_table)(int8_t* lut, float* lut_scales, const AqlmPacked& a, const float* x,
                             size_t block_begin, size_t block_end);
    // Table layout: y[r] = scales[r] * sum_b sum_m (lut_scales[b * M + m] * n[b][m][r]) for r in
    // [row_begin, row_end), where n[b][m][r] = sum over the groups i of block b of
    // lut[(i * M + m) * 256 + codes[r][i][m]], an exact integer. The float operations run in this
    // order (b, then m ascending, from 0), each multiply and add rounded on its own, in every
    // set: a given table gives the same y bit for bit.
    void (*aqlm_matvec_table)(float* y, const AqlmPacked& a, const int8_t* lut,
                              const float* lut_scales, size_t row_begin, size_t row_end);
    // Decode layout (bits > 8): y[r] = scales[r] * sum_i dot(x group i, w_i), where
    // w_i = sum_m codebook[m][codes[r][i][m]], for r in [row_begin, row_end).
    void (*aqlm_matvec_decode)(float* y, const AqlmPacked& a, const float* x, size_t row_begin,
                               size_t row_end);
};

// The reference set; always available.
const KernelSet& scalar_kernels();

// Every set compiled into this binary that the running CPU supports, scalar first.
std::vector<const KernelSet*> available_kernels();

// Every set compiled into this binary, whether or not this CPU runs it.
std::vector<const KernelSet*> compiled_kernels();

// "auto" picks the best available set; otherwise the set of that name. Throws Error when the
// name is unknown, not compiled in, or not supported by this CPU.
const KernelSet& select_kernels(const std::string& name);

}  // namespace llamaport
