// Writing GGUF files (llama.cpp's format) from a loaded model. load_model reads them back.
#pragma once

#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "llamaport/aqlm.hpp"
#include "llamaport/model.hpp"

namespace llamaport {

struct GgufWriteOptions {
    // llama.cpp's big-endian variant (what llama.cpp expects on a big-endian host).
    bool big_endian = false;
    // Type of the big matrices: F32, or Q8_0 (ggml's blocks of 32 values with an fp16 scale,
    // quantized exactly as llama.cpp's reference quantizer does). A matrix whose rows are not a
    // multiple of 32 long stays F32, as llama.cpp cannot hold it as Q8_0 either. Norms are F32.
    // AQLM matrices are written as such whatever this says: three tensors each, <name>.codes,
    // .codebooks and .scales, with the aqlm.* keys (README, "AQLM in GGUF"); every AQLM matrix of
    // a file must share one configuration. llama.cpp cannot load such files.
    WeightType matrix_type = WeightType::F32;
    // The token embedding's and the classifier's types where they differ from matrix_type: any
    // type with a quantizer (q8_0, q4_k, q6_k, f16, bf16), or F32. A tied classifier is the
    // embedding. Rows that are not whole blocks of the type stay F32, as with matrix_type.
    std::optional<WeightType> embedding_type, output_type;
    std::string name = "llama";  // general.name
    // The vocabulary to embed: a llama2.c tokenizer's pieces and scores (as Tokenizer holds
    // them: ' ' for a space, BOS/EOS as "\n<s>\n"/"\n</s>\n"). When empty, the model's own
    // EmbeddedVocab is written.
    std::vector<std::string> pieces;
    std::vector<float> scores;
    int bos_id = 1, eos_id = 2;  // of `pieces`
};

// The whole file, with the metadata keys and tensor names llama.cpp's llama architecture reads.
// Pieces are stored in SentencePiece's form (U+2581 for a space, BOS/EOS without llama2.c's
// newlines) with llama.cpp's token types (1 normal, 2 unknown, 3 control, 6 byte); loading undoes
// this. When f32_fallbacks is given, it receives the names of the matrices written as F32
// although Q8_0 was asked for. Throws Error when there is no vocabulary or it does not fit the
// model.
std::string write_gguf_model(const Model& model, const GgufWriteOptions& options,
                             std::vector<std::string>* f32_fallbacks = nullptr);

struct RandomGgufOptions {
    WeightType matrix_type = WeightType::F16;  // the layer matrices
    AqlmShape aqlm;  // for AQLM layer matrices: codebooks, bits, group_size (random codes)
    WeightType embedding_type = WeightType::F16, output_type = WeightType::F16;
    uint64_t seed = 1;
    bool big_endian = false;
};

// A llama model of shape `config` with random weights of the given types, streamed to `out`
// without a copy of it in memory: the same cost to store and run as a real one of its shape, for
// benchmarks. `tied`: no output.weight (the classifier is the embedding). Throws Error for a type
// without a GGUF id or rows that are not whole blocks of it. progress: bytes written, of total.
void write_random_gguf(std::ostream& out, const Config& config, bool tied,
                       const RandomGgufOptions& options,
                       const std::function<void(uint64_t, uint64_t)>& progress = {});

// The matrices of every layer (attention, then feed-forward, in file order) under their GGUF
// tensor names, e.g. "blk.3.ffn_down.weight": what a quantizer walks.
std::vector<std::pair<std::string, Matrix*>> gguf_layer_matrices(Model& model);

}  // namespace llamaport
