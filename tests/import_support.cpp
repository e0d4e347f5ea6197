#include "import_support.hpp"

#include <atomic>
#include <filesystem>
#include <fstream>

#include "loader/byte_order.hpp"
#include "loader/fp16.hpp"
#include "types/f16.hpp"

#include <unistd.h>

namespace llamaport::test {

namespace fs = std::filesystem;

TempDir::TempDir() {
    static std::atomic<int> counter{0};
    const fs::path p = fs::temp_directory_path() /
                       ("llamaport-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(p);
    fs::create_directories(p);
    path_ = p.string();
}

TempDir::~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
}

void TempDir::write(const std::string& name, const std::string& bytes) const {
    std::ofstream(file(name), std::ios::binary) << bytes;
}

std::string int_bytes(const std::vector<int64_t>& v, size_t width) {
    std::string out(v.size() * width, '\0');
    for (size_t i = 0; i < v.size(); i++)
        write_uint(reinterpret_cast<uint8_t*>(&out[i * width]), uint64_t(v[i]), width, ByteOrder::Little);
    return out;
}

std::string f32_bytes(const std::vector<float>& v) {
    std::vector<int64_t> bits;
    for (float f : v) {
        uint32_t u;
        std::memcpy(&u, &f, 4);
        bits.push_back(u);
    }
    return int_bytes(bits, 4);
}

std::string f16_bytes(const std::vector<float>& v) {
    std::vector<int64_t> bits;
    for (float f : v) bits.push_back(fp32_to_fp16(f));
    return int_bytes(bits, 2);
}

std::string bf16_bytes(const std::vector<float>& v) {
    std::vector<int64_t> bits;
    for (float f : v) bits.push_back(fp32_to_bf16(f));
    return int_bytes(bits, 2);
}

safetensors::WriteTensor tensor(const std::string& name, safetensors::DType dtype,
                                std::vector<uint64_t> shape, std::string bytes) {
    return {name, dtype, std::move(shape), std::move(bytes)};
}

}  // namespace llamaport::test
