// Internal: the rows of the weight-type table and of the input-format table. A weight type is
// one header in this folder (its block layout, reference dequantizer and reference product) plus
// one row in table.cpp; a kernel set may add its own product for it in the set's file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "llamaport/kernels.hpp"
#include "llamaport/weights.hpp"

namespace llamaport {

// A multi-byte field of a block (an fp16 scale, say): a host of the other byte order than the
// file swaps each such field by its own width, never the block as a whole.
struct BlockField {
    uint16_t offset = 0, width = 0;
};
constexpr size_t max_block_fields = 4;

constexpr uint32_t no_gguf_type = UINT32_MAX;

struct WeightTypeInfo {
    WeightType type;
    const char* name;
    uint32_t gguf_id;         // ggml's type id, or no_gguf_type
    size_t block_values;      // values per block; 0: set per matrix (Matrix::block_values)
    size_t block_bytes;       // bytes per block; 0: set per matrix
    BlockField fields[max_block_fields];  // multi-byte fields of a block (width 0 ends the list)
    InputFormat input;        // what its products read
    size_t row_align;         // product row ranges start at multiples of this
    // Bytes of one row of `cols` values (block_values: the matrix's, for per-matrix blocks), or 0
    // when cols is not whole blocks.
    size_t (*row_bytes)(size_t cols, size_t block_values);
    // Row r as fp32: plain loops, the oracle of every kernel.
    void (*dequantize_row)(const Matrix& m, size_t r, float* out);
    ProductFn product;        // the reference product (the scalar set's)
    size_t (*bytes)(const Matrix& m);  // bytes a product reads; null: rows * row_stride
    // n values (whole blocks) to blocks in host order, for writers; null when there is none.
    void (*quantize_row)(uint8_t* out, const float* x, size_t n) = nullptr;
    // For products of at least batch_columns columns, the reference of another product that reads
    // the fp32 input instead of `input` and pays off there (AQLM: decoding rows once for all the
    // columns beats a table lookup per column); null when there is none.
    ProductFn batch_product = nullptr;
    size_t batch_columns = 0;
};

struct InputFormatInfo {
    InputFormat format;
    const char* name;
    // Bytes of one prepared column for matrix w (0 for F32: products read the input as it is).
    size_t (*column_bytes)(const Matrix& w);
    // Units of prepare's work per column (blocks, groups, table blocks), split across threads.
    size_t (*parts)(const Matrix& w);
    PrepareFn reference;  // the scalar set's; null for F32
    // Two matrices of one format whose keys are equal take the same prepared input.
    uintptr_t (*key)(const Matrix& w);
    // Threads share a batch's columns rather than its rows: a column's preparation costs as much
    // as its products (AQLM tables), and read by the thread that wrote it, it stays in that
    // core's caches.
    bool split_columns;
};

const WeightTypeInfo& type_info(WeightType type);
const InputFormatInfo& input_info(InputFormat format);
// The weight type a ggml type id maps to, or nullptr.
const WeightTypeInfo* type_by_gguf_id(uint32_t id);

// Row bytes of a fixed-block type: whole blocks only.
inline size_t blocked_row_bytes(size_t cols, size_t block_values, size_t block_bytes) {
    return cols % block_values == 0 ? cols / block_values * block_bytes : 0;
}

// Unaligned reads of block fields in host order (the loader has put them in host order).
inline float load_f32(const uint8_t* p) {
    float v;
    std::memcpy(&v, p, 4);
    return v;
}
inline uint16_t load_u16(const uint8_t* p) {
    uint16_t v;
    std::memcpy(&v, p, 2);
    return v;
}

}  // namespace llamaport
