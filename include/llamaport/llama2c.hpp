// Writing llama2.c checkpoints (the loader reads them through load_model).
#pragma once

#include <string>

#include "llamaport/model.hpp"

namespace llamaport {

struct Llama2cWriteOptions {
    int version = 0;          // 0: legacy fp32, 1: fp32 with magic, 2: Q8_0
    bool big_endian = false;  // llama2.c itself only reads little-endian files
    size_t group_size = 0;    // v2: 0 picks the largest of 64, 32, ... dividing dim and hidden_dim
};

// The whole file as bytes. Throws Error when the model cannot be expressed in that version.
std::string write_llama2c(const Model& model, const Llama2cWriteOptions& options);

// The group size write_llama2c would pick for a v2 file.
size_t default_llama2c_group_size(const Config& config);

}  // namespace llamaport
