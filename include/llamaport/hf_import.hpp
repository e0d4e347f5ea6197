// Hugging Face model directories (LlamaForCausalLM) to GGUF: config.json, model.safetensors or
// its shards, tokenizer.json (or a llama2.c tokenizer), plain or AQLM-quantized.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>

#include "llamaport/model.hpp"

namespace llamaport {

struct HfImportOptions {
    // Dense matrices: F32, F16, BF16 or Q8_0 (a Q8_0 matrix whose rows are not whole blocks of 32
    // stays F16, with a note). The embedding and classifier default to the same.
    WeightType type = WeightType::F16;
    std::optional<WeightType> embedding_type, output_type;
    // A llama2.c tokenizer.bin for a directory without tokenizer.json.
    std::string llama2c_tokenizer;
    bool big_endian = false;
    // One-line remarks for the user (a layer decoded to dense, a type fallen back).
    std::function<void(const std::string&)> note;
    std::function<void(uint64_t bytes_written, uint64_t total)> progress;
};

struct HfImportSummary {
    Config config;
    bool tied = false;
    std::string weights;    // "f16", "aqlm 2x8 g8", "aqlm 2x8 g8 og2 (decoded to q8_0)", ...
    std::string tokenizer;  // "tokenizer.json (BPE, 128256 tokens)" or "llama2.c tokenizer.bin"
};

// Reads the directory and streams the GGUF file to out, holding no more than one chunk of any
// tensor in memory. AQLM layers with out_group_size 1 stay AQLM (codes, codebooks and scales as
// they are, q_proj/k_proj rows permuted into GGUF's order); with a larger out_group_size they are
// decoded to options.type. Throws Error("FILE: problem") for anything missing or malformed.
HfImportSummary import_hf(const std::string& dir, std::ostream& out, const HfImportOptions& options);

}  // namespace llamaport
