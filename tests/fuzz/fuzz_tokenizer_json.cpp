// Fuzz target: Hugging Face tokenizer.json files from arbitrary bytes. An accepted vocabulary
// must encode any text, special tokens included, to ids inside it and print safely.
#include "fuzz_support.hpp"
#include "llamaport/blob.hpp"
#include "llamaport/error.hpp"

using namespace llamaport;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        const Tokenizer tokenizer = Tokenizer::from_tokenizer_json(*borrow_memory(data, size, "tokenizer.json"));
        fuzz::exercise_tokenizer(tokenizer);
    } catch (const Error&) {
    }
    return 0;
}
