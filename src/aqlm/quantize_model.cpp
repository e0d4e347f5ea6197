#include "aqlm/quantize_model.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "llamaport/aqlm.hpp"
#include "llamaport/gguf.hpp"
#include "llamaport/sampler.hpp"
#include "loader/fp16.hpp"

namespace llamaport {
namespace {

// Calls fit(result, weights) for each layer matrix with its fp32 weights [rows][cols]; fit
// replaces the matrix and fills in the error, then progress hears of it.
void for_each_layer_matrix(Model& model, const LayerProgress& progress,
                           const std::function<void(Matrix&, LayerResult&, std::vector<float>&)>& fit) {
    const auto matrices = gguf_layer_matrices(model);
    for (size_t i = 0; i < matrices.size(); i++) {
        const auto start = std::chrono::steady_clock::now();
        Matrix& m = *matrices[i].second;
        LayerResult result;
        result.name = matrices[i].first.substr(0, matrices[i].first.rfind(".weight"));
        result.index = i;
        result.count = matrices.size();
        result.weights = m.rows * m.cols;
        std::vector<float> w(m.rows * m.cols);
        for (size_t r = 0; r < m.rows; r++) m.row_to_f32(r, &w[r * m.cols]);
        fit(m, result, w);
        result.seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (progress) progress(result);
    }
}

}  // namespace

void quantize_layers_aqlm(Model& model,
                          const std::map<const Matrix*, std::vector<float>>& importance,
                          const AqlmConfig& config, ThreadPool* pool,
                          const LayerProgress& progress) {
    static const std::vector<float> unweighted;
    for_each_layer_matrix(model, progress, [&](Matrix& m, LayerResult& result, std::vector<float>& w) {
        const auto found = importance.find(&m);
        const AqlmMatrix q =
            quantize_aqlm(w.data(), m.rows, m.cols, found == importance.end() ? unweighted : found->second,
                          config, pool, [&](int round, double error) {
                              result.rounds = round;
                              result.relative_error = error;
                          });
        result.stored_bytes = q.stored_bytes();
        m = pack_aqlm(q, model, model.path + ": " + result.name);
    });
}

void randomize_layers_aqlm(Model& model, const AqlmConfig& config, const LayerProgress& progress) {
    uint64_t state = config.seed;
    for_each_layer_matrix(model, progress, [&](Matrix& m, LayerResult& result, std::vector<float>&) {
        AqlmMatrix q;
        q.shape = {m.rows, m.cols, config.codebooks, config.bits, config.group_size};
        const size_t entries = q.shape.entries();
        q.codes.resize(m.rows * q.shape.groups() * config.codebooks);
        for (uint16_t& code : q.codes) code = uint16_t(random_u32(state) % entries);
        q.codebooks.resize(config.codebooks * entries * config.group_size);
        for (float& v : q.codebooks) v = fp16_to_fp32(fp32_to_fp16(2.0f * random_f32(state) - 1.0f));
        q.scales.assign(m.rows, 1.0f / std::sqrt(float(m.cols)));
        result.relative_error = 1.0;
        result.stored_bytes = q.stored_bytes();
        m = pack_aqlm(q, model, model.path + ": " + result.name);
    });
}

void quantize_layers_rtn2(Model& model, size_t group_size, const LayerProgress& progress) {
    for_each_layer_matrix(model, progress, [&](Matrix& m, LayerResult& result, std::vector<float>& w) {
        const std::vector<float> q = round_to_nearest_2bit(w.data(), m.rows, m.cols, group_size);
        result.relative_error = weighted_error(w.data(), q.data(), m.rows, m.cols, {}).relative();
        float* copy = static_cast<float*>(model.allocate(q.size() * sizeof(float)));
        std::copy(q.begin(), q.end(), copy);
        m = weight_matrix(WeightType::F32, copy, m.rows, m.cols);
    });
}

}  // namespace llamaport
