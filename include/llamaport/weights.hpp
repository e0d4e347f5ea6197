// Weight matrices and the table of weight types (ggml's type_traits, in C++). Every type has one
// row in the table (src/types/table.cpp): its name, its GGUF id, its block, the reference
// dequantizer (the oracle for every kernel), the input format its products read and its
// reference product. A Matrix names its type and points at its rows; everything else about
// the type comes from the table, so the model code never branches on a weight type.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace llamaport {

enum class WeightType : uint8_t {
    F32,   // fp32 values
    Q8_G,  // llama2.c v2 (runq.c): blocks of {fp32 scale, int8 values}, group size per matrix
    Q8_0,  // ggml: blocks of {fp16 scale, 32 int8 values}
    AQLM,       // additive quantization, codes of up to 8 bits (lookup tables); data points at
                // an AqlmPacked (llamaport/aqlm.hpp)
    AQLM_WIDE,  // the same with codes of 9 to 16 bits (decoded row by row)
    F16,        // IEEE half values
    BF16,       // bfloat16 values
    Q4_0,       // ggml's legacy blocks of 32: 4-bit values and an fp16 scale
    Q4_1,       // the same with an fp16 minimum
    Q5_0,       // 5-bit values and an fp16 scale
    Q5_1,       // the same with an fp16 minimum
    IQ4_NL,     // 4-bit indices into a non-linear table of levels, an fp16 scale
    Q6_K,       // ggml: 256 values of 6 bits, an int8 scale per 16, one fp16 factor
    Q4_K,       // ggml: 256 values of 4 bits, 6-bit scale and min per 32, fp16 d and dmin
    Q5_K,       // ggml: Q4_K with 5-bit values
    Q3_K,       // ggml: 256 values of 3 bits, a 6-bit scale per 16, one fp16 factor
    Q2_K,       // ggml: 256 values of 2 bits, 4-bit scale and min per 16, fp16 d and dmin
};
constexpr size_t weight_type_count = 17;

// What the products of a weight type read for each input column, prepared from the fp32 input
// once per input and matrix kind: the input itself, int8 blocks at a scale, or AQLM's tables.
enum class InputFormat : uint8_t {
    F32,        // the fp32 values
    Q8_G,       // runq.c's blocks: {fp32 scale, int8 values}, the matrix's group size
    Q8_0,       // ggml's block_q8_0: {fp16 scale, 32 int8 values}
    AqlmTable,  // the lookup tables of one AQLM matrix (KernelSet::prepare, aqlm.hpp)
    F16,        // the values rounded to IEEE half
    BF16,       // the values rounded to bfloat16
    Q8_1,       // ggml's block_q8_1: {fp16 scale, fp16 scale * sum of the values, 32 int8 values}
    Q8_K,       // ggml's block_q8_K: {fp32 scale, 256 int8 values, int16 sums of each 16}
};
constexpr size_t input_format_count = 8;

struct AqlmPacked;  // llamaport/aqlm.hpp

// A weight matrix of `rows` outputs by `cols` inputs. Row r occupies row_stride bytes at
// data + r * row_stride, in its type's block layout. Views memory owned by a Model.
struct Matrix {
    WeightType type = WeightType::F32;
    const void* data = nullptr;
    size_t rows = 0, cols = 0;
    size_t row_stride = 0;
    // Values per block, for the types whose block size is set per matrix (Q8_G's group).
    size_t block_values = 0;

    const uint8_t* row(size_t r) const { return static_cast<const uint8_t*>(data) + r * row_stride; }
    const AqlmPacked& aqlm() const { return *static_cast<const AqlmPacked*>(data); }
    // Bytes one product reads from memory.
    size_t bytes() const;
    // Row r as fp32 through the type's reference dequantizer.
    void row_to_f32(size_t r, float* out) const;
};

// Row bytes and a view for `rows` x `cols` values of a type with a fixed block (not AQLM);
// block_values is Q8_G's group size. Throws Error when cols is not whole blocks.
size_t weight_row_bytes(WeightType type, size_t cols, size_t block_values = 0);
Matrix weight_matrix(WeightType type, const void* data, size_t rows, size_t cols,
                     size_t block_values = 0);

const char* weight_type_name(WeightType type);
// The type of a name ("q8_0"), or false.
bool weight_type_from_name(const std::string& name, WeightType& type);

}  // namespace llamaport
