// The forward pass of llama2.c's transformer: RMSNorm, rotary embeddings, grouped-query
// attention with a KV cache, SwiGLU feed-forward, classifier. It runs a batch of positions at a
// time (a prompt in chunks; generation one by one): every weight product is a matrix-matrix
// product through a KernelSet, and every position comes out exactly as it would alone. The model
// code knows nothing about instruction sets or weight types.
#pragma once

#include <cstdint>
#include <vector>

#include "llamaport/kernels.hpp"
#include "llamaport/model.hpp"
#include "llamaport/threadpool.hpp"

namespace llamaport {

class Transformer {
public:
    // Positions run together at most; longer prompts go in chunks of this many.
    static constexpr int default_batch = 64;

    // How the KV cache holds keys and values. f16 halves its memory and works as llama.cpp's
    // default cache does: keys and values in IEEE half, each query and each attention weight
    // rounded to half before it meets them (products of halves are exact in fp32).
    enum class KvType { f32, f16 };

    // Keeps references to model, kernels and pool. max_positions (0: the model's seq_len) sizes
    // the KV cache, so a short run does not pay for the whole context; max_batch sizes the
    // buffers of a batch.
    Transformer(const Model& model, const KernelSet& kernels, ThreadPool* pool = nullptr,
                int max_positions = 0, int max_batch = default_batch, KvType kv = KvType::f32);

    // Runs token at position pos (0 <= pos < max_positions) and returns vocab_size logits,
    // valid until the next call. Throws Error for a token or position out of range. Prompt
    // tokens whose successor is already known skip the classifier (want_logits false; returns
    // nullptr): it is the largest matrix of small models.
    float* forward(int token, int pos, bool want_logits = true);

    // Which positions of a batch need logits.
    enum class Logits { none, last, all };
    // Runs tokens[0..count) at positions pos .. pos + count - 1, in chunks of max_batch. Returns
    // the logits of the last position (Logits::last), of every position (Logits::all: count rows
    // of vocab_size) or nullptr, valid until the next call. The results, logits and cache alike,
    // are those of running the tokens one by one, bit for bit, except for AQLM weights: batches
    // of them multiply the dequantized weights in fp32 (their batch product) where a single token
    // reads int8 tables, so the two differ by the tables' rounding (tests/test_aqlm_model.cpp).
    float* forward(const int* tokens, int count, int pos, Logits logits);

    const Model& model() const { return model_; }
    const KernelSet& kernels() const { return kernels_; }
    int max_positions() const { return max_positions_; }
    int max_batch() const { return max_batch_; }
    KvType kv_type() const { return kv_type_; }
    // Threads the products use: the pool's, or 1 for a model whose matrices are too small to be
    // worth splitting.
    int threads() const { return threads_; }

    // Bytes allocated for activations and the KV cache.
    size_t state_bytes() const;

    // Told of every weight matrix and the input vectors it is about to multiply: `columns`
    // vectors of m.cols values, one after another (model.weights' own Matrix objects, so callers
    // can tell layers apart by address). The quantizer uses it to gather each layer's input
    // statistics.
    struct Observer {
        virtual ~Observer() = default;
        virtual void observe(const Matrix& m, const float* x, size_t columns) = 0;
    };
    Observer* observer = nullptr;

private:
    // Throws Error (what is needed, what is available) if the run state for this many positions
    // does not fit beside the model in model.memory_limit or the address space.
    void check_state_fits(size_t positions, size_t batch) const;
    // One batch of count <= max_batch positions; logits for its last one, all or none.
    void forward_batch(const int* tokens, size_t count, size_t pos, Logits logits);

    // The products that read one input (count columns of n values, `stride` floats apart):
    // q, k, v of a layer, or its gate and up, are one job for the threads.
    struct Product {
        float* y;
        size_t y_stride;  // floats from one column's output to the next
        const Matrix* m;
    };
    void multiply(const Product* products, size_t n_products, const float* x, size_t stride,
                  size_t count);
    void attention(size_t layer, size_t pos, size_t count);

    const Model& model_;
    const KernelSet& kernels_;
    ThreadPool* pool_;
    int max_positions_;
    int max_batch_;
    int threads_ = 1;
    KvType kv_type_;
    size_t pos_offset_ = 0;  // the current chunk's first row of logits_ (Logits::all)

    // Activations, each max_batch rows (sizes per row in comments).
    std::vector<float> x_;       // (dim) residual stream
    std::vector<float> xb_;      // (dim) normalised input / attention output
    std::vector<float> xb2_;     // (dim)
    std::vector<float> hb_;      // (hidden_dim)
    std::vector<float> hb2_;     // (hidden_dim)
    std::vector<float> q_;       // (dim)
    std::vector<float> k_;       // (kv_dim) keys on their way into the cache
    std::vector<float> att_;     // (max_positions) attention scores, one row per thread
    std::vector<float> logits_;  // (vocab_size), one row, or max_batch for Logits::all
    // Keys transposed, position fastest, so that a head's scores are sums of whole rows; fp32
    // or, for KvType::f16, the halves' bits:
    std::vector<float> key_cache_;    // (n_layers, n_kv_heads, head_size, max_positions)
    std::vector<float> value_cache_;  // (n_layers, max_positions, kv_dim)
    std::vector<uint16_t> key_cache16_, value_cache16_;
    std::vector<float> v_;            // (kv_dim) values on their way into an f16 cache
    std::vector<uint16_t> k16_;       // (batch, kv_dim) keys converted, before transposing
    // What products read of the current input (InputFormat) for every column of a batch, sized
    // for the largest matrix of the model and 64-byte aligned (prepared_).
    std::vector<uint8_t> prepared_storage_;
    uint8_t* prepared_ = nullptr;
    size_t prepared_column_bytes_ = 0;
    std::vector<float> half_sums_;  // (2, rows) AQLM tables' half sums, on threads (multiply)
    std::vector<float> rope_cos_, rope_sin_;  // (max_positions, head_size / 2)
};

}  // namespace llamaport
