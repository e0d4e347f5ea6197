// Helpers for the import tests: scratch directories and Hugging Face checkpoint files.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "import/safetensors.hpp"

namespace llamaport::test {

// A fresh directory under the system's temporary directory, removed with everything in it.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }
    std::string file(const std::string& name) const { return path_ + "/" + name; }
    void write(const std::string& name, const std::string& bytes) const;

private:
    std::string path_;
};

// Little-endian bytes of values, as a safetensors file holds them.
std::string f32_bytes(const std::vector<float>& v);
std::string f16_bytes(const std::vector<float>& v);   // rounded to nearest half
std::string bf16_bytes(const std::vector<float>& v);  // rounded to nearest bfloat16
std::string int_bytes(const std::vector<int64_t>& v, size_t width);  // two's complement

safetensors::WriteTensor tensor(const std::string& name, safetensors::DType dtype,
                                std::vector<uint64_t> shape, std::string bytes);

}  // namespace llamaport::test
