#include "import/safetensors.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string_view>

#include "json.hpp"
#include "llamaport/error.hpp"
#include "loader/byte_order.hpp"
#include "loader/fp16.hpp"
#include "loader/gguf.hpp"
#include "types/f16.hpp"

namespace llamaport::safetensors {

namespace {

struct DTypeInfo {
    DType type;
    const char* name;
    size_t size;
};
constexpr DTypeInfo dtypes[] = {
    {DType::F64, "F64", 8},   {DType::F32, "F32", 4}, {DType::F16, "F16", 2},
    {DType::BF16, "BF16", 2}, {DType::I64, "I64", 8}, {DType::I32, "I32", 4},
    {DType::I16, "I16", 2},   {DType::I8, "I8", 1},   {DType::U8, "U8", 1},
    {DType::Bool, "BOOL", 1},
};

// A non-negative JSON integer, or fail with `what`.
uint64_t whole_number(const json::Value& v, const std::string& file, const std::string& what) {
    if (!v.is_integer || v.integer < 0)
        throw Error(file + ": " + what + " is not a non-negative whole number");
    return uint64_t(v.integer);
}

}  // namespace

const char* dtype_name(DType t) {
    for (const DTypeInfo& d : dtypes)
        if (d.type == t) return d.name;
    return "?";
}

size_t dtype_size(DType t) {
    for (const DTypeInfo& d : dtypes)
        if (d.type == t) return d.size;
    return 0;
}

std::string Tensor::shape_text() const {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); i++) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

bool Tensor::is_float() const {
    return dtype == DType::F64 || dtype == DType::F32 || dtype == DType::F16 ||
           dtype == DType::BF16;
}

float Tensor::f32(size_t i) const {
    const uint8_t* p = data + i * dtype_size(dtype);
    switch (dtype) {
    case DType::F64: {
        const uint64_t u = read_u64(p, ByteOrder::Little);
        double d;
        std::memcpy(&d, &u, 8);
        return float(d);
    }
    case DType::F32: return read_f32(p, ByteOrder::Little);
    case DType::F16: return fp16_to_fp32(read_u16(p, ByteOrder::Little));
    case DType::BF16: return bf16_to_fp32(read_u16(p, ByteOrder::Little));
    default: return float(integer(i));
    }
}

int64_t Tensor::integer(size_t i) const {
    const size_t width = dtype_size(dtype);
    const uint64_t u = read_uint(data + i * width, width, ByteOrder::Little);
    switch (dtype) {
    case DType::I64: return int64_t(u);
    case DType::I32: return int32_t(uint32_t(u));
    case DType::I16: return int16_t(uint16_t(u));
    case DType::I8: return int8_t(uint8_t(u));
    case DType::U8:
    case DType::Bool: return int64_t(u);
    default: return int64_t(f32(i));
    }
}

File::File(std::unique_ptr<Blob> blob) : blob_(std::move(blob)) {
    const std::string& file = blob_->name();
    auto fail = [&](const std::string& problem) -> void { throw Error(file + ": " + problem); };
    const size_t size = blob_->size();
    if (size < 8) fail("too short for a safetensors file (" + std::to_string(size) + " bytes)");
    const uint64_t header_bytes = read_u64(blob_->data(), ByteOrder::Little);
    if (header_bytes > max_header_bytes)
        fail("header length " + std::to_string(header_bytes) + " is absurd (limit " +
             std::to_string(max_header_bytes) + ")");
    if (header_bytes > size - 8)
        fail("header length " + std::to_string(header_bytes) + " runs past the end of the file (" +
             std::to_string(size) + " bytes)");
    const std::string_view text(reinterpret_cast<const char*>(blob_->data()) + 8,
                                size_t(header_bytes));
    const json::Value header = json::parse(text, file + " header", 16);
    if (!header.is_object())
        fail("header is " + std::string(json::type_name(header.type)) + ", not an object");
    const uint8_t* data = blob_->data() + 8 + header_bytes;
    const uint64_t data_bytes = size - 8 - header_bytes;

    struct Span {
        uint64_t begin, end;
        size_t tensor;
    };
    std::vector<Span> spans;
    for (const auto& [name, entry] : header.object) {
        if (name == "__metadata__") {
            if (!entry.is_object()) fail("__metadata__ is not an object");
            for (const auto& [key, value] : entry.object) {
                if (!value.is_string())
                    fail("__metadata__ value " + gguf::quoted(key) + " is not a string");
                metadata_.emplace_back(key, value.string);
            }
            continue;
        }
        const std::string what = "tensor " + gguf::quoted(name);
        if (!entry.is_object())
            fail(what + " is " + json::type_name(entry.type) + ", not an object");
        Tensor t;
        t.name = name;
        t.file = file;
        const json::Value* dtype = entry.find("dtype");
        const json::Value* shape = entry.find("shape");
        const json::Value* offsets = entry.find("data_offsets");
        if (!dtype || !dtype->is_string()) fail(what + " has no dtype string");
        const DTypeInfo* info = nullptr;
        for (const DTypeInfo& d : dtypes)
            if (dtype->string == d.name) info = &d;
        if (!info)
            fail(what + " has dtype " + gguf::quoted(dtype->string) +
                 ", which this reader does not know");
        t.dtype = info->type;
        if (!shape || !shape->is_array()) fail(what + " has no shape array");
        if (shape->array.size() > max_dims)
            fail(what + " has " + std::to_string(shape->array.size()) + " dimensions (limit " +
                 std::to_string(max_dims) + ")");
        t.elements = 1;
        for (const json::Value& d : shape->array) {
            const uint64_t n = whole_number(d, file, what + " shape entry");
            // Past the data section's size either way: stop before the product can overflow.
            t.shape.push_back(n);
            if (n != 0 && t.elements > (data_bytes + 1) / n)
                t.elements = data_bytes + 1;
            else
                t.elements *= n;
        }
        if (!offsets || !offsets->is_array() || offsets->array.size() != 2)
            fail(what + " has no data_offsets [begin, end]");
        const uint64_t begin = whole_number(offsets->array[0], file, what + " data_offsets");
        const uint64_t end = whole_number(offsets->array[1], file, what + " data_offsets");
        if (begin > end || end > data_bytes)
            fail(what + " data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                 "] are outside the data section (" + std::to_string(data_bytes) + " bytes)");
        if (t.elements > data_bytes || t.elements * info->size != end - begin)
            fail(what + " of shape " + t.shape_text() + " and dtype " + info->name + " needs " +
                 (t.elements > data_bytes ? std::string("more bytes than the file has")
                                          : std::to_string(t.elements * info->size) + " bytes") +
                 ", its data_offsets span " + std::to_string(end - begin));
        if (index_.count(name)) fail(what + " appears twice");
        t.data = data + begin;
        t.bytes = size_t(end - begin);
        index_[name] = tensors_.size();
        if (end > begin) spans.push_back({begin, end, tensors_.size()});
        tensors_.push_back(std::move(t));
    }
    std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
        return a.begin < b.begin || (a.begin == b.begin && a.end < b.end);
    });
    for (size_t i = 1; i < spans.size(); i++)
        if (spans[i].begin < spans[i - 1].end)
            fail("tensors " + gguf::quoted(tensors_[spans[i - 1].tensor].name) + " and " +
                 gguf::quoted(tensors_[spans[i].tensor].name) + " overlap");
}

const Tensor* File::find(const std::string& name) const {
    const auto it = index_.find(name);
    return it == index_.end() ? nullptr : &tensors_[it->second];
}

Checkpoint::Checkpoint(const std::string& dir) {
    namespace fs = std::filesystem;
    const fs::path index_path = fs::path(dir) / "model.safetensors.index.json";
    const fs::path single = fs::path(dir) / "model.safetensors";
    std::error_code ec;
    if (!fs::exists(index_path, ec)) {
        if (!fs::exists(single, ec))
            throw Error(dir + ": no model.safetensors or model.safetensors.index.json");
        source_ = single.string();
        add(open_file(source_));
        return;
    }
    source_ = index_path.string();
    const std::unique_ptr<Blob> index_blob = open_file(source_);
    const json::Value index = json::parse(
        std::string_view(reinterpret_cast<const char*>(index_blob->data()), index_blob->size()),
        source_);
    const json::Value* map = index.find("weight_map");
    if (!map || !map->is_object()) throw Error(source_ + ": no \"weight_map\" object");
    std::unordered_map<std::string, const File*> shards;
    for (const auto& [tensor, shard] : map->object) {
        if (!shard.is_string())
            throw Error(source_ + ": weight_map entry " + gguf::quoted(tensor) +
                        " is not a file name");
        // Shards sit beside the index: a name that climbs out of the directory is refused.
        const std::string& s = shard.string;
        if (s.empty() || s.find('/') != std::string::npos || s.find('\\') != std::string::npos ||
            s == "." || s == ".." || s.find('\0') != std::string::npos)
            throw Error(source_ + ": shard name " + gguf::quoted(s) + " is not a plain file name");
        auto it = shards.find(s);
        if (it == shards.end()) {
            add(open_file((fs::path(dir) / s).string()));
            it = shards.emplace(s, files_.back().get()).first;
        }
        if (!it->second->find(tensor))
            throw Error(source_ + ": tensor " + gguf::quoted(tensor) + " is not in " +
                        it->second->name());
    }
}

void Checkpoint::add(std::unique_ptr<Blob> blob) {
    files_.push_back(std::make_unique<File>(std::move(blob)));
    const File& f = *files_.back();
    for (const Tensor& t : f.tensors()) {
        const auto [it, inserted] = tensors_.emplace(t.name, &t);
        if (!inserted)
            throw Error(f.name() + ": tensor " + gguf::quoted(t.name) + " is also in " +
                        it->second->file);
    }
}

const Tensor* Checkpoint::find(const std::string& name) const {
    const auto it = tensors_.find(name);
    return it == tensors_.end() ? nullptr : it->second;
}

const Tensor& Checkpoint::require(const std::string& name) const {
    const Tensor* t = find(name);
    if (!t) throw Error(source_ + ": no tensor " + gguf::quoted(name));
    return *t;
}

std::vector<std::string> Checkpoint::names() const {
    std::vector<std::string> out;
    for (const auto& f : files_)
        for (const Tensor& t : f->tensors()) out.push_back(t.name);
    return out;
}

namespace {

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\' || c < 0x20) {
            char buf[16];
            std::snprintf(buf, sizeof buf, "\\u%04X", c);
            out += buf;
        } else {
            out += char(c);
        }
    }
    return out + "\"";
}

}  // namespace

std::string write_file(const std::vector<WriteTensor>& tensors) {
    std::string header = "{", data;
    for (const WriteTensor& t : tensors) {
        if (header.size() > 1) header += ",";
        header += json_string(t.name) + ":{\"dtype\":\"" + dtype_name(t.dtype) + "\",\"shape\":[";
        for (size_t i = 0; i < t.shape.size(); i++)
            header += (i ? "," : "") + std::to_string(t.shape[i]);
        header += "],\"data_offsets\":[" + std::to_string(data.size()) + "," +
                  std::to_string(data.size() + t.bytes.size()) + "]}";
        data += t.bytes;
    }
    header += "}";
    // The data section starts 8-byte aligned, as the format's own writer pads it.
    while (header.size() % 8) header += ' ';
    std::string out(8, '\0');
    write_uint(reinterpret_cast<uint8_t*>(&out[0]), header.size(), 8, ByteOrder::Little);
    return out + header + data;
}

}  // namespace llamaport::safetensors
