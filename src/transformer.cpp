#include "llamaport/transformer.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "llamaport/error.hpp"
#include "llamaport/sampler.hpp"
#include "llamaport/system.hpp"
#include "types/types.hpp"

namespace llamaport {
namespace {

void rmsnorm(float* out, const float* x, const float* weight, size_t n, float eps) {
    float ss = 0.0f;
    for (size_t j = 0; j < n; j++) ss += x[j] * x[j];
    ss /= float(n);
    ss += eps;
    ss = 1.0f / std::sqrt(ss);
    for (size_t j = 0; j < n; j++) out[j] = weight[j] * (ss * x[j]);
}

// Below this many weights a product is not worth handing to other threads.
constexpr size_t min_parallel_weights = 1 << 16;

}  // namespace

// Header values are bounded (validate_config), so these counts fit 64 bits on any host.
void Transformer::check_state_fits(size_t positions) const {
    const Config& c = model_.config;
    const uint64_t p = positions, dim = uint64_t(c.dim), kv = uint64_t(c.kv_dim());
    const uint64_t cache = 2 * uint64_t(c.n_layers) * p * kv;
    const uint64_t buffers = 6 * dim + 4 * uint64_t(c.hidden_dim) + uint64_t(c.n_heads) * p +
                             uint64_t(c.vocab_size) + p * uint64_t(c.head_size());
    const uint64_t needed = (cache + buffers) * sizeof(float);
    const uint64_t model_bytes = (model_.blob ? model_.blob->size() : 0) + model_.allocated_bytes;
    const uint64_t limit = model_.memory_limit ? model_.memory_limit : SIZE_MAX;
    if (needed > SIZE_MAX || needed > limit || model_bytes > limit - needed)
        throw Error(model_.path + ": the KV cache and buffers for " + std::to_string(positions) +
                    " positions need " + size_text(needed) + " besides the model's " +
                    size_text(model_bytes) + ", more than the " + size_text(limit) +
                    " available; fewer positions need less");
}

Transformer::Transformer(const Model& model, const KernelSet& kernels, ThreadPool* pool,
                         int max_positions)
    : model_(model), kernels_(kernels), pool_(pool) {
    const Config& c = model.config;
    if (max_positions <= 0 || max_positions > c.seq_len) max_positions = c.seq_len;
    max_positions_ = max_positions;
    const size_t dim = size_t(c.dim), hidden = size_t(c.hidden_dim), kv = size_t(c.kv_dim());
    const size_t positions = size_t(max_positions);
    check_state_fits(positions);
    const size_t cache = size_t(c.n_layers) * positions * kv;
    x_.resize(dim);
    xb_.resize(dim);
    xb2_.resize(dim);
    hb_.resize(hidden);
    hb2_.resize(hidden);
    q_.resize(dim);
    k_.resize(kv);
    att_.resize(size_t(c.n_heads) * positions);
    logits_.resize(size_t(c.vocab_size));
    key_cache_.resize(cache);
    value_cache_.resize(cache);
    // Room for the largest preparation any matrix of the model asks for.
    size_t prepared = 0;
    auto size_for = [&](const Matrix& m) {
        prepared = std::max(prepared, input_info(type_info(m.type).input).column_bytes(m));
    };
    size_for(model.weights.classifier);
    for (const LayerWeights& l : model.weights.layers)
        for (const Matrix* m : l.matrices()) size_for(*m);
    if (prepared) {
        prepared_storage_.resize(prepared + 64);
        const size_t misalign = reinterpret_cast<uintptr_t>(prepared_storage_.data()) % 64;
        prepared_ = prepared_storage_.data() + (64 - misalign) % 64;
    }

    // The rotation angles of every position, computed once with run.c's exact arithmetic.
    const size_t head_size = size_t(c.head_size()), half = head_size / 2;
    rope_cos_.resize(positions * half);
    rope_sin_.resize(positions * half);
    for (size_t pos = 0; pos < positions; pos++)
        for (size_t i = 0; i < half; i++) {
            const float freq =
                1.0f / std::pow(c.rope_theta, float(2 * i) / float(head_size));
            const float angle = float(int(pos)) * freq;
            rope_cos_[pos * half + i] = std::cos(angle);
            rope_sin_[pos * half + i] = std::sin(angle);
        }
}

size_t Transformer::state_bytes() const {
    const size_t floats = x_.size() + xb_.size() + xb2_.size() + hb_.size() + hb2_.size() +
                          q_.size() + k_.size() + att_.size() + logits_.size() + key_cache_.size() +
                          value_cache_.size() + rope_cos_.size() + rope_sin_.size();
    return floats * sizeof(float) + prepared_storage_.size();
}

void Transformer::multiply(float* y, const Matrix& m, Input& in) {
    if (observer) observer->observe(m, in.x);
    const WeightTypeInfo& type = type_info(m.type);
    const InputFormatInfo& format = input_info(type.input);
    const uint8_t* input = reinterpret_cast<const uint8_t*>(in.x);
    if (format.column_bytes(m)) {
        const uintptr_t key = format.key(m);
        if (!in.prepared || in.format != type.input || in.key != key) {
            const PrepareFn prepare = kernels_.prepare_for(type.input);
            split(format.parts(m), 1, m.rows * m.cols / 8,
                  [&](size_t begin, size_t end) { prepare(prepared_, m, in.x, begin, end); });
            in.prepared = true;
            in.format = type.input;
            in.key = key;
        }
        input = prepared_;
    }
    const ProductFn product = kernels_.product_for(m.type);
    split(m.rows, type.row_align, m.rows * m.cols,
          [&](size_t begin, size_t end) { product(y, 0, m, input, 0, 1, begin, end); });
}

template <class Task>
void Transformer::split(size_t count, size_t align, size_t work, const Task& task) {
    const size_t threads = pool_ ? size_t(pool_->size()) : 1;
    if (threads == 1 || work < min_parallel_weights) {
        task(0, count);
        return;
    }
    // A few chunks per thread evens out threads that start late.
    const size_t chunks = threads * 4;
    const size_t step = ((count + chunks - 1) / chunks + align - 1) / align * align;
    pool_->parallel_for((count + step - 1) / step, [&](size_t chunk) {
        const size_t begin = chunk * step;
        task(begin, std::min(count, begin + step));
    });
}

void Transformer::attention(int layer, int pos) {
    const Config& c = model_.config;
    const size_t head_size = size_t(c.head_size()), kv_dim = size_t(c.kv_dim());
    const size_t kv_mul = size_t(c.n_heads / c.n_kv_heads);
    const size_t positions = size_t(max_positions_);
    const float* keys = key_cache_.data() + size_t(layer) * positions * kv_dim;
    const float* values = value_cache_.data() + size_t(layer) * positions * kv_dim;
    const float scale = std::sqrt(float(head_size));
    const size_t heads = size_t(c.n_heads), n = size_t(pos) + 1;
    // A head's scores for every position at once: row i of its transposed keys times q[i], added
    // in i order. Each score sums its products exactly as run.c's dot product does, and axpy_f32
    // is bit-identical in every set, so every set gets the same scores (a difference in their last
    // bit could become a whole int8 step in a quantized product that follows).
    for (size_t h = 0; h < heads; h++) {
        float* scores = att_.data() + h * positions;
        const float* rows = keys + (h / kv_mul) * head_size * positions;
        const float* q = q_.data() + h * head_size;
        std::fill(scores, scores + n, 0.0f);
        for (size_t i = 0; i < head_size; i++)
            kernels_.axpy_f32(scores, q[i], rows + i * positions, n);
        for (size_t t = 0; t < n; t++) scores[t] /= scale;
        softmax(scores, n);
    }
    std::fill(xb_.begin(), xb_.begin() + std::ptrdiff_t(heads * head_size), 0.0f);
    for (size_t t = 0; t < n; t++)
        for (size_t h = 0; h < heads; h++)
            kernels_.axpy_f32(xb_.data() + h * head_size, att_[h * positions + t],
                              values + t * kv_dim + (h / kv_mul) * head_size, head_size);
}

float* Transformer::forward(int token, int pos, bool want_logits) {
    const Config& c = model_.config;
    const Weights& w = model_.weights;
    if (token < 0 || token >= c.vocab_size)
        throw Error("token " + std::to_string(token) + " is outside the vocabulary (0.." +
                    std::to_string(c.vocab_size - 1) + ")");
    if (pos < 0 || pos >= max_positions_)
        throw Error("position " + std::to_string(pos) + " is beyond the context of " +
                    std::to_string(max_positions_) + " tokens");
    const size_t dim = size_t(c.dim), hidden = size_t(c.hidden_dim), kv_dim = size_t(c.kv_dim());
    const size_t head_size = size_t(c.head_size()), half = head_size / 2;
    const size_t positions = size_t(max_positions_);
    float* x = x_.data();
    w.token_embedding.row_to_f32(size_t(token), x);

    for (size_t l = 0; l < w.layers.size(); l++) {
        const LayerWeights& lw = w.layers[l];
        rmsnorm(xb_.data(), x, lw.rms_att, dim, c.norm_eps);
        float* k = k_.data();
        float* v = value_cache_.data() + (l * positions + size_t(pos)) * kv_dim;
        Input normed{xb_.data()};
        multiply(q_.data(), lw.wq, normed);
        multiply(k, lw.wk, normed);
        multiply(v, lw.wv, normed);

        // Rotate each (even, odd) pair of q, and of k where it exists (kv_dim <= dim).
        const float* cos_row = rope_cos_.data() + size_t(pos) * half;
        const float* sin_row = rope_sin_.data() + size_t(pos) * half;
        for (size_t i = 0; i < dim; i += 2) {
            const float fcr = cos_row[(i % head_size) / 2], fci = sin_row[(i % head_size) / 2];
            for (float* vec : {q_.data(), k}) {
                if (vec == k && i >= kv_dim) break;
                const float v0 = vec[i], v1 = vec[i + 1];
                vec[i] = v0 * fcr - v1 * fci;
                vec[i + 1] = v0 * fci + v1 * fcr;
            }
        }
        float* keys = key_cache_.data() + l * kv_dim * positions;
        for (size_t i = 0; i < kv_dim; i++) keys[i * positions + size_t(pos)] = k[i];

        attention(int(l), pos);
        Input attended{xb_.data()};
        multiply(xb2_.data(), lw.wo, attended);
        for (size_t i = 0; i < dim; i++) x[i] += xb2_[i];

        rmsnorm(xb_.data(), x, lw.rms_ffn, dim, c.norm_eps);
        Input ffn_in{xb_.data()};
        multiply(hb_.data(), lw.w1, ffn_in);
        multiply(hb2_.data(), lw.w3, ffn_in);
        for (size_t i = 0; i < hidden; i++) {
            float val = hb_[i];
            val *= 1.0f / (1.0f + std::exp(-val));  // SiLU
            val *= hb2_[i];
            hb_[i] = val;
        }
        Input gated{hb_.data()};
        multiply(xb_.data(), lw.w2, gated);
        for (size_t i = 0; i < dim; i++) x[i] += xb_[i];
    }

    if (!want_logits) return nullptr;
    rmsnorm(x, x, w.rms_final, dim, c.norm_eps);
    Input final_in{x};
    multiply(logits_.data(), w.classifier, final_in);
    return logits_.data();
}

}  // namespace llamaport
