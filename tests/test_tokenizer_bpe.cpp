// Byte-level BPE and SentencePiece vocabularies built by hand, the pre-tokenizers on tricky text,
// the Unicode tables and UTF-8 decoding: nothing here needs ../shared.
#include <catch2/catch.hpp>

#include "llamaport/error.hpp"
#include "llamaport/tokenizer.hpp"
#include "tokenizer/byte_level.hpp"
#include "tokenizer/pre_tokenizer.hpp"
#include "tokenizer/unicode.hpp"

using namespace llamaport;
using Words = std::vector<std::string>;
using Ids = std::vector<int>;

TEST_CASE("Llama 3's pre-tokenizer: contractions in any case, digits in threes, white space runs",
          "[tokenizer]") {
    const auto split = [](const std::string& text) { return pre_tokenize(PreTokenizer::llama3, text); };
    CHECK(split("I'm HERE'S it's we'LL") == Words{"I", "'m", " HERE", "'S", " it", "'s", " we", "'LL"});
    CHECK(split("1234567 x12345") == Words{"123", "456", "7", " x", "123", "45"});
    // \s+(?!\S) leaves the last space to the next word; a run at the end stays whole.
    CHECK(split("a   b") == Words{"a", "  ", " b"});
    CHECK(split("a   ") == Words{"a", "   "});
    // \s*[\r\n]+ ends at the last line break of a run.
    CHECK(split("a  \n\n b") == Words{"a", "  \n\n", " b"});
    CHECK(split("hello!!!\n\nworld") == Words{"hello", "!!!\n\n", "world"});
    CHECK(split("  1") == Words{" ", " ", "1"});
    // A punctuation mark leads the letters after it; a line break does not.
    CHECK(split("(word)\nnext") == Words{"(word", ")\n", "next"});
    CHECK(split("naïve café Привет 東京") == Words{"naïve", " café", " Привет", " 東京"});
    CHECK(split("٣٤٥٦") == Words{"٣٤٥", "٦"});  // Arabic-Indic digits are \p{N}
    CHECK(split("").empty());
}

TEST_CASE("GPT-2's pre-tokenizer: lower-case contractions, a leading space, digit runs", "[tokenizer]") {
    const auto split = [](const std::string& text) { return pre_tokenize(PreTokenizer::gpt2, text); };
    CHECK(split("I'm HERE'S") == Words{"I", "'m", " HERE", "'", "S"});
    CHECK(split("1234567 x12") == Words{"1234567", " x", "12"});
    CHECK(split(" 123abc") == Words{" 123", "abc"});
    CHECK(split("a   b\n") == Words{"a", "  ", " b", "\n"});
    // No line break rule: the run gives its last character up, which then stands alone.
    CHECK(split("hi!!\n\nyo") == Words{"hi", "!!", "\n", "\n", "yo"});
}

TEST_CASE("ill-formed UTF-8 becomes U+FFFD one byte at a time", "[tokenizer]") {
    using unicode::code_points;
    const uint32_t bad = unicode::replacement_character;
    CHECK(code_points("a\xF0\x9F\x98\x80z") == std::vector<uint32_t>{'a', 0x1F600, 'z'});
    CHECK(code_points("\xC0\x80") == std::vector<uint32_t>{bad, bad});          // overlong
    CHECK(code_points("\xED\xA0\x80") == std::vector<uint32_t>{bad, bad, bad});  // surrogate
    CHECK(code_points("\xF4\x90\x80\x80") == std::vector<uint32_t>{bad, bad, bad, bad});  // > U+10FFFF
    CHECK(code_points("\xE2\x82") == std::vector<uint32_t>{bad, bad});       // truncated
    CHECK(code_points("\x80x") == std::vector<uint32_t>{bad, 'x'});          // stray continuation
    CHECK(pre_tokenize(PreTokenizer::llama3, "a\xFF" "b") == Words{"a", "\xEF\xBF\xBD" "b"});
}

TEST_CASE("the generated Unicode tables", "[tokenizer]") {
    using unicode::CharClass;
    using unicode::char_class;
    CHECK(char_class('A') == CharClass::letter);
    CHECK(char_class(0xE9) == CharClass::letter);
    CHECK(char_class(0x4E00) == CharClass::letter);   // inside a First/Last range of the database
    CHECK(char_class(0x20000) == CharClass::letter);
    CHECK(char_class('7') == CharClass::number);
    CHECK(char_class(0x2163) == CharClass::number);   // Roman numeral four (Nl)
    CHECK(char_class(0x301) == CharClass::mark);
    CHECK(char_class('!') == CharClass::punctuation);
    CHECK(char_class(0x20AC) == CharClass::symbol);
    CHECK(char_class(0x378) == CharClass::unassigned);
    CHECK(char_class(0x110000) == CharClass::unassigned);
    for (uint32_t space : {0x9u, 0xAu, 0xDu, 0x20u, 0x85u, 0xA0u, 0x1680u, 0x2000u, 0x2028u, 0x3000u})
        CHECK(unicode::is_white_space(space));
    for (uint32_t other : {0x8u, 0x200Bu, 0x61u, 0x180Eu}) CHECK_FALSE(unicode::is_white_space(other));
}

TEST_CASE("GPT-2's byte-to-character mapping covers every byte once", "[tokenizer]") {
    CHECK(byte_level::encode(" \n") == "\xC4\xA0\xC4\x8A");  // "ĠĊ"
    CHECK(byte_level::encode("a!") == "a!");
    std::string all;
    for (int b = 0; b < 256; b++) all += char(b);
    CHECK(byte_level::decode(byte_level::encode(all)) == all);
    for (int b = 0; b < 256; b++) CHECK(byte_level::byte_of_char(byte_level::char_of_byte(uint8_t(b))) == b);
    CHECK(byte_level::byte_of_char(0x4E00) == -1);
}

namespace {

// The 256 byte characters, then `extra`; merges as given.
Vocabulary byte_level_vocabulary(const Words& extra, std::vector<std::pair<std::string, std::string>> merges) {
    Vocabulary v;
    v.model = Vocabulary::Model::byte_level_bpe;
    for (int b = 0; b < 256; b++) v.tokens.push_back(byte_level::encode(std::string(1, char(b))));
    v.tokens.insert(v.tokens.end(), extra.begin(), extra.end());
    v.merges = std::move(merges);
    v.add_bos = false;
    return v;
}

int byte_id(char c) { return static_cast<unsigned char>(c); }

}  // namespace

TEST_CASE("byte-level BPE merges by rank, leftmost first", "[tokenizer]") {
    // Ids: 256 "ab", 257 "bc", 258 "abc", 259 "Ġa".
    const Words extra{"ab", "bc", "abc", "\xC4\xA0" "a"};
    SECTION("the best-ranked pair merges first") {
        const Tokenizer bc_first(byte_level_vocabulary(extra, {{"b", "c"}, {"a", "b"}, {"a", "bc"}}));
        CHECK(bc_first.encode("abc", false, false) == Ids{258});
        const Tokenizer ab_first(byte_level_vocabulary(extra, {{"a", "b"}, {"b", "c"}, {"a", "bc"}}));
        // ab wins, and no merge joins "ab" with "c".
        CHECK(ab_first.encode("abc", false, false) == Ids{256, byte_id('c')});
        CHECK(ab_first.encode("abab", false, false) == Ids{256, 256});
        CHECK(ab_first.encode("bcbc", false, false) == Ids{257, 257});
    }
    SECTION("ignore_merges takes a word that is a whole token as it is") {
        Vocabulary v = byte_level_vocabulary(extra, {{"a", "b"}});
        CHECK(Tokenizer(v).encode("abc", false, false) == Ids{256, byte_id('c')});
        v.ignore_merges = true;
        CHECK(Tokenizer(v).encode("abc", false, false) == Ids{258});
    }
    SECTION("a space is its mapped character; words never merge across the pre-tokenizer's cuts") {
        const Tokenizer t(byte_level_vocabulary(extra, {{"\xC4\xA0", "a"}, {"a", "b"}}));
        CHECK(t.encode("ab a", false, false) == Ids{256, 259});
        CHECK(t.decode(256, 259) == " a");
        CHECK(t.encode("\xFF", false, false) == Ids{0xEF, 0xBF, 0xBD});  // U+FFFD's bytes
    }
    SECTION("merges naming unknown tokens are ignored") {
        const Tokenizer t(byte_level_vocabulary(extra, {{"x", "yz"}, {"q", "r"}, {"a", "b"}}));
        CHECK(t.encode("qrab", false, false) == Ids{byte_id('q'), byte_id('r'), 256});
    }
}

TEST_CASE("special tokens: control tokens in text only when asked, BOS as the vocabulary says, end of turn",
          "[tokenizer]") {
    // Ids: 256 "<|begin|>", 257 "<|end|>", 258 "<tool>", 259 "<|eot_id|>".
    Vocabulary v = byte_level_vocabulary({"<|begin|>", "<|end|>", "<tool>", "<|eot_id|>"}, {});
    v.types.assign(v.tokens.size(), TokenType::normal);
    v.types[256] = v.types[257] = v.types[259] = TokenType::control;
    v.types[258] = TokenType::user_defined;
    v.bos_id = 256;
    v.eos_id = 257;
    v.add_bos = true;
    const Tokenizer t(v);
    const Ids plain = t.encode("x<|end|>", false, false);
    CHECK(plain.size() == 8);
    CHECK(t.encode("x<|end|>", false, false, true) == Ids{byte_id('x'), 257});
    // User-defined tokens are found either way.
    CHECK(t.encode("<tool>x", false, false) == Ids{258, byte_id('x')});
    CHECK(t.encode("x", true, false) == Ids{256, byte_id('x')});
    CHECK(t.encode("x", true, true) == Ids{256, byte_id('x'), 257});
    CHECK(t.decode(0, 257).empty());
    CHECK(t.decode(0, 258) == "<tool>");
    CHECK(t.end_of_turn_ids() == Ids{257, 259});
    CHECK_FALSE(t.ends_turn(256));
    v.add_bos = false;
    CHECK(Tokenizer(v).encode("x", true, false) == Ids{byte_id('x')});
}

TEST_CASE("SentencePiece: best score first, space prefix, byte fallback", "[tokenizer]") {
    Vocabulary v;
    const char* hex = "0123456789ABCDEF";
    v.tokens = {"<unk>", "<s>", "</s>"};
    v.types = {TokenType::unknown, TokenType::control, TokenType::control};
    for (int b = 0; b < 256; b++) {
        v.tokens.push_back(std::string("<0x") + hex[b / 16] + hex[b % 16] + ">");
        v.types.push_back(TokenType::byte);
    }
    // Ids 259.. : "▁", "a", "b", "▁a", "ab", "▁ab"
    const std::string space = "\xE2\x96\x81";
    for (const std::string& piece : {space, std::string("a"), std::string("b"), space + "a", std::string("ab"), space + "ab"}) {
        v.tokens.push_back(piece);
        v.types.push_back(TokenType::normal);
    }
    v.scores.assign(v.tokens.size(), 0.0f);
    v.scores[262] = -1;  // "▁a"
    v.scores[263] = -2;  // "ab"
    v.scores[264] = -3;  // "▁ab"
    v.bos_id = 1;
    v.eos_id = 2;
    v.unknown_id = 0;
    const Tokenizer t(v);
    CHECK(t.encode("ab", true, false) == Ids{1, 264});
    CHECK(t.encode("b a", false, false) == Ids{259, 261, 262});
    CHECK(t.encode("az", false, false) == Ids{262, 3 + 'z'});
    CHECK(t.encode("", true, false) == Ids{1});
    // After a special token the space prefix comes again.
    CHECK(t.encode("a</s>a", false, false, true) == Ids{262, 2, 262});
    CHECK(t.decode(1, 262) == "a");
    CHECK(t.decode(262, 262) == " a");
    CHECK(t.decode(0, 3 + 'z') == "z");
    v.add_space_prefix = false;
    CHECK(Tokenizer(v).encode("ab", false, false) == Ids{263});
}

TEST_CASE("a vocabulary with ids outside it or mismatched arrays is refused", "[tokenizer]") {
    Vocabulary v = byte_level_vocabulary({}, {});
    v.eos_id = 256;
    CHECK_THROWS_AS(Tokenizer(v), Error);
    v.eos_id = -1;
    v.scores = {1.0f};
    CHECK_THROWS_AS(Tokenizer(v), Error);
    CHECK_THROWS_AS(Tokenizer(Vocabulary{}), Error);
}
