// The scalar set: the weight-type table's reference products and input preparations, plain loops
// in llama2.c's order (-ffp-contract=off, so no compiler fuses a multiply-add): the oracle of
// every other set, and what reproduces llama2.c bit for bit.
#include "kernel_sets.hpp"
#include "loader/fp16.hpp"
#include "types/aqlm.hpp"
#include "types/types.hpp"

namespace llamaport::kernels {
namespace scalar_impl {

void axpy(float* y, float a, const float* x, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] += a * x[i];
}

void axpy_f16(float* y, float a, const uint16_t* x, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] += a * fp16_to_fp32(x[i]);
}

void to_f16(uint16_t* out, const float* x, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = fp32_to_fp16(x[i]);
}

}  // namespace scalar_impl

bool add_scalar_kernels(KernelSet& set) {
    for (size_t t = 0; t < weight_type_count; t++) {
        set.product[t] = type_info(WeightType(t)).product;
        set.batch_product[t] = type_info(WeightType(t)).batch_product;
    }
    for (size_t f = 0; f < input_format_count; f++)
        set.prepare[f] = input_info(InputFormat(f)).reference;
    add_aqlm_half_sums<types::AqlmReferenceBlock>(set);
    set.axpy_f32 = axpy_rows<scalar_impl::axpy>;
    set.axpy_f16 = axpy_half_rows<scalar_impl::axpy_f16>;
    set.to_f16 = scalar_impl::to_f16;
    return true;
}

}  // namespace llamaport::kernels
