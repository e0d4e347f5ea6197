// Internal: what the kernel sets' files define (one per line of kernel_sets.def) and the CPU
// checks the registry calls.
#pragma once

#include "llamaport/kernels.hpp"
#include "loader/fp16.hpp"

namespace llamaport::kernels {

// Fills the entries the set provides, leaving the others as they are; false when this build
// does not contain the set (its file compiled without the set's instructions).
#define KERNEL_SET(name, fallback, processors, flags, cpu_check) bool add_##name##_kernels(KernelSet& set);
#include "kernel_sets.def"
#undef KERNEL_SET

// The AxpyFn and AxpyHalfFn entries from a set's one-row axpy, row after row.
template <void (*Row)(float*, float, const float*, size_t)>
void axpy_rows(float* y, const float* a, const float* x, size_t x_stride, size_t rows, size_t n) {
    for (size_t r = 0; r < rows; r++) Row(y, a[r], x + r * x_stride, n);
}
template <void (*Row)(float*, float, const uint16_t*, size_t)>
void axpy_half_rows(float* y, const float* a, const uint16_t* x, size_t x_stride, size_t rows,
                    size_t n) {
    for (size_t r = 0; r < rows; r++) Row(y, fp16_to_fp32(fp32_to_fp16(a[r])), x + r * x_stride, n);
}

// Whether the running CPU (and OS) can execute each set (cpu_features.cpp).
bool cpu_has_avx2_fma_f16c();
bool cpu_has_avx512_vbmi_vnni();  // AVX-512 F, BW, VL, VBMI and VNNI, with AVX2, FMA and F16C
bool cpu_has_neon();
bool cpu_has_altivec();
bool cpu_has_scalar();

}  // namespace llamaport::kernels
