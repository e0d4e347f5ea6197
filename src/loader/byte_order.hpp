// The only place that knows about byte order. Files say which order they are in; the host has
// its own. Header fields are assembled byte by byte (correct on any host); weight runs are used
// in place when the orders match and the data is aligned, and converted element by element
// otherwise (in place when the file's bytes are a private copy, into model memory if not).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "llamaport/model.hpp"

namespace llamaport {

enum class ByteOrder { Little, Big };

inline ByteOrder host_byte_order() {
    const uint16_t probe = 1;
    unsigned char first;
    std::memcpy(&first, &probe, 1);
    return first == 1 ? ByteOrder::Little : ByteOrder::Big;
}

inline const char* byte_order_name(ByteOrder order) {
    return order == ByteOrder::Little ? "little-endian" : "big-endian";
}

inline uint64_t read_uint(const uint8_t* p, size_t width, ByteOrder order) {
    uint64_t v = 0;
    for (size_t i = 0; i < width; i++) {
        size_t byte = order == ByteOrder::Little ? width - 1 - i : i;
        v = (v << 8) | p[byte];
    }
    return v;
}
inline uint16_t read_u16(const uint8_t* p, ByteOrder o) { return uint16_t(read_uint(p, 2, o)); }
inline uint32_t read_u32(const uint8_t* p, ByteOrder o) { return uint32_t(read_uint(p, 4, o)); }
inline uint64_t read_u64(const uint8_t* p, ByteOrder o) { return read_uint(p, 8, o); }
inline int32_t read_i32(const uint8_t* p, ByteOrder o) {
    uint32_t u = read_u32(p, o);
    int32_t v;
    std::memcpy(&v, &u, 4);
    return v;
}
inline float read_f32(const uint8_t* p, ByteOrder o) {
    uint32_t u = read_u32(p, o);
    float v;
    std::memcpy(&v, &u, 4);
    return v;
}

inline void write_uint(uint8_t* p, uint64_t v, size_t width, ByteOrder order) {
    for (size_t i = 0; i < width; i++) {
        size_t byte = order == ByteOrder::Little ? i : width - 1 - i;
        p[byte] = uint8_t(v >> (8 * i));
    }
}

// Appends values to a byte string in a given order (the writers' side of the same rule).
class ByteWriter {
public:
    explicit ByteWriter(ByteOrder order) : order_(order) {}
    void u8(uint8_t v) { out_.push_back(char(v)); }
    void u16(uint16_t v) { put(v, 2); }
    void u32(uint32_t v) { put(v, 4); }
    void u64(uint64_t v) { put(v, 8); }
    void i32(int32_t v) { put(uint32_t(v), 4); }
    void f32(float v) {
        uint32_t u;
        std::memcpy(&u, &v, 4);
        put(u, 4);
    }
    void f32s(const float* v, size_t n) {
        for (size_t i = 0; i < n; i++) f32(v[i]);
    }
    void bytes(const void* p, size_t n) { out_.append(static_cast<const char*>(p), n); }
    void pad_to(size_t alignment) {
        while (out_.size() % alignment) out_.push_back('\0');
    }
    size_t size() const { return out_.size(); }
    std::string& str() { return out_; }

private:
    void put(uint64_t v, size_t width) {
        char buf[8];
        write_uint(reinterpret_cast<uint8_t*>(buf), v, width, order_);
        out_.append(buf, width);
    }
    ByteOrder order_;
    std::string out_;
};

// Hands out host-order views of runs of elements in a model file.
class WeightReader {
public:
    WeightReader(Model& model, ByteOrder file_order) : model_(model), order_(file_order) {}

    ByteOrder file_order() const { return order_; }

    // count elements of `width` bytes at byte offset; the caller has checked the range.
    const void* elements(size_t offset, size_t count, size_t width) {
        const Blob& blob = *model_.blob;
        const uint8_t* src = blob.data() + offset;
        const bool same_order = width == 1 || order_ == host_byte_order();
        const bool aligned = reinterpret_cast<uintptr_t>(src) % width == 0;
        if (same_order && aligned) return src;
        uint8_t* dst = aligned && blob.writable_data()
                           ? blob.writable_data() + offset
                           : static_cast<uint8_t*>(model_.allocate(count * width));
        if (same_order) {
            std::memcpy(dst, src, count * width);
            return dst;
        }
        // Swap each element by its own width; src and dst may be the same bytes.
        for (size_t i = 0; i < count; i++) {
            uint8_t tmp[8];
            std::memcpy(tmp, src + i * width, width);
            for (size_t b = 0; b < width; b++) dst[i * width + b] = tmp[width - 1 - b];
        }
        return dst;
    }
    const float* f32(size_t offset, size_t count) {
        return static_cast<const float*>(elements(offset, count, 4));
    }
    const int8_t* i8(size_t offset, size_t count) {
        return static_cast<const int8_t*>(elements(offset, count, 1));
    }
    const uint16_t* u16(size_t offset, size_t count) {
        return static_cast<const uint16_t*>(elements(offset, count, 2));
    }

private:
    Model& model_;
    ByteOrder order_;
};

}  // namespace llamaport
