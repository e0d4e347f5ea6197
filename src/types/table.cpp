// The table of weight types and of the input formats their products read: one row each. A new
// weight type is its own header here (block layout, reference dequantizer, reference product),
// one row below, and its name in WeightType (llamaport/weights.hpp).
#include "llamaport/error.hpp"
#include "types/aqlm.hpp"
#include "types/f16.hpp"
#include "types/f32.hpp"
#include "types/inputs.hpp"
#include "types/iq4_nl.hpp"
#include "types/q4_0.hpp"
#include "types/q4_1.hpp"
#include "types/q5_0.hpp"
#include "types/q5_1.hpp"
#include "types/q8_0.hpp"
#include "types/q8_g.hpp"
#include "types/q2_k.hpp"
#include "types/q3_k.hpp"
#include "types/q4_k.hpp"
#include "types/q5_k.hpp"
#include "types/q6_k.hpp"

namespace llamaport {
namespace {

// In WeightType's order.
const WeightTypeInfo* const weight_types[] = {
    &types::f32_type,
    &types::q8_g_type,
    &types::q8_0_type,
    &types::aqlm_type,
    &types::aqlm_wide_type,
    &types::f16_type,
    &types::bf16_type,
    &types::q4_0_type,
    &types::q4_1_type,
    &types::q5_0_type,
    &types::q5_1_type,
    &types::iq4_nl_type,
    &types::q6_k_type,
    &types::q4_k_type,
    &types::q5_k_type,
    &types::q3_k_type,
    &types::q2_k_type,
};
static_assert(sizeof weight_types / sizeof weight_types[0] == weight_type_count,
              "one row per WeightType");

// In InputFormat's order.
const InputFormatInfo input_formats[] = {
    {InputFormat::F32, "f32", types::f32_input_bytes, types::one_part, nullptr, types::no_key,
     false},
    {InputFormat::Q8_G, "q8_g", types::q8_g_input_bytes, types::q8_g_groups,
     types::q8_g_quantize_groups, types::q8_g_key, false},
    {InputFormat::Q8_0, "q8_0", types::q8_0_input_bytes, types::q8_0_blocks,
     types::q8_0_quantize_blocks, types::no_key, false},
    {InputFormat::AqlmTable, "aqlm_table", kernels::aqlm_input_bytes, kernels::aqlm_input_parts,
     kernels::aqlm_prepare<kernels::AqlmReferenceBuild>, kernels::aqlm_input_key, true},
    {InputFormat::F16, "f16", types::half_input_bytes, types::one_part,
     types::narrow_input<fp32_to_fp16>, types::no_key, false},
    {InputFormat::BF16, "bf16", types::half_input_bytes, types::one_part,
     types::narrow_input<fp32_to_bf16>, types::no_key, false},
    {InputFormat::Q8_1, "q8_1", types::q8_1_input_bytes, types::q8_0_blocks,
     types::q8_1_quantize_blocks, types::no_key, false},
    {InputFormat::Q8_K, "q8_k", types::q8_k_input_bytes, types::k_blocks,
     types::q8_k_quantize_blocks, types::no_key, false},
};
static_assert(sizeof input_formats / sizeof input_formats[0] == input_format_count,
              "one row per InputFormat");

}  // namespace

const WeightTypeInfo& type_info(WeightType type) {
    const WeightTypeInfo& info = *weight_types[size_t(type)];
    return info;
}

const InputFormatInfo& input_info(InputFormat format) { return input_formats[size_t(format)]; }

const WeightTypeInfo* type_by_gguf_id(uint32_t id) {
    for (const WeightTypeInfo* t : weight_types)
        if (t->gguf_id == id) return t;
    return nullptr;
}

const char* weight_type_name(WeightType type) { return type_info(type).name; }

bool weight_type_from_name(const std::string& name, WeightType& type) {
    for (const WeightTypeInfo* t : weight_types)
        if (name == t->name) {
            type = t->type;
            return true;
        }
    return false;
}

size_t Matrix::bytes() const {
    const WeightTypeInfo& t = type_info(type);
    return t.bytes ? t.bytes(*this) : rows * row_stride;
}

void Matrix::row_to_f32(size_t r, float* out) const { type_info(type).dequantize_row(*this, r, out); }

size_t weight_row_bytes(WeightType type, size_t cols, size_t block_values) {
    const WeightTypeInfo& t = type_info(type);
    const size_t bytes = t.row_bytes(cols, block_values);
    if (bytes == 0)
        throw Error(std::string(t.name) + " rows of " + std::to_string(cols) +
                    " values are not whole blocks" +
                    (t.block_values ? " of " + std::to_string(t.block_values) : std::string()));
    return bytes;
}

Matrix weight_matrix(WeightType type, const void* data, size_t rows, size_t cols,
                     size_t block_values) {
    Matrix m;
    m.type = type;
    m.data = data;
    m.rows = rows;
    m.cols = cols;
    m.block_values = block_values;
    m.row_stride = weight_row_bytes(type, cols, block_values);
    return m;
}

}  // namespace llamaport
