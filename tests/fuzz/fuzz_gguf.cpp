// Fuzz target: GGUF files from arbitrary bytes (inputs without the GGUF magic are fuzz_llama2c's).
// An accepted file must run, its vocabulary (as its own tokenizer and in llama2.c's form) must
// encode and print safely, and its chat template, if recognised, format a chat it can encode.
#include <cstring>

#include "fuzz_support.hpp"
#include "llamaport/blob.hpp"
#include "llamaport/chat_template.hpp"
#include "llamaport/error.hpp"
#include "llamaport/generate.hpp"

using namespace llamaport;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 4 || std::memcmp(data, "GGUF", 4) != 0) return 0;
    LoadOptions options;
    options.memory_limit = fuzz::memory_limit;
    std::unique_ptr<Model> model;
    try {
        model = load_model(borrow_memory(data, size, "fuzz.gguf"), options);
    } catch (const Error&) {
        return 0;
    }
    fuzz::run_briefly(*model);
    if (model->tokenizer) fuzz::exercise_tokenizer(*model->tokenizer);
    if (const std::optional<ChatTemplate> t = ChatTemplate::detect(model->chat_template); t && model->tokenizer) {
        try {
            special_token_encoder(*model->tokenizer)(t->format({{"system", "s"}, {"user", "</s><|eot_id|>"}}, true), true);
        } catch (const Error&) {
        }
    }
    if (!model->vocab.empty()) {
        try {
            const EmbeddedVocab& v = model->vocab;
            fuzz::exercise_tokenizer(Tokenizer(v.pieces, v.scores, v.bos_id, v.eos_id));
        } catch (const Error&) {
        }
    }
    return 0;
}
