// A loaded model: its hyperparameters (Config), views of its weights (Weights) and the storage
// behind them (Model). Loaders fill these from llama2.c checkpoints or GGUF files.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "llamaport/blob.hpp"
#include "llamaport/weights.hpp"

namespace llamaport {

class Tokenizer;

struct Config {
    int dim = 0;         // transformer width
    int hidden_dim = 0;  // feed-forward width
    int n_layers = 0;
    int n_heads = 0;     // query heads
    int n_kv_heads = 0;  // key/value heads (fewer than n_heads: grouped-query attention)
    int vocab_size = 0;
    int seq_len = 0;     // longest context the model was trained for
    float rope_theta = 10000.0f;
    float norm_eps = 1e-5f;
    int head_dim = 0;  // 0: dim / n_heads (GGUF's attention.key_length may say otherwise)
    // Llama 3.1's long-context factors: rotation pair i turns at its frequency divided by
    // rope_freq_factors[i] (empty: all 1).
    std::vector<float> rope_freq_factors;

    int head_size() const { return head_dim ? head_dim : dim / n_heads; }
    int q_dim() const { return head_size() * n_heads; }
    int kv_dim() const { return head_size() * n_kv_heads; }
};

struct LayerWeights {
    const float* rms_att = nullptr;  // (dim)
    Matrix wq;                       // (n_heads * head_size, dim)
    Matrix wk;                       // (kv_dim, dim)
    Matrix wv;                       // (kv_dim, dim)
    Matrix wo;                       // (dim, n_heads * head_size)
    const float* rms_ffn = nullptr;  // (dim)
    Matrix w1;                       // (hidden_dim, dim)  gate
    Matrix w2;                       // (dim, hidden_dim)  down
    Matrix w3;                       // (hidden_dim, dim)  up

    // The seven matrices in one order (attention, then feed-forward, as GGUF files hold them):
    // every walk over a layer's matrices goes through these.
    static constexpr size_t matrix_count = 7;
    std::array<Matrix*, matrix_count> matrices() { return {&wq, &wk, &wv, &wo, &w1, &w2, &w3}; }
    std::array<const Matrix*, matrix_count> matrices() const {
        return {&wq, &wk, &wv, &wo, &w1, &w2, &w3};
    }
    // Rows and columns of each, in matrices()' order.
    static std::array<std::pair<size_t, size_t>, matrix_count> shapes(const Config& c);
};

struct Weights {
    Matrix token_embedding;            // (vocab_size, dim)
    std::vector<LayerWeights> layers;  // n_layers
    const float* rms_final = nullptr;  // (dim)
    Matrix classifier;                 // (vocab_size, dim); may view the embedding's memory
    bool shared_classifier = false;
};

// A vocabulary carried inside the model file (GGUF); empty for llama2.c checkpoints.
struct EmbeddedVocab {
    std::vector<std::string> pieces;
    std::vector<float> scores;
    int bos_id = 1, eos_id = 2;
    bool empty() const { return pieces.empty(); }
};

class Model {
public:
    Config config;
    Weights weights;
    EmbeddedVocab vocab;
    std::shared_ptr<const Tokenizer> tokenizer;  // the file's own vocabulary (GGUF), or null
    std::string path;    // for messages
    std::string format;  // e.g. "llama2.c v0 fp32", "llama2.c v2 q8_0", "gguf"
    std::string chat_template;  // tokenizer.chat_template (Jinja source), if the file has one

    // Parameter count and bytes of weights, as stored.
    size_t parameter_count() const;
    size_t weight_bytes() const;
    // Weight bytes one generated token reads: all of them, but of an embedding the classifier
    // does not share, one row (benchmarks' bandwidth ceiling).
    size_t token_bytes() const;

    // Storage the views point into: the file's bytes and any converted copies.
    std::unique_ptr<Blob> blob;
    // 64-byte aligned, zero-initialised storage owned by this model. Throws Error (naming the
    // file, what was needed and the limit) rather than exceed memory_limit.
    void* allocate(size_t bytes);
    size_t memory_limit = 0;  // 0: no limit
    size_t allocated_bytes = 0;

private:
    std::vector<std::unique_ptr<uint8_t[]>> buffers_;
};

struct LoadOptions {
    // Largest amount of memory the loader may allocate for converted copies; a file that needs
    // more is refused before allocating. 0 means no limit.
    size_t memory_limit = 0;
    // Told, after each tensor, how many of the file's bytes are loaded; a caller shows progress
    // when loading takes long (converting byte order, repacking AQLM codes).
    std::function<void(uint64_t done, uint64_t total)> progress;
};

// Detects the format from the bytes (llama2.c v0, v1, v2, or GGUF) and validates everything
// before use. Throws Error ("<file>: <problem>") on any bad input.
std::unique_ptr<Model> load_model(std::unique_ptr<Blob> blob, const LoadOptions& options = {});
std::unique_ptr<Model> load_model_file(const std::string& path, const LoadOptions& options = {});

}  // namespace llamaport
