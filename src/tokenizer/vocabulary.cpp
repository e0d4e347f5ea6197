// The SentencePiece and byte-level BPE tokenizers, as llama.cpp's llama_tokenize runs them.
#include <algorithm>
#include <queue>

#include "llamaport/error.hpp"
#include "llamaport/tokenizer.hpp"
#include "tokenizer/byte_level.hpp"
#include "tokenizer/pre_tokenizer.hpp"
#include "tokenizer/sentencepiece.hpp"

namespace llamaport {
namespace {

// What llama.cpp prints for an unknown token: U+2585.
const std::string unknown_text = "\xE2\x96\x85";

// Texts of the tokens that end a turn in the vocabularies people use, beyond the EOS, EOT
// and EOM ids the metadata names.
const char* const end_of_turn_texts[] = {"<|eot_id|>", "<|eom_id|>", "<|im_end|>", "<|end|>",
                                         "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "<EOT>"};

size_t utf8_length(unsigned char lead) {
    if (lead < 0xC0) return 1;  // ASCII, or a stray continuation byte: one byte alone
    if (lead < 0xE0) return 2;
    if (lead < 0xF0) return 3;
    return 4;
}

// A run of text in a symbol chain: merging joins a symbol with the next one.
struct Symbol {
    size_t start, length;
    int prev, next;
    int id;  // byte-level BPE: the token the text is, or -1
};

void unlink_next(std::vector<Symbol>& symbols, int left) {
    Symbol& l = symbols[size_t(left)];
    Symbol& r = symbols[size_t(l.next)];
    l.length += r.length;
    r.length = 0;
    l.next = r.next;
    if (r.next >= 0) symbols[size_t(r.next)].prev = left;
}

}  // namespace

Tokenizer::Tokenizer(Vocabulary v)
    : kind_(v.model == Vocabulary::Model::sentencepiece ? Kind::sentencepiece : Kind::byte_level_bpe),
      pieces_(std::move(v.tokens)),
      scores_(std::move(v.scores)),
      types_(std::move(v.types)),
      pre_tokenizer_(v.pre_tokenizer),
      ignore_merges_(v.ignore_merges),
      add_bos_(v.add_bos),
      add_space_prefix_(v.add_space_prefix),
      bos_id_(v.bos_id),
      eos_id_(v.eos_id),
      unknown_id_(v.unknown_id) {
    const size_t n = pieces_.size();
    if (n == 0) throw Error("tokenizer: the vocabulary is empty");
    if (n > size_t(INT32_MAX)) throw Error("tokenizer: the vocabulary is too large");
    if (scores_.empty()) scores_.assign(n, 0.0f);
    if (types_.empty()) types_.assign(n, TokenType::normal);
    if (scores_.size() != n || types_.size() != n)
        throw Error("tokenizer: " + std::to_string(n) + " tokens but " + std::to_string(scores_.size()) +
                    " scores and " + std::to_string(types_.size()) + " token types");
    for (int id : {v.bos_id, v.eos_id, v.unknown_id, v.eot_id, v.eom_id})
        if (id < -1 || id >= int(n))
            throw Error("tokenizer: special token id " + std::to_string(id) +
                        " is outside the vocabulary of " + std::to_string(n));
    if (add_bos_ && bos_id_ < 0) add_bos_ = false;
    index_pieces();

    text_.resize(n);
    for (size_t i = 0; i < n; i++) {
        const std::string& piece = pieces_[i];
        switch (types_[i]) {
            case TokenType::control:
            case TokenType::unused:
                break;
            case TokenType::unknown:
                text_[i] = unknown_text;
                break;
            case TokenType::user_defined:
                text_[i] = piece;
                break;
            default:
                if (kind_ == Kind::byte_level_bpe)
                    text_[i] = byte_level::decode(piece);
                else if (byte_value_[i] >= 0 && types_[i] == TokenType::byte)
                    text_[i] = std::string(1, char(byte_value_[i]));
                else
                    text_[i] = replace_all(piece, sentencepiece_space, " ");
        }
        if (types_[i] == TokenType::control || types_[i] == TokenType::user_defined ||
            types_[i] == TokenType::unknown)
            if (!piece.empty()) special_.push_back(int(i));
    }
    // Longest first, so that a token containing another is found whole.
    std::stable_sort(special_.begin(), special_.end(),
                     [&](int a, int b) { return pieces_[size_t(a)].size() > pieces_[size_t(b)].size(); });

    for (int id : {v.eos_id, v.eot_id, v.eom_id})
        if (id >= 0) end_of_turn_.push_back(id);
    for (const char* text : end_of_turn_texts) {
        const int id = lookup(text);
        if (id >= 0 && types_[size_t(id)] != TokenType::normal) end_of_turn_.push_back(id);
    }
    std::sort(end_of_turn_.begin(), end_of_turn_.end());
    end_of_turn_.erase(std::unique(end_of_turn_.begin(), end_of_turn_.end()), end_of_turn_.end());

    if (kind_ == Kind::byte_level_bpe) {
        byte_char_token_.resize(256);
        for (int b = 0; b < 256; b++)
            byte_char_token_[size_t(b)] = lookup(byte_level::encode(std::string(1, char(b))));
        merges_.reserve(v.merges.size());
        for (size_t rank = 0; rank < v.merges.size(); rank++) {
            const auto& [left, right] = v.merges[rank];
            const int l = lookup(left), r = lookup(right), merged = lookup(left + right);
            // A merge whose parts or result are not tokens can never apply to a word.
            if (l < 0 || r < 0 || merged < 0) continue;
            merges_.emplace(uint64_t(uint32_t(l)) << 32 | uint32_t(r), std::make_pair(int(rank), merged));
        }
    }
}

bool Tokenizer::ends_turn(int token) const {
    return std::binary_search(end_of_turn_.begin(), end_of_turn_.end(), token);
}

template <typename OnText, typename OnSpecial>
void Tokenizer::split_special(std::string_view text, bool parse_special, OnText on_text,
                              OnSpecial on_special) const {
    size_t done = 0;
    for (size_t at = 0; at < text.size();) {
        int found = -1;
        for (int id : special_) {
            // Control and unknown tokens only when asked; user-defined tokens always.
            if (!parse_special && types_[size_t(id)] != TokenType::user_defined) continue;
            const std::string& piece = pieces_[size_t(id)];
            if (text.compare(at, piece.size(), piece) == 0) {
                found = id;
                break;
            }
        }
        if (found < 0) {
            at++;
            continue;
        }
        if (at > done) on_text(text.substr(done, at - done));
        on_special(found);
        at += pieces_[size_t(found)].size();
        done = at;
    }
    if (done < text.size()) on_text(text.substr(done));
}

std::vector<int> Tokenizer::encode(std::string_view text, bool bos, bool eos, bool parse_special) const {
    if (kind_ == Kind::llama2c) return encode_llama2c(text, bos, eos);
    std::vector<int> out;
    if (bos && add_bos_) out.push_back(bos_id_);
    // SentencePiece puts a space before text at the start and after a special token.
    bool after_special = true;
    split_special(
        text, parse_special,
        [&](std::string_view part) {
            if (kind_ == Kind::byte_level_bpe) {
                encode_bpe(part, out);
                return;
            }
            std::string spaced = add_space_prefix_ && after_special ? " " : "";
            spaced += part;
            encode_sentencepiece(replace_all(std::move(spaced), " ", sentencepiece_space), out);
            after_special = false;
        },
        [&](int id) {
            out.push_back(id);
            after_special = true;
        });
    if (eos && eos_id_ >= 0) out.push_back(eos_id_);
    return out;
}

void Tokenizer::encode_sentencepiece(std::string_view text, std::vector<int>& out) const {
    std::vector<Symbol> symbols;
    for (size_t at = 0; at < text.size();) {
        const size_t length = std::min(utf8_length(static_cast<unsigned char>(text[at])), text.size() - at);
        const int index = int(symbols.size());
        symbols.push_back({at, length, index - 1, at + length < text.size() ? index + 1 : -1, -1});
        at += length;
    }
    // Best score first; on a tie the leftmost pair.
    struct Pair {
        float score;
        int left, right;
        size_t length;
        bool operator<(const Pair& o) const { return score < o.score || (score == o.score && left > o.left); }
    };
    std::priority_queue<Pair> queue;
    std::string joined;
    const auto consider = [&](int left, int right) {
        if (left < 0 || right < 0) return;
        const Symbol &l = symbols[size_t(left)], &r = symbols[size_t(right)];
        joined.assign(text.substr(l.start, l.length + r.length));
        const int id = lookup(joined);
        if (id >= 0) queue.push({scores_[size_t(id)], left, right, joined.size()});
    };
    for (int i = 1; i < int(symbols.size()); i++) consider(i - 1, i);
    while (!queue.empty()) {
        const Pair p = queue.top();
        queue.pop();
        const Symbol &l = symbols[size_t(p.left)], &r = symbols[size_t(p.right)];
        // Stale: one side has merged since the pair was queued.
        if (l.length == 0 || r.length == 0 || l.length + r.length != p.length) continue;
        unlink_next(symbols, p.left);
        consider(symbols[size_t(p.left)].prev, p.left);
        consider(p.left, symbols[size_t(p.left)].next);
    }
    for (int i = symbols.empty() ? -1 : 0; i >= 0; i = symbols[size_t(i)].next) {
        const Symbol& s = symbols[size_t(i)];
        joined.assign(text.substr(s.start, s.length));
        const int id = lookup(joined);
        if (id >= 0) {
            out.push_back(id);
            continue;
        }
        // Byte fallback: "<0xXX>" tokens, else the unknown token.
        for (char c : joined) {
            static const char hex[] = "0123456789ABCDEF";
            const unsigned char b = static_cast<unsigned char>(c);
            const int byte = lookup(std::string("<0x") + hex[b >> 4] + hex[b & 15] + ">");
            if (byte >= 0)
                out.push_back(byte);
            else if (unknown_id_ >= 0)
                out.push_back(unknown_id_);
        }
    }
}

void Tokenizer::encode_bpe(std::string_view text, std::vector<int>& out) const {
    for (const std::string& word : pre_tokenize(pre_tokenizer_, text)) encode_bpe_word(word, out);
}

void Tokenizer::encode_bpe_word(const std::string& word, std::vector<int>& out) const {
    if (ignore_merges_) {
        const int whole = lookup(byte_level::encode(word));
        if (whole >= 0) {
            out.push_back(whole);
            return;
        }
    }
    // One symbol per byte, then the best-ranked merge (leftmost on a tie) until none applies.
    std::vector<Symbol> symbols(word.size());
    for (size_t i = 0; i < word.size(); i++)
        symbols[i] = {i, 1, int(i) - 1, i + 1 < word.size() ? int(i) + 1 : -1,
                      byte_char_token_[static_cast<unsigned char>(word[i])]};
    struct Pair {
        int rank, left, right, left_id, right_id;
        bool operator<(const Pair& o) const { return rank > o.rank || (rank == o.rank && left > o.left); }
    };
    std::priority_queue<Pair> queue;
    const auto consider = [&](int left, int right) {
        if (left < 0 || right < 0) return;
        const int l = symbols[size_t(left)].id, r = symbols[size_t(right)].id;
        if (l < 0 || r < 0) return;
        const auto it = merges_.find(uint64_t(uint32_t(l)) << 32 | uint32_t(r));
        if (it != merges_.end()) queue.push({it->second.first, left, right, l, r});
    };
    for (int i = 1; i < int(symbols.size()); i++) consider(i - 1, i);
    while (!queue.empty()) {
        const Pair p = queue.top();
        queue.pop();
        Symbol &l = symbols[size_t(p.left)], &r = symbols[size_t(p.right)];
        if (l.length == 0 || r.length == 0 || l.next != p.right || l.id != p.left_id || r.id != p.right_id)
            continue;  // stale
        l.id = merges_.at(uint64_t(uint32_t(p.left_id)) << 32 | uint32_t(p.right_id)).second;
        unlink_next(symbols, p.left);
        consider(symbols[size_t(p.left)].prev, p.left);
        consider(p.left, symbols[size_t(p.left)].next);
    }
    for (int i = symbols.empty() ? -1 : 0; i >= 0; i = symbols[size_t(i)].next) {
        const int id = symbols[size_t(i)].id;
        if (id >= 0)
            out.push_back(id);
        else if (unknown_id_ >= 0)
            out.push_back(unknown_id_);  // a byte the vocabulary cannot spell
    }
}

}  // namespace llamaport
