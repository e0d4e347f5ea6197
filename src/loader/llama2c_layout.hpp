// Internal: the order and shapes of the tensors in llama2.c checkpoints, shared by the loader
// and the writer so the two cannot disagree.
#pragma once

#include <string>
#include <type_traits>
#include <vector>

#include "llamaport/model.hpp"

namespace llamaport {

constexpr uint32_t llama2c_magic = 0x616b3432;  // "ak42"
constexpr size_t llama2c_v0_header_bytes = 7 * 4;
constexpr size_t llama2c_versioned_header_bytes = 256;

// One run of data in the file. Exactly one of matrix / vector is set, or neither for data the
// loader skips (v0's obsolete RoPE tables).
struct Llama2cSlot {
    std::string name;
    size_t rows = 0, cols = 0;
    Matrix* matrix = nullptr;
    const float** vector = nullptr;
};

// version 0: legacy fp32; 1: fp32 with magic; 2: Q8_0 matrices (norms stay fp32).
inline std::vector<Llama2cSlot> llama2c_layout(int version, const Config& c, Weights& w) {
    const size_t dim = size_t(c.dim), hidden = size_t(c.hidden_dim), kv = size_t(c.kv_dim());
    const size_t vocab = size_t(c.vocab_size);
    std::vector<Llama2cSlot> slots;
    auto per_layer = [&](const char* name, size_t rows, size_t cols, auto member) {
        for (size_t l = 0; l < w.layers.size(); l++) {
            Llama2cSlot s{std::string(name) + "[" + std::to_string(l) + "]", rows, cols};
            if constexpr (std::is_same_v<decltype(member), Matrix LayerWeights::*>)
                s.matrix = &(w.layers[l].*member);
            else
                s.vector = &(w.layers[l].*member);
            slots.push_back(s);
        }
    };
    auto norms = [&] {
        per_layer("rms_att", 1, dim, &LayerWeights::rms_att);
        per_layer("rms_ffn", 1, dim, &LayerWeights::rms_ffn);
        slots.push_back({"rms_final", 1, dim, nullptr, &w.rms_final});
    };
    auto matrices = [&] {
        per_layer("wq", dim, dim, &LayerWeights::wq);
        per_layer("wk", kv, dim, &LayerWeights::wk);
        per_layer("wv", kv, dim, &LayerWeights::wv);
        per_layer("wo", dim, dim, &LayerWeights::wo);
        per_layer("w1", hidden, dim, &LayerWeights::w1);
        per_layer("w2", dim, hidden, &LayerWeights::w2);
        per_layer("w3", hidden, dim, &LayerWeights::w3);
    };
    Llama2cSlot embedding{"token_embedding", vocab, dim, &w.token_embedding};
    Llama2cSlot classifier{"classifier", vocab, dim, &w.classifier};

    if (version == 0) {
        slots.push_back(embedding);
        per_layer("rms_att", 1, dim, &LayerWeights::rms_att);
        per_layer("wq", dim, dim, &LayerWeights::wq);
        per_layer("wk", kv, dim, &LayerWeights::wk);
        per_layer("wv", kv, dim, &LayerWeights::wv);
        per_layer("wo", dim, dim, &LayerWeights::wo);
        per_layer("rms_ffn", 1, dim, &LayerWeights::rms_ffn);
        per_layer("w1", hidden, dim, &LayerWeights::w1);
        per_layer("w2", dim, hidden, &LayerWeights::w2);
        per_layer("w3", hidden, dim, &LayerWeights::w3);
        slots.push_back({"rms_final", 1, dim, nullptr, &w.rms_final});
        const size_t half_head = size_t(c.head_size()) / 2;
        slots.push_back({"freq_cis_real", size_t(c.seq_len), half_head});
        slots.push_back({"freq_cis_imag", size_t(c.seq_len), half_head});
    } else {
        // v1 and v2 both put the norms first; v2 then stores every matrix as Q8_0.
        norms();
        slots.push_back(embedding);
        matrices();
    }
    if (!w.shared_classifier) slots.push_back(classifier);
    return slots;
}

}  // namespace llamaport
