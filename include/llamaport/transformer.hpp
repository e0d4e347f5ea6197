// The forward pass of llama2.c's transformer: RMSNorm, rotary embeddings, grouped-query
// attention with a KV cache, SwiGLU feed-forward, classifier. Every matrix-vector product goes
// through a KernelSet; the model code knows nothing about instruction sets.
#pragma once

#include <cstdint>
#include <vector>

#include "llamaport/kernels.hpp"
#include "llamaport/model.hpp"
#include "llamaport/threadpool.hpp"

namespace llamaport {

class Transformer {
public:
    // Keeps references to model, kernels and pool. max_positions (0: the model's seq_len) sizes
    // the KV cache, so a short run does not pay for the whole context.
    Transformer(const Model& model, const KernelSet& kernels, ThreadPool* pool = nullptr,
                int max_positions = 0);

    // Runs token at position pos (0 <= pos < max_positions) and returns vocab_size logits,
    // valid until the next call. Throws Error for a token or position out of range. Prompt
    // tokens whose successor is already known skip the classifier (want_logits false; returns
    // nullptr): it is the largest matrix of small models.
    float* forward(int token, int pos, bool want_logits = true);

    const Model& model() const { return model_; }
    const KernelSet& kernels() const { return kernels_; }
    int max_positions() const { return max_positions_; }

    // Bytes allocated for activations and the KV cache.
    size_t state_bytes() const;

    // Told of every weight matrix and the input vector it is about to multiply (model.weights'
    // own Matrix objects, so callers can tell layers apart by address). The quantizer uses it to
    // gather each layer's input statistics.
    struct Observer {
        virtual ~Observer() = default;
        virtual void observe(const Matrix& m, const float* x) = 0;
    };
    Observer* observer = nullptr;

private:
    // Throws Error (what is needed, what is available) if the run state for this many positions
    // does not fit beside the model in model.memory_limit or the address space.
    void check_state_fits(size_t positions) const;
    // An input vector and what the products have prepared from it (quantized blocks, AQLM
    // tables): matrices that read the same format and key share one preparation.
    struct Input {
        const float* x;
        bool prepared = false;
        InputFormat format = InputFormat::F32;
        uintptr_t key = 0;
    };
    void multiply(float* y, const Matrix& m, Input& in);
    // Calls task(begin, end) on pieces of [0, count) whose edges are multiples of `align`: on the
    // pool when there is one and `work` (weights touched) makes it worth it, else in one call.
    template <class Task>
    void split(size_t count, size_t align, size_t work, const Task& task);
    void attention(int layer, int pos);

    const Model& model_;
    const KernelSet& kernels_;
    ThreadPool* pool_;
    int max_positions_;

    // Activations (sizes in comments).
    std::vector<float> x_;       // (dim) residual stream
    std::vector<float> xb_;      // (dim) normalised input / attention output
    std::vector<float> xb2_;     // (dim)
    std::vector<float> hb_;      // (hidden_dim)
    std::vector<float> hb2_;     // (hidden_dim)
    std::vector<float> q_;       // (dim)
    std::vector<float> k_;       // (kv_dim) this position's key, on its way into the cache
    std::vector<float> att_;     // (n_heads, max_positions)
    std::vector<float> logits_;  // (vocab_size)
    // Keys transposed, position fastest, so that a head's scores are sums of whole rows:
    std::vector<float> key_cache_;    // (n_layers, n_kv_heads, head_size, max_positions)
    std::vector<float> value_cache_;  // (n_layers, max_positions, kv_dim)
    // What products read of the current input (InputFormat), sized for the largest matrix of
    // the model and 64-byte aligned (prepared_).
    std::vector<uint8_t> prepared_storage_;
    uint8_t* prepared_ = nullptr;
    std::vector<float> rope_cos_, rope_sin_;  // (max_positions, head_size / 2)
};

}  // namespace llamaport
