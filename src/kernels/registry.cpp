// The kernel sets of kernel_sets.def, each resolved once: its own entries over its fallback's,
// over theirs, down to the scalar set.
#include <cstring>
#include <string>

#include "kernel_sets.hpp"
#include "llamaport/error.hpp"

namespace llamaport {
namespace {

struct Definition {
    const char* name;
    const char* fallback;
    bool (*add)(KernelSet&);
    bool (*cpu_supports)();
};

const Definition definitions[] = {
#define KERNEL_SET(name, fallback, processors, flags, cpu_check) \
    {#name, #fallback, kernels::add_##name##_kernels, kernels::cpu_check},
#include "kernel_sets.def"
#undef KERNEL_SET
};

const Definition* find(const std::string& name) {
    for (const Definition& d : definitions)
        if (name == d.name) return &d;
    return nullptr;
}

struct Resolved {
    const Definition* definition;
    KernelSet set;
    bool compiled;
};

// Applies the chain from scalar up to d; compiled when d's own file has its kernels.
bool add_chain(const Definition& d, KernelSet& set) {
    if (const Definition* fallback = find(d.fallback)) add_chain(*fallback, set);
    return d.add(set);
}

bool complete(const KernelSet& set) {
    for (ProductFn p : set.product)
        if (!p) return false;
    for (size_t f = 0; f < input_format_count; f++)
        if (!set.prepare[f] && f != size_t(InputFormat::F32)) return false;
    return set.aqlm_half_sums[0] && set.aqlm_half_sums[1] && set.axpy_f32 && set.axpy_f16 &&
           set.to_f16;
}

const std::vector<Resolved>& resolved() {
    static const std::vector<Resolved> sets = [] {
        std::vector<Resolved> out;
        for (const Definition& d : definitions) {
            Resolved r{&d, KernelSet{}, false};
            r.compiled = add_chain(d, r.set);
            r.set.name = d.name;
            if (r.compiled && !complete(r.set))
                throw Error(std::string("kernel set '") + d.name + "' is missing entries");
            out.push_back(r);
        }
        return out;
    }();
    return sets;
}

const Resolved& resolved_scalar() {
    for (const Resolved& r : resolved())
        if (std::strcmp(r.definition->name, "scalar") == 0) return r;
    throw Error("no scalar kernel set");
}

// Scalar first, then the others best first.
std::vector<const KernelSet*> sets_where(bool (*keep)(const Resolved&)) {
    std::vector<const KernelSet*> out{&resolved_scalar().set};
    for (const Resolved& r : resolved())
        if (&r != &resolved_scalar() && keep(r)) out.push_back(&r.set);
    return out;
}

std::string names(const std::vector<const KernelSet*>& sets) {
    std::string out;
    for (const KernelSet* set : sets) out += (out.empty() ? "" : ", ") + std::string(set->name);
    return out;
}

}  // namespace

const KernelSet& scalar_kernels() { return resolved_scalar().set; }

std::vector<const KernelSet*> compiled_kernels() {
    return sets_where([](const Resolved& r) { return r.compiled; });
}

std::vector<const KernelSet*> available_kernels() {
    return sets_where([](const Resolved& r) { return r.compiled && r.definition->cpu_supports(); });
}

const std::vector<std::string>& kernel_set_names() {
    static const std::vector<std::string> all = [] {
        std::vector<std::string> out;
        for (const Definition& d : definitions) out.push_back(d.name);
        return out;
    }();
    return all;
}

const KernelSet& select_kernels(const std::string& name) {
    for (const Resolved& r : resolved()) {
        const bool usable = r.compiled && r.definition->cpu_supports();
        if (name == "auto" && usable) return r.set;
        if (name != r.definition->name) continue;
        if (!r.compiled)
            throw Error("kernel '" + name + "': not compiled into this build (available: " +
                        names(available_kernels()) + ")");
        if (!usable)
            throw Error("kernel '" + name + "': this CPU does not support it (available: " +
                        names(available_kernels()) + ")");
        return r.set;
    }
    std::string known = "auto";
    for (const std::string& n : kernel_set_names()) known += ", " + n;
    throw Error("unknown kernel '" + name + "' (choose " + known + ")");
}

}  // namespace llamaport
