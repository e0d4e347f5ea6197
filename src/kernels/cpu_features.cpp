// What the running CPU can execute. Each check is compiled only on the architecture it is about;
// elsewhere it answers false.
#include "kernel_sets.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#if defined(__linux__) && (defined(__powerpc__) || defined(__aarch64__) || defined(__arm__))
#include <sys/auxv.h>
#endif

namespace llamaport::kernels {

bool cpu_has_scalar() { return true; }

#if defined(__x86_64__) || defined(__i386__)
bool cpu_has_avx2_fma_f16c() {
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return false;
    const bool fma = ecx & (1u << 12), osxsave = ecx & (1u << 27), avx = ecx & (1u << 28);
    const bool f16c = ecx & (1u << 29);
    if (!(fma && osxsave && avx && f16c)) return false;
    // The OS must save the YMM registers on a context switch (XCR0 bits 1 and 2).
    unsigned xcr0_lo, xcr0_hi;
    __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    if ((xcr0_lo & 6u) != 6u) return false;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
    return ebx & (1u << 5);
}

bool cpu_has_avx512_vbmi_vnni() {
    if (!cpu_has_avx2_fma_f16c()) return false;
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
    const bool f = ebx & (1u << 16), bw = ebx & (1u << 30), vl = ebx & (1u << 31);
    const bool vbmi = ecx & (1u << 1), vnni = ecx & (1u << 11);
    if (!(f && bw && vl && vbmi && vnni)) return false;
    // The OS must save the opmask and all 512-bit registers (XCR0 bits 5, 6 and 7).
    unsigned xcr0_lo, xcr0_hi;
    __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    return (xcr0_lo & 0xE0u) == 0xE0u;
}
#else
bool cpu_has_avx2_fma_f16c() { return false; }
bool cpu_has_avx512_vbmi_vnni() { return false; }
#endif

#if defined(__aarch64__)
bool cpu_has_neon() { return true; }  // Advanced SIMD is mandatory on AArch64.
#else
bool cpu_has_neon() { return false; }
#endif

#if defined(__powerpc__) && defined(__linux__)
bool cpu_has_altivec() {
    const unsigned long has_altivec = 0x10000000;  // PPC_FEATURE_HAS_ALTIVEC
    return getauxval(AT_HWCAP) & has_altivec;
}
#elif defined(__powerpc__) && defined(__APPLE__)
// Mac OS X on PowerPC: a build with -maltivec targets G4 and later, which all have AltiVec.
bool cpu_has_altivec() { return true; }
#else
bool cpu_has_altivec() { return false; }
#endif

}  // namespace llamaport::kernels
