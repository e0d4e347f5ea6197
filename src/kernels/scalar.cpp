// The reference kernels: plain loops in llama2.c's summation order (one accumulator, j ascending),
// which is what makes llama2.c's outputs reproducible token for token. Built with
// -ffp-contract=off so no compiler fuses a multiply-add and changes the rounding.
#include <algorithm>
#include <cmath>

#include "aqlm_table.hpp"
#include "kernel_sets.hpp"
#include "llamaport/aqlm.hpp"

namespace llamaport::kernels {
// A named namespace, not an anonymous one: every kernel set uses the same function names, and
// the one-file build (tools/amalgamate.py) puts them all in one translation unit.
namespace scalar_impl {

float dot(const float* a, const float* b, size_t n) {
    float sum = 0.0f;
    for (size_t i = 0; i < n; i++) sum += a[i] * b[i];
    return sum;
}

void matvec_f32(float* y, const float* w, const float* x, size_t cols, size_t row_begin,
                size_t row_end) {
    for (size_t r = row_begin; r < row_end; r++) y[r] = dot(w + r * cols, x, cols);
}

void quantize_q8(int8_t* q, float* scales, const float* x, size_t n, size_t group_size) {
    for (size_t start = 0, g = 0; start < n; start += group_size, g++) {
        size_t len = n - start < group_size ? n - start : group_size;
        float max_abs = 0.0f;
        for (size_t i = 0; i < len; i++) max_abs = std::fmax(max_abs, std::fabs(x[start + i]));
        float scale = max_abs / 127.0f;
        scales[g] = scale;
        // An all-zero group has scale 0; its values are 0 rather than 0/0.
        for (size_t i = 0; i < len; i++)
            q[start + i] = scale == 0.0f ? 0
                                         : static_cast<int8_t>(std::round(clamp_q8_quotient(x[start + i] / scale)));
    }
}

void matvec_q8(float* y, const int8_t* wq, const float* ws, const int8_t* xq, const float* xs,
               size_t cols, size_t group_size, size_t row_begin, size_t row_end) {
    size_t groups = groups_per_row(cols, group_size);
    for (size_t r = row_begin; r < row_end; r++) {
        const int8_t* row = wq + r * cols;
        const float* row_scales = ws + r * groups;
        float sum = 0.0f;
        for (size_t g = 0; g < groups; g++) {
            size_t start = g * group_size;
            size_t end = start + group_size < cols ? start + group_size : cols;
            int32_t isum = 0;
            for (size_t j = start; j < end; j++) isum += int32_t(row[j]) * int32_t(xq[j]);
            sum += float(isum) * row_scales[g] * xs[g];
        }
        y[r] = sum;
    }
}

void axpy(float* y, float a, const float* x, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] += a * x[i];
}

void aqlm_build_table(int8_t* lut, float* lut_scales, const AqlmPacked& a, const float* x,
                      size_t block_begin, size_t block_end) {
    aqlm_build_table_blocks<AqlmReferenceBuild>(lut, lut_scales, a, x, block_begin, block_end);
}

// Row by row: each row's integer sum stays in a register across the block's steps.
struct AqlmBlock {
    static constexpr size_t rb = AqlmPacked::row_block;
    struct Sums {
        float v[rb];
    };
    static Sums no_sums() { return Sums{}; }
    static void add_table_block(Sums& s, const int8_t* tables, size_t table_stride,
                                const uint8_t* codes, size_t code_stride, size_t steps,
                                float scale) {
        if (steps == AqlmPacked::table_block_groups)  // all but a matrix's last: unrolled
            rows<AqlmPacked::table_block_groups>(s, tables, table_stride, codes, code_stride,
                                                 steps, scale);
        else
            rows<0>(s, tables, table_stride, codes, code_stride, steps, scale);
    }
    template <size_t Steps>
    static void rows(Sums& s, const int8_t* tables, size_t table_stride, const uint8_t* codes,
                     size_t code_stride, size_t steps, float scale) {
        const size_t count = Steps ? Steps : steps;
        const int8_t* table[AqlmPacked::table_block_groups];
        const uint8_t* code[AqlmPacked::table_block_groups];
        for (size_t t = 0; t < count; t++) {
            table[t] = tables + t * table_stride;
            code[t] = codes + t * code_stride;
        }
        for (size_t k = 0; k < rb; k++) {
            int32_t n = 0;
            for (size_t t = 0; t < count; t++) n += table[t][code[t][k]];
            s.v[k] += float(n) * scale;
        }
    }
    static void finish(float* out, const Sums& s, const float* scales) {
        for (size_t k = 0; k < rb; k++) out[k] = scales[k] * s.v[k];
    }
};

void aqlm_matvec_table(float* y, const AqlmPacked& a, const int8_t* lut, const float* lut_scales,
                       size_t row_begin, size_t row_end) {
    aqlm_table_product<AqlmBlock>(y, a, lut, lut_scales, row_begin, row_end);
}

void aqlm_matvec_decode(float* y, const AqlmPacked& a, const float* x, size_t row_begin,
                        size_t row_end) {
    const size_t g = a.shape.group_size, m_count = a.shape.codebooks, groups = a.shape.groups();
    const size_t entries = a.shape.entries();
    for (size_t r = row_begin; r < row_end; r++) {
        const uint16_t* codes = a.codes16 + r * groups * m_count;
        float sum = 0.0f;
        for (size_t i = 0; i < groups; i++, codes += m_count) {
            float partial = 0.0f;
            for (size_t j = 0; j < g; j++) {
                float w = 0.0f;
                for (size_t m = 0; m < m_count; m++)
                    w += a.codebooks[(m * entries + codes[m]) * g + j];
                partial += x[i * g + j] * w;
            }
            sum += partial;
        }
        y[r] = a.scales[r] * sum;
    }
}

}  // namespace scalar_impl

const KernelSet scalar = {"scalar",
                          scalar_impl::matvec_f32,
                          scalar_impl::quantize_q8,
                          scalar_impl::matvec_q8,
                          scalar_impl::axpy,
                          scalar_impl::aqlm_build_table,
                          scalar_impl::aqlm_matvec_table,
                          scalar_impl::aqlm_matvec_decode};

}  // namespace llamaport::kernels
