#include <catch2/catch.hpp>

#include <cstring>

#include "llamaport/error.hpp"
#include "llamaport/tokenizer.hpp"
#include "test_support.hpp"

using namespace llamaport;
using namespace llamaport::test;

namespace {

// A llama2.c tokenizer file from pieces (scores: minus the index, so earlier merges win).
std::string tokenizer_file(const std::vector<std::string>& pieces, int max_len = 16) {
    std::string out;
    auto put = [&](const void* p, size_t n) { out.append(static_cast<const char*>(p), n); };
    auto put_le32 = [&](uint32_t v) {
        for (int i = 0; i < 4; i++) out.push_back(char(v >> (8 * i)));
    };
    put_le32(uint32_t(max_len));
    for (size_t i = 0; i < pieces.size(); i++) {
        const float score = -float(i);
        uint32_t bits;
        std::memcpy(&bits, &score, 4);
        put_le32(bits);
        put_le32(uint32_t(pieces[i].size()));
        put(pieces[i].data(), pieces[i].size());
    }
    return out;
}

// <unk>, <s>, </s>, the 256 byte tokens, then the given pieces.
std::vector<std::string> vocab_with(const std::vector<std::string>& extra) {
    std::vector<std::string> v{"<unk>", "\n<s>\n", "\n</s>\n"};
    const char* hex = "0123456789ABCDEF";
    for (int b = 0; b < 256; b++) v.push_back(std::string("<0x") + hex[b / 16] + hex[b % 16] + ">");
    v.insert(v.end(), extra.begin(), extra.end());
    return v;
}

Tokenizer make(const std::vector<std::string>& pieces) {
    std::vector<float> scores;
    for (size_t i = 0; i < pieces.size(); i++) scores.push_back(-float(i));
    return Tokenizer(pieces, scores);
}

void check_reference_file(const char* tokenizer_name, const char* ids_name, int vocab) {
    const Tokenizer t = Tokenizer::from_file(model_path(tokenizer_name), vocab);
    const auto strings = read_lines(reference_path("tokenizer_strings.txt"));
    const auto ids = read_lines(reference_path(ids_name));
    REQUIRE(strings.size() == ids.size());
    for (size_t i = 0; i < strings.size(); i++) {
        INFO(tokenizer_name << " line " << i + 1 << ": '" << strings[i] << "'");
        CHECK(t.encode(strings[i], true, false) == parse_ids(ids[i]));
    }
}

}  // namespace

TEST_CASE("tok512 encodes every reference string as run.c does", "[tokenizer][models]") {
    check_reference_file("tok512.bin", "tok512_ids.txt", 512);
}

TEST_CASE("the Llama 2 tokenizer encodes every reference string as run.c does", "[tokenizer][models]") {
    check_reference_file("tokenizer.bin", "tokenizer32000_ids.txt", 32000);
}

TEST_CASE("a tokenizer that does not match the model's vocabulary is refused", "[tokenizer][models]") {
    try {
        Tokenizer::from_file(model_path("tokenizer.bin"), 512);
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(std::string(e.what()).find("tokenizer.bin: tokenizer has 32000 tokens but the model's vocabulary is 512") != std::string::npos);
    }
}

TEST_CASE("merges pick the best-scoring pair first, with the dummy space prefix", "[tokenizer]") {
    const auto pieces = vocab_with({" ", "a", "b", "c", "ab", " ab", "bc", " abc"});
    const Tokenizer t = make(pieces);
    auto id = [&](const std::string& p) { return int(std::find(pieces.begin(), pieces.end(), p) - pieces.begin()); };
    // " " a b c → " " "ab" c ("ab" outscores "bc") → " ab" c → " abc"
    CHECK(t.encode("abc", true, false) == std::vector<int>{1, id(" abc")});
    CHECK(t.encode("abc", false, true) == std::vector<int>{id(" abc"), 2});
    CHECK(t.encode("", true, false) == std::vector<int>{1});
    CHECK(t.encode("cb", false, false) == std::vector<int>{id(" "), id("c"), id("b")});
}

TEST_CASE("characters outside the vocabulary fall back to byte tokens", "[tokenizer]") {
    const Tokenizer t = make(vocab_with({" ", "a"}));
    // é is C3 A9: byte tokens 0xC3+3 and 0xA9+3.
    CHECK(t.encode("a\xC3\xA9", false, false) == std::vector<int>{259, 260, 0xC3 + 3, 0xA9 + 3});
    // run.c looks a character up at most four bytes at a time: a run of five continuation bytes
    // is looked up as four, then one. Without such pieces each byte is its byte token...
    CHECK(t.encode("\x80\x80\x80\x80\x80", false, false) ==
          std::vector<int>{259, 0x80 + 3, 0x80 + 3, 0x80 + 3, 0x80 + 3, 0x80 + 3});
    // ...and with them, the first four bytes are one piece and the fifth is alone (a five-byte
    // piece is never looked up).
    const Tokenizer runs = make(vocab_with({" ", "a", "\x80\x80\x80\x80", "\x80\x80\x80\x80\x80"}));
    CHECK(runs.encode("\x80\x80\x80\x80\x80", false, false) == std::vector<int>{259, 261, 0x80 + 3});
}

TEST_CASE("a byte the tokenizer has no byte token for is an error, not a bad id", "[tokenizer]") {
    const Tokenizer t = make({"<unk>", "<s>", "</s>", " ", "a"});
    CHECK(t.encode("a", false, false) == std::vector<int>{3, 4});
    CHECK_THROWS_AS(t.encode("z", false, false), Error);
}

TEST_CASE("decode strips the space after BOS and turns byte tokens into bytes", "[tokenizer]") {
    const Tokenizer t = make(vocab_with({" ", " Once", "upon"}));
    CHECK(t.decode(1, 260) == "Once");
    CHECK(t.decode(5, 260) == " Once");
    CHECK(t.decode(1, 3 + 'A') == "A");
    CHECK(t.decode(7, 3 + 0xE2) == "\xE2");
    CHECK_THROWS_AS(t.decode(1, 9999), Error);
}

TEST_CASE("tokenizer files: truncation and bad lengths are errors naming the file", "[tokenizer]") {
    const std::string good = tokenizer_file(vocab_with({" ", "a"}));
    CHECK(Tokenizer::from_blob(*borrow_memory(good.data(), good.size(), "t.bin"), 261).vocab_size() == 261);
    for (size_t cut : {size_t(0), size_t(3), size_t(6), size_t(13), good.size() - 1}) {
        INFO("cut at " << cut);
        try {
            Tokenizer::from_blob(*borrow_memory(good.data(), cut, "t.bin"), 261);
            FAIL("no error");
        } catch (const Error& e) {
            CHECK(std::string(e.what()).rfind("t.bin: ", 0) == 0);
        }
    }
    std::string bad_length = good;
    bad_length[8] = char(0x7f);  // first token's length field
    CHECK_THROWS_WITH(Tokenizer::from_blob(*borrow_memory(bad_length.data(), bad_length.size(), "t.bin"), 261),
                      Catch::Contains("t.bin: token 0 has length"));
    std::string bad_max = good;
    bad_max[3] = char(0x80);  // negative max_token_length
    CHECK_THROWS_WITH(Tokenizer::from_blob(*borrow_memory(bad_max.data(), bad_max.size(), "t.bin"), 261),
                      Catch::Contains("max_token_length"));
    // Too few tokens for llama2.c's BOS (1) and EOS (2), whatever size the model expects.
    for (int n : {1, 2}) {
        const std::string small = tokenizer_file(std::vector<std::string>(size_t(n), "x"));
        CHECK_THROWS_WITH(Tokenizer::from_blob(*borrow_memory(small.data(), small.size(), "t.bin"), n),
                          Catch::Contains("t.bin: tokenizer has " + std::to_string(n) +
                                          " tokens; a llama2.c vocabulary needs at least 3"));
    }
    const std::string three = tokenizer_file({"<unk>", "<s>", "</s>"});
    CHECK(Tokenizer::from_blob(*borrow_memory(three.data(), three.size(), "t.bin"), 3).vocab_size() == 3);
}
