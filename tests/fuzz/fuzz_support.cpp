#include "fuzz_support.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "llamaport/error.hpp"
#include "llamaport/kernels.hpp"
#include "llamaport/sampler.hpp"
#include "llamaport/text_output.hpp"
#include "llamaport/transformer.hpp"

namespace llamaport::fuzz {

void check(bool ok, const char* property) {
    if (ok) return;
    std::fprintf(stderr, "fuzz: property broken: %s\n", property);
    std::abort();
}

void run_briefly(const Model& model) {
    const int vocab = model.config.vocab_size;
    for (const KernelSet* kernels : available_kernels()) {
        Transformer transformer(model, *kernels, nullptr, 3);
        Sampler greedy(vocab, 0.0f, 0.9f, 1), nucleus(vocab, 1.0f, 0.9f, 7), plain(vocab, 0.8f, 1.0f, 9);
        const int tokens[] = {std::min(1, vocab - 1), vocab - 1, 0};
        std::vector<float> scratch;  // the sampler overwrites what it is given
        for (int pos = 0; pos < transformer.max_positions(); pos++) {
            const float* logits = transformer.forward(tokens[pos], pos);
            for (Sampler* sampler : {&greedy, &nucleus, &plain}) {
                scratch.assign(logits, logits + vocab);
                const int next = sampler->sample(scratch.data());
                check(next >= 0 && next < vocab, "a sampled token is inside the vocabulary");
            }
        }
    }
}

void exercise_tokenizer(const Tokenizer& tokenizer) {
    using namespace std::string_view_literals;
    const std::string_view samples[] = {"Once upon a time", "caf\xC3\xA9 \xF0\x9F\x98\x80 \x1B[2J"sv,
                                        "\xFF\xC3(\x80\x00 \t\n"sv, "",
                                        "<s>x</s><|eot_id|>  12345\r\n"sv};
    const int vocab = tokenizer.vocab_size();
    for (std::string_view text : samples) {
        for (bool parse_special : {false, true}) {
            std::vector<int> tokens;
            try {
                tokens = tokenizer.encode(text, true, true, parse_special);
            } catch (const Error&) {
                continue;  // a vocabulary without byte tokens cannot spell every prompt
            }
            TextOutput output;
            std::string printed;
            int prev = tokenizer.bos_id();
            for (int token : tokens) {
                check(token >= 0 && token < vocab, "encoded ids are inside the vocabulary");
                printed += output.push(tokenizer.decode(prev, token));
                prev = token;
            }
            check(terminal_safe(printed), "decoded text reaching the terminal is safe");
        }
    }
    // Every piece, as the sampler might pick it.
    TextOutput output;
    std::string printed;
    for (int token = 0; token < vocab; token++) printed += output.push(tokenizer.decode(token, token));
    check(terminal_safe(printed), "every piece reaches the terminal safely");
}

bool terminal_safe(std::string_view text) {
    size_t i = 0;
    while (i < text.size()) {
        const unsigned char c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            if ((c < 0x20 && !(c >= '\t' && c <= '\r')) || c == 0x7F) return false;
            i++;
            continue;
        }
        size_t length = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
        if (length == 0 || i + length > text.size()) return false;
        for (size_t k = 1; k < length; k++)
            if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return false;
        const unsigned char c1 = static_cast<unsigned char>(text[i + 1]);
        if ((c == 0xC2 && c1 < 0xA0) ||   // C1 control characters
            (c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F) ||  // overlong, surrogates
            (c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 > 0x8F))    // overlong, past U+10FFFF
            return false;
        i += length;
    }
    return true;
}

Config small_config(int dim, int hidden_dim) {
    Config c;
    c.dim = dim;
    c.hidden_dim = hidden_dim;
    c.n_layers = 2;
    c.n_heads = 4;
    c.n_kv_heads = 2;
    c.vocab_size = 300;
    c.seq_len = 32;
    return c;
}

Tokenizer small_tokenizer() {
    std::vector<std::string> pieces = {"<unk>", "<s>", "</s>"};
    for (int b = 0; b < 256; b++) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        pieces.push_back(name);
    }
    const char* const words[] = {" ", "a", "e", "o", "t", "h", "n", "s", "d", "y", "T", "O",
                                 "he", "th", "an", "nd", "on", " t", " a", " s", " d", "the",
                                 "The", " the", " and", "and", "Once", " Once", "ay", "day",
                                 " day", "to", " to", "é", "😀", "\n", "\t", "was", " was",
                                 "in", "ed"};
    for (const char* w : words) pieces.push_back(w);
    std::vector<float> scores(pieces.size(), 0.0f);
    for (size_t i = 259; i < pieces.size(); i++) scores[i] = -float(i - 259) * 0.5f;
    return Tokenizer(std::move(pieces), std::move(scores));
}

}  // namespace llamaport::fuzz
