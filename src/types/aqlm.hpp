// AQLM: additive quantization (llamaport/aqlm.hpp), two weight types over one packed layout: a
// Matrix of either points at an AqlmPacked in model memory.
// - AQLM, codes of up to 8 bits: products read the input as the matrix's lookup tables
//   (InputFormat::AqlmTable, built by the sets' prepare entries; the walk and the table's
//   arithmetic are shared by every set in kernels/aqlm_table.hpp).
// - AQLM_WIDE, codes of 9 to 16 bits (1x16): a table would outgrow the caches, so products decode
//   each group's weights from the codebooks and read the fp32 input.
#pragma once

#include "kernels/aqlm_table.hpp"
#include "llamaport/aqlm.hpp"
#include "types/f32.hpp"
#include "types/types.hpp"

namespace llamaport::types {

// Row by row: each row's integer sum stays in a register across the block's steps.
struct AqlmReferenceBlock {
    static constexpr size_t rb = AqlmPacked::row_block;
    struct Sums {
        float v[rb];
    };
    static Sums no_sums() { return Sums{}; }
    static void add_table_block(Sums& s, const int8_t* tables, size_t table_stride,
                                const uint8_t* codes, size_t code_stride, size_t steps,
                                float scale) {
        const int8_t* table[AqlmPacked::table_block_groups];
        const uint8_t* code[AqlmPacked::table_block_groups];
        for (size_t t = 0; t < steps; t++) {
            table[t] = tables + t * table_stride;
            code[t] = codes + t * code_stride;
        }
        for (size_t k = 0; k < rb; k++) {
            int32_t n = 0;
            for (size_t t = 0; t < steps; t++) n += table[t][code[t][k]];
            s.v[k] += float(n) * scale;
        }
    }
    static void store(float* out, const Sums& s) {
        for (size_t k = 0; k < rb; k++) out[k] = s.v[k];
    }
};

// Prompt columns from which decoding rows to fp32 beats the tables: on AVX2, per column, 2
// columns tie or lose (by 10% at 2048 x 768) and 3 win on every 15M and 110M matrix (by 10-45%).
constexpr size_t aqlm_batch_columns = 3;

inline void aqlm_dequantize_row(const Matrix& m, size_t r, float* out) {
    m.aqlm().row_to_f32(r, out);
}
inline size_t aqlm_bytes(const Matrix& m) { return m.aqlm().bytes(); }
inline size_t aqlm_no_row_bytes(size_t, size_t) { return 0; }  // packed by pack_aqlm only

inline constexpr WeightTypeInfo aqlm_type = {
    WeightType::AQLM, "aqlm", no_gguf_type, 0, 0, {}, InputFormat::AqlmTable,
    AqlmPacked::row_block, aqlm_no_row_bytes, aqlm_dequantize_row,
    kernels::aqlm_product<AqlmReferenceBlock>, aqlm_bytes, nullptr,
    kernels::aqlm_batch_product<kernels::AqlmReferenceDecode, f32_product>, aqlm_batch_columns};

inline constexpr WeightTypeInfo aqlm_wide_type = {
    WeightType::AQLM_WIDE, "aqlm_wide", no_gguf_type, 0, 0, {}, InputFormat::F32, 16,
    aqlm_no_row_bytes, aqlm_dequantize_row, kernels::aqlm_decode_reference,
    aqlm_bytes, nullptr,
    kernels::aqlm_batch_product<kernels::AqlmReferenceDecode, f32_product>, aqlm_batch_columns};

}  // namespace llamaport::types
