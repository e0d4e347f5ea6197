// The shared tokenizer vectors (reference/tokenizers, llama.cpp's format): every case must give
// exactly the expected ids.
#include <catch2/catch.hpp>

#include "llamaport/tokenizer.hpp"
#include "test_support.hpp"

using namespace llamaport;
using namespace llamaport::test;

namespace {

std::string tokenizer_vector_path(const std::string& name) { return reference_path("tokenizers/" + name); }

struct VectorCase {
    std::string text;
    std::vector<int> ids;
};

// NAME.inp: inputs separated by "\n__ggml_vocab_test__\n"; NAME.out: one line of ids per input.
std::vector<VectorCase> read_vectors(const std::string& name) {
    const std::string inputs = read_file(tokenizer_vector_path(name + ".inp"));
    const std::vector<std::string> outputs = read_lines(tokenizer_vector_path(name + ".out"));
    const std::string separator = "\n__ggml_vocab_test__\n";
    std::vector<VectorCase> cases;
    for (size_t at = 0; at < inputs.size();) {
        size_t end = inputs.find(separator, at);
        if (end == std::string::npos) end = inputs.size();
        cases.push_back({inputs.substr(at, end - at), {}});
        at = end == inputs.size() ? end : end + separator.size();
    }
    REQUIRE(cases.size() == outputs.size());
    for (size_t i = 0; i < cases.size(); i++) cases[i].ids = parse_ids(outputs[i]);
    return cases;
}

void check_vectors(const Tokenizer& tokenizer, const std::string& name, bool parse_special) {
    const std::vector<VectorCase> cases = read_vectors(name);
    CHECK(cases.size() >= 40);
    for (size_t i = 0; i < cases.size(); i++) {
        INFO(name << " case " << i + 1 << ": '" << cases[i].text << "'");
        CHECK(tokenizer.encode(cases[i].text, false, false, parse_special) == cases[i].ids);
    }
}

}  // namespace

TEST_CASE("Llama 2's SentencePiece vocabulary (GGUF) encodes llama.cpp's vectors exactly",
          "[tokenizer][models]") {
    const Tokenizer t = Tokenizer::from_any_file(tokenizer_vector_path("ggml-vocab-llama-spm.gguf"));
    REQUIRE(t.kind() == Tokenizer::Kind::sentencepiece);
    CHECK(t.vocab_size() == 32000);
    CHECK(t.bos_id() == 1);
    CHECK(t.eos_id() == 2);
    CHECK(t.adds_bos());
    check_vectors(t, "llama-spm", false);
    // BOS is added when asked; "<s>" in the text is a control token only when parse_special.
    CHECK(t.encode("Hello", true, false) == std::vector<int>{1, 15043});
    CHECK(t.encode("<s>Hello", false, false, true) == std::vector<int>{1, 15043});
    CHECK(t.encode("<s>", false, false, false) != std::vector<int>{1});
    // Decoding: the space prefix goes after BOS, byte tokens are their byte, BOS prints nothing.
    CHECK(t.decode(1, 15043) == "Hello");
    CHECK(t.decode(15043, 15043) == " Hello");
    CHECK(t.decode(0, 1).empty());
    CHECK(t.decode(0, 3 + 0x41) == "A");
    CHECK(t.ends_turn(2));
    CHECK_FALSE(t.ends_turn(1));
}

namespace {

const Tokenizer& llama3_tokenizer() {
    static const Tokenizer tokenizer = Tokenizer::from_any_file(model_path("llama3/tokenizer.json"));
    return tokenizer;
}

}  // namespace

TEST_CASE("Llama 3's tokenizer.json encodes llama.cpp's llama-bpe vectors exactly", "[tokenizer][models]") {
    const Tokenizer& t = llama3_tokenizer();
    REQUIRE(t.kind() == Tokenizer::Kind::byte_level_bpe);
    CHECK(t.vocab_size() == 128256);
    CHECK(t.bos_id() == 128000);
    CHECK(t.eos_id() == 128001);
    CHECK(t.adds_bos());
    check_vectors(t, "llama-bpe", false);
}

TEST_CASE("Llama 3's tokenizer.json encodes the special-token vectors exactly", "[tokenizer][models]") {
    const Tokenizer& t = llama3_tokenizer();
    check_vectors(t, "llama3", true);
    // Without parse_special the same text is plain text.
    CHECK(t.encode("<|eot_id|>", false, false, false).size() > 1);
    CHECK(t.encode("<|eot_id|>", false, false, true) == std::vector<int>{128009});
    // Generation stops on EOS, <|eot_id|> and <|eom_id|>; none of them is printed.
    for (int id : {128001, 128008, 128009}) {
        CHECK(t.ends_turn(id));
        CHECK(t.decode(0, id).empty());
    }
    CHECK_FALSE(t.ends_turn(128000));
    // Byte-level pieces decode to their bytes: "Ġworld" is " world", a lone byte stays a byte.
    CHECK(t.decode(0, 1917) == " world");
    std::string text;
    for (int id : t.encode("naïve 東京 🦙\n", false, false)) text += t.decode(0, id);
    CHECK(text == "naïve 東京 🦙\n");
}
