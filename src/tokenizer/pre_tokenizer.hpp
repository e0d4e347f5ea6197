// Internal: the pre-tokenizers of byte-level BPE vocabularies, written out by hand from their
// regular expressions (std::regex has no Unicode classes). BPE merges only within a word.
//   gpt2:   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   llama3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}
//           | ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "llamaport/tokenizer.hpp"

namespace llamaport {

// The words of `text` in order; their concatenation is the text with each ill-formed UTF-8
// byte replaced by U+FFFD (as llama.cpp does).
std::vector<std::string> pre_tokenize(PreTokenizer kind, std::string_view text);

}  // namespace llamaport
