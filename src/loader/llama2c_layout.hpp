// Internal: the order and shapes of the tensors in llama2.c checkpoints, shared by the loader
// and the writer so the two cannot disagree.
#pragma once

#include <string>
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
    const size_t dim = size_t(c.dim), vocab = size_t(c.vocab_size);
    static const char* const names[LayerWeights::matrix_count] = {"wq", "wk", "wv", "wo",
                                                                  "w1", "w2", "w3"};
    const auto shapes = LayerWeights::shapes(c);
    std::vector<Llama2cSlot> slots;
    auto layer_name = [](const char* name, size_t l) {
        return std::string(name) + "[" + std::to_string(l) + "]";
    };
    // Matrix i of matrices() in every layer, then the next: the checkpoints group by kind.
    auto matrices = [&](size_t first, size_t end) {
        for (size_t i = first; i < end; i++)
            for (size_t l = 0; l < w.layers.size(); l++)
                slots.push_back({layer_name(names[i], l), shapes[i].first, shapes[i].second,
                                 w.layers[l].matrices()[i]});
    };
    auto norm = [&](const char* name, const float* LayerWeights::*member) {
        for (size_t l = 0; l < w.layers.size(); l++)
            slots.push_back({layer_name(name, l), 1, dim, nullptr, &(w.layers[l].*member)});
    };
    Llama2cSlot embedding{"token_embedding", vocab, dim, &w.token_embedding};
    Llama2cSlot classifier{"classifier", vocab, dim, &w.classifier};
    Llama2cSlot final_norm{"rms_final", 1, dim, nullptr, &w.rms_final};

    if (version == 0) {
        slots.push_back(embedding);
        norm("rms_att", &LayerWeights::rms_att);
        matrices(0, 4);
        norm("rms_ffn", &LayerWeights::rms_ffn);
        matrices(4, 7);
        slots.push_back(final_norm);
        const size_t half_head = size_t(c.head_size()) / 2;
        slots.push_back({"freq_cis_real", size_t(c.seq_len), half_head});
        slots.push_back({"freq_cis_imag", size_t(c.seq_len), half_head});
    } else {
        // v1 and v2 both put the norms first; v2 then stores every matrix as Q8_0.
        norm("rms_att", &LayerWeights::rms_att);
        norm("rms_ffn", &LayerWeights::rms_ffn);
        slots.push_back(final_norm);
        slots.push_back(embedding);
        matrices(0, 7);
    }
    if (!w.shared_classifier) slots.push_back(classifier);
    return slots;
}

}  // namespace llamaport
