// Fuzz target: GGUF vocabularies (tokenizer.ggml.*: tokens, scores, token types, merges, special
// ids) from arbitrary bytes. An accepted vocabulary must encode any text, special tokens
// included, to ids inside it and print safely.
#include <cstring>

#include "fuzz_support.hpp"
#include "llamaport/blob.hpp"
#include "llamaport/error.hpp"

using namespace llamaport;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 4 || std::memcmp(data, "GGUF", 4) != 0) return 0;
    try {
        const Tokenizer tokenizer = Tokenizer::from_gguf(*borrow_memory(data, size, "fuzz.gguf"));
        fuzz::exercise_tokenizer(tokenizer);
    } catch (const Error&) {
    }
    return 0;
}
