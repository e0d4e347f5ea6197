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

// Rejects overlong forms, surrogates and code points past U+10FFFF.
bool valid_sequence(const std::string& s) {
    const unsigned char b0 = static_cast<unsigned char>(s[0]);
    const unsigned char b1 = static_cast<unsigned char>(s[1]);
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
