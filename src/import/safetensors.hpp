// Internal: safetensors files (Hugging Face's checkpoint format) and checkpoints made of them.
//
// Layout: u64 little-endian N, then N bytes of JSON: an object mapping each tensor name to
// {"dtype": "F16", "shape": [rows, cols], "data_offsets": [begin, end]} (plus an optional
// "__metadata__" object of strings), then the data section; offsets count from its start. Values
// are little-endian, row-major. A sharded checkpoint has model.safetensors.index.json, whose
// "weight_map" names the shard file that holds each tensor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "llamaport/blob.hpp"

namespace llamaport::safetensors {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, Bool };
const char* dtype_name(DType t);
size_t dtype_size(DType t);

// Header texts longer than this are refused outright (the format's own reader says 100 MB).
constexpr uint64_t max_header_bytes = uint64_t(100) << 20;
constexpr size_t max_dims = 8;

struct Tensor {
    std::string name;
    DType dtype = DType::F32;
    std::vector<uint64_t> shape;
    uint64_t elements = 0;
    const uint8_t* data = nullptr;  // inside the file's bytes; no alignment promised
    size_t bytes = 0;
    std::string file;  // the file it is in, for messages
    std::string shape_text() const;  // "[64, 512]"

    // Element i as a float (F64/F32/F16/BF16) or integer (I8..I64, U8, Bool), read as the
    // little-endian bytes they are on any host.
    float f32(size_t i) const;
    int64_t integer(size_t i) const;
    bool is_float() const;
};

// One parsed file. Checks the header length against the file, the JSON, every entry's dtype,
// shape and offsets, that each tensor's bytes are its shape times its dtype's size, lie inside
// the data section and overlap no other. Errors name the file (Error("NAME: problem")).
class File {
public:
    explicit File(std::unique_ptr<Blob> blob);
    const std::string& name() const { return blob_->name(); }
    const std::vector<Tensor>& tensors() const { return tensors_; }
    const Tensor* find(const std::string& name) const;
    const std::vector<std::pair<std::string, std::string>>& metadata() const { return metadata_; }

private:
    std::unique_ptr<Blob> blob_;
    std::vector<Tensor> tensors_;
    std::unordered_map<std::string, size_t> index_;
    std::vector<std::pair<std::string, std::string>> metadata_;
};

// The tensors of a model directory: model.safetensors, or the shards that
// model.safetensors.index.json lists (each mapped once; every tensor the index names must be in
// the shard it names, and no tensor may be in two shards).
class Checkpoint {
public:
    explicit Checkpoint(const std::string& dir);
    // Nullptr when absent.
    const Tensor* find(const std::string& name) const;
    // Throws Error naming where it was looked for.
    const Tensor& require(const std::string& name) const;
    std::vector<std::string> names() const;  // in file order, shard by shard
    const std::string& source() const { return source_; }  // the file or index, for messages

private:
    void add(std::unique_ptr<Blob> blob);
    std::vector<std::unique_ptr<File>> files_;
    std::unordered_map<std::string, const Tensor*> tensors_;
    std::string source_;
};

// A tensor to write: its data as the file holds it (little-endian, row-major).
struct WriteTensor {
    std::string name;
    DType dtype = DType::F32;
    std::vector<uint64_t> shape;
    std::string bytes;
};

// A safetensors file of these tensors, their data in the order given (for tests, fuzz seeds and
// exports). Does not check that bytes fit shape: tests write broken files with it too.
std::string write_file(const std::vector<WriteTensor>& tensors);

}  // namespace llamaport::safetensors
