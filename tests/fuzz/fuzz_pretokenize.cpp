// Fuzz target: the pre-tokenizers and byte-level BPE on arbitrary bytes. The words must cover
// the text exactly (ill-formed bytes as U+FFFD), none empty, and BPE over a vocabulary of every
// byte must decode back to that text.
#include <string>

#include "fuzz_support.hpp"
#include "tokenizer/byte_level.hpp"
#include "tokenizer/pre_tokenizer.hpp"
#include "tokenizer/unicode.hpp"

using namespace llamaport;

namespace {

// The 256 byte characters and a few merges, with Llama 3's or GPT-2's pre-tokenizer.
Tokenizer byte_vocabulary(PreTokenizer pre) {
    Vocabulary v;
    v.model = Vocabulary::Model::byte_level_bpe;
    for (int b = 0; b < 256; b++) v.tokens.push_back(byte_level::encode(std::string(1, char(b))));
    for (const char* piece : {"\xC4\xA0t", "he", "\xC4\xA0the", "in"}) v.tokens.push_back(piece);
    v.merges = {{"\xC4\xA0", "t"}, {"h", "e"}, {"\xC4\xA0t", "he"}, {"i", "n"}};
    v.pre_tokenizer = pre;
    v.ignore_merges = pre == PreTokenizer::llama3;
    v.add_bos = false;
    return Tokenizer(std::move(v));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    std::string expected;
    for (uint32_t cp : unicode::code_points(text)) unicode::append_utf8(expected, cp);
    for (PreTokenizer pre : {PreTokenizer::gpt2, PreTokenizer::llama3}) {
        static const Tokenizer gpt2 = byte_vocabulary(PreTokenizer::gpt2);
        static const Tokenizer llama3 = byte_vocabulary(PreTokenizer::llama3);
        const Tokenizer& tokenizer = pre == PreTokenizer::gpt2 ? gpt2 : llama3;
        std::string joined;
        for (const std::string& word : pre_tokenize(pre, text)) {
            fuzz::check(!word.empty(), "no pre-tokenizer word is empty");
            joined += word;
        }
        fuzz::check(joined == expected, "the words cover the text exactly");
        std::string decoded;
        for (int id : tokenizer.encode(text, false, false)) decoded += tokenizer.decode(0, id);
        fuzz::check(decoded == expected, "byte-level BPE decodes back to the text");
    }
    return 0;
}
