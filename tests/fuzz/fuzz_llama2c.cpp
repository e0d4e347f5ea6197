// Fuzz target: llama2.c checkpoints (v0, v1, v2, either byte order) from arbitrary bytes. What
// the loader accepts must run; what it refuses must be refused with an Error, never a crash.
#include <cstring>

#include "fuzz_support.hpp"
#include "llamaport/blob.hpp"
#include "llamaport/error.hpp"

using namespace llamaport;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size >= 4 && std::memcmp(data, "GGUF", 4) == 0) return 0;  // fuzz_gguf's inputs
    LoadOptions options;
    options.memory_limit = fuzz::memory_limit;
    // Read-only bytes (the case of a file in the host's order) and a writable copy (the loader
    // converts the other order in place there) take different paths.
    std::unique_ptr<Model> model;
    try {
        model = load_model(borrow_memory(data, size, "fuzz.bin"), options);
    } catch (const Error&) {
    }
    try {
        auto writable = load_model(own_memory(std::string(reinterpret_cast<const char*>(data), size),
                                              "fuzz.bin"), options);
        fuzz::check(model != nullptr, "read-only and writable bytes are accepted alike");
    } catch (const Error&) {
        fuzz::check(model == nullptr, "read-only and writable bytes are refused alike");
    }
    if (model) fuzz::run_briefly(*model);
    return 0;
}
