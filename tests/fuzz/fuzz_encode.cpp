// Fuzz target: encoding arbitrary bytes as a prompt. With the vocabulary of $LLAMAPORT_FUZZ_TOKENIZER
// (a llama2.c tokenizer file of $LLAMAPORT_FUZZ_VOCAB tokens, e.g. ../shared/models/tokenizer.bin
// and 32000) or the small built-in one. Decoding the tokens must give the prompt back byte for
// byte (BOS drops the dummy space), and printing them must be terminal-safe.
#include <cstdlib>
#include <string>

#include "fuzz_support.hpp"
#include "llamaport/text_output.hpp"

using namespace llamaport;

namespace {

const Tokenizer& fuzz_tokenizer() {
    static const Tokenizer tokenizer = [] {
        const char* path = std::getenv("LLAMAPORT_FUZZ_TOKENIZER");
        const char* vocab = std::getenv("LLAMAPORT_FUZZ_VOCAB");
        if (path && vocab) return Tokenizer::from_file(path, std::atoi(vocab));
        return fuzz::small_tokenizer();
    }();
    return tokenizer;
}

// Byte fallback only round-trips when ids 3..258 decode to their bytes, as in every llama2.c
// vocabulary, and the dummy prefix only drops cleanly when ' ' is a piece.
bool round_trips(const Tokenizer& tokenizer) {
    if (tokenizer.vocab_size() < 259) return false;
    for (int b = 0; b < 256; b++)
        if (tokenizer.decode(0, b + 3) != std::string(1, char(b))) return false;
    for (const std::string& piece : tokenizer.pieces())
        if (piece == " ") return true;
    return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const Tokenizer& tokenizer = fuzz_tokenizer();
    static const bool check_round_trip = round_trips(tokenizer);
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const std::vector<int> tokens = tokenizer.encode(text, true, true);
    fuzz::check(tokens.size() >= 2 && tokens.front() == tokenizer.bos_id() &&
                    tokens.back() == tokenizer.eos_id(),
                "BOS first, EOS last");
    fuzz::check(tokens.size() <= text.size() + 3, "no more tokens than bytes, the dummy space, BOS and EOS");
    std::string decoded, printed;
    TextOutput output;
    for (size_t i = 1; i + 1 < tokens.size(); i++) {
        fuzz::check(tokens[i] >= 0 && tokens[i] < tokenizer.vocab_size(), "ids inside the vocabulary");
        const std::string_view piece = tokenizer.decode(tokens[i - 1], tokens[i]);
        decoded += piece;
        printed += output.push(piece);
    }
    if (check_round_trip) fuzz::check(decoded == text, "decoding gives the prompt back");
    fuzz::check(fuzz::terminal_safe(printed), "printed text is terminal-safe");
    return 0;
}
