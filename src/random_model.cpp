#include "llamaport/random_model.hpp"

#include <cmath>
#include <vector>

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

namespace {

// Llama 3.1's rope frequency factors as its converters compute them (rope_scaling "llama3":
// factor 8, low_freq_factor 1, high_freq_factor 4, original context 8192): long wavelengths
// slowed by the factor, short ones kept, a smooth ramp between.
std::vector<float> llama31_rope_factors(int head_size, float theta) {
    const double factor = 8, low = 1, high = 4, original = 8192, pi = 3.14159265358979323846;
    std::vector<float> out;
    for (int i = 0; i < head_size; i += 2) {
        const double freq = 1.0 / std::pow(double(theta), double(i) / head_size);
        const double wavelength = 2 * pi / freq;
        if (wavelength < original / high) {
            out.push_back(1.0f);
        } else if (wavelength > original / low) {
            out.push_back(float(factor));
        } else {
            const double smooth = (original / wavelength - low) / (high - low);
            out.push_back(float(1.0 / ((1 - smooth) / factor + smooth)));
        }
    }
    return out;
}

}  // namespace

NamedShape named_model_shape(const std::string& name) {
    struct Shape {
        const char* name;
        int dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len;
        float theta;
        bool tied, llama31;
    };
    static const Shape shapes[] = {
        {"260K", 64, 172, 5, 8, 4, 512, 512, 10000, true, false},
        {"15M", 288, 768, 6, 6, 6, 32000, 256, 10000, true, false},
        {"42M", 512, 1376, 8, 8, 8, 32000, 1024, 10000, true, false},
        {"110M", 768, 2048, 12, 12, 12, 32000, 1024, 10000, true, false},
        {"tinyllama-1.1b", 2048, 5632, 22, 32, 4, 32000, 2048, 10000, false, false},
        {"llama-3.2-1b", 2048, 8192, 16, 32, 8, 128256, 131072, 500000, true, true},
        {"llama-3.1-8b", 4096, 14336, 32, 32, 8, 128256, 131072, 500000, false, true},
    };
    for (const Shape& s : shapes)
        if (name == s.name) {
            NamedShape out;
            Config& c = out.config;
            c.dim = s.dim;
            c.hidden_dim = s.hidden_dim;
            c.n_layers = s.n_layers;
            c.n_heads = s.n_heads;
            c.n_kv_heads = s.n_kv_heads;
            c.vocab_size = s.vocab_size;
            c.seq_len = s.seq_len;
            c.rope_theta = s.theta;
            if (s.llama31) c.rope_freq_factors = llama31_rope_factors(c.head_size(), c.rope_theta);
            out.tied = s.tied;
            return out;
        }
    std::string known;
    for (const Shape& s : shapes) known += (known.empty() ? "" : ", ") + std::string(s.name);
    throw Error("unknown model shape '" + name + "' (choose " + known + ")");
}

Config named_shape(const std::string& name) { return named_model_shape(name).config; }

}  // namespace llamaport
