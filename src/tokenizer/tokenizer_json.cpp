// Hugging Face's tokenizer.json for byte-level BPE: model.vocab, model.merges in priority order
// ("a b" strings or [a, b] pairs), model.ignore_merges, added_tokens (special ones are control
// tokens, the others user-defined), the pre-tokenizer recognised as Llama 3's or GPT-2's, and
// BOS from the post-processor's template.
#include <algorithm>

#include "json.hpp"
#include "llamaport/error.hpp"
#include "llamaport/tokenizer.hpp"

namespace llamaport {
namespace {

using json::Type;

const char* const llama3_pattern =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char* const gpt2_pattern = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

// Texts that name BOS and EOS in the vocabularies people use (tokenizer.json does not say which
// tokens they are, except BOS through the post-processor).
const char* const bos_texts[] = {"<|begin_of_text|>", "<s>", "<|startoftext|>"};
const char* const eos_texts[] = {"<|end_of_text|>", "</s>", "<|endoftext|>"};

class Reader {
public:
    explicit Reader(std::string name) : name_(std::move(name)) {}

    [[noreturn]] void fail(const std::string& problem) const {
        throw Error(name_ + ": " + problem);
    }

    const json::Value& member(const json::Value& object, const char* key, Type type, const char* where) const {
        const json::Value* v = object.find(key);
        if (!v) fail(std::string(where) + " has no \"" + key + "\"");
        if (v->type != type)
            fail(std::string(where) + "." + key + " is " + json::type_name(v->type) + ", expected " +
                 json::type_name(type));
        return *v;
    }

    const json::Value* optional(const json::Value& object, const char* key, Type type, const char* where) const {
        const json::Value* v = object.find(key);
        if (!v || v->is_null()) return nullptr;
        return &member(object, key, type, where);
    }

    int id(const json::Value& v, const std::string& where) const {
        if (!v.is_number() || !v.is_integer || v.integer < 0 || v.integer >= (int64_t(1) << 24))
            fail(where + " is not a token id (a whole number below 2^24)");
        return int(v.integer);
    }

private:
    std::string name_;
};

bool is_pre_tokenizer(const json::Value& v, const char* type) {
    const json::Value* t = v.find("type");
    return t && t->is_string() && t->string == type;
}

// A ByteLevel step: it splits with GPT-2's expression itself unless use_regex is false.
bool byte_level_splits(const Reader& r, const json::Value& step) {
    if (const json::Value* prefix = r.optional(step, "add_prefix_space", Type::Bool, "ByteLevel"))
        if (prefix->boolean) r.fail("a ByteLevel pre-tokenizer with add_prefix_space is not supported");
    const json::Value* regex = r.optional(step, "use_regex", Type::Bool, "ByteLevel");
    return !regex || regex->boolean;
}

PreTokenizer read_pre_tokenizer(const Reader& r, const json::Value& root) {
    const json::Value* pre = root.find("pre_tokenizer");
    if (!pre || !pre->is_object()) r.fail("no pre_tokenizer (llamaport reads byte-level BPE vocabularies)");
    if (is_pre_tokenizer(*pre, "ByteLevel") && byte_level_splits(r, *pre)) return PreTokenizer::gpt2;
    if (is_pre_tokenizer(*pre, "Sequence")) {
        const json::Value& steps = r.member(*pre, "pretokenizers", Type::Array, "pre_tokenizer");
        if (steps.array.size() == 2 && is_pre_tokenizer(steps.array[0], "Split") &&
            is_pre_tokenizer(steps.array[1], "ByteLevel") && !byte_level_splits(r, steps.array[1])) {
            const json::Value* pattern = steps.array[0].find("pattern");
            const json::Value* regex = pattern && pattern->is_object() ? pattern->find("Regex") : nullptr;
            if (regex && regex->is_string()) {
                if (regex->string == llama3_pattern) return PreTokenizer::llama3;
                if (regex->string == gpt2_pattern) return PreTokenizer::gpt2;
            }
        }
    }
    r.fail("pre_tokenizer is neither Llama 3's nor GPT-2's (the ones llamaport implements)");
}

// "a b", or ["a", "b"].
std::pair<std::string, std::string> read_merge(const Reader& r, const json::Value& merge, size_t index) {
    if (merge.is_string()) {
        const size_t space = merge.string.find(' ');
        if (space != std::string::npos && merge.string.find(' ', space + 1) == std::string::npos)
            return {merge.string.substr(0, space), merge.string.substr(space + 1)};
    } else if (merge.is_array() && merge.array.size() == 2 && merge.array[0].is_string() &&
               merge.array[1].is_string()) {
        return {merge.array[0].string, merge.array[1].string};
    }
    r.fail("model.merges[" + std::to_string(index) + "] is not two tokens");
}

}  // namespace

Tokenizer Tokenizer::from_tokenizer_json(const Blob& blob) {
    const Reader r(blob.name());
    const json::Value root =
        json::parse(std::string_view(reinterpret_cast<const char*>(blob.data()), blob.size()), blob.name());
    if (!root.is_object()) r.fail("not a tokenizer.json (the top level is not an object)");
    const json::Value& model = r.member(root, "model", Type::Object, "tokenizer.json");
    const json::Value* type = r.optional(model, "type", Type::String, "model");
    if (type && type->string != "BPE")
        r.fail("model type is '" + type->string + "'; llamaport reads BPE tokenizer.json files");

    Vocabulary v;
    v.model = Vocabulary::Model::byte_level_bpe;
    v.pre_tokenizer = read_pre_tokenizer(r, root);
    v.add_bos = false;
    v.add_space_prefix = false;
    if (const json::Value* ignore = r.optional(model, "ignore_merges", Type::Bool, "model"))
        v.ignore_merges = ignore->boolean;

    // Ids may come in any order and leave holes; a hole is an unused token with no text.
    std::vector<std::pair<int, std::string>> entries;
    for (const auto& [text, id] : r.member(model, "vocab", Type::Object, "model").object)
        entries.emplace_back(r.id(id, "model.vocab[\"" + text + "\"]"), text);
    std::vector<std::pair<int, bool>> added;  // id, special
    if (const json::Value* tokens = r.optional(root, "added_tokens", Type::Array, "tokenizer.json")) {
        for (size_t i = 0; i < tokens->array.size(); i++) {
            const json::Value& token = tokens->array[i];
            const std::string where = "added_tokens[" + std::to_string(i) + "]";
            if (!token.is_object()) r.fail(where + " is not an object");
            const int id = r.id(r.member(token, "id", Type::Number, where.c_str()), where + ".id");
            entries.emplace_back(id, r.member(token, "content", Type::String, where.c_str()).string);
            const json::Value* special = r.optional(token, "special", Type::Bool, where.c_str());
            added.emplace_back(id, special && special->boolean);
        }
    }
    if (entries.empty()) r.fail("model.vocab is empty");
    int size = 0;
    for (const auto& entry : entries) size = std::max(size, entry.first + 1);
    // Vocabularies number their tokens from 0 without gaps; ids far past the tokens given would
    // make a table of millions of empty entries from a few bytes of file.
    if (size_t(size) > entries.size())
        r.fail("token id " + std::to_string(size - 1) + " is beyond the " +
               std::to_string(entries.size()) + " tokens given");
    v.tokens.resize(size_t(size));
    v.types.assign(size_t(size), TokenType::unused);
    for (const auto& [id, text] : entries) {
        if (v.types[size_t(id)] != TokenType::unused && v.tokens[size_t(id)] != text)
            r.fail("token id " + std::to_string(id) + " is given to two different tokens");
        v.tokens[size_t(id)] = text;
        v.types[size_t(id)] = TokenType::normal;
    }
    for (const auto& [id, special] : added)
        v.types[size_t(id)] = special ? TokenType::control : TokenType::user_defined;

    const json::Value& merges = r.member(model, "merges", Type::Array, "model");
    v.merges.reserve(merges.array.size());
    for (size_t i = 0; i < merges.array.size(); i++) v.merges.push_back(read_merge(r, merges.array[i], i));

    const auto find_token = [&](const std::string& text) {
        for (size_t i = 0; i < v.tokens.size(); i++)
            if (v.tokens[i] == text && v.types[i] != TokenType::unused) return int(i);
        return -1;
    };
    if (const json::Value* unk = r.optional(model, "unk_token", Type::String, "model")) v.unknown_id = find_token(unk->string);
    for (const char* text : eos_texts)
        if (v.eos_id < 0) v.eos_id = find_token(text);
    for (const char* text : bos_texts)
        if (v.bos_id < 0) v.bos_id = find_token(text);
    // BOS is added when the post-processor's template for one sequence starts with it.
    std::vector<const json::Value*> processors;
    if (const json::Value* p = root.find("post_processor"); p && p->is_object()) {
        processors.push_back(p);
        if (const json::Value* list = p->find("processors"); list && list->is_array())
            for (const json::Value& step : list->array) processors.push_back(&step);
    }
    for (const json::Value* p : processors) {
        const json::Value* single = is_pre_tokenizer(*p, "TemplateProcessing") ? p->find("single") : nullptr;
        if (!single || !single->is_array() || single->array.empty()) continue;
        const json::Value* first = single->array[0].find("SpecialToken");
        const json::Value* name = first ? first->find("id") : nullptr;
        if (name && name->is_string() && find_token(name->string) >= 0) {
            v.bos_id = find_token(name->string);
            v.add_bos = true;
        }
    }
    try {
        return Tokenizer(std::move(v));
    } catch (const Error& e) {
        const std::string what = e.what();
        if (what.compare(0, 11, "tokenizer: ") == 0) r.fail(what.substr(11));
        throw;
    }
}

}  // namespace llamaport
