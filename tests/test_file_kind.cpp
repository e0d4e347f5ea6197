// Format detection: what a file is, from its first bytes, and what the loader says about files
// it does not read.
#include <catch2/catch.hpp>

#include <string>

#include "llamaport/error.hpp"
#include "llamaport/file_kind.hpp"
#include "llamaport/gguf.hpp"
#include "llamaport/llama2c.hpp"
#include "llamaport/model.hpp"
#include "test_support.hpp"

using namespace llamaport;
using namespace llamaport::test;

namespace {

FileKind kind_of(const std::string& bytes) { return file_kind(*own_memory(bytes, "f")); }

std::string le32(uint32_t v) {
    std::string s;
    for (int i = 0; i < 4; i++) s += char(v >> (8 * i));
    return s;
}

std::string load_error(const std::string& bytes) {
    try {
        load_model(own_memory(bytes, "x.bin"));
    } catch (const Error& e) {
        return e.what();
    }
    return "(loaded)";
}

// A llama2.c tokenizer of n pieces "<unk>", "<s>", "</s>", "a", "b", ...
std::string tokenizer_bytes(int n) {
    std::string s = le32(5);
    for (int i = 0; i < n; i++) {
        const std::string piece = i == 0 ? "<unk>" : i == 1 ? "<s>" : i == 2 ? "</s>" : std::string(1, char('a' + i % 26));
        s += le32(0) + le32(uint32_t(piece.size())) + piece;
    }
    return s;
}

}  // namespace

TEST_CASE("file_kind tells the formats apart from their first bytes", "[loader]") {
    auto model = random_test_model(tiny_config(), 1);
    CHECK(kind_of(write_llama2c(*model, {})) == FileKind::llama2c_v0);
    Llama2cWriteOptions v1;
    v1.version = 1;
    CHECK(kind_of(write_llama2c(*model, v1)) == FileKind::llama2c);
    v1.big_endian = true;
    CHECK(kind_of(write_llama2c(*model, v1)) == FileKind::llama2c);
    Llama2cWriteOptions v0_big;
    v0_big.big_endian = true;
    CHECK(kind_of(write_llama2c(*model, v0_big)) == FileKind::llama2c_v0);
    CHECK(kind_of("GGUF" + le32(3) + std::string(16, '\0')) == FileKind::gguf);
    CHECK(kind_of(tokenizer_bytes(300)) == FileKind::llama2c_tokenizer);
    CHECK(kind_of(tokenizer_bytes(300) + "x") == FileKind::unknown);  // a record cut short
    for (const char* magic : {"lmgg", "fmgg", "tjgg"}) CHECK(kind_of(std::string(magic) + le32(1) + "....") == FileKind::ggml);
    CHECK(kind_of(std::string("PK\x03\x04", 4) + std::string(40, '\0')) == FileKind::pytorch_zip);
    CHECK(kind_of(std::string("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19", 14)) == FileKind::pytorch_pickle);
    const std::string header = "{\"__metadata__\":{}}";
    CHECK(kind_of(le32(uint32_t(header.size())) + le32(0) + header) == FileKind::safetensors);
    CHECK(kind_of("{\"dim\": 288, \"n_layers\": 6}\n") == FileKind::text);
    CHECK(kind_of(std::string(64, '\xff')) == FileKind::unknown);
}

TEST_CASE("the loader names a foreign file for what it is", "[loader]") {
    const std::string reads = "; llamaport reads llama2.c .bin and GGUF";
    CHECK(load_error("Once upon a time\n") == "x.bin: this is a text file" + reads);
    CHECK(load_error(std::string("tjgg") + le32(3) + std::string(100, '\0')) ==
          "x.bin: this is a GGML/GGJT file (llama.cpp's format before GGUF)" + reads);
    CHECK(load_error(std::string("PK\x03\x04", 4) + std::string(100, '\0')) == "x.bin: this is a PyTorch zip archive" + reads);
    const std::string header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
    CHECK(load_error(le32(uint32_t(header.size())) + le32(0) + header + "\0\0\0\0") ==
          "x.bin: this is a safetensors file" + reads);
    CHECK(load_error(tokenizer_bytes(40)) == "x.bin: this is a llama2.c tokenizer, not a model");
}
