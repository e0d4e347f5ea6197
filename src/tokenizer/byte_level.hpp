// Internal: GPT-2's byte-to-character mapping. Byte-level BPE vocabularies spell every byte as a
// printable character: the printable bytes of Latin-1 stand for themselves, the others (controls,
// space, 0x7F-0xA0, 0xAD) for U+0100 upwards in byte order ("Ġ" = U+0120 is the space).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace llamaport::byte_level {

uint32_t char_of_byte(uint8_t byte);
// The byte a mapped character stands for, or -1 for a character outside the mapping.
int byte_of_char(uint32_t cp);

// Text in the mapping (each byte its character) and back; a character outside the mapping
// decodes as its own UTF-8.
std::string encode(std::string_view bytes);
std::string decode(std::string_view mapped);

}  // namespace llamaport::byte_level
