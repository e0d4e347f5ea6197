// File access behind a small interface: a model or tokenizer is a run of bytes, mapped from a
// file, read into memory, or borrowed from the caller (tests load models from memory this way).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace llamaport {

class Blob {
public:
    virtual ~Blob() = default;
    const uint8_t* data() const { return data_; }
    size_t size() const { return size_; }
    // The file name (or a description) used in error messages.
    const std::string& name() const { return name_; }
    // Non-null when the bytes are a private copy the loader may rewrite in place (to convert
    // byte order without a second copy of the weights).
    uint8_t* writable_data() const { return writable_; }
    // Says the loader has copied bytes [offset, offset + size) into converted form and will not
    // read them again: a file mapping gives back the whole pages inside the range, so the
    // process does not hold the weights twice. Other blobs ignore it.
    virtual void release(size_t offset, size_t size) const;

protected:
    Blob(std::string name) : name_(std::move(name)) {}
    const uint8_t* data_ = nullptr;
    uint8_t* writable_ = nullptr;
    size_t size_ = 0;
    std::string name_;
};

// The whole file, privately mapped where the OS allows (untouched pages stay shared with the
// page cache), read into memory otherwise. Throws Error naming the file when it is missing, a
// directory, unreadable, or too large for this host's address space.
std::unique_ptr<Blob> open_file(const std::string& path);

// Bytes owned by the caller, which must outlive the Blob. Read-only.
std::unique_ptr<Blob> borrow_memory(const void* data, size_t size, std::string name);

// Bytes moved into the Blob (writable).
std::unique_ptr<Blob> own_memory(std::string bytes, std::string name);

}  // namespace llamaport
