// llama2.c checkpoints: legacy v0 (7 x int32 header, negative vocab_size for an unshared
// classifier, obsolete RoPE tables) and export.py's versions 1 (fp32) and 2 (Q8_0).
// Files are normally little-endian; a big-endian copy is recognised and converted.
#include <cstdlib>
#include <cstring>

#include "formats.hpp"
#include "llama2c_layout.hpp"
#include "llamaport/file_kind.hpp"
#include "llamaport/error.hpp"

namespace llamaport {
namespace {

struct Header {
    ByteOrder order = ByteOrder::Little;
    int version = 0;
    size_t bytes = 0;
    Config config;
    bool shared_classifier = false;
    size_t group_size = 0;  // v2 only
};

bool plausible_v0(const uint8_t* p, ByteOrder order) {
    const int32_t dim = read_i32(p, order), layers = read_i32(p + 8, order);
    const int32_t seq = read_i32(p + 24, order);
    return dim > 0 && dim <= (1 << 16) && layers > 0 && layers <= 1024 && seq > 0 &&
           seq <= (1 << 20);
}

Header read_header(const Blob& blob) {
    const std::string& file = blob.name();
    const uint8_t* p = blob.data();
    Header h;
    if (file_kind(blob) == FileKind::llama2c) {
        h.order = read_u32(p, ByteOrder::Little) == llama2c_magic ? ByteOrder::Little
                                                                   : ByteOrder::Big;
        h.version = read_i32(p + 4, h.order);
        if (h.version != 1 && h.version != 2)
            throw Error(file + ": unknown llama2.c checkpoint version " +
                        std::to_string(h.version) + " (supported: 1 fp32, 2 q8_0)");
        h.bytes = llama2c_versioned_header_bytes;
    } else {
        h.bytes = llama2c_v0_header_bytes;
        if (blob.size() >= h.bytes && !plausible_v0(p, ByteOrder::Little) &&
            plausible_v0(p, ByteOrder::Big))
            h.order = ByteOrder::Big;
    }
    if (blob.size() < h.bytes)
        throw Error(file + ": file is truncated: " + std::to_string(blob.size()) +
                    " bytes, the header alone needs " + std::to_string(h.bytes));

    const uint8_t* fields = p + (h.version == 0 ? 0 : 8);
    Config& c = h.config;
    int* targets[] = {&c.dim, &c.hidden_dim, &c.n_layers, &c.n_heads, &c.n_kv_heads,
                      &c.vocab_size, &c.seq_len};
    for (int i = 0; i < 7; i++) *targets[i] = read_i32(fields + 4 * i, h.order);

    if (h.version == 0) {
        // A negative vocab_size says the classifier is stored separately.
        h.shared_classifier = c.vocab_size > 0;
        if (c.vocab_size < 0 && c.vocab_size != INT32_MIN) c.vocab_size = -c.vocab_size;
    } else {
        const uint8_t shared = p[8 + 7 * 4];
        if (shared > 1)
            throw Error(file + ": shared-classifier flag is " + std::to_string(shared) +
                        " (expected 0 or 1)");
        h.shared_classifier = shared == 1;
    }
    validate_config(c, file);

    if (h.version == 2) {
        const int32_t gs = read_i32(p + 8 + 7 * 4 + 1, h.order);
        if (gs <= 0 || gs > (1 << 16))
            throw Error(file + ": Q8_0 group size " + std::to_string(gs) + " is out of range");
        h.group_size = size_t(gs);
        // export.py groups each tensor as one flat run; a group that straddles two rows cannot
        // be used with per-row scales, so both row lengths must be multiples of the group.
        if (c.dim % gs != 0 || c.hidden_dim % gs != 0)
            throw Error(file + ": Q8_0 group size " + std::to_string(gs) +
                        " does not divide the row lengths dim " + std::to_string(c.dim) +
                        " and hidden_dim " + std::to_string(c.hidden_dim) +
                        " (re-export with a group size that divides both)");
    }
    return h;
}

// A v2 tensor (all its int8 values, then all its fp32 scales) as Q8_G rows of {scale, values}
// blocks in model memory; the file's pages are handed back.
Matrix read_q8_groups(Model& model, const Header& h, size_t offset, size_t rows, size_t cols) {
    const size_t g = h.group_size, groups = cols / g;
    const size_t row_bytes = weight_row_bytes(WeightType::Q8_G, cols, g);
    uint8_t* out = static_cast<uint8_t*>(model.allocate(checked_mul(rows, row_bytes, model.path)));
    const uint8_t* values = model.blob->data() + offset;
    const uint8_t* scales = values + rows * cols;
    for (size_t r = 0; r < rows; r++)
        for (size_t i = 0; i < groups; i++) {
            uint8_t* block = out + r * row_bytes + i * (sizeof(float) + g);
            const float scale = read_f32(scales + (r * groups + i) * sizeof(float), h.order);
            std::memcpy(block, &scale, sizeof scale);
            std::memcpy(block + sizeof scale, values + r * cols + i * g, g);
        }
    model.blob->release(offset, rows * cols + rows * groups * sizeof(float));
    return weight_matrix(WeightType::Q8_G, out, rows, cols, g);
}

}  // namespace

void load_llama2c(Model& model, const LoadOptions& options) {
    const Blob& blob = *model.blob;
    const std::string& file = model.path;
    const Header h = read_header(blob);
    model.config = h.config;
    Weights& w = model.weights;
    w.layers.resize(size_t(h.config.n_layers));
    w.shared_classifier = h.shared_classifier;
    const std::vector<Llama2cSlot> slots = llama2c_layout(h.version, h.config, w);

    // Sizes first, without touching any weight: the file must be exactly what the header says.
    const bool quantized = h.version == 2;
    std::vector<size_t> offsets;
    size_t offset = h.bytes;
    for (const Llama2cSlot& s : slots) {
        offsets.push_back(offset);
        const size_t count = checked_mul(s.rows, s.cols, file);
        size_t bytes = checked_mul(count, 4, file);
        if (quantized && s.matrix)
            bytes = checked_add(count, checked_mul(count / h.group_size, 4, file), file);
        offset = checked_add(offset, bytes, file);
    }
    if (blob.size() != offset)
        throw Error(file + ": file is " + std::to_string(blob.size()) + " bytes but its header (" +
                    std::to_string(h.config.dim) + " dim, " + std::to_string(h.config.n_layers) +
                    " layers, vocab " + std::to_string(h.config.vocab_size) + ") implies " +
                    std::to_string(offset) + (blob.size() < offset ? " (truncated)" : ""));

    WeightReader reader(model, h.order);
    for (size_t i = 0; i < slots.size(); i++) {
        const Llama2cSlot& s = slots[i];
        const size_t count = s.rows * s.cols;
        if (s.vector) {
            *s.vector = reader.f32(offsets[i], count);
        } else if (s.matrix && quantized) {
            *s.matrix = read_q8_groups(model, h, offsets[i], s.rows, s.cols);
        } else if (s.matrix) {
            *s.matrix = weight_matrix(WeightType::F32, reader.f32(offsets[i], count), s.rows, s.cols);
        }
        if (options.progress)
            options.progress(i + 1 < slots.size() ? offsets[i + 1] : blob.size(), blob.size());
    }
    if (w.shared_classifier) w.classifier = w.token_embedding;
    model.format = std::string("llama2.c v") + std::to_string(h.version) +
                   (quantized ? " q8_0" : " fp32") +
                   (h.order == ByteOrder::Big ? " big-endian" : "");
}

}  // namespace llamaport
