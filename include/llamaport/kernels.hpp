// The kernel table: every hot loop the model runs, one function pointer each, per weight type
// and input format (llamaport/weights.hpp). One KernelSet per instruction set, resolved once at
// start-up: a set provides the entries it has and takes the rest from the set it falls back to
// (avx512 -> avx2 -> scalar, neon -> scalar, altivec -> scalar; src/kernels/kernel_sets.def).
// The scalar set is the weight-type table's reference products: the oracle of every test.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "llamaport/weights.hpp"

namespace llamaport {

// Prepares what products of matrix w read from the fp32 input column x (w.cols values): parts
// [part_begin, part_end) of it (InputFormatInfo::parts: blocks, groups, AQLM table blocks).
using PrepareFn = void (*)(uint8_t* out, const Matrix& w, const float* x, size_t part_begin,
                           size_t part_end);

// For input columns c < columns, prepared at in + c * in_stride bytes (F32: the fp32 values):
// y[c * y_stride + r] = row r of w times column c, for rows [row_begin, row_end). row_begin is a
// multiple of the type's row alignment. The same (row, column) gives the same result whatever
// the range or the number of columns.
using ProductFn = void (*)(float* y, size_t y_stride, const Matrix& w, const uint8_t* in,
                           size_t in_stride, size_t columns, size_t row_begin, size_t row_end);

// For r = 0, 1, ..., rows - 1 in that order: y[i] += a[r] * x[r * x_stride + i] for i < n,
// multiplied then added, each rounded: bit for bit the same in every set. Attention's sums over
// a head's keys and values; a set keeps y in registers across the rows.
using AxpyFn = void (*)(float* y, const float* a, const float* x, size_t x_stride, size_t rows,
                        size_t n);
// The same with x in IEEE half (an fp16 KV cache) and each a[r] rounded to half first
// (fp32_to_fp16, widened back), as llama.cpp's F16 cache rounds what meets it.
using AxpyHalfFn = void (*)(float* y, const float* a, const uint16_t* x, size_t x_stride,
                            size_t rows, size_t n);
// out[i] = fp32_to_fp16(x[i]) (loader/fp16.hpp: nearest, ties to even; NaN the quiet NaN ggml
// writes): bit for bit the same in every set. Rows going into an fp16 KV cache.
using ToHalfFn = void (*)(uint16_t* out, const float* x, size_t n);

struct KernelSet {
    const char* name = nullptr;
    PrepareFn prepare[input_format_count] = {};
    ProductFn product[weight_type_count] = {};
    // For the types with a batch product (types/types.hpp: WeightTypeInfo::batch_product): a
    // product reading the fp32 input, for prompts; null for the others.
    ProductFn batch_product[weight_type_count] = {};
    // Where not 0: matrices of at least this many weights read prompts through the product
    // instead, which wins there (AQLM's tables on avx512).
    size_t batch_weights_below[weight_type_count] = {};
    // AQLM tables (WeightType::AQLM) as product[AQLM] reads them: [h] writes the unscaled sums
    // of half h of the table blocks alone (kernels/aqlm_table.hpp), to split a product by
    // halves over threads.
    ProductFn aqlm_half_sums[2] = {};
    AxpyFn axpy_f32 = nullptr;
    AxpyHalfFn axpy_f16 = nullptr;
    ToHalfFn to_f16 = nullptr;

    ProductFn product_for(WeightType t) const { return product[size_t(t)]; }
    ProductFn batch_product_for(WeightType t) const { return batch_product[size_t(t)]; }
    // Whether prompts of at least the type's batch_columns multiply m by the batch product.
    bool batches(const Matrix& m) const {
        const size_t below = batch_weights_below[size_t(m.type)];
        return batch_product[size_t(m.type)] && (below == 0 || m.rows * m.cols < below);
    }
    PrepareFn prepare_for(InputFormat f) const { return prepare[size_t(f)]; }
};

// The reference set; always available.
const KernelSet& scalar_kernels();

// Every set compiled into this binary that the running CPU supports, scalar first.
std::vector<const KernelSet*> available_kernels();

// Every set compiled into this binary, whether or not this CPU runs it, scalar first.
std::vector<const KernelSet*> compiled_kernels();

// Every set llamaport knows (compiled in or not), best first, as `--kernel` takes them.
const std::vector<std::string>& kernel_set_names();

// "auto" picks the best available set; otherwise the set of that name. Throws Error when the
// name is unknown, not compiled in, or not supported by this CPU.
const KernelSet& select_kernels(const std::string& name);

}  // namespace llamaport
