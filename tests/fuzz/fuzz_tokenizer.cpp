// Fuzz target: llama2.c tokenizer files. The first two bytes (little-endian) give the vocabulary
// size the model would expect, minus one; the rest is the file.
#include "fuzz_support.hpp"
#include "llamaport/blob.hpp"
#include "llamaport/error.hpp"

using namespace llamaport;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) return 0;
    const int vocab = 1 + (data[0] | data[1] << 8);
    try {
        const Tokenizer tokenizer = Tokenizer::from_blob(*borrow_memory(data + 2, size - 2, "fuzz.tok"), vocab);
        fuzz::check(tokenizer.vocab_size() == vocab, "a loaded tokenizer has the expected size");
        fuzz::exercise_tokenizer(tokenizer);
    } catch (const Error&) {
    }
    return 0;
}
