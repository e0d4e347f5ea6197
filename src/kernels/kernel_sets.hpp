// Internal: the kernel sets this build may contain. Each is defined in its own file, compiled
// with that instruction set's flags only; CMake defines LLAMAPORT_KERNELS_<NAME> for each file
// it compiles in.
#pragma once

#include "llamaport/kernels.hpp"

namespace llamaport::kernels {

extern const KernelSet scalar;
#ifdef LLAMAPORT_KERNELS_AVX2
extern const KernelSet avx2;
#endif
#ifdef LLAMAPORT_KERNELS_NEON
extern const KernelSet neon;
#endif
#ifdef LLAMAPORT_KERNELS_ALTIVEC
extern const KernelSet altivec;
#endif

// Whether the running CPU (and OS) can execute each set (cpu_features.cpp).
bool cpu_has_avx2_fma();
bool cpu_has_neon();
bool cpu_has_altivec();

}  // namespace llamaport::kernels
