// Internal: the vocabulary a GGUF file carries (tokenizer.ggml.*), for the model loader and
// Tokenizer::from_gguf. Throws Error naming the file.
#pragma once

#include "llamaport/tokenizer.hpp"
#include "loader/gguf.hpp"

namespace llamaport {

Vocabulary read_gguf_vocabulary(const gguf::GgufFile& file);

}  // namespace llamaport
