// Internal: the model file formats, each in its own file. load_model() (model.cpp) asks
// file_kind() (file_kind.cpp, the one place that reads magic bytes) what the file is and hands
// the model (blob already attached) to one of these.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "byte_order.hpp"
#include "gguf.hpp"
#include "llamaport/gguf.hpp"
#include "llamaport/model.hpp"

namespace llamaport {

// llama2.c checkpoints: legacy v0 (no magic) and the "ak42" versions 1 (fp32) and 2 (Q8_0).
void load_llama2c(Model& model, const LoadOptions& options);

// GGUF (llama.cpp): magic "GGUF".
void load_gguf(Model& model, const LoadOptions& options);

// Checks shared by every format: values in range, heads dividing dim, and so on. Throws Error
// naming the file.
void validate_config(const Config& config, const std::string& file);

// a * b (+ c), or throws Error naming the file when the result does not fit in size_t.
size_t checked_mul(size_t a, size_t b, const std::string& file);
size_t checked_add(size_t a, size_t b, const std::string& file);

// The metadata write_gguf_model writes for model.config: the llama hyperparameters, the
// vocabulary (o's, or model's own), general.file_type for files mostly of matrix_type.
std::vector<std::pair<std::string, gguf::Value>> gguf_llama_metadata(const Model& model,
                                                                     const GgufWriteOptions& o,
                                                                     WeightType matrix_type);

}  // namespace llamaport
