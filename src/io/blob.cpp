// Blob implementations: a private file mapping (POSIX), a file read into memory (elsewhere, or
// when mapping fails), and caller-provided memory.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "llamaport/blob.hpp"
#include "llamaport/error.hpp"
#include "llamaport/system.hpp"

#if defined(__unix__) || defined(__APPLE__)
#define LLAMAPORT_HAVE_MMAP 1
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

namespace llamaport {
namespace {

class MemoryBlob : public Blob {
public:
    MemoryBlob(std::string bytes, std::string name) : Blob(std::move(name)), bytes_(std::move(bytes)) {
        writable_ = reinterpret_cast<uint8_t*>(&bytes_[0]);
        data_ = writable_;
        size_ = bytes_.size();
    }

private:
    std::string bytes_;
};

class BorrowedBlob : public Blob {
public:
    BorrowedBlob(const void* data, size_t size, std::string name) : Blob(std::move(name)) {
        data_ = static_cast<const uint8_t*>(data);
        size_ = size;
    }
};

std::string read_whole_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open file: " + std::strerror(errno));
    in.seekg(0, std::ios::end);
    const std::streamoff end = in.tellg();
    if (end < 0) throw Error(path + ": cannot determine file size");
    if (static_cast<unsigned long long>(end) > static_cast<size_t>(-1) / 2)
        throw Error(path + ": file is too large for this host's address space");
    std::string bytes(static_cast<size_t>(end), '\0');
    in.seekg(0);
    if (!bytes.empty() && !in.read(&bytes[0], static_cast<std::streamsize>(bytes.size())))
        throw Error(path + ": read error");
    return bytes;
}

#ifdef LLAMAPORT_HAVE_MMAP
class MappedBlob : public Blob {
public:
    MappedBlob(void* base, size_t size, std::string name) : Blob(std::move(name)), base_(base) {
        writable_ = static_cast<uint8_t*>(base);
        data_ = writable_;
        size_ = size;
    }
    ~MappedBlob() override { munmap(base_, size_); }

    // MADV_DONTNEED drops the pages (a later read would map the file's bytes again): only the
    // pages wholly inside the range, so no neighbouring data is touched.
    void release(size_t offset, size_t size) const override {
        const uintptr_t page = uintptr_t(sysconf(_SC_PAGESIZE));
        const uintptr_t begin = reinterpret_cast<uintptr_t>(data_) + offset;
        const uintptr_t first = (begin + page - 1) / page * page, end = (begin + size) / page * page;
        if (first < end) madvise(reinterpret_cast<void*>(first), end - first, MADV_DONTNEED);
    }

private:
    void* base_;
};

std::unique_ptr<Blob> open_posix(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) throw Error(path + ": cannot open file: " + std::strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        const int err = errno;
        ::close(fd);
        throw Error(path + ": cannot stat file: " + std::strerror(err));
    }
    if (S_ISDIR(st.st_mode)) {
        ::close(fd);
        throw Error(path + ": is a directory, not a file");
    }
    if (static_cast<unsigned long long>(st.st_size) > static_cast<size_t>(-1) / 2) {
        ::close(fd);
        throw Error(path + ": the file is " + size_text(uint64_t(st.st_size)) +
                    ", more than this " + std::to_string(sizeof(void*) * 8) +
                    "-bit host's address space can map (at most " +
                    size_text(uint64_t(static_cast<size_t>(-1) / 2)) + ")");
    }
    const size_t size = static_cast<size_t>(st.st_size);
    if (size == 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        return std::make_unique<MemoryBlob>(read_whole_file(path), path);
    }
    // Private and writable: the loader may convert byte order in place; pages it never writes
    // stay shared with the page cache.
    void* base = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    const int err = errno;
    ::close(fd);
    // Out of address space: reading the file into memory would need as much again.
    if (base == MAP_FAILED && err == ENOMEM)
        throw Error(path + ": the file is " + size_text(size) + ", more than the free address space of this " +
                    std::to_string(sizeof(void*) * 8) + "-bit process can map");
    if (base == MAP_FAILED) return std::make_unique<MemoryBlob>(read_whole_file(path), path);
#ifdef MADV_HUGEPAGE
    // Let the kernel read the file into 2 MiB pages where it can: 1B F32 generation on an
    // AVX-512 EPYC VM went from 1.0 to 5.5 tok/s once the file's page cache was read that way,
    // the 4 KiB pages' table walks otherwise outweighing the reads. Only a hint; failing it
    // changes nothing.
    madvise(base, size, MADV_HUGEPAGE);
#endif
    return std::make_unique<MappedBlob>(base, size, path);
}
#endif

}  // namespace

void Blob::release(size_t, size_t) const {}

std::unique_ptr<Blob> open_file(const std::string& path) {
#ifdef LLAMAPORT_HAVE_MMAP
    return open_posix(path);
#else
    return std::make_unique<MemoryBlob>(read_whole_file(path), path);
#endif
}

std::unique_ptr<Blob> borrow_memory(const void* data, size_t size, std::string name) {
    return std::make_unique<BorrowedBlob>(data, size, std::move(name));
}

std::unique_ptr<Blob> own_memory(std::string bytes, std::string name) {
    return std::make_unique<MemoryBlob>(std::move(bytes), std::move(name));
}

}  // namespace llamaport
