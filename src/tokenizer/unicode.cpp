#include "tokenizer/unicode.hpp"

#include <algorithm>

namespace llamaport::unicode {

CharClass char_class(uint32_t cp) {
    const CategoryRange* end = category_ranges + category_range_count;
    const CategoryRange* r = std::upper_bound(
        category_ranges, end, cp, [](uint32_t c, const CategoryRange& range) { return c < range.first; });
    if (r == category_ranges) return CharClass::unassigned;
    --r;
    return cp <= r->last ? r->cls : CharClass::unassigned;
}

bool is_white_space(uint32_t cp) {
    for (size_t i = 0; i < white_space_range_count; i++)
        if (cp >= white_space_ranges[i].first && cp <= white_space_ranges[i].last) return true;
    return false;
}

uint32_t next_code_point(std::string_view text, size_t& offset) {
    const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
    const unsigned lead = byte(offset);
    size_t length;
    uint32_t cp, min;
    if (lead < 0x80) {
        offset++;
        return lead;
    } else if ((lead & 0xE0) == 0xC0) {
        length = 2, cp = lead & 0x1F, min = 0x80;
    } else if ((lead & 0xF0) == 0xE0) {
        length = 3, cp = lead & 0x0F, min = 0x800;
    } else if ((lead & 0xF8) == 0xF0) {
        length = 4, cp = lead & 0x07, min = 0x10000;
    } else {
        offset++;
        return replacement_character;
    }
    if (text.size() - offset < length) {
        offset++;
        return replacement_character;
    }
    for (size_t i = 1; i < length; i++) {
        const unsigned c = byte(offset + i);
        if ((c & 0xC0) != 0x80) {
            offset++;
            return replacement_character;
        }
        cp = cp << 6 | (c & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        offset++;
        return replacement_character;
    }
    offset += length;
    return cp;
}

std::vector<uint32_t> code_points(std::string_view text) {
    std::vector<uint32_t> out;
    out.reserve(text.size());
    for (size_t offset = 0; offset < text.size();) out.push_back(next_code_point(text, offset));
    return out;
}

void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += char(cp);
    } else if (cp < 0x800) {
        out += char(0xC0 | cp >> 6);
        out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += char(0xE0 | cp >> 12);
        out += char(0x80 | (cp >> 6 & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    } else {
        out += char(0xF0 | cp >> 18);
        out += char(0x80 | (cp >> 12 & 0x3F));
        out += char(0x80 | (cp >> 6 & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    }
}

}  // namespace llamaport::unicode
