// Internal: the GGUF container (llama.cpp's model format, versions 2 and 3), independent of what
// the tensors mean. GgufFile parses and validates a file held in memory; write_gguf builds one.
//
// Layout: "GGUF", u32 version, u64 tensor count, u64 metadata count; the metadata entries
// (string key, u32 value type, value); the tensor infos (string name, u32 n_dims, u64 ne[n_dims],
// u32 ggml type, u64 offset from the data section); zero padding to general.alignment; the
// tensor data. Strings are a u64 length and the bytes; arrays are u32 element type, u64 count,
// elements. Every number is in the file's byte order: little-endian normally, big-endian in
// files llama.cpp writes for big-endian hosts. The magic is the same four bytes either way, so the
// order is told by the version field, a small number in only one of the two orders.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <unordered_map>
#include <vector>

#include "byte_order.hpp"

namespace llamaport::gguf {

enum class ValueType : uint32_t {
    U8 = 0,
    I8 = 1,
    U16 = 2,
    I16 = 3,
    U32 = 4,
    I32 = 5,
    F32 = 6,
    Bool = 7,
    String = 8,
    Array = 9,
    U64 = 10,
    I64 = 11,
    F64 = 12,
};
const char* value_type_name(ValueType type);

// A string from a file, fit for a one-line message: in single quotes, control bytes as \xNN,
// cut after 80 bytes.
std::string quoted(const std::string& s);

// A metadata value, owned. Scalars keep their bits (integers two's complement, floats IEEE)
// in `bits`; an array keeps its elements in the one vector that fits its element type.
struct Value {
    ValueType type = ValueType::U32;
    uint64_t bits = 0;
    std::string str;
    ValueType element_type = ValueType::U8;  // arrays only
    std::vector<uint64_t> scalars;           // arrays of scalars
    std::vector<std::string> strings;        // arrays of strings
    std::vector<Value> arrays;               // arrays of arrays

    static Value u8(uint8_t v) { return scalar(ValueType::U8, v); }
    static Value i8(int8_t v) { return scalar(ValueType::I8, uint8_t(v)); }
    static Value u16(uint16_t v) { return scalar(ValueType::U16, v); }
    static Value i16(int16_t v) { return scalar(ValueType::I16, uint16_t(v)); }
    static Value u32(uint32_t v) { return scalar(ValueType::U32, v); }
    static Value i32(int32_t v) { return scalar(ValueType::I32, uint32_t(v)); }
    static Value u64(uint64_t v) { return scalar(ValueType::U64, v); }
    static Value i64(int64_t v) { return scalar(ValueType::I64, uint64_t(v)); }
    static Value f32(float v);
    static Value f64(double v);
    static Value boolean(bool v) { return scalar(ValueType::Bool, v ? 1 : 0); }
    static Value string(std::string v);
    static Value scalar(ValueType type, uint64_t bits);
    static Value string_array(std::vector<std::string> v);
    static Value f32_array(const std::vector<float>& v);
    static Value i32_array(const std::vector<int32_t>& v);
    static Value array_of(ValueType element_type, std::vector<uint64_t> scalar_bits);
    static Value array_of_arrays(std::vector<Value> v);

    bool is_integer() const;  // U8..I64 (not Bool)
    bool is_float() const { return type == ValueType::F32 || type == ValueType::F64; }
    // The value of an integer, sign-extended; check is_negative() before reading as unsigned.
    int64_t as_int() const;
    bool is_negative() const;
    double as_float() const;  // F32 or F64
    // Element i of an array of scalars, decoded as its element type.
    Value element(size_t i) const { return scalar(element_type, scalars.at(i)); }
    size_t size() const;  // array length
    bool operator==(const Value& other) const;
    bool operator!=(const Value& other) const { return !(*this == other); }
};

// Bytes one scalar of this type occupies in a file (0 for String and Array).
size_t scalar_width(ValueType type);

// ggml tensor types: ids as written in the file, with the block each type packs values in.
// Types llama.cpp has dropped (4, 5, 31-33, 36-38) are unknown here, as they are to llama.cpp.
struct TensorType {
    uint32_t id;
    const char* name;
    uint32_t block_values;  // values per block
    uint32_t block_bytes;   // bytes per block
};
const TensorType* find_tensor_type(uint32_t id);  // nullptr when unknown
constexpr uint32_t type_f32 = 0, type_f16 = 1, type_q8_0 = 8, type_i8 = 24, type_i16 = 25;
constexpr size_t q8_0_block_values = 32, q8_0_block_bytes = 34;

struct KeyValue {
    std::string key;
    ValueType type;
    ValueType element_type = ValueType::U8;  // arrays only
    uint64_t count = 0;                      // arrays only
    size_t offset = 0;                       // of the value in the file (after its type)
};

struct TensorInfo {
    std::string name;
    uint32_t n_dims = 0;
    uint64_t ne[4] = {1, 1, 1, 1};  // ne[0] is the row length (columns); unused dimensions are 1
    const TensorType* type = nullptr;
    uint64_t elements = 0;
    uint64_t offset = 0;     // from the start of the data section, as stored
    size_t file_offset = 0;  // from the start of the file
    size_t bytes = 0;
    std::string shape() const;  // "[64, 512]"
};

constexpr uint32_t default_alignment = 32;
// Counts past these are refused outright, whatever the file size.
constexpr uint64_t max_metadata_entries = uint64_t(1) << 20;
constexpr uint64_t max_tensors = uint64_t(1) << 20;
constexpr int max_array_nesting = 8;

class GgufFile {
public:
    // Parses and validates everything: the counts, every length against the bytes that remain,
    // each value, the tensor infos, and that each tensor's data is aligned, inside the file and
    // overlaps no other. Throws Error("name: problem"). The bytes must outlive this object.
    GgufFile(const uint8_t* data, size_t size, std::string name);

    const std::string& name() const { return name_; }
    const uint8_t* data() const { return data_; }
    ByteOrder byte_order() const { return order_; }
    uint32_t version() const { return version_; }
    uint32_t alignment() const { return alignment_; }
    size_t data_offset() const { return data_offset_; }
    const std::vector<KeyValue>& metadata() const { return metadata_; }
    const std::vector<TensorInfo>& tensors() const { return tensors_; }

    const KeyValue* find(const std::string& key) const;
    const TensorInfo* find_tensor(const std::string& name) const;
    Value value(const KeyValue& kv) const;  // decodes the whole value

    [[noreturn]] void fail(const std::string& problem) const;

private:
    class Parser;
    void read_metadata(Parser& in, uint64_t count);
    std::vector<uint64_t> read_tensor_infos(Parser& in, uint64_t count);  // their data sizes
    void place_tensors(Parser& in, const std::vector<uint64_t>& sizes);
    const uint8_t* data_;
    size_t size_;
    std::string name_;
    ByteOrder order_ = ByteOrder::Little;
    uint32_t version_ = 0;
    uint32_t alignment_ = default_alignment;
    size_t data_offset_ = 0;
    std::vector<KeyValue> metadata_;
    std::vector<TensorInfo> tensors_;
    std::unordered_map<std::string, size_t> key_index_, tensor_index_;
};

// One Q8_0 block in host representation: the fp16 scale's bits and 32 values. The writer turns
// it into the file's 34 bytes (scale in the file's byte order, then the values).
struct Q8Block {
    uint16_t d;
    int8_t q[32];
};
static_assert(sizeof(Q8Block) == q8_0_block_bytes, "Q8Block must have no padding");

// A multi-byte field of a block: written in the file's byte order, the block's other bytes as
// they are.
struct BlockField {
    uint16_t offset = 0, width = 0;  // width 2 or 4
};

struct WriteTensor {
    std::string name;
    std::vector<uint64_t> shape;  // ne[0] (columns) first
    // A ggml type of llamaport's weight table, I8 or I16, as blocks in host representation:
    // F32 as float[], F16/BF16/I16 as uint16_t[], I8 as bytes, quantized types as their blocks;
    // the writer puts each multi-byte field (block_fields) in the file's byte order.
    uint32_t type = type_f32;
    const void* data = nullptr;
};

// The multi-byte fields of a block of a ggml type: the weight table's, I16's; none for I8.
std::vector<BlockField> block_fields(uint32_t type);

// Fills blocks [first_block, first_block + count) of tensor `tensor` in host order: the data of
// tensors written without a data pointer, a chunk at a time.
using BlockSource =
    std::function<void(size_t tensor, uint8_t* out, size_t first_block, size_t count)>;
using WriteProgress = std::function<void(uint64_t bytes_written, uint64_t total)>;

// A complete GGUF v3 file streamed to `file` (see write_gguf), its tensor data taken from each
// tensor's data pointer or, where that is null, from `source`, a chunk at a time.
void write_gguf_to(std::ostream& file, const std::vector<std::pair<std::string, Value>>& metadata,
                   const std::vector<WriteTensor>& tensors, ByteOrder order,
                   const BlockSource& source = {}, const WriteProgress& progress = {});

// A complete GGUF v3 file. The alignment is general.alignment when the metadata has it (a u32
// power of two), else 32; the data section and each tensor start on it. Throws Error on a
// duplicate or empty key or tensor name, a tensor type it cannot write, or a shape that does not
// fit the type's blocks.
std::string write_gguf(const std::vector<std::pair<std::string, Value>>& metadata,
                       const std::vector<WriteTensor>& tensors, ByteOrder order);

}  // namespace llamaport::gguf
