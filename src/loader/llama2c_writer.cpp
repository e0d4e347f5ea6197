// Writes llama2.c checkpoints from any loaded model, in either byte order.
#include <cmath>
#include <cstring>
#include <vector>

#include "byte_order.hpp"
#include "llama2c_layout.hpp"
#include "llamaport/error.hpp"
#include "llamaport/llama2c.hpp"
#include "types/inputs.hpp"

namespace llamaport {

size_t default_llama2c_group_size(const Config& c) {
    size_t gs = 64;
    while (gs > 1 && (size_t(c.dim) % gs != 0 || size_t(c.hidden_dim) % gs != 0)) gs /= 2;
    return gs;
}

std::string write_llama2c(const Model& model, const Llama2cWriteOptions& options) {
    if (options.version < 0 || options.version > 2)
        throw Error("llama2.c version " + std::to_string(options.version) + " does not exist");
    const Config& c = model.config;
    const bool quantized = options.version == 2;
    const size_t group_size = options.group_size ? options.group_size : default_llama2c_group_size(c);
    if (quantized && (size_t(c.dim) % group_size || size_t(c.hidden_dim) % group_size))
        throw Error("group size " + std::to_string(group_size) + " does not divide dim and hidden_dim");

    ByteWriter out(options.big_endian ? ByteOrder::Big : ByteOrder::Little);
    const int32_t params[7] = {c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads,
                               c.vocab_size, c.seq_len};
    if (options.version == 0) {
        for (int i = 0; i < 7; i++)
            out.i32(i == 5 && !model.weights.shared_classifier ? -params[i] : params[i]);
    } else {
        out.u32(llama2c_magic);
        out.i32(options.version);
        for (int32_t p : params) out.i32(p);
        out.u8(model.weights.shared_classifier ? 1 : 0);
        if (quantized) out.i32(int32_t(group_size));
        out.pad_to(llama2c_versioned_header_bytes);
    }

    Weights weights = model.weights;  // views only; the layout needs addressable slots
    std::vector<float> row;
    std::vector<uint8_t> blocks;
    std::vector<int8_t> q;
    std::vector<float> scales;
    for (const Llama2cSlot& s : llama2c_layout(options.version, c, weights)) {
        if (s.vector) {
            out.f32s(*s.vector, s.cols);
        } else if (s.matrix) {
            const Matrix& m = *s.matrix;
            row.resize(m.cols);
            if (!quantized) {
                for (size_t r = 0; r < m.rows; r++) {
                    m.row_to_f32(r, row.data());
                    out.f32s(row.data(), m.cols);
                }
                continue;
            }
            // v2: all int8 values of the tensor, then all its scales, quantized as runq.c
            // quantizes its activations (export.py's rule).
            const Matrix shape = weight_matrix(WeightType::Q8_G, nullptr, 1, m.cols, group_size);
            const size_t groups = m.cols / group_size;
            blocks.resize(shape.row_stride);
            q.resize(m.rows * m.cols);
            scales.resize(m.rows * groups);
            for (size_t r = 0; r < m.rows; r++) {
                m.row_to_f32(r, row.data());
                types::q8_g_quantize_groups(blocks.data(), shape, row.data(), 0, groups);
                for (size_t i = 0; i < groups; i++) {
                    const uint8_t* block = blocks.data() + i * (types::q8_g_scale_bytes + group_size);
                    scales[r * groups + i] = load_f32(block);
                    std::memcpy(q.data() + r * m.cols + i * group_size,
                                block + types::q8_g_scale_bytes, group_size);
                }
            }
            out.bytes(q.data(), q.size());
            out.f32s(scales.data(), scales.size());
        } else {
            // v0's RoPE tables: unused by any reader, written in fp32 as llama2.c's model.py
            // computes them, so a v0 file survives a round trip byte for byte.
            const float head_size = float(s.cols * 2);
            const bool imag = s.name == "freq_cis_imag";
            for (size_t pos = 0; pos < s.rows; pos++)
                for (size_t i = 0; i < s.cols; i++) {
                    const float freq = 1.0f / std::pow(c.rope_theta, float(2 * i) / head_size);
                    const float angle = float(pos) * freq;
                    out.f32(imag ? std::sin(angle) : std::cos(angle));
                }
        }
    }
    return std::move(out.str());
}

}  // namespace llamaport
