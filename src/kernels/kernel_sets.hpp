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
#ifdef LLAMAPORT_KERNELS_AVX512
extern const KernelSet avx512;  // needs the AVX2 set: built only with it
#endif
#ifdef LLAMAPORT_KERNELS_NEON
extern const KernelSet neon;
#endif
#ifdef LLAMAPORT_KERNELS_ALTIVEC
extern const KernelSet altivec;
#endif

// A quotient x / scale of quantize_q8, made safe to round to int8 the same way in every set: NaN
// becomes 0 and the rest is clamped to [-127, 127]. Only bad inputs get there: a group of
// denormals (its scale loses precision) or a NaN or infinity in the activations.
inline float clamp_q8_quotient(float v) {
    return v >= -127.0f ? (v <= 127.0f ? v : 127.0f) : (v < -127.0f ? -127.0f : 0.0f);
}

// Whether the running CPU (and OS) can execute each set (cpu_features.cpp).
bool cpu_has_avx2_fma();
bool cpu_has_avx512_vbmi();  // AVX-512 F, BW and VBMI, with AVX2 and FMA
bool cpu_has_neon();
bool cpu_has_altivec();

}  // namespace llamaport::kernels
