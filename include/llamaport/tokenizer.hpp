// Tokenizers: llama2.c's (reproducing run.c's encode() and decode() exactly), llama.cpp's
// SentencePiece tokenizer (GGUF tokenizer.ggml.model = llama) and byte-level BPE (GGUF gpt2,
// Hugging Face tokenizer.json: Llama 3 and GPT-2 pre-tokenizers).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "llamaport/blob.hpp"

namespace llamaport {

// The byte a "<0xXX>" piece stands for (hex digits in either case), or -1 for any other piece.
int byte_token_value(std::string_view piece);

// GGUF's tokenizer.ggml.token_type values.
enum class TokenType : int32_t { normal = 1, unknown = 2, control = 3, user_defined = 4, unused = 5, byte = 6 };

// How byte-level BPE splits text into words before merging (see src/tokenizer/pre_tokenizer.hpp).
enum class PreTokenizer { gpt2, llama3 };

// Everything a vocabulary file says, before the tokenizer indexes it.
struct Vocabulary {
    enum class Model { sentencepiece, byte_level_bpe };
    Model model = Model::sentencepiece;
    // Token texts as the file holds them: SentencePiece with U+2581 for spaces, byte-level BPE
    // in GPT-2's byte-to-character mapping ("Ġ" for a space).
    std::vector<std::string> tokens;
    std::vector<float> scores;     // SentencePiece merge priorities (empty: all 0)
    std::vector<TokenType> types;  // empty: all normal
    std::vector<std::pair<std::string, std::string>> merges;  // byte-level BPE, best first
    PreTokenizer pre_tokenizer = PreTokenizer::gpt2;
    bool ignore_merges = false;    // a word that is a whole token is not merged
    bool add_bos = true;
    bool add_space_prefix = true;  // SentencePiece: a space before text at the start
    int bos_id = -1, eos_id = -1, unknown_id = -1, eot_id = -1, eom_id = -1;  // -1: none
};

class Tokenizer {
public:
    enum class Kind { llama2c, sentencepiece, byte_level_bpe };

    // llama2.c's tokenizer.bin: int32 max_token_length, then per token float score, int32
    // length, bytes. The token count must equal expected_vocab (the model's vocabulary; 0: any).
    static Tokenizer from_blob(const Blob& blob, int expected_vocab);
    static Tokenizer from_file(const std::string& path, int expected_vocab);
    // The vocabulary of a GGUF file (a model or a vocabulary-only file).
    static Tokenizer from_gguf(const Blob& blob);
    // Hugging Face's tokenizer.json of a byte-level BPE vocabulary (Llama 3's or GPT-2's
    // pre-tokenizer).
    static Tokenizer from_tokenizer_json(const Blob& blob);
    // Any vocabulary file: GGUF, Hugging Face tokenizer.json or llama2.c tokenizer.bin, told
    // apart by their first bytes.
    static Tokenizer from_any_file(const std::string& path);

    // llama2.c's: pieces use ' ' for a space and "<0xXX>" for byte tokens.
    Tokenizer(std::vector<std::string> pieces, std::vector<float> scores, int bos_id = 1,
              int eos_id = 2);
    // Validates the vocabulary (ids in range, merges of known tokens); throws Error.
    explicit Tokenizer(Vocabulary vocabulary);

    // Text to ids. llama2c: run.c's encode (dummy space prefix, one token per UTF-8 character,
    // merges by score, byte fallback), BOS and EOS when asked. The others: as llama.cpp's
    // llama_tokenize(add_special = bos, parse_special): special tokens in the text are
    // recognised only with parse_special (user-defined tokens always); BOS when asked and the
    // vocabulary adds one; EOS when asked.
    std::vector<int> encode(std::string_view text, bool bos, bool eos, bool parse_special = false) const;

    // The text of `token` when it follows `prev`, as bytes to print: byte tokens are their byte,
    // byte-level BPE pieces their bytes, SentencePiece's U+2581 a space, control tokens nothing
    // (llama2c prints every piece, as run.c does). A leading space is dropped after BOS
    // (llama2c and SentencePiece).
    std::string_view decode(int prev, int token) const;

    // The vocabulary in llama2.c's tokenizer.bin format (little-endian, as llama2.c reads it).
    std::string to_llama2c_file() const;

    Kind kind() const { return kind_; }
    int vocab_size() const { return int(pieces_.size()); }
    int bos_id() const { return bos_id_; }
    int eos_id() const { return eos_id_; }
    bool adds_bos() const { return add_bos_; }
    // Generation stops on any of these (EOS, EOT, EOM and the vocabulary's end-of-turn tokens
    // such as <|eot_id|> or <|im_end|>); none for llama2c, which run.c lets generate past EOS.
    bool ends_turn(int token) const;
    const std::vector<int>& end_of_turn_ids() const { return end_of_turn_; }
    // Token texts as the vocabulary holds them.
    const std::vector<std::string>& pieces() const { return pieces_; }
    const std::vector<float>& scores() const { return scores_; }

private:
    int lookup(const std::string& piece) const;
    void index_pieces();
    std::vector<int> encode_llama2c(std::string_view text, bool bos, bool eos) const;
    void encode_sentencepiece(std::string_view text, std::vector<int>& out) const;
    void encode_bpe(std::string_view text, std::vector<int>& out) const;
    void encode_bpe_word(const std::string& word, std::vector<int>& out) const;
    // Splits text at special tokens: calls on_text for the text between them and on_special
    // for each token found.
    template <typename OnText, typename OnSpecial>
    void split_special(std::string_view text, bool parse_special, OnText on_text, OnSpecial on_special) const;

    Kind kind_ = Kind::llama2c;
    std::vector<std::string> pieces_;
    std::vector<float> scores_;
    std::vector<TokenType> types_;
    std::vector<int> byte_value_;  // per token: the byte a "<0xXX>" token stands for, or -1
    std::vector<std::string> text_;  // per token: what decode prints (not llama2c)
    std::unordered_map<std::string, int> ids_;
    // Byte-level BPE: (left id << 32 | right id) -> (rank, merged id).
    std::unordered_map<uint64_t, std::pair<int, int>> merges_;
    std::vector<int> byte_char_token_;  // per byte: the token of its mapped character, or -1
    std::vector<int> special_;  // tokens matched in text, longest first
    std::vector<int> end_of_turn_;
    PreTokenizer pre_tokenizer_ = PreTokenizer::gpt2;
    bool ignore_merges_ = false, add_bos_ = true, add_space_prefix_ = true;
    int bos_id_, eos_id_, unknown_id_ = -1;
};

}  // namespace llamaport
