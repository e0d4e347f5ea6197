#include "llamaport/text_output.hpp"

namespace llamaport {
namespace {

// Length of the UTF-8 sequence a lead byte starts, or 0 if it cannot start one.
size_t sequence_length(unsigned char lead) {
    if (lead >= 0xC2 && lead <= 0xDF) return 2;
    if (lead >= 0xE0 && lead <= 0xEF) return 3;
    if (lead >= 0xF0 && lead <= 0xF4) return 4;
    return 0;
}

// Rejects overlong forms, surrogates, code points past U+10FFFF, and the C1 control characters
// U+0080..U+009F (U+009B is CSI, an escape sequence by itself on some terminals).
bool valid_sequence(const std::string& s) {
    const unsigned char b0 = static_cast<unsigned char>(s[0]);
    const unsigned char b1 = static_cast<unsigned char>(s[1]);
    if (b0 == 0xC2 && b1 < 0xA0) return false;
    if (b0 == 0xE0 && b1 < 0xA0) return false;
    if (b0 == 0xED && b1 > 0x9F) return false;
    if (b0 == 0xF0 && b1 < 0x90) return false;
    if (b0 == 0xF4 && b1 > 0x8F) return false;
    return true;
}

bool printable_ascii(unsigned char c) {
    const bool white_space = c == ' ' || (c >= '\t' && c <= '\r');
    return white_space || (c > 0x20 && c < 0x7F);
}

}  // namespace

std::string escape_for_terminal(std::string_view text) {
    static const char hex[] = "0123456789ABCDEF";
    std::string out;
    for (size_t i = 0; i < text.size();) {
        const unsigned char c = static_cast<unsigned char>(text[i]);
        if (c >= 0x20 && c < 0x7F) {
            out.push_back(char(c));
            i++;
            continue;
        }
        const size_t length = sequence_length(c);
        if (length != 0 && i + length <= text.size()) {
            const std::string sequence(text.substr(i, length));
            bool whole = true;
            for (size_t k = 1; k < length; k++)
                whole = whole && (static_cast<unsigned char>(sequence[k]) & 0xC0) == 0x80;
            if (whole && valid_sequence(sequence)) {
                out += sequence;
                i += length;
                continue;
            }
        }
        out += "\\x";
        out.push_back(hex[c >> 4]);
        out.push_back(hex[c & 15]);
        i++;
    }
    return out;
}

std::string TextOutput::push(std::string_view piece) {
    std::string out;
    for (char ch : piece) {
        const unsigned char c = static_cast<unsigned char>(ch);
        if ((c & 0xC0) == 0x80 && !pending_.empty()) {
            pending_.push_back(ch);
            if (pending_.size() == expected_) {
                if (valid_sequence(pending_)) out += pending_;
                pending_.clear();
            }
            continue;
        }
        pending_.clear();  // a partial character followed by something else is dropped
        if (c < 0x80) {
            if (printable_ascii(c)) out.push_back(ch);
        } else if ((expected_ = sequence_length(c)) != 0) {
            pending_.push_back(ch);
        }
    }
    return out;
}

}  // namespace llamaport
