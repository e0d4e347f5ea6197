// Only in UBSan builds for 32-bit hosts (LLAMAPORT_UBSAN): GCC 12's UBSan runtime calls
// __sync_val_compare_and_swap_8, which 32-bit PowerPC has neither as an instruction nor in
// libatomic. This supplies it on top of libatomic's lock-based 8-byte compare-and-swap.
#include <cstdint>

extern "C" uint64_t llamaport_sync_cas8(volatile void* p, uint64_t expected, uint64_t desired)
    __asm__("__sync_val_compare_and_swap_8");

extern "C" uint64_t llamaport_sync_cas8(volatile void* p, uint64_t expected, uint64_t desired) {
    __atomic_compare_exchange_n(static_cast<volatile uint64_t*>(p), &expected, desired, false,
                                __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    return expected;
}
