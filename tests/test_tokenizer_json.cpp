// Hugging Face tokenizer.json files written by hand: vocab, merges in both spellings, added
// tokens, ignore_merges, the pre-tokenizers recognised, and the files refused.
#include <catch2/catch.hpp>

#include "llamaport/error.hpp"
#include "llamaport/tokenizer.hpp"

using namespace llamaport;
using Ids = std::vector<int>;

namespace {

const std::string llama3_pre =
    R"({"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": )"
    R"("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}, )"
    R"("behavior": "Isolated", "invert": false}, {"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}]})";
const std::string gpt2_pre = R"({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true})";

// Ids: a 0, b 1, c 2, Ġ 3, ab 4, abc 5, Ġa 6, then added tokens 7 <|begin_of_text|> (special),
// 8 <|eot_id|> (special), 9 <tool> (not special), then ' 10, 'ab 11.
std::string tokenizer_json(const std::string& pre, const std::string& merges, bool ignore_merges) {
    return R"({"added_tokens": [
        {"id": 7, "content": "<|begin_of_text|>", "special": true},
        {"id": 8, "content": "<|eot_id|>", "special": true},
        {"id": 9, "content": "<tool>", "special": false}],
      "pre_tokenizer": )" + pre + R"(,
      "post_processor": {"type": "TemplateProcessing", "single": [
        {"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}]},
      "model": {"type": "BPE", "ignore_merges": )" + (ignore_merges ? "true" : "false") + R"(,
        "vocab": {"a": 0, "b": 1, "c": 2, "\u0120": 3, "ab": 4, "abc": 5, "\u0120a": 6, "'": 10, "'ab": 11},
        "merges": )" + merges + "}}";
}

Tokenizer load(const std::string& text) {
    return Tokenizer::from_tokenizer_json(*borrow_memory(text.data(), text.size(), "tokenizer.json"));
}

std::string load_error(const std::string& text) {
    try {
        load(text);
    } catch (const Error& e) {
        return e.what();
    }
    return "no error";
}

}  // namespace

TEST_CASE("tokenizer.json: merges as strings or pairs, added tokens, BOS from the template",
          "[tokenizer]") {
    for (const char* merges : {R"(["a b", "\u0120 a"])", R"([["a", "b"], ["\u0120", "a"]])"}) {
        const Tokenizer t = load(tokenizer_json(llama3_pre, merges, false));
        CHECK(t.kind() == Tokenizer::Kind::byte_level_bpe);
        CHECK(t.vocab_size() == 12);
        CHECK(t.bos_id() == 7);
        CHECK(t.adds_bos());
        CHECK(t.encode("abc a", true, false) == Ids{7, 4, 2, 6});
        // Special tokens in the text only when asked; the non-special added token always.
        CHECK(t.encode("<|eot_id|>", false, false, true) == Ids{8});
        CHECK(t.encode("a<tool>", false, false) == Ids{0, 9});
        CHECK(t.ends_turn(8));
        CHECK(t.decode(0, 6) == " a");
        CHECK(t.decode(0, 8).empty());
    }
}

TEST_CASE("tokenizer.json: ignore_merges and GPT-2's pre-tokenizer", "[tokenizer]") {
    CHECK(load(tokenizer_json(llama3_pre, R"(["a b"])", false)).encode("abc", false, false) == Ids{4, 2});
    CHECK(load(tokenizer_json(llama3_pre, R"(["a b"])", true)).encode("abc", false, false) == Ids{5});
    // Llama 3's split puts a mark before letters in one word (a whole token here); GPT-2's does not.
    CHECK(load(tokenizer_json(llama3_pre, R"(["a b"])", true)).encode("'ab", false, false) == Ids{11});
    CHECK(load(tokenizer_json(gpt2_pre, R"(["a b"])", true)).encode("'ab", false, false) == Ids{10, 4});
}

TEST_CASE("tokenizer.json files llamaport cannot read are refused with the reason", "[tokenizer]") {
    CHECK_THAT(load_error("{"), Catch::StartsWith("tokenizer.json: "));
    CHECK_THAT(load_error(tokenizer_json(R"({"type": "Metaspace"})", "[]", false)),
               Catch::Contains("pre_tokenizer is neither Llama 3's nor GPT-2's"));
    CHECK_THAT(load_error(tokenizer_json(llama3_pre, R"(["a"])", false)),
               Catch::Contains("model.merges[0] is not two tokens"));
    std::string negative = tokenizer_json(llama3_pre, "[]", false);
    negative.replace(negative.find("\"a\": 0"), 6, "\"a\": -1");
    CHECK_THAT(load_error(negative), Catch::Contains("model.vocab[\"a\"] is not a token id"));
    std::string clash = tokenizer_json(llama3_pre, "[]", false);
    clash.replace(clash.find("\"id\": 9"), 7, "\"id\": 0");
    CHECK_THAT(load_error(clash), Catch::Contains("token id 0 is given to two different tokens"));
    // A gap in the ids (the fuzzer's: a few bytes asking for a table of millions of tokens).
    std::string sparse = tokenizer_json(llama3_pre, "[]", false);
    sparse.replace(sparse.find("\"a\": 0"), 6, "\"a\": 11111111");
    CHECK_THAT(load_error(sparse), Catch::Contains("token id 11111111 is beyond the"));
    std::string unigram = tokenizer_json(llama3_pre, "[]", false);
    unigram.replace(unigram.find("\"BPE\""), 5, "\"Unigram\"");
    CHECK_THAT(load_error(unigram), Catch::Contains("model type is 'Unigram'"));
}
