#include "llamaport/random_model.hpp"

#include <cmath>

#include "llamaport/error.hpp"
#include "llamaport/sampler.hpp"
#include "loader/formats.hpp"

namespace llamaport {
namespace {

const float* filled(Model& model, size_t count, float value) {
    float* p = static_cast<float*>(model.allocate(count * sizeof(float)));
    for (size_t i = 0; i < count; i++) p[i] = value;
    return p;
}

Matrix random_matrix(Model& model, size_t rows, size_t cols, uint64_t& state) {
    float* p = static_cast<float*>(model.allocate(rows * cols * sizeof(float)));
    const float range = 1.0f / std::sqrt(float(cols));
    for (size_t i = 0; i < rows * cols; i++) p[i] = (2.0f * random_f32(state) - 1.0f) * range;
    return weight_matrix(WeightType::F32, p, rows, cols);
}

}  // namespace

std::unique_ptr<Model> make_random_model(const Config& c, uint64_t seed, bool shared_classifier) {
    validate_config(c, "random model");
    auto model = std::make_unique<Model>();
    model->config = c;
    model->path = "random model";
    model->format = "random fp32";
    uint64_t state = seed ? seed : 1;
    const size_t dim = size_t(c.dim);
    Weights& w = model->weights;
    w.shared_classifier = shared_classifier;
    w.token_embedding = random_matrix(*model, size_t(c.vocab_size), dim, state);
    w.layers.resize(size_t(c.n_layers));
    const auto shapes = LayerWeights::shapes(c);
    for (LayerWeights& l : w.layers) {
        l.rms_att = filled(*model, dim, 1.0f);
        l.rms_ffn = filled(*model, dim, 1.0f);
        for (size_t i = 0; i < LayerWeights::matrix_count; i++)
            *l.matrices()[i] = random_matrix(*model, shapes[i].first, shapes[i].second, state);
    }
    w.rms_final = filled(*model, dim, 1.0f);
    w.classifier = shared_classifier ? w.token_embedding
                                     : random_matrix(*model, size_t(c.vocab_size), dim, state);
    return model;
}

Config named_shape(const std::string& name) {
    struct Shape {
        const char* name;
        int dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len;
    };
    static const Shape shapes[] = {
        {"260K", 64, 172, 5, 8, 4, 512, 512},
        {"15M", 288, 768, 6, 6, 6, 32000, 256},
        {"42M", 512, 1376, 8, 8, 8, 32000, 1024},
        {"110M", 768, 2048, 12, 12, 12, 32000, 1024},
    };
    for (const Shape& s : shapes)
        if (name == s.name) {
            Config c;
            c.dim = s.dim;
            c.hidden_dim = s.hidden_dim;
            c.n_layers = s.n_layers;
            c.n_heads = s.n_heads;
            c.n_kv_heads = s.n_kv_heads;
            c.vocab_size = s.vocab_size;
            c.seq_len = s.seq_len;
            return c;
        }
    throw Error("unknown model shape '" + name + "' (choose 260K, 15M, 42M or 110M)");
}

}  // namespace llamaport
