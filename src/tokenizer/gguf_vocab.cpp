// The tokenizer.ggml.* keys of a GGUF file: SentencePiece ("llama") and byte-level BPE ("gpt2")
// vocabularies, with the special token ids and flags llama.cpp reads.
#include "tokenizer/gguf_vocab.hpp"

#include <climits>

#include "llamaport/error.hpp"

namespace llamaport {
namespace {

using gguf::GgufFile;
using gguf::KeyValue;
using gguf::Value;
using gguf::ValueType;

// The pre-tokenizer names llama.cpp gives each expression that llamaport implements.
const char* const llama3_names[] = {"llama3", "llama-v3", "llama-bpe", "falcon3"};
const char* const gpt2_names[] = {"gpt-2", "phi-2", "roberta-bpe", "gigachat", "jina-es", "jina-de",
                                  "jina-v1-en", "jina-v2-es", "jina-v2-de", "jina-v2-code"};

class VocabKeys {
public:
    explicit VocabKeys(const GgufFile& file) : f_(file) {}

    bool has(const std::string& key) const { return f_.find(key) != nullptr; }

    std::string string(const std::string& key, const std::string& fallback) const {
        const KeyValue* kv = f_.find(key);
        if (!kv) return fallback;
        if (kv->type != ValueType::String) wrong_type(key, "a string");
        return f_.value(*kv).str;
    }

    bool boolean(const std::string& key, bool fallback) const {
        const KeyValue* kv = f_.find(key);
        if (!kv) return fallback;
        if (kv->type != ValueType::Bool) wrong_type(key, "a bool");
        return f_.value(*kv).bits != 0;
    }

    // A token id below n, or fallback when absent.
    int id(const std::string& key, size_t n, int fallback) const {
        const KeyValue* kv = f_.find(key);
        if (!kv) return fallback;
        const Value v = f_.value(*kv);
        if (!v.is_integer()) wrong_type(key, "an integer");
        if (v.is_negative() || uint64_t(v.as_int()) >= n)
            f_.fail("metadata '" + key + "' = " + std::to_string(v.as_int()) +
                    " is outside the vocabulary of " + std::to_string(n) + " tokens");
        return int(v.as_int());
    }

    // An array of `type`, of `count` elements unless count is 0; empty when absent and optional.
    Value array(const std::string& key, ValueType type, uint64_t count, bool required) const {
        const KeyValue* kv = f_.find(key);
        if (!kv) {
            if (required) f_.fail("missing required metadata key '" + key + "'");
            return Value{};
        }
        if (kv->type != ValueType::Array || kv->element_type != type)
            wrong_type(key, std::string("an array of ") + gguf::value_type_name(type));
        if (count && kv->count != count)
            f_.fail("metadata '" + key + "' has " + std::to_string(kv->count) + " elements, expected " +
                    std::to_string(count));
        return f_.value(*kv);
    }

private:
    [[noreturn]] void wrong_type(const std::string& key, const std::string& expected) const {
        f_.fail("metadata '" + key + "' must be " + expected);
    }
    const GgufFile& f_;
};

template <size_t N>
bool named(const std::string& name, const char* const (&names)[N]) {
    for (const char* n : names)
        if (name == n) return true;
    return false;
}

}  // namespace

Vocabulary read_gguf_vocabulary(const GgufFile& file) {
    const VocabKeys keys(file);
    Vocabulary v;
    const std::string model = keys.string("tokenizer.ggml.model", "llama");
    if (model == "llama")
        v.model = Vocabulary::Model::sentencepiece;
    else if (model == "gpt2")
        v.model = Vocabulary::Model::byte_level_bpe;
    else
        file.fail("tokenizer is " + gguf::quoted(model) +
                  "; llamaport reads SentencePiece ('llama') and byte-level BPE ('gpt2') vocabularies");

    v.tokens = keys.array("tokenizer.ggml.tokens", ValueType::String, 0, true).strings;
    const size_t n = v.tokens.size();
    if (n == 0) file.fail("tokenizer.ggml.tokens is empty");
    if (n > size_t(INT_MAX)) file.fail("vocabulary of " + std::to_string(n) + " tokens is too large");
    const Value scores = keys.array("tokenizer.ggml.scores", ValueType::F32, n, false);
    for (size_t i = 0; i < scores.scalars.size(); i++) v.scores.push_back(float(scores.element(i).as_float()));
    const Value types = keys.array("tokenizer.ggml.token_type", ValueType::I32, n, false);
    for (size_t i = 0; i < types.scalars.size(); i++) {
        const int64_t t = types.element(i).as_int();
        v.types.push_back(t >= 1 && t <= 6 ? TokenType(t) : TokenType::normal);
    }

    v.bos_id = keys.id("tokenizer.ggml.bos_token_id", n, -1);
    v.eos_id = keys.id("tokenizer.ggml.eos_token_id", n, -1);
    v.unknown_id = keys.id("tokenizer.ggml.unknown_token_id", n, -1);
    v.eot_id = keys.id("tokenizer.ggml.eot_token_id", n, -1);
    v.eom_id = keys.id("tokenizer.ggml.eom_token_id", n, -1);

    if (v.model == Vocabulary::Model::sentencepiece) {
        // llama.cpp's defaults for SentencePiece: <unk> 0, <s> 1, </s> 2, BOS added.
        if (!keys.has("tokenizer.ggml.bos_token_id") && n > 1) v.bos_id = 1;
        if (!keys.has("tokenizer.ggml.eos_token_id") && n > 2) v.eos_id = 2;
        if (!keys.has("tokenizer.ggml.unknown_token_id")) v.unknown_id = 0;
        v.add_space_prefix = keys.boolean("tokenizer.ggml.add_space_prefix", true);
        v.add_bos = keys.boolean("tokenizer.ggml.add_bos_token", true);
        return v;
    }

    const std::string pre = keys.string("tokenizer.ggml.pre", "");
    if (named(pre, llama3_names)) {
        v.pre_tokenizer = PreTokenizer::llama3;
        v.ignore_merges = true;
    } else if (named(pre, gpt2_names)) {
        v.pre_tokenizer = PreTokenizer::gpt2;
    } else {
        file.fail("pre-tokenizer " + (pre.empty() ? std::string("(tokenizer.ggml.pre) missing") : gguf::quoted(pre)) +
                  "; llamaport splits text as Llama 3 ('llama-bpe') and GPT-2 ('gpt-2') do");
    }
    v.add_space_prefix = false;
    v.add_bos = keys.boolean("tokenizer.ggml.add_bos_token", v.pre_tokenizer == PreTokenizer::llama3);
    // "left right", split at the first space after the first byte (a token may start with one).
    for (std::string& merge : keys.array("tokenizer.ggml.merges", ValueType::String, 0, true).strings) {
        const size_t space = merge.find(' ', 1);
        if (space == std::string::npos)
            file.fail("merge " + gguf::quoted(merge) + " in tokenizer.ggml.merges is not two tokens");
        v.merges.emplace_back(merge.substr(0, space), merge.substr(space + 1));
    }
    return v;
}

Tokenizer Tokenizer::from_gguf(const Blob& blob) {
    const GgufFile file(blob.data(), blob.size(), blob.name());
    try {
        return Tokenizer(read_gguf_vocabulary(file));
    } catch (const Error& e) {
        const std::string what = e.what();
        // Messages from the tokenizer itself do not name the file.
        if (what.compare(0, 11, "tokenizer: ") == 0) file.fail(what.substr(11));
        throw;
    }
}

}  // namespace llamaport
