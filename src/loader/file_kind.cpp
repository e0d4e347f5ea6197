// Format detection for the loader and the tokenizer reader: one place that looks at magic bytes.
#include "llamaport/file_kind.hpp"

#include <cmath>
#include <cstring>

#include "byte_order.hpp"
#include "llama2c_layout.hpp"

namespace llamaport {
namespace {

bool starts_with(const Blob& blob, const char* magic, size_t n) {
    return blob.size() >= n && std::memcmp(blob.data(), magic, n) == 0;
}

// Every record in range and the last one ending exactly at the end of the file: a model's
// floats read as lengths fail within a few records.
bool is_llama2c_tokenizer(const Blob& blob) {
    const uint8_t* p = blob.data();
    const size_t size = blob.size();
    if (size < 4) return false;
    const uint32_t max_length = read_u32(p, ByteOrder::Little);
    if (max_length == 0 || max_length > (1u << 16)) return false;
    size_t offset = 4, records = 0;
    while (offset < size) {
        if (size - offset < 8) return false;
        float score;
        const uint32_t bits = read_u32(p + offset, ByteOrder::Little);
        std::memcpy(&score, &bits, sizeof score);
        const uint32_t length = read_u32(p + offset + 4, ByteOrder::Little);
        if (!std::isfinite(score) || length > max_length || length > size - offset - 8) return false;
        offset += 8 + length;
        records++;
    }
    return records >= 3;  // <unk>, <s>, </s> at least
}

// dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size (negative: unshared classifier),
// seq_len: each non-zero and small, the heads dividing dim, the KV heads the heads.
bool is_llama2c_v0(const Blob& blob, ByteOrder order) {
    if (blob.size() < 28) return false;
    int32_t h[7];
    for (int i = 0; i < 7; i++) {
        h[i] = int32_t(read_u32(blob.data() + 4 * i, order));
        if (h[i] == 0 || (i != 5 && h[i] < 0) || h[i] > (1 << 22) || h[i] < -(1 << 22)) return false;
    }
    return h[0] % h[3] == 0 && h[3] % h[4] == 0;
}

// No NUL or other control byte but white space, and no byte UTF-8 never uses, in the first KiB:
// llama2.c v0's int32 header always has zero bytes.
bool is_text(const Blob& blob) {
    const size_t n = blob.size() < 1024 ? blob.size() : 1024;
    if (n == 0) return false;
    for (size_t i = 0; i < n; i++) {
        const uint8_t c = blob.data()[i];
        if (c < 0x20 && c != '\n' && c != '\r' && c != '\t') return false;
        if (c == 0x7f || c == 0xc0 || c == 0xc1 || c >= 0xf5) return false;
    }
    return true;
}

}  // namespace

FileKind file_kind(const Blob& blob) {
    const uint8_t* p = blob.data();
    if (starts_with(blob, "GGUF", 4)) return FileKind::gguf;
    if (blob.size() >= 8 && (read_u32(p, ByteOrder::Little) == llama2c_magic ||
                             read_u32(p, ByteOrder::Big) == llama2c_magic))
        return FileKind::llama2c;
    // ggml's pre-GGUF magics, written as little-endian uint32: "ggml", "ggmf", "ggjt".
    if (blob.size() >= 4)
        for (const char* magic : {"lmgg", "fmgg", "tjgg"})
            if (std::memcmp(p, magic, 4) == 0) return FileKind::ggml;
    if (starts_with(blob, "PK\x03\x04", 4)) return FileKind::pytorch_zip;
    // torch.save's legacy format opens with a pickled magic number: PROTO 2, LONG1 of 10 bytes.
    if (starts_with(blob, "\x80\x02\x8a\x0a", 4)) return FileKind::pytorch_pickle;
    if (blob.size() >= 10 && p[8] == '{' && read_u32(p + 4, ByteOrder::Little) == 0 &&
        read_u32(p, ByteOrder::Little) <= blob.size() - 8)
        return FileKind::safetensors;
    if (is_llama2c_tokenizer(blob)) return FileKind::llama2c_tokenizer;
    if (is_llama2c_v0(blob, ByteOrder::Little) || is_llama2c_v0(blob, ByteOrder::Big))
        return FileKind::llama2c_v0;
    if (is_text(blob)) return FileKind::text;
    return FileKind::unknown;
}

const char* file_kind_name(FileKind kind) {
    switch (kind) {
    case FileKind::llama2c:
    case FileKind::llama2c_v0: return "a llama2.c checkpoint";
    case FileKind::gguf: return "a GGUF file";
    case FileKind::unknown: return "a file of unknown format";
    case FileKind::llama2c_tokenizer: return "a llama2.c tokenizer";
    case FileKind::ggml: return "a GGML/GGJT file (llama.cpp's format before GGUF)";
    case FileKind::pytorch_zip: return "a PyTorch zip archive";
    case FileKind::pytorch_pickle: return "a PyTorch pickle";
    case FileKind::safetensors: return "a safetensors file";
    case FileKind::text: return "a text file";
    }
    return "a file of unknown format";
}

}  // namespace llamaport
