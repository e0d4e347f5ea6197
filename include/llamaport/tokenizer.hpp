// The byte-pair tokenizer of llama2.c (SentencePiece vocabulary, merges by score, byte
// fallback), reproducing run.c's encode() and decode() exactly.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "llamaport/blob.hpp"

namespace llamaport {

// The byte a "<0xXX>" piece stands for (hex digits in either case), or -1 for any other piece.
int byte_token_value(std::string_view piece);

class Tokenizer {
public:
    // llama2.c's tokenizer.bin: int32 max_token_length, then per token float score, int32
    // length, bytes. The token count must equal expected_vocab (the model's vocab_size).
    static Tokenizer from_blob(const Blob& blob, int expected_vocab);
    static Tokenizer from_file(const std::string& path, int expected_vocab);

    // Pieces use ' ' for a space (llama2.c's convention) and "<0xXX>" for byte tokens.
    Tokenizer(std::vector<std::string> pieces, std::vector<float> scores, int bos_id = 1,
              int eos_id = 2);

    // run.c's encode: optional BOS, a dummy space prefix for non-empty text, one token per
    // UTF-8 character (byte tokens for characters not in the vocabulary), then the highest-scoring
    // merges until none applies, optional EOS. Throws Error if a byte has no byte token.
    std::vector<int> encode(std::string_view text, bool bos, bool eos) const;

    // The text of `token` when it follows `prev`: the leading space is dropped after BOS and
    // byte tokens become their single raw byte.
    std::string_view decode(int prev, int token) const;

    // The vocabulary in llama2.c's tokenizer.bin format (little-endian, as llama2.c reads it).
    std::string to_llama2c_file() const;

    int vocab_size() const { return int(pieces_.size()); }
    int bos_id() const { return bos_id_; }
    int eos_id() const { return eos_id_; }
    const std::vector<std::string>& pieces() const { return pieces_; }
    const std::vector<float>& scores() const { return scores_; }

private:
    int lookup(const std::string& piece) const;

    std::vector<std::string> pieces_;
    std::vector<float> scores_;
    std::vector<int> byte_value_;  // per token: the byte a "<0xXX>" token stands for, or -1
    std::unordered_map<std::string, int> ids_;
    int bos_id_, eos_id_;
};

}  // namespace llamaport
