// Format detection, the checks every format shares, and the Matrix/Model helpers.
#include <cstring>

#include "formats.hpp"
#include "llamaport/file_kind.hpp"
#include "llamaport/error.hpp"
#include "llamaport/system.hpp"

namespace llamaport {

std::array<std::pair<size_t, size_t>, LayerWeights::matrix_count> LayerWeights::shapes(
    const Config& c) {
    const size_t dim = size_t(c.dim), hidden = size_t(c.hidden_dim), kv = size_t(c.kv_dim());
    const size_t q = size_t(c.q_dim());
    return {{{q, dim}, {kv, dim}, {kv, dim}, {dim, q}, {hidden, dim}, {dim, hidden}, {hidden, dim}}};
}

size_t Model::parameter_count() const {
    const size_t dim = size_t(config.dim);
    size_t n = weights.token_embedding.rows * weights.token_embedding.cols + dim;
    for (const LayerWeights& l : weights.layers) {
        n += 2 * dim;
        for (const Matrix* m : l.matrices()) n += m->rows * m->cols;
    }
    if (!weights.shared_classifier) n += weights.classifier.rows * weights.classifier.cols;
    return n;
}

size_t Model::weight_bytes() const {
    const size_t norms = (2 * weights.layers.size() + 1) * size_t(config.dim) * sizeof(float);
    size_t n = weights.token_embedding.bytes() + norms;
    for (const LayerWeights& l : weights.layers)
        for (const Matrix* m : l.matrices()) n += m->bytes();
    if (!weights.shared_classifier) n += weights.classifier.bytes();
    return n;
}

size_t Model::token_bytes() const {
    const Matrix& e = weights.token_embedding;
    if (weights.shared_classifier || e.rows == 0) return weight_bytes();
    return weight_bytes() - e.bytes() + e.bytes() / e.rows;
}

void* Model::allocate(size_t bytes) {
    const size_t alignment = 64;
    if (bytes > size_t(-1) - alignment) throw Error(path + ": allocation size overflows");
    const size_t file_bytes = blob ? blob->size() : 0;
    if (memory_limit && (bytes > memory_limit || file_bytes > memory_limit - bytes ||
                         allocated_bytes > memory_limit - bytes - file_bytes))
        throw Error(path + ": loading needs at least " +
                    size_text(file_bytes + allocated_bytes + bytes) + " (the file and " +
                    size_text(allocated_bytes + bytes) + " of converted weights), more than the " +
                    size_text(memory_limit) + " available");
    std::unique_ptr<uint8_t[]> buffer(new uint8_t[bytes + alignment]());
    uint8_t* p = buffer.get();
    p += (alignment - reinterpret_cast<uintptr_t>(p) % alignment) % alignment;
    buffers_.push_back(std::move(buffer));
    allocated_bytes += bytes;
    return p;
}

size_t checked_mul(size_t a, size_t b, const std::string& file) {
    if (a != 0 && b > size_t(-1) / a)
        throw Error(file + ": header implies a size that does not fit this host's address space");
    return a * b;
}

size_t checked_add(size_t a, size_t b, const std::string& file) {
    if (b > size_t(-1) - a)
        throw Error(file + ": header implies a size that does not fit this host's address space");
    return a + b;
}

void validate_config(const Config& c, const std::string& file) {
    auto in_range = [&](const char* what, int value, int max) {
        if (value <= 0 || value > max)
            throw Error(file + ": " + what + " = " + std::to_string(value) +
                        " is out of range (1.." + std::to_string(max) + ")");
    };
    in_range("dim", c.dim, 1 << 16);
    in_range("hidden_dim", c.hidden_dim, 1 << 18);
    in_range("n_layers", c.n_layers, 1024);
    in_range("n_heads", c.n_heads, 1024);
    in_range("n_kv_heads", c.n_kv_heads, 1024);
    in_range("vocab_size", c.vocab_size, 1 << 22);
    in_range("seq_len", c.seq_len, 1 << 20);
    if (c.head_dim == 0 && c.dim % c.n_heads != 0)
        throw Error(file + ": n_heads (" + std::to_string(c.n_heads) + ") does not divide dim (" +
                    std::to_string(c.dim) + ")");
    if (c.head_dim < 0 || c.head_dim > (1 << 12))
        throw Error(file + ": head size " + std::to_string(c.head_dim) + " is out of range (1..4096)");
    if (!c.rope_freq_factors.empty() && c.rope_freq_factors.size() != size_t(c.head_size() / 2))
        throw Error(file + ": " + std::to_string(c.rope_freq_factors.size()) +
                    " rope frequency factors for a head size of " + std::to_string(c.head_size()) +
                    " (expected " + std::to_string(c.head_size() / 2) + ")");
    for (float f : c.rope_freq_factors)
        if (!(f > 0.0f) || !(f < 1e30f))
            throw Error(file + ": a rope frequency factor is " + std::to_string(f) + " (must be positive)");
    if (c.n_kv_heads > c.n_heads || c.n_heads % c.n_kv_heads != 0)
        throw Error(file + ": n_kv_heads (" + std::to_string(c.n_kv_heads) +
                    ") does not divide n_heads (" + std::to_string(c.n_heads) + ")");
    if (c.head_size() % 2 != 0)
        throw Error(file + ": head size " + std::to_string(c.head_size()) +
                    " is odd; rotary embeddings need pairs");
    if (!(c.rope_theta > 0.0f) || !(c.norm_eps > 0.0f) || !(c.norm_eps < 1.0f))
        throw Error(file + ": rope theta or norm epsilon out of range");
}

std::unique_ptr<Model> load_model(std::unique_ptr<Blob> blob, const LoadOptions& options) {
    auto model = std::make_unique<Model>();
    model->path = blob->name();
    model->memory_limit = options.memory_limit;
    model->blob = std::move(blob);
    if (model->blob->size() == 0) throw Error(model->path + ": file is empty");
    if (options.memory_limit && model->blob->size() > options.memory_limit)
        throw Error(model->path + ": the file is " + size_text(model->blob->size()) +
                    ", more than the " + size_text(options.memory_limit) + " available");
    const FileKind kind = file_kind(*model->blob);
    switch (kind) {
    case FileKind::gguf: load_gguf(*model, options); break;
    case FileKind::llama2c:
    case FileKind::llama2c_v0:
    case FileKind::unknown: load_llama2c(*model, options); break;
    case FileKind::llama2c_tokenizer:
        throw Error(model->path + ": this is " + file_kind_name(kind) + ", not a model");
    default:
        throw Error(model->path + ": this is " + file_kind_name(kind) +
                    "; llamaport reads llama2.c .bin and GGUF");
    }
    return model;
}

std::unique_ptr<Model> load_model_file(const std::string& path, const LoadOptions& options) {
    return load_model(open_file(path), options);
}

}  // namespace llamaport
