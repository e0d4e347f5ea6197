// Internal: a whole model's layer matrices quantized to AQLM, or to the round-to-nearest 2-bit
// baseline, in place. llamaport-quantize is a command line around these.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "aqlm/quantize.hpp"
#include "llamaport/model.hpp"
#include "llamaport/threadpool.hpp"

namespace llamaport {

// One layer matrix, done.
struct LayerResult {
    std::string name;          // "blk.3.ffn_down"
    size_t index = 0;          // 0-based, of `count` matrices
    size_t count = 0;
    size_t weights = 0;        // rows * cols
    size_t stored_bytes = 0;   // AQLM: AqlmMatrix::stored_bytes (codes, fp16 codebooks, scales)
    double relative_error = 0; // AQLM: importance-weighted, as fitted; RTN: unweighted
    int rounds = 0;            // AQLM: alternation rounds after the initialisation
    double seconds = 0;
};
using LayerProgress = std::function<void(const LayerResult&)>;

// Replaces every layer matrix of `model` (wq wk wv wo w1 w2 w3 of each layer) by its AQLM fit,
// packed in the model's memory. Embedding, classifier and norms stay as they are. importance is
// collect_input_importance's result for this model (keyed by these Matrix objects; a matrix it
// lacks is fitted unweighted). Deterministic for config.seed whatever the pool.
void quantize_layers_aqlm(Model& model,
                          const std::map<const Matrix*, std::vector<float>>& importance,
                          const AqlmConfig& config, ThreadPool* pool,
                          const LayerProgress& progress = {});

// Every layer matrix replaced by AQLM of config's shape with random codes, fp16 codebook values in
// [-1, 1) and scales 1 / sqrt(cols): no fit, but the same cost to store and run as one (for
// benchmarks). Deterministic for config.seed.
void randomize_layers_aqlm(Model& model, const AqlmConfig& config,
                           const LayerProgress& progress = {});

// The baseline: every layer matrix becomes F32 holding round_to_nearest_2bit's dequantized
// weights (groups of group_size along each row).
void quantize_layers_rtn2(Model& model, size_t group_size, const LayerProgress& progress = {});

}  // namespace llamaport
