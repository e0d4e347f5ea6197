// Fuzz target: safetensors files from arbitrary bytes. Whatever the reader accepts must be safe
// to read element by element (ASan checks every tensor stays inside the input).
#include <cmath>

#include "fuzz_support.hpp"
#include "import/safetensors.hpp"
#include "llamaport/blob.hpp"
#include "llamaport/error.hpp"

using namespace llamaport;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::unique_ptr<safetensors::File> file;
    try {
        file = std::make_unique<safetensors::File>(borrow_memory(data, size, "fuzz.safetensors"));
    } catch (const Error&) {
        return 0;
    }
    size_t total = 0;
    for (const safetensors::Tensor& t : file->tensors()) {
        fuzz::check(t.bytes == t.elements * safetensors::dtype_size(t.dtype),
                    "a tensor's bytes match its shape");
        fuzz::check(t.data >= data + 8 && t.data + t.bytes <= data + size,
                    "a tensor lies inside the file");
        total += t.bytes;
        float sum = 0;
        for (size_t i = 0; i < t.elements; i++)
            sum += t.is_float() ? t.f32(i) : float(t.integer(i));
        (void)std::isnan(sum);
    }
    fuzz::check(total <= size, "tensors do not overlap");
    return 0;
}
