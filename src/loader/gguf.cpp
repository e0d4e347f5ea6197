// GGUF parsing and writing. Every length, count and offset read from a file is checked against the
// bytes that remain before it is used, in 64-bit arithmetic that cannot wrap, so a hostile file
// cannot make the parser read out of bounds or allocate more than a small multiple of its size,
// whatever the width of size_t.
#include "gguf.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>
#include <unordered_set>

#include "fp16.hpp"
#include "llamaport/error.hpp"
#include "types/types.hpp"

namespace llamaport::gguf {

const char* value_type_name(ValueType type) {
    switch (type) {
        case ValueType::U8: return "u8";
        case ValueType::I8: return "i8";
        case ValueType::U16: return "u16";
        case ValueType::I16: return "i16";
        case ValueType::U32: return "u32";
        case ValueType::I32: return "i32";
        case ValueType::F32: return "f32";
        case ValueType::Bool: return "bool";
        case ValueType::String: return "string";
        case ValueType::Array: return "array";
        case ValueType::U64: return "u64";
        case ValueType::I64: return "i64";
        case ValueType::F64: return "f64";
    }
    return "?";
}

size_t scalar_width(ValueType type) {
    switch (type) {
        case ValueType::U8:
        case ValueType::I8:
        case ValueType::Bool: return 1;
        case ValueType::U16:
        case ValueType::I16: return 2;
        case ValueType::U32:
        case ValueType::I32:
        case ValueType::F32: return 4;
        case ValueType::U64:
        case ValueType::I64:
        case ValueType::F64: return 8;
        case ValueType::String:
        case ValueType::Array: return 0;
    }
    return 0;
}

namespace {

bool is_signed(ValueType t) {
    return t == ValueType::I8 || t == ValueType::I16 || t == ValueType::I32 || t == ValueType::I64;
}

// The fewest bytes a value of this type can take in a file: bounds how many elements an array
// whose count we have just read could possibly hold.
uint64_t min_value_bytes(ValueType type) {
    if (type == ValueType::String) return 8;
    if (type == ValueType::Array) return 12;
    return scalar_width(type);
}

bool known_value_type(uint32_t raw) { return raw <= uint32_t(ValueType::F64); }

bool is_power_of_two(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

}  // namespace

std::string quoted(const std::string& s) {
    const size_t shown = 80;
    std::string out = "'";
    for (size_t i = 0; i < s.size() && i < shown; i++) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        if (c < 0x20 || c == 0x7F) {
            const char hex[] = "0123456789ABCDEF";
            out += std::string("\\x") + hex[c >> 4] + hex[c & 15];
        } else {
            out += char(c);
        }
    }
    return out + (s.size() > shown ? "...'" : "'");
}

Value Value::scalar(ValueType type, uint64_t bits) {
    Value v;
    v.type = type;
    v.bits = bits;
    return v;
}

Value Value::f32(float f) {
    uint32_t b;
    std::memcpy(&b, &f, 4);
    return scalar(ValueType::F32, b);
}

Value Value::f64(double f) {
    uint64_t b;
    std::memcpy(&b, &f, 8);
    return scalar(ValueType::F64, b);
}

Value Value::string(std::string s) {
    Value v;
    v.type = ValueType::String;
    v.str = std::move(s);
    return v;
}

Value Value::string_array(std::vector<std::string> s) {
    Value v;
    v.type = ValueType::Array;
    v.element_type = ValueType::String;
    v.strings = std::move(s);
    return v;
}

Value Value::array_of(ValueType element_type, std::vector<uint64_t> scalar_bits) {
    Value v;
    v.type = ValueType::Array;
    v.element_type = element_type;
    v.scalars = std::move(scalar_bits);
    return v;
}

Value Value::f32_array(const std::vector<float>& f) {
    std::vector<uint64_t> bits;
    bits.reserve(f.size());
    for (float x : f) bits.push_back(Value::f32(x).bits);
    return array_of(ValueType::F32, std::move(bits));
}

Value Value::i32_array(const std::vector<int32_t>& x) {
    std::vector<uint64_t> bits;
    bits.reserve(x.size());
    for (int32_t i : x) bits.push_back(uint32_t(i));
    return array_of(ValueType::I32, std::move(bits));
}

Value Value::array_of_arrays(std::vector<Value> a) {
    Value v;
    v.type = ValueType::Array;
    v.element_type = ValueType::Array;
    v.arrays = std::move(a);
    return v;
}

bool Value::is_integer() const {
    return scalar_width(type) != 0 && type != ValueType::Bool && !is_float();
}

int64_t Value::as_int() const {
    const size_t width = scalar_width(type);
    if (!is_signed(type) || width == 8) return int64_t(bits);
    const uint64_t sign = uint64_t(1) << (8 * width - 1);  // sign-extend from the type's width
    return int64_t((bits ^ sign) - sign);
}

bool Value::is_negative() const { return is_signed(type) && as_int() < 0; }

double Value::as_float() const {
    if (type == ValueType::F32) {
        const uint32_t b = uint32_t(bits);
        float f;
        std::memcpy(&f, &b, 4);
        return f;
    }
    double d;
    std::memcpy(&d, &bits, 8);
    return d;
}

size_t Value::size() const {
    if (element_type == ValueType::String) return strings.size();
    if (element_type == ValueType::Array) return arrays.size();
    return scalars.size();
}

bool Value::operator==(const Value& o) const {
    if (type != o.type) return false;
    if (type == ValueType::String) return str == o.str;
    if (type != ValueType::Array) return bits == o.bits;
    return element_type == o.element_type && scalars == o.scalars && strings == o.strings &&
           arrays == o.arrays;
}

const TensorType* find_tensor_type(uint32_t id) {
    static const TensorType types[] = {
        {0, "F32", 1, 4},         {1, "F16", 1, 2},         {2, "Q4_0", 32, 18},
        {3, "Q4_1", 32, 20},      {6, "Q5_0", 32, 22},      {7, "Q5_1", 32, 24},
        {8, "Q8_0", 32, 34},      {9, "Q8_1", 32, 36},      {10, "Q2_K", 256, 84},
        {11, "Q3_K", 256, 110},   {12, "Q4_K", 256, 144},   {13, "Q5_K", 256, 176},
        {14, "Q6_K", 256, 210},   {15, "Q8_K", 256, 292},   {16, "IQ2_XXS", 256, 66},
        {17, "IQ2_XS", 256, 74},  {18, "IQ3_XXS", 256, 98}, {19, "IQ1_S", 256, 50},
        {20, "IQ4_NL", 32, 18},   {21, "IQ3_S", 256, 110},  {22, "IQ2_S", 256, 82},
        {23, "IQ4_XS", 256, 136}, {24, "I8", 1, 1},         {25, "I16", 1, 2},
        {26, "I32", 1, 4},        {27, "I64", 1, 8},        {28, "F64", 1, 8},
        {29, "IQ1_M", 256, 56},   {30, "BF16", 1, 2},       {34, "TQ1_0", 256, 54},
        {35, "TQ2_0", 256, 66},   {39, "MXFP4", 32, 17},
    };
    for (const TensorType& t : types)
        if (t.id == id) return &t;
    return nullptr;
}

std::string TensorInfo::shape() const {
    std::string s = "[";
    for (uint32_t d = 0; d < n_dims; d++) s += (d ? ", " : "") + std::to_string(ne[d]);
    return s + "]";
}

// ---- reading ------------------------------------------------------------------------------

// A bounds-checked read position in the file. `where` names what is being read, for messages.
class GgufFile::Parser {
public:
    Parser(const GgufFile& file, size_t pos) : f_(file), pos_(pos) {}

    size_t pos() const { return pos_; }
    size_t remaining() const { return f_.size_ - pos_; }
    std::string where = "the header";

    const uint8_t* take(uint64_t n) {
        if (n > remaining())
            f_.fail("file ends inside " + where + " (" + std::to_string(n) +
                    " bytes needed at offset " + std::to_string(pos_) + ", file is " +
                    std::to_string(f_.size_) + " bytes)");
        const uint8_t* p = f_.data_ + pos_;
        pos_ += size_t(n);
        return p;
    }
    uint32_t u32() { return read_u32(take(4), f_.order_); }
    uint64_t u64() { return read_u64(take(8), f_.order_); }

    std::string string() {
        const uint64_t n = u64();
        const uint8_t* p = take(n);
        return std::string(reinterpret_cast<const char*>(p), size_t(n));
    }

    ValueType value_type() {
        const uint32_t raw = u32();
        if (!known_value_type(raw))
            f_.fail(where + " has unknown value type " + std::to_string(raw));
        return ValueType(raw);
    }

    // Reads (into *out) or just validates and skips (out == nullptr) one value of `type`.
    void value(ValueType type, Value* out, int depth) {
        if (out) out->type = type;
        if (type == ValueType::Array) {
            array(out, depth);
        } else if (type == ValueType::String) {
            std::string s = string();
            if (out) out->str = std::move(s);
        } else {
            const uint64_t bits = scalar(type);
            if (out) out->bits = bits;
        }
    }

private:
    uint64_t scalar(ValueType type) {
        const size_t width = scalar_width(type);
        const uint64_t bits = read_uint(take(width), width, f_.order_);
        if (type == ValueType::Bool && bits > 1)
            f_.fail(where + " has a bool of value " + std::to_string(bits) + " (must be 0 or 1)");
        return bits;
    }

    void array(Value* out, int depth) {
        if (depth >= max_array_nesting)
            f_.fail(where + " nests arrays more than " + std::to_string(max_array_nesting) +
                    " deep");
        const ValueType element = value_type();
        const uint64_t count = u64();
        // Refuse a count the rest of the file cannot hold before looping or allocating.
        if (count > remaining() / min_value_bytes(element))
            f_.fail(where + " is an array of " + std::to_string(count) + " " +
                    value_type_name(element) + " elements, more than the " +
                    std::to_string(remaining()) + " bytes left in the file can hold");
        if (out) out->element_type = element;
        for (uint64_t i = 0; i < count; i++) {
            if (element == ValueType::Array) {
                Value* nested = out ? &out->arrays.emplace_back() : nullptr;
                value(ValueType::Array, nested, depth + 1);
            } else if (element == ValueType::String) {
                std::string s = string();
                if (out) out->strings.push_back(std::move(s));
            } else {
                const uint64_t bits = scalar(element);
                if (out) out->scalars.push_back(bits);
            }
        }
    }

    const GgufFile& f_;
    size_t pos_;
};

void GgufFile::fail(const std::string& problem) const { throw Error(name_ + ": " + problem); }

GgufFile::GgufFile(const uint8_t* data, size_t size, std::string name)
    : data_(data), size_(size), name_(std::move(name)) {
    if (size_ < 4 || std::memcmp(data_, "GGUF", 4) != 0)
        fail("not a GGUF file (no \"GGUF\" magic)");
    Parser in(*this, 4);
    in.take(20);  // the rest of the header, before reading any of it

    // The version is small (2 or 3) in the file's order and huge in the other one.
    const uint32_t little = read_u32(data_ + 4, ByteOrder::Little);
    const uint32_t big = read_u32(data_ + 4, ByteOrder::Big);
    if ((little == 0 || little > 0xFFFF) && big != 0 && big <= 0xFFFF) order_ = ByteOrder::Big;
    version_ = read_u32(data_ + 4, order_);
    if (version_ != 2 && version_ != 3)
        fail("GGUF version " + std::to_string(version_) +
             " is not supported (only versions 2 and 3)");
    const uint64_t n_tensors = read_u64(data_ + 8, order_);
    const uint64_t n_metadata = read_u64(data_ + 16, order_);

    // Smallest entries: a one-byte key, its type and a one-byte value (14 bytes); a tensor with a
    // one-byte name, no dimensions, its type and offset (25 bytes).
    const uint64_t left = in.remaining();
    if (n_metadata > max_metadata_entries || n_metadata > left / 14)
        fail("metadata count " + std::to_string(n_metadata) + " is impossible for a file of " +
             std::to_string(size_) + " bytes (truncated or corrupt)");
    if (n_tensors > max_tensors || n_tensors > (left - n_metadata * 14) / 25)
        fail("tensor count " + std::to_string(n_tensors) + " is impossible for a file of " +
             std::to_string(size_) + " bytes (truncated or corrupt)");

    read_metadata(in, n_metadata);
    place_tensors(in, read_tensor_infos(in, n_tensors));
}

void GgufFile::read_metadata(Parser& in, uint64_t count) {
    for (uint64_t i = 0; i < count; i++) {
        in.where = "metadata entry " + std::to_string(i);
        KeyValue kv;
        kv.key = in.string();
        if (kv.key.empty()) fail(in.where + " has an empty key");
        in.where = "metadata " + gguf::quoted(kv.key);
        if (!key_index_.emplace(kv.key, metadata_.size()).second)
            fail("metadata key " + gguf::quoted(kv.key) + " appears twice");
        kv.type = in.value_type();
        kv.offset = in.pos();
        in.value(kv.type, nullptr, 0);
        if (kv.type == ValueType::Array) {
            kv.element_type = ValueType(read_u32(data_ + kv.offset, order_));
            kv.count = read_u64(data_ + kv.offset + 4, order_);
        }
        metadata_.push_back(std::move(kv));
    }

    if (const KeyValue* kv = find("general.alignment")) {
        const Value v = value(*kv);
        if (v.type != ValueType::U32 || !is_power_of_two(v.bits) || v.bits > (uint32_t(1) << 30))
            fail("general.alignment must be a u32 power of two up to 2^30 (it is " +
                 std::string(value_type_name(v.type)) +
                 (v.type == ValueType::U32 ? " " + std::to_string(v.bits) : std::string()) + ")");
        alignment_ = uint32_t(v.bits);
    }
}

std::vector<uint64_t> GgufFile::read_tensor_infos(Parser& in, uint64_t count) {
    // Sizes stay 64-bit until checked against the file, which makes them fit size_t.
    std::vector<uint64_t> sizes;
    for (uint64_t i = 0; i < count; i++) {
        in.where = "tensor info " + std::to_string(i);
        TensorInfo t;
        t.name = in.string();
        if (t.name.empty()) fail(in.where + " has an empty name");
        in.where = "tensor info " + gguf::quoted(t.name);
        if (!tensor_index_.emplace(t.name, tensors_.size()).second)
            fail("tensor " + gguf::quoted(t.name) + " appears twice");
        t.n_dims = in.u32();
        if (t.n_dims > 4)
            fail("tensor " + gguf::quoted(t.name) + " has " + std::to_string(t.n_dims) +
                 " dimensions (at most 4)");
        t.elements = 1;
        bool overflow = false;
        for (uint32_t d = 0; d < t.n_dims; d++) {
            t.ne[d] = in.u64();
            if (t.ne[d] != 0 && t.elements > UINT64_MAX / t.ne[d]) overflow = true;
            t.elements *= t.ne[d];
        }
        const uint32_t type = in.u32();
        t.type = find_tensor_type(type);
        if (!t.type)
            fail("tensor " + gguf::quoted(t.name) + " has unknown ggml type " + std::to_string(type));
        if (t.ne[0] % t.type->block_values != 0)
            fail("tensor " + gguf::quoted(t.name) + " of type " + t.type->name + " has rows of " +
                 std::to_string(t.ne[0]) + " values, not a multiple of its block size " +
                 std::to_string(t.type->block_values));
        const uint64_t blocks = t.elements / t.type->block_values;
        if (overflow || blocks > UINT64_MAX / t.type->block_bytes)
            fail("tensor " + gguf::quoted(t.name) + " shape " + t.shape() + " has too many elements");
        sizes.push_back(blocks * t.type->block_bytes);
        t.offset = in.u64();
        tensors_.push_back(std::move(t));
    }
    return sizes;
}

void GgufFile::place_tensors(Parser& in, const std::vector<uint64_t>& sizes) {
    // The data section starts at the next multiple of the alignment (a file without tensors
    // needs no padding).
    const size_t pad = tensors_.empty() ? 0 : (alignment_ - in.pos() % alignment_) % alignment_;
    if (pad > in.remaining()) fail("file ends inside the padding before the tensor data");
    data_offset_ = in.pos() + pad;
    const uint64_t data_bytes = size_ - data_offset_;
    for (size_t i = 0; i < tensors_.size(); i++) {
        TensorInfo& t = tensors_[i];
        if (t.offset % alignment_ != 0)
            fail("tensor " + gguf::quoted(t.name) + " data offset " + std::to_string(t.offset) +
                 " is not a multiple of the alignment " + std::to_string(alignment_));
        if (t.offset > data_bytes || sizes[i] > data_bytes - t.offset)
            fail("tensor " + gguf::quoted(t.name) + " data (" + std::to_string(sizes[i]) +
                 " bytes at data offset " + std::to_string(t.offset) +
                 ") runs past the end of the file (" + std::to_string(size_) + " bytes)");
        t.file_offset = data_offset_ + size_t(t.offset);
        t.bytes = size_t(sizes[i]);
    }

    // No two tensors may share bytes: sorted by offset, each must end before the next starts.
    std::vector<const TensorInfo*> by_offset;
    for (const TensorInfo& t : tensors_)
        if (t.bytes) by_offset.push_back(&t);
    std::sort(by_offset.begin(), by_offset.end(),
              [](const TensorInfo* a, const TensorInfo* b) { return a->offset < b->offset; });
    for (size_t i = 1; i < by_offset.size(); i++) {
        const TensorInfo& a = *by_offset[i - 1];
        const TensorInfo& b = *by_offset[i];
        if (a.file_offset + a.bytes > b.file_offset)
            fail("tensors " + gguf::quoted(a.name) + " and " + gguf::quoted(b.name) +
                 " overlap in the data section");
    }
}

const KeyValue* GgufFile::find(const std::string& key) const {
    auto it = key_index_.find(key);
    return it == key_index_.end() ? nullptr : &metadata_[it->second];
}

const TensorInfo* GgufFile::find_tensor(const std::string& name) const {
    auto it = tensor_index_.find(name);
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

Value GgufFile::value(const KeyValue& kv) const {
    Parser in(*this, kv.offset);
    in.where = "metadata " + gguf::quoted(kv.key);
    Value v;
    in.value(kv.type, &v, 0);
    return v;
}

// ---- writing ------------------------------------------------------------------------------

namespace {

[[noreturn]] void writer_error(const std::string& problem) {
    throw Error("GGUF writer: " + problem);
}

void put_string(ByteWriter& out, const std::string& s) {
    out.u64(s.size());
    out.bytes(s.data(), s.size());
}

void put_scalar(ByteWriter& out, ValueType type, uint64_t bits) {
    switch (scalar_width(type)) {
        case 1: out.u8(uint8_t(bits)); break;
        case 2: out.u16(uint16_t(bits)); break;
        case 4: out.u32(uint32_t(bits)); break;
        case 8: out.u64(bits); break;
    }
}

void put_value(ByteWriter& out, const Value& v) {
    if (v.type == ValueType::String) return put_string(out, v.str);
    if (v.type != ValueType::Array) return put_scalar(out, v.type, v.bits);
    out.u32(uint32_t(v.element_type));
    out.u64(v.size());
    if (v.element_type == ValueType::String) {
        for (const std::string& s : v.strings) put_string(out, s);
    } else if (v.element_type == ValueType::Array) {
        for (const Value& a : v.arrays) {
            if (a.type != ValueType::Array) writer_error("an array of arrays holds a non-array");
            put_value(out, a);
        }
    } else {
        for (uint64_t bits : v.scalars) put_scalar(out, v.element_type, bits);
    }
}

// Blocks [0, count) of a type, host order, appended with each multi-byte field in the file's
// order and the other bytes as they are.
void put_blocks(ByteWriter& out, const uint8_t* p, size_t count, size_t block_bytes,
                const std::vector<BlockField>& fields) {
    for (size_t b = 0; b < count; b++, p += block_bytes) {
        size_t at = 0;
        for (const BlockField& f : fields) {
            out.bytes(p + at, f.offset - at);
            if (f.width == 2) {
                uint16_t h;
                std::memcpy(&h, p + f.offset, 2);
                out.u16(h);
            } else {
                uint32_t v;
                std::memcpy(&v, p + f.offset, 4);
                out.u32(v);
            }
            at = f.offset + f.width;
        }
        out.bytes(p + at, block_bytes - at);
    }
}

uint64_t checked_product(uint64_t a, uint64_t b) {
    if (b != 0 && a > UINT64_MAX / b) writer_error("tensor sizes overflow");
    return a * b;
}

}  // namespace

void write_gguf_to(std::ostream& file, const std::vector<std::pair<std::string, Value>>& metadata,
                   const std::vector<WriteTensor>& tensors, ByteOrder order,
                   const BlockSource& source, const WriteProgress& progress) {
    uint64_t alignment = default_alignment;
    std::unordered_set<std::string> names;
    for (const auto& [key, value] : metadata) {
        if (key.empty() || !names.insert(key).second)
            writer_error("metadata key '" + key + "' is empty or repeated");
        if (key == "general.alignment") {
            if (value.type != ValueType::U32 || !is_power_of_two(value.bits))
                writer_error("general.alignment must be a u32 power of two");
            alignment = value.bits;
        }
    }

    // Sizes and offsets first: the tensor infos that precede the data need them.
    names.clear();
    std::vector<uint64_t> blocks, offsets;
    uint64_t data_bytes = 0;
    for (const WriteTensor& t : tensors) {
        if (t.name.empty() || !names.insert(t.name).second)
            writer_error("tensor name '" + t.name + "' is empty or repeated");
        const TensorType* known = find_tensor_type(t.type);
        if (!known || (t.type != type_i8 && t.type != type_i16 && !type_by_gguf_id(t.type)))
            writer_error("tensor '" + t.name + "' has a type the writer does not know");
        const TensorType& type = *known;
        if (t.shape.empty() || t.shape.size() > 4 || t.shape[0] % type.block_values != 0)
            writer_error("tensor '" + t.name + "' has a shape its type cannot hold");
        if (!t.data && !source) writer_error("tensor '" + t.name + "' has no data");
        uint64_t n = 1;
        for (uint64_t d : t.shape) n = checked_product(n, d);
        const uint64_t bytes = checked_product(n / type.block_values, type.block_bytes);
        const uint64_t padded = bytes + (alignment - bytes % alignment) % alignment;
        if (padded < bytes || padded > UINT64_MAX - data_bytes)
            writer_error("tensor sizes overflow");
        blocks.push_back(n / type.block_values);
        offsets.push_back(data_bytes);
        data_bytes += padded;
    }

    ByteWriter out(order);
    out.bytes("GGUF", 4);
    out.u32(3);
    out.u64(tensors.size());
    out.u64(metadata.size());
    for (const auto& [key, value] : metadata) {
        put_string(out, key);
        out.u32(uint32_t(value.type));
        put_value(out, value);
    }
    for (size_t i = 0; i < tensors.size(); i++) {
        const WriteTensor& t = tensors[i];
        put_string(out, t.name);
        out.u32(uint32_t(t.shape.size()));
        for (uint64_t d : t.shape) out.u64(d);
        out.u32(t.type);
        out.u64(offsets[i]);
    }
    out.pad_to(size_t(alignment));
    const uint64_t total = out.size() + data_bytes;
    uint64_t written = 0;
    auto flush = [&] {
        file.write(out.str().data(), std::streamsize(out.size()));
        written += out.size();
        out.str().clear();
        if (!file) writer_error("write failed (disk full?)");
    };
    flush();
    // The data a chunk at a time: a tensor from a source never needs to be whole in memory.
    constexpr size_t chunk_bytes = size_t(1) << 22;
    std::vector<uint8_t> host;
    for (size_t i = 0; i < tensors.size(); i++) {
        const WriteTensor& t = tensors[i];
        const TensorType& type = *find_tensor_type(t.type);
        const std::vector<BlockField> fields = block_fields(t.type);
        const size_t per_chunk = std::max<size_t>(1, chunk_bytes / type.block_bytes);
        for (uint64_t first = 0; first < blocks[i]; first += per_chunk) {
            const size_t count = size_t(std::min<uint64_t>(per_chunk, blocks[i] - first));
            const uint8_t* p;
            if (t.data) {
                p = static_cast<const uint8_t*>(t.data) + size_t(first) * type.block_bytes;
            } else {
                host.resize(count * type.block_bytes);
                source(i, host.data(), size_t(first), count);
                p = host.data();
            }
            put_blocks(out, p, count, type.block_bytes, fields);
            flush();
            if (progress) progress(written, total);
        }
        // Padding to the next tensor, counted from the start of the file.
        const std::string padding(size_t((alignment - written % alignment) % alignment), '\0');
        out.bytes(padding.data(), padding.size());
        flush();
    }
}

std::string write_gguf(const std::vector<std::pair<std::string, Value>>& metadata,
                       const std::vector<WriteTensor>& tensors, ByteOrder order) {
    std::ostringstream out;
    write_gguf_to(out, metadata, tensors, order);
    return out.str();
}

std::vector<BlockField> block_fields(uint32_t type) {
    if (type == type_i16) return {{0, 2}};
    std::vector<BlockField> out;
    if (const WeightTypeInfo* info = type_by_gguf_id(type))
        for (const llamaport::BlockField& f : info->fields)
            if (f.width) out.push_back({f.offset, f.width});
    return out;
}


}  // namespace llamaport::gguf
