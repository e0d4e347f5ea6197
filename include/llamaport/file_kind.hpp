// What a file is, told from its first bytes (never its name): the formats llamaport reads, and
// the ones people hand it by mistake, so that a message can name what it was given.
#pragma once

#include "llamaport/blob.hpp"

namespace llamaport {

enum class FileKind {
    llama2c,            // llama2.c v1/v2 ("ak42" in either byte order)
    llama2c_v0,         // llama2.c's legacy checkpoint: no magic, a header of 7 plausible int32
    gguf,               // "GGUF"
    unknown,            // none of these (the loader reads it as v0 and says what is wrong)
    llama2c_tokenizer,  // tokenizer.bin: max token length, then (score, length, bytes) to the end
    ggml,               // llama.cpp's formats before GGUF: GGML, GGMF, GGJT
    pytorch_zip,        // torch.save's zip archive (PyTorch .pt/.pth/.bin)
    pytorch_pickle,     // torch.save's older bare pickle
    safetensors,        // 8-byte header length, then a JSON header
    text,               // printable text (a prompt, JSON, a config file)
};

FileKind file_kind(const Blob& blob);

// "a llama2.c tokenizer", "a safetensors file", ... for messages.
const char* file_kind_name(FileKind kind);

}  // namespace llamaport
