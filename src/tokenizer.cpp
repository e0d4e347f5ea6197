#include "llamaport/tokenizer.hpp"

#include <algorithm>
#include <queue>

#include "llamaport/error.hpp"
#include "loader/byte_order.hpp"
#include "tokenizer/byte_level.hpp"
#include "tokenizer/pre_tokenizer.hpp"

namespace llamaport {
namespace {

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

// One character per byte value, for decoding byte tokens without allocating.
const char* const all_bytes = [] {
    static char bytes[256];
    for (int i = 0; i < 256; i++) bytes[i] = char(i);
    return bytes;
}();

}  // namespace

int byte_token_value(std::string_view piece) {
    if (piece.size() != 6 || piece.compare(0, 3, "<0x") != 0 || piece[5] != '>') return -1;
    const int hi = hex_digit(piece[3]), lo = hex_digit(piece[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

Tokenizer Tokenizer::from_blob(const Blob& blob, int expected_vocab) {
    const std::string& file = blob.name();
    const uint8_t* p = blob.data();
    const size_t size = blob.size();
    if (size < 4) throw Error(file + ": tokenizer file is truncated (no header)");
    // llama2.c writes tokenizers little-endian on every host.
    const ByteOrder order = ByteOrder::Little;
    const int32_t max_token_length = read_i32(p, order);
    if (max_token_length <= 0 || max_token_length > (1 << 16))
        throw Error(file + ": max_token_length " + std::to_string(max_token_length) +
                    " is out of range; not a llama2.c tokenizer");
    std::vector<std::string> pieces;
    std::vector<float> scores;
    size_t offset = 4;
    while (offset < size) {
        if (size - offset < 8)
            throw Error(file + ": tokenizer file is truncated in token " +
                        std::to_string(pieces.size()));
        const float score = read_f32(p + offset, order);
        const int32_t length = read_i32(p + offset + 4, order);
        offset += 8;
        if (length < 0 || length > max_token_length || size_t(length) > size - offset)
            throw Error(file + ": token " + std::to_string(pieces.size()) + " has length " +
                        std::to_string(length) + " (max " + std::to_string(max_token_length) +
                        ", " + std::to_string(size - offset) + " bytes left)");
        pieces.emplace_back(reinterpret_cast<const char*>(p + offset), size_t(length));
        scores.push_back(score);
        offset += size_t(length);
    }
    if (expected_vocab > 0 && pieces.size() != size_t(expected_vocab))
        throw Error(file + ": tokenizer has " + std::to_string(pieces.size()) +
                    " tokens but the model's vocabulary is " + std::to_string(expected_vocab) +
                    " (wrong tokenizer for this model?)");
    // llama2.c's BOS and EOS are ids 1 and 2 (found by fuzz-tokenizer: a 1-token file encoded
    // a BOS outside its vocabulary).
    if (pieces.size() < 3)
        throw Error(file + ": tokenizer has " + std::to_string(pieces.size()) +
                    " tokens; a llama2.c vocabulary needs at least 3 (BOS is 1, EOS 2)");
    return Tokenizer(std::move(pieces), std::move(scores));
}

Tokenizer Tokenizer::from_file(const std::string& path, int expected_vocab) {
    return from_blob(*open_file(path), expected_vocab);
}

Tokenizer Tokenizer::from_any_file(const std::string& path) {
    const std::unique_ptr<Blob> blob = open_file(path);
    const std::string_view head(reinterpret_cast<const char*>(blob->data()), std::min<size_t>(blob->size(), 64));
    if (head.compare(0, 4, "GGUF") == 0) return from_gguf(*blob);
    const size_t first = head.find_first_not_of(" \t\r\n");
    if (first != std::string_view::npos && head[first] == '{') return from_tokenizer_json(*blob);
    return from_blob(*blob, 0);
}

Tokenizer::Tokenizer(std::vector<std::string> pieces, std::vector<float> scores, int bos_id,
                     int eos_id)
    : pieces_(std::move(pieces)), scores_(std::move(scores)), bos_id_(bos_id), eos_id_(eos_id) {
    if (scores_.size() != pieces_.size()) throw Error("tokenizer: pieces and scores differ in count");
    index_pieces();
}

void Tokenizer::index_pieces() {
    byte_value_.resize(pieces_.size());
    ids_.reserve(pieces_.size());
    for (size_t i = 0; i < pieces_.size(); i++) {
        byte_value_[i] = byte_token_value(pieces_[i]);
        ids_.emplace(pieces_[i], int(i));  // keeps the first of duplicate pieces
    }
}

int Tokenizer::lookup(const std::string& piece) const {
    auto it = ids_.find(piece);
    return it == ids_.end() ? -1 : it->second;
}

std::vector<int> Tokenizer::encode_llama2c(std::string_view text, bool bos, bool eos) const {
    std::vector<int> tokens;
    if (bos) tokens.push_back(bos_id_);
    if (!text.empty()) {
        const int space = lookup(" ");
        if (space >= 0) tokens.push_back(space);
    }

    // One token per UTF-8 character: a lead byte and up to three continuation bytes.
    std::string buffer;
    for (size_t i = 0; i < text.size(); i++) {
        const unsigned char c = static_cast<unsigned char>(text[i]);
        if ((c & 0xC0) != 0x80) buffer.clear();
        buffer.push_back(char(c));
        const bool next_continues =
            i + 1 < text.size() && (static_cast<unsigned char>(text[i + 1]) & 0xC0) == 0x80;
        if (next_continues && buffer.size() < 4) continue;
        const int id = lookup(buffer);
        if (id >= 0) {
            tokens.push_back(id);
        } else {
            // Byte fallback: the first three ids are <unk>, <s>, </s>, then the 256 bytes.
            for (unsigned char b : buffer) {
                if (b + 3 >= vocab_size())
                    throw Error("tokenizer has no byte token for byte " + std::to_string(b) +
                                " of the prompt");
                tokens.push_back(b + 3);
            }
        }
        buffer.clear();
    }

    // Merge the adjacent pair whose merged piece scores best, until no pair merges.
    // Like run.c, pairs with the BOS token are candidates too.
    while (true) {
        float best_score = -1e10f;
        int best_id = -1;
        size_t best_index = 0;
        for (size_t i = 0; i + 1 < tokens.size(); i++) {
            buffer = pieces_[size_t(tokens[i])];
            buffer += pieces_[size_t(tokens[i + 1])];
            const int id = lookup(buffer);
            if (id >= 0 && scores_[size_t(id)] > best_score) {
                best_score = scores_[size_t(id)];
                best_id = id;
                best_index = i;
            }
        }
        if (best_id < 0) break;
        tokens[best_index] = best_id;
        tokens.erase(tokens.begin() + std::ptrdiff_t(best_index) + 1);
    }
    if (eos) tokens.push_back(eos_id_);
    return tokens;
}

std::string Tokenizer::to_llama2c_file() const {
    ByteWriter out(ByteOrder::Little);
    size_t longest = 1;
    for (const std::string& piece : pieces_) longest = std::max(longest, piece.size());
    out.i32(int32_t(longest));
    for (size_t i = 0; i < pieces_.size(); i++) {
        out.f32(scores_[i]);
        out.i32(int32_t(pieces_[i].size()));
        out.bytes(pieces_[i].data(), pieces_[i].size());
    }
    return std::move(out.str());
}

std::string_view Tokenizer::decode(int prev, int token) const {
    if (token < 0 || token >= vocab_size()) throw Error("token id " + std::to_string(token) + " is outside the vocabulary");
    if (kind_ != Kind::llama2c) {
        std::string_view text = text_[size_t(token)];
        if (kind_ == Kind::sentencepiece && add_space_prefix_ && prev == bos_id_ && !text.empty() &&
            text[0] == ' ')
            text.remove_prefix(1);
        return text;
    }
    const int byte = byte_value_[size_t(token)];
    if (byte >= 0) return std::string_view(all_bytes + byte, 1);
    std::string_view piece = pieces_[size_t(token)];
    if (prev == bos_id_ && !piece.empty() && piece[0] == ' ') piece.remove_prefix(1);
    return piece;
}

}  // namespace llamaport
