// The static table of kernel sets, best first, and run-time selection from the detected CPU.
#include <string>

#include "kernel_sets.hpp"
#include "llamaport/error.hpp"

namespace llamaport {
namespace {

struct Candidate {
    const KernelSet* set;
    bool (*cpu_supports)();
};

bool always() { return true; }

// Best first: "auto" takes the first one the CPU supports.
const Candidate candidates[] = {
#ifdef LLAMAPORT_KERNELS_AVX512
    {&kernels::avx512, kernels::cpu_has_avx512_vbmi},
#endif
#ifdef LLAMAPORT_KERNELS_AVX2
    {&kernels::avx2, kernels::cpu_has_avx2_fma},
#endif
#ifdef LLAMAPORT_KERNELS_NEON
    {&kernels::neon, kernels::cpu_has_neon},
#endif
#ifdef LLAMAPORT_KERNELS_ALTIVEC
    {&kernels::altivec, kernels::cpu_has_altivec},
#endif
    {&kernels::scalar, always},
};

std::string names(const std::vector<const KernelSet*>& sets) {
    std::string out;
    for (const KernelSet* set : sets) out += (out.empty() ? "" : ", ") + std::string(set->name);
    return out;
}

}  // namespace

const KernelSet& scalar_kernels() { return kernels::scalar; }

std::vector<const KernelSet*> compiled_kernels() {
    std::vector<const KernelSet*> out{&kernels::scalar};
    for (const Candidate& c : candidates)
        if (c.set != &kernels::scalar) out.push_back(c.set);
    return out;
}

std::vector<const KernelSet*> available_kernels() {
    std::vector<const KernelSet*> out{&kernels::scalar};
    for (const Candidate& c : candidates)
        if (c.set != &kernels::scalar && c.cpu_supports()) out.push_back(c.set);
    return out;
}

const KernelSet& select_kernels(const std::string& name) {
    if (name == "auto") {
        for (const Candidate& c : candidates)
            if (c.cpu_supports()) return *c.set;
    }
    for (const Candidate& c : candidates) {
        if (name != c.set->name) continue;
        if (!c.cpu_supports())
            throw Error("kernel '" + name + "': this CPU does not support it (available: " +
                        names(available_kernels()) + ")");
        return *c.set;
    }
    static const char* const known[] = {"scalar", "avx2", "avx512", "neon", "altivec"};
    for (const char* k : known)
        if (name == k)
            throw Error("kernel '" + name + "': not compiled into this build (available: " +
                        names(available_kernels()) + ")");
    throw Error("unknown kernel '" + name + "' (choose auto, scalar, avx2, avx512, neon or altivec)");
}

}  // namespace llamaport
