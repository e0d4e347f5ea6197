#include "tokenizer/byte_level.hpp"

#include <array>

#include "tokenizer/unicode.hpp"

namespace llamaport::byte_level {
namespace {

bool stands_for_itself(unsigned b) { return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174; }

const std::array<uint32_t, 256>& char_table() {
    static const std::array<uint32_t, 256> table = [] {
        std::array<uint32_t, 256> t{};
        uint32_t next = 256;
        for (unsigned b = 0; b < 256; b++) t[b] = stands_for_itself(b) ? b : next++;
        return t;
    }();
    return table;
}

}  // namespace

uint32_t char_of_byte(uint8_t byte) { return char_table()[byte]; }

int byte_of_char(uint32_t cp) {
    if (cp < 256) return stands_for_itself(cp) ? int(cp) : -1;
    for (unsigned b = 0; b < 256; b++)
        if (char_table()[b] == cp) return int(b);
    return -1;
}

std::string encode(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size() * 2);
    for (char c : bytes) unicode::append_utf8(out, char_of_byte(static_cast<uint8_t>(c)));
    return out;
}

std::string decode(std::string_view mapped) {
    std::string out;
    for (size_t offset = 0; offset < mapped.size();) {
        const size_t start = offset;
        const int byte = byte_of_char(unicode::next_code_point(mapped, offset));
        if (byte >= 0)
            out += char(byte);
        else
            out.append(mapped.substr(start, offset - start));
    }
    return out;
}

}  // namespace llamaport::byte_level
