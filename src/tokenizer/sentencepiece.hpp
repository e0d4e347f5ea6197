// Internal: SentencePiece's spelling of a space, shared by the tokenizer and the GGUF loader
// (which keeps llama2.c's plain spaces in a model's embedded vocabulary).
#pragma once

#include <string>

namespace llamaport {

inline const std::string sentencepiece_space = "\xE2\x96\x81";  // U+2581

inline std::string replace_all(std::string s, const std::string& from, const std::string& to) {
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
        s.replace(at, from.size(), to);
    return s;
}

}  // namespace llamaport
