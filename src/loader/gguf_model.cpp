// GGUF models of llama.cpp's "llama" architecture, read into and written from a Model.
// F32 matrices are used in place (converted only when the byte order or alignment requires);
// the other dense types (F16, BF16, Q8_0, the legacy types and K-quants) in place too, each
// block's fields swapped by their own width on a big-endian host; AQLM ones are repacked into
// the kernels' layout (AqlmPacked) in model memory, and the file pages of what was converted are
// given back. Norms are copied.
#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <optional>
#include <set>

#include "formats.hpp"
#include "fp16.hpp"
#include "gguf.hpp"
#include "llamaport/aqlm.hpp"
#include "llamaport/error.hpp"
#include "llamaport/gguf.hpp"
#include "llamaport/tokenizer.hpp"
#include "tokenizer/gguf_vocab.hpp"
#include "tokenizer/sentencepiece.hpp"
#include "llamaport/sampler.hpp"
#include "types/f16.hpp"
#include "types/q8_0.hpp"

namespace llamaport {
namespace {

using gguf::GgufFile;
using gguf::KeyValue;
using gguf::TensorInfo;
using gguf::Value;
using gguf::ValueType;

// llama.cpp's token types (llama_token_type).
constexpr int32_t token_normal = 1, token_unknown = 2, token_control = 3, token_byte = 6;

// llama.cpp's file types (llama_ftype) for general.file_type.
constexpr uint32_t ftype_all_f32 = 0, ftype_mostly_q8_0 = 7;

// One tensor of the llama architecture: its GGUF name, where it goes in Weights, its shape.
struct Slot {
    std::string name;
    size_t rows, cols;               // norms: rows == 1
    Matrix* matrix = nullptr;        // or
    const float** vector = nullptr;  // a norm
};

// The tensors in the order llama.cpp's converters write them. `with_output` adds output.weight
// (a classifier of its own); without it the classifier is the token embedding.
std::vector<Slot> llama_slots(const Config& c, Weights& w, bool with_output) {
    const size_t dim = size_t(c.dim), vocab = size_t(c.vocab_size);
    // In LayerWeights::matrices()' order.
    static const char* const names[LayerWeights::matrix_count] = {
        "attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_down", "ffn_up"};
    const auto shapes = LayerWeights::shapes(c);
    std::vector<Slot> slots = {{"token_embd.weight", vocab, dim, &w.token_embedding},
                               {"output_norm.weight", 1, dim, nullptr, &w.rms_final}};
    if (with_output) slots.push_back({"output.weight", vocab, dim, &w.classifier});
    for (size_t l = 0; l < w.layers.size(); l++) {
        LayerWeights& L = w.layers[l];
        const std::string blk = "blk." + std::to_string(l) + ".";
        auto matrix = [&](size_t i) {
            slots.push_back({blk + names[i] + ".weight", shapes[i].first, shapes[i].second,
                             L.matrices()[i]});
        };
        for (size_t i = 0; i < 4; i++) matrix(i);
        slots.push_back({blk + "attn_norm.weight", 1, dim, nullptr, &L.rms_att});
        for (size_t i = 4; i < LayerWeights::matrix_count; i++) matrix(i);
        slots.push_back({blk + "ffn_norm.weight", 1, dim, nullptr, &L.rms_ffn});
    }
    return slots;
}

// ---- loading ------------------------------------------------------------------------------

// Typed access to metadata, with messages that name the key.
class Metadata {
public:
    explicit Metadata(const GgufFile& file) : f_(file) {}

    const KeyValue& require(const std::string& key) const {
        const KeyValue* kv = f_.find(key);
        if (!kv) f_.fail("missing required metadata key '" + key + "'");
        return *kv;
    }

    // A count or id: any integer type, 0..INT_MAX.
    int integer(const std::string& key, std::optional<int> fallback = std::nullopt) const {
        if (fallback && !f_.find(key)) return *fallback;
        const Value v = f_.value(require(key));
        if (!v.is_integer())
            f_.fail("metadata '" + key + "' is a " + gguf::value_type_name(v.type) +
                    ", expected an integer");
        if (v.is_negative() || uint64_t(v.as_int()) > uint64_t(INT_MAX))
            f_.fail("metadata '" + key + "' = " + std::to_string(v.as_int()) + " is out of range");
        return int(v.as_int());
    }

    float real(const std::string& key, float fallback) const {
        const KeyValue* kv = f_.find(key);
        if (!kv) return fallback;
        const Value v = f_.value(*kv);
        if (!v.is_float())
            f_.fail("metadata '" + key + "' is a " + gguf::value_type_name(v.type) +
                    ", expected a float");
        return float(v.as_float());
    }

    std::string string(const std::string& key) const {
        const Value v = f_.value(require(key));
        if (v.type != ValueType::String)
            f_.fail("metadata '" + key + "' is a " + gguf::value_type_name(v.type) +
                    ", expected a string");
        return v.str;
    }

    // An array of `count` elements of `type`, checked before it is decoded.
    Value array(const std::string& key, ValueType type, size_t count) const {
        const KeyValue& kv = require(key);
        if (kv.type != ValueType::Array || kv.element_type != type)
            f_.fail("metadata '" + key + "' must be an array of " + gguf::value_type_name(type));
        if (kv.count != count)
            f_.fail("metadata '" + key + "' has " + std::to_string(kv.count) +
                    " elements, expected " + std::to_string(count));
        return f_.value(kv);
    }

private:
    const GgufFile& f_;
};

Config read_config(const GgufFile& file, const Metadata& meta) {
    const std::string arch = meta.string("general.architecture");
    if (arch != "llama")
        file.fail("architecture is " + gguf::quoted(arch) + "; llamaport runs only 'llama' models");
    Config c;
    c.dim = meta.integer("llama.embedding_length");
    c.hidden_dim = meta.integer("llama.feed_forward_length");
    c.n_layers = meta.integer("llama.block_count");
    c.n_heads = meta.integer("llama.attention.head_count");
    c.n_kv_heads = meta.integer("llama.attention.head_count_kv", c.n_heads);
    c.seq_len = meta.integer("llama.context_length");
    c.rope_theta = meta.real("llama.rope.freq_base", 10000.0f);
    c.norm_eps = meta.real("llama.attention.layer_norm_rms_epsilon", 1e-5f);
    const KeyValue& tokens = meta.require("tokenizer.ggml.tokens");
    if (tokens.type != ValueType::Array || tokens.element_type != ValueType::String)
        file.fail("metadata 'tokenizer.ggml.tokens' must be an array of strings");
    if (tokens.count > uint64_t(INT_MAX))
        file.fail("vocabulary of " + std::to_string(tokens.count) + " tokens is too large");
    c.vocab_size = int(tokens.count);
    // The head size, where it is not dim / n_heads (key and value heads alike).
    if (file.find("llama.attention.key_length")) {
        c.head_dim = meta.integer("llama.attention.key_length");
        if (c.head_dim == 0) file.fail("llama.attention.key_length is 0");
    }
    validate_config(c, file.name());

    // Keys that, when present, must agree with what llamaport does.
    const int head_size = c.head_size();
    if (meta.integer("llama.attention.value_length", head_size) != head_size)
        file.fail("llama.attention.value_length differs from the key length " +
                  std::to_string(head_size) + " (llamaport needs them equal)");
    if (meta.integer("llama.rope.dimension_count", head_size) != head_size)
        file.fail("llama.rope.dimension_count differs from the head size " +
                  std::to_string(head_size) + " (partial rotary embeddings are not supported)");
    if (meta.integer("llama.vocab_size", c.vocab_size) != c.vocab_size)
        file.fail("llama.vocab_size differs from the " + std::to_string(c.vocab_size) +
                  " tokens in tokenizer.ggml.tokens");
    return c;
}

// Pieces in llama2.c's convention: ' ' for U+2581, BOS and EOS wrapped in newlines as
// llama2.c's tokenizer export writes them (so decoding EOS prints what run.c prints).
EmbeddedVocab read_vocab(const GgufFile& file, const Metadata& meta, const Config& c) {
    EmbeddedVocab v;
    const size_t n = size_t(c.vocab_size);
    v.pieces = meta.array("tokenizer.ggml.tokens", ValueType::String, n).strings;
    const Value scores = meta.array("tokenizer.ggml.scores", ValueType::F32, n);
    for (size_t i = 0; i < n; i++) v.scores.push_back(float(scores.element(i).as_float()));
    v.bos_id = meta.integer("tokenizer.ggml.bos_token_id", v.bos_id);
    v.eos_id = meta.integer("tokenizer.ggml.eos_token_id", v.eos_id);
    if (v.bos_id >= c.vocab_size || v.eos_id >= c.vocab_size)
        file.fail("BOS/EOS token id out of range for a vocabulary of " + std::to_string(n));
    for (std::string& piece : v.pieces)
        piece = replace_all(std::move(piece), sentencepiece_space, " ");
    for (int id : std::set<int>{v.bos_id, v.eos_id})
        v.pieces[size_t(id)] = "\n" + v.pieces[size_t(id)] + "\n";
    return v;
}

std::string dims(const std::vector<uint64_t>& shape) {
    std::string out;
    for (uint64_t d : shape) out += (out.empty() ? "" : ", ") + std::to_string(d);
    return "[" + out + "]";
}

// A tensor's shape (ne[0] first; missing dimensions are 1), with `why` appended to the message.
void expect_shape(const GgufFile& file, const TensorInfo& t, const std::vector<uint64_t>& shape,
                  const std::string& why = "") {
    uint64_t expected[4] = {1, 1, 1, 1};
    std::copy(shape.begin(), shape.end(), expected);
    if (!std::equal(std::begin(expected), std::end(expected), t.ne))
        file.fail("tensor '" + t.name + "' has shape " + t.shape() + ", expected " + dims(shape) +
                  why);
}

// The weight types a matrix may have in a file: the table's types with a GGUF id.
const WeightTypeInfo* matrix_type(const TensorInfo& t) { return type_by_gguf_id(t.type->id); }

// "F32, Q8_0, F16 and BF16": the weight table's GGUF types.
std::string readable_matrix_types() {
    std::vector<std::string> names;
    for (size_t i = 0; i < weight_type_count; i++) {
        const WeightTypeInfo& info = type_info(WeightType(i));
        if (info.gguf_id != no_gguf_type) names.push_back(gguf::find_tensor_type(info.gguf_id)->name);
    }
    std::string out;
    for (size_t i = 0; i < names.size(); i++)
        out += (i == 0 ? "" : i + 1 == names.size() ? " and " : ", ") + names[i];
    return out;
}

// A tensor's shape and type against what its slot needs.
void check_tensor(const GgufFile& file, const TensorInfo& t, const Slot& s) {
    expect_shape(file, t, s.matrix ? std::vector<uint64_t>{s.cols, s.rows} : std::vector<uint64_t>{s.cols});
    const uint32_t type = t.type->id;
    if (s.matrix ? !matrix_type(t) : type != gguf::type_f32 && type != gguf::type_f16)
        file.fail("tensor '" + t.name + "' has type " + t.type->name + "; llamaport reads " +
                  (s.matrix ? readable_matrix_types() + " matrices" : "F32 and F16 norms"));
}

// An F32 or F16 tensor's values as host floats.
void widen(const GgufFile& file, const TensorInfo& t, float* out) {
    const uint8_t* p = file.data() + t.file_offset;
    const bool half = t.type->id == gguf::type_f16;
    for (size_t i = 0; i < size_t(t.elements); i++)
        out[i] = half ? fp16_to_fp32(read_u16(p + 2 * i, file.byte_order()))
                      : read_f32(p + 4 * i, file.byte_order());
}

// F32 in place or converted by WeightReader; F16 widened into model memory.
const float* tensor_f32(Model& model, WeightReader& reader, const GgufFile& file,
                      const TensorInfo& t) {
    const size_t n = size_t(t.elements);
    if (t.type->id == gguf::type_f32) return reader.f32(t.file_offset, n);
    float* out = static_cast<float*>(model.allocate(checked_mul(n, sizeof(float), model.path)));
    widen(file, t, out);
    return out;
}

// A tensor copied into model memory in another layout: its file pages can go.
void release(const Model& model, const TensorInfo& t) { model.blob->release(t.file_offset, t.bytes); }

// ---- AQLM matrices: <name>.codes, <name>.codebooks, <name>.scales (README: "AQLM in GGUF")

const char* const aqlm_parts[] = {".codes", ".codebooks", ".scales"};

// M, B and g from the aqlm.* keys: one configuration for every AQLM matrix of a file.
AqlmShape read_aqlm_config(const GgufFile& file, const Metadata& meta) {
    AqlmShape s;
    const std::pair<const char*, int> keys[] = {
        {"aqlm.codebooks", 16}, {"aqlm.bits", 16}, {"aqlm.group_size", 1024}};
    size_t* fields[] = {&s.codebooks, &s.bits, &s.group_size};
    for (size_t i = 0; i < 3; i++) {
        const int v = meta.integer(keys[i].first);
        if (v < 1 || v > keys[i].second)
            file.fail("metadata '" + std::string(keys[i].first) + "' = " + std::to_string(v) +
                      " is out of range (1.." + std::to_string(keys[i].second) + ")");
        *fields[i] = size_t(v);
    }
    return s;
}

// The three tensors of the AQLM matrix in slot s against the file's configuration.
void check_aqlm(const GgufFile& file, const TensorInfo* const (&t)[3], const Slot& s,
                const AqlmShape& c) {
    for (size_t i = 0; i < 3; i++)
        if (!t[i]) file.fail("missing tensor '" + s.name + aqlm_parts[i] + "'");
    const size_t groups = (s.cols + c.group_size - 1) / c.group_size;
    // Exactly enough groups for the columns: groups * g >= cols > (groups - 1) * g.
    expect_shape(file, *t[0], {c.codebooks, groups, s.rows},
                 " (" + std::to_string(s.cols) + " columns in groups of " +
                     std::to_string(c.group_size) + ")");
    expect_shape(file, *t[1], {c.group_size, c.entries(), c.codebooks});
    expect_shape(file, *t[2], {s.rows});
    const uint32_t code_type = c.bits <= 8 ? gguf::type_i8 : gguf::type_i16;
    if (t[0]->type->id != code_type)
        file.fail("tensor '" + t[0]->name + "' has type " + t[0]->type->name + "; " +
                  std::to_string(c.bits) + "-bit AQLM codes are stored as " +
                  gguf::find_tensor_type(code_type)->name);
    for (size_t i = 1; i < 3; i++)
        if (t[i]->type->id != gguf::type_f32 && t[i]->type->id != gguf::type_f16)
            file.fail("tensor '" + t[i]->name + "' has type " + t[i]->type->name +
                      "; AQLM codebooks and scales are F16 or F32");
}

// Codes reinterpreted as unsigned (the reference stores them as signed ints), codebooks and
// scales widened, then validated (codes in range) and packed into model memory.
Matrix read_aqlm(Model& model, const GgufFile& file, const TensorInfo* const (&t)[3],
                 const Slot& s, const AqlmShape& c) {
    AqlmMatrix q;
    q.shape = c;
    q.shape.rows = s.rows;
    q.shape.cols = s.cols;
    q.codes.resize(size_t(t[0]->elements));
    const uint8_t* p = file.data() + t[0]->file_offset;
    for (size_t i = 0; i < q.codes.size(); i++)
        q.codes[i] = c.bits <= 8 ? p[i] : read_u16(p + 2 * i, file.byte_order());
    q.codebooks.resize(size_t(t[1]->elements));
    widen(file, *t[1], q.codebooks.data());
    q.scales.resize(size_t(t[2]->elements));
    widen(file, *t[2], q.scales.data());
    return pack_aqlm(q, model, file.name() + ": tensor '" + s.name + "'");
}

// A block-quantized tensor in host order: used in place when the orders match, else each
// multi-byte field of each block swapped by its own width (in the private copy of the file when
// there is one, else in a copy in model memory).
const uint8_t* blocks_in_host_order(Model& model, const GgufFile& file, const TensorInfo& t,
                                    const WeightTypeInfo& type) {
    const uint8_t* src = file.data() + t.file_offset;
    if (file.byte_order() == host_byte_order()) return src;
    uint8_t* dst = model.blob->writable_data() ? model.blob->writable_data() + t.file_offset
                                               : static_cast<uint8_t*>(model.allocate(t.bytes));
    if (dst != src) std::memcpy(dst, src, t.bytes);
    for (size_t b = 0; b < t.bytes / type.block_bytes; b++)
        for (const BlockField& f : type.fields) {
            if (!f.width) break;
            uint8_t* p = dst + b * type.block_bytes + f.offset;
            std::reverse(p, p + f.width);
        }
    return dst;
}

Matrix read_matrix(Model& model, WeightReader& reader, const GgufFile& file, const TensorInfo& t) {
    const size_t cols = size_t(t.ne[0]), rows = size_t(t.ne[1]);
    const WeightTypeInfo& type = *matrix_type(t);
    if (type.type != WeightType::F32)
        return weight_matrix(type.type, blocks_in_host_order(model, file, t, type), rows, cols);
    return weight_matrix(WeightType::F32, tensor_f32(model, reader, file, t), rows, cols);
}

}  // namespace

void load_gguf(Model& model, const LoadOptions& options) {
    const GgufFile file(model.blob->data(), model.blob->size(), model.path);
    const Metadata meta(file);
    if (file.find("tokenizer.chat_template")) model.chat_template = meta.string("tokenizer.chat_template");
    model.config = read_config(file, meta);
    // The SentencePiece pieces in llama2.c's form, for writing the vocabulary back.
    const Vocabulary vocabulary = read_gguf_vocabulary(file);
    if (vocabulary.model == Vocabulary::Model::sentencepiece)
        model.vocab = read_vocab(file, meta, model.config);
    model.tokenizer = std::make_shared<const Tokenizer>(vocabulary);

    Weights& w = model.weights;
    w.layers.resize(size_t(model.config.n_layers));
    w.shared_classifier = file.find_tensor("output.weight") == nullptr &&
                          file.find_tensor("output.weight.codes") == nullptr;
    const std::vector<Slot> slots = llama_slots(model.config, w, !w.shared_classifier);

    // Every check before any conversion: names, shapes and types. A matrix is one plain tensor
    // or, when <name>.codes exists, AQLM's three.
    const std::string rope_freqs = "rope_freqs.weight";
    std::set<std::string> known = {rope_freqs};
    for (const Slot& s : slots) {
        known.insert(s.name);
        if (s.matrix)
            for (const char* part : aqlm_parts) known.insert(s.name + part);
    }
    for (const TensorInfo& t : file.tensors())
        if (!known.count(t.name))
            file.fail("unexpected tensor " + gguf::quoted(t.name) +
                      " (not one llamaport's llama model uses)");
    struct Source {
        const TensorInfo* plain = nullptr;
        const TensorInfo* aqlm[3] = {nullptr, nullptr, nullptr};
    };
    std::vector<Source> sources(slots.size());
    std::optional<AqlmShape> aqlm;
    for (size_t i = 0; i < slots.size(); i++) {
        const Slot& s = slots[i];
        Source& src = sources[i];
        src.plain = file.find_tensor(s.name);
        for (size_t k = 0; k < 3 && s.matrix; k++)
            src.aqlm[k] = file.find_tensor(s.name + aqlm_parts[k]);
        if (src.aqlm[0] || src.aqlm[1] || src.aqlm[2]) {
            if (src.plain) file.fail("tensor '" + s.name + "' is stored both plain and as AQLM");
            if (!aqlm) aqlm = read_aqlm_config(file, meta);
            check_aqlm(file, src.aqlm, s, *aqlm);
            continue;
        }
        if (!src.plain) file.fail("missing tensor '" + s.name + "'");
        check_tensor(file, *src.plain, s);
    }

    // Llama 3.1's frequency factors: one per rotation pair.
    if (const TensorInfo* t = file.find_tensor(rope_freqs)) {
        const size_t pairs = size_t(model.config.head_size() / 2);
        expect_shape(file, *t, {pairs}, " (one factor per rotation pair)");
        if (t->type->id != gguf::type_f32 && t->type->id != gguf::type_f16)
            file.fail("tensor '" + rope_freqs + "' has type " + t->type->name + "; expected F32");
        model.config.rope_freq_factors.resize(pairs);
        widen(file, *t, model.config.rope_freq_factors.data());
        validate_config(model.config, file.name());
    }

    WeightReader reader(model, file.byte_order());
    std::set<std::string> matrix_types;
    for (size_t i = 0; i < slots.size(); i++) {
        const Slot& s = slots[i];
        if (s.vector) {
            // Copied (a few KB), so that a file whose matrices are all converted is never read
            // after loading: reading a norm in place would map its neighbours' released pages
            // back (the kernel maps whole large folios on a fault).
            const TensorInfo& t = *sources[i].plain;
            float* copy = static_cast<float*>(model.allocate(size_t(t.elements) * sizeof(float)));
            widen(file, t, copy);
            *s.vector = copy;
        } else if (sources[i].plain) {
            *s.matrix = read_matrix(model, reader, file, *sources[i].plain);
            matrix_types.insert(sources[i].plain->type->name);
        } else {
            *s.matrix = read_aqlm(model, file, sources[i].aqlm, s, *aqlm);
            for (const TensorInfo* t : sources[i].aqlm) release(model, *t);
        }
        if (options.progress) {
            const TensorInfo* last = sources[i].plain ? sources[i].plain : sources[i].aqlm[2];
            options.progress(last->file_offset + last->bytes, model.blob->size());
        }
    }
    if (w.shared_classifier) w.classifier = w.token_embedding;

    std::string types = matrix_types.size() == 1 ? *matrix_types.begin() : "mixed";
    for (char& ch : types) ch = char(std::tolower(static_cast<unsigned char>(ch)));
    // An AQLM file names its configuration (its embedding is Q8_0 or F32).
    if (aqlm)
        types = "aqlm " + std::to_string(aqlm->codebooks) + "x" + std::to_string(aqlm->bits) +
                " g" + std::to_string(aqlm->group_size);
    model.format = "gguf " + types + (file.byte_order() == ByteOrder::Big ? " big-endian" : "");
}

// ---- writing ------------------------------------------------------------------------------

namespace {

// The vocabulary keys, in SentencePiece form (the inverse of read_vocab).
void add_vocab(std::vector<std::pair<std::string, Value>>& kv, const Model& model,
               const GgufWriteOptions& o) {
    const bool own = o.pieces.empty();
    const std::vector<std::string>& pieces = own ? model.vocab.pieces : o.pieces;
    const std::vector<float>& scores = own ? model.vocab.scores : o.scores;
    const int bos = own ? model.vocab.bos_id : o.bos_id, eos = own ? model.vocab.eos_id : o.eos_id;
    const size_t n = size_t(model.config.vocab_size);
    if (pieces.empty())
        throw Error(
            model.path +
            ": no vocabulary to embed in the GGUF file (give the tokenizer's pieces and scores)");
    if (pieces.size() != n || scores.size() != n)
        throw Error(model.path + ": vocabulary has " + std::to_string(pieces.size()) +
                    " pieces and " + std::to_string(scores.size()) + " scores; the model has " +
                    std::to_string(n) + " tokens");
    if (bos < 0 || size_t(bos) >= n || eos < 0 || size_t(eos) >= n)
        throw Error(model.path + ": BOS/EOS token id out of range for the vocabulary");

    std::vector<std::string> tokens;
    std::vector<int32_t> types;
    int unknown = -1;
    for (size_t i = 0; i < n; i++) {
        std::string p = pieces[i];
        int32_t type = token_normal;
        if (int(i) == bos || int(i) == eos) {
            if (p.size() >= 2 && p.front() == '\n' && p.back() == '\n')
                p = p.substr(1, p.size() - 2);
            type = token_control;
        } else if (p == "<unk>") {
            type = token_unknown;
            if (unknown < 0) unknown = int(i);
        } else if (byte_token_value(p) >= 0) {
            type = token_byte;
        } else if (p.empty()) {
            type = token_control;  // as llama.cpp's converter marks them
        }
        tokens.push_back(replace_all(std::move(p), " ", sentencepiece_space));
        types.push_back(type);
    }
    kv.emplace_back("tokenizer.ggml.model", Value::string("llama"));
    kv.emplace_back("tokenizer.ggml.tokens", Value::string_array(std::move(tokens)));
    kv.emplace_back("tokenizer.ggml.scores", Value::f32_array(scores));
    kv.emplace_back("tokenizer.ggml.token_type", Value::i32_array(types));
    kv.emplace_back("tokenizer.ggml.bos_token_id", Value::u32(uint32_t(bos)));
    kv.emplace_back("tokenizer.ggml.eos_token_id", Value::u32(uint32_t(eos)));
    if (unknown >= 0)
        kv.emplace_back("tokenizer.ggml.unknown_token_id", Value::u32(uint32_t(unknown)));
}

// Host copies of the AQLM tensors being written (deques: earlier buffers never move).
struct AqlmCopies {
    std::deque<AqlmMatrix> matrices;
    std::deque<std::vector<uint8_t>> codes8;
    std::deque<std::vector<uint16_t>> halves;
};

// An AQLM matrix as its three tensors (README: "AQLM in GGUF"). Codebooks go as F16 when every
// value is a half exactly (the quantizer's are), else as F32.
void add_aqlm(std::vector<gguf::WriteTensor>& tensors, AqlmCopies& copies, const std::string& name,
              const Matrix& m) {
    const AqlmMatrix& q = copies.matrices.emplace_back(unpack_aqlm(m));
    const AqlmShape& s = q.shape;
    const AqlmShape& first = copies.matrices.front().shape;
    if (s.codebooks != first.codebooks || s.bits != first.bits || s.group_size != first.group_size)
        throw Error(name + ": AQLM matrices of different configurations cannot share a file");
    gguf::WriteTensor codes{name + ".codes", {s.codebooks, s.groups(), s.rows}, gguf::type_i16,
                            q.codes.data()};
    if (s.bits <= 8) {
        codes.type = gguf::type_i8;
        codes.data = copies.codes8.emplace_back(q.codes.begin(), q.codes.end()).data();
    }
    gguf::WriteTensor codebooks{name + ".codebooks", {s.group_size, s.entries(), s.codebooks},
                                gguf::type_f16, nullptr};
    std::vector<uint16_t>& halves = copies.halves.emplace_back();
    for (float v : q.codebooks) {
        halves.push_back(fp32_to_fp16(v));
        if (fp16_to_fp32(halves.back()) != v) codebooks.type = gguf::type_f32;
    }
    codebooks.data = codebooks.type == gguf::type_f16 ? static_cast<const void*>(halves.data())
                                                      : q.codebooks.data();
    tensors.push_back(std::move(codes));
    tensors.push_back(std::move(codebooks));
    tensors.push_back({name + ".scales", {s.rows}, gguf::type_f32, q.scales.data()});
}

// The metadata of a llama model of config c with the vocabulary of model (or o's).
std::vector<std::pair<std::string, Value>> llama_metadata(const Model& model, const Config& c,
                                                          const GgufWriteOptions& o,
                                                          uint32_t file_type) {
    std::vector<std::pair<std::string, Value>> kv = {
        {"general.architecture", Value::string("llama")},
        {"general.name", Value::string(o.name)},
        {"general.alignment", Value::u32(gguf::default_alignment)},
        {"general.file_type", Value::u32(file_type)},
    };
    if (file_type != ftype_all_f32) kv.emplace_back("general.quantization_version", Value::u32(2));
    const std::pair<const char*, int> hparams[] = {
        {"llama.context_length", c.seq_len},
        {"llama.embedding_length", c.dim},
        {"llama.feed_forward_length", c.hidden_dim},
        {"llama.block_count", c.n_layers},
        {"llama.attention.head_count", c.n_heads},
        {"llama.attention.head_count_kv", c.n_kv_heads},
        {"llama.rope.dimension_count", c.head_size()},
    };
    for (const auto& [key, value] : hparams) kv.emplace_back(key, Value::u32(uint32_t(value)));
    if (c.head_dim) {
        kv.emplace_back("llama.attention.key_length", Value::u32(uint32_t(c.head_dim)));
        kv.emplace_back("llama.attention.value_length", Value::u32(uint32_t(c.head_dim)));
    }
    kv.emplace_back("llama.rope.freq_base", Value::f32(c.rope_theta));
    kv.emplace_back("llama.attention.layer_norm_rms_epsilon", Value::f32(c.norm_eps));
    add_vocab(kv, model, o);
    if (!model.chat_template.empty())
        kv.emplace_back("tokenizer.chat_template", Value::string(model.chat_template));
    return kv;
}

}  // namespace

std::string write_gguf_model(const Model& model, const GgufWriteOptions& o,
                             std::vector<std::string>* f32_fallbacks) {
    const Config& c = model.config;
    const bool q8 = o.matrix_type == WeightType::Q8_0;
    std::vector<std::pair<std::string, Value>> kv =
        llama_metadata(model, c, o, q8 ? ftype_mostly_q8_0 : ftype_all_f32);

    Weights weights = model.weights;            // views only; the slots need addressable members
    std::deque<std::vector<float>> f32_copies;  // deque: earlier buffers never move
    std::deque<std::vector<gguf::Q8Block>> q8_copies;
    std::deque<std::vector<uint8_t>> byte_copies;
    AqlmCopies aqlm;
    std::vector<gguf::WriteTensor> tensors;
    if (!c.rope_freq_factors.empty())
        tensors.push_back({"rope_freqs.weight", {c.rope_freq_factors.size()}, gguf::type_f32,
                           c.rope_freq_factors.data()});
    for (const Slot& s : llama_slots(c, weights, !weights.shared_classifier)) {
        gguf::WriteTensor t{s.name, {s.cols}, gguf::type_f32, nullptr};
        if (s.vector) {
            t.data = *s.vector;
            tensors.push_back(std::move(t));
            continue;
        }
        const Matrix& m = *s.matrix;
        if (m.type == WeightType::AQLM || m.type == WeightType::AQLM_WIDE) {
            add_aqlm(tensors, aqlm, s.name, m);
            continue;
        }
        t.shape.push_back(s.rows);
        const std::optional<WeightType>& asked =
            s.matrix == &weights.token_embedding ? o.embedding_type
            : s.matrix == &weights.classifier    ? o.output_type
                                                 : std::optional<WeightType>();
        if (asked && *asked != WeightType::F32 && *asked != WeightType::Q8_0) {
            // Another type through its quantizer (ggml's block layout, host order).
            const WeightTypeInfo& type = type_info(*asked);
            if (!type.quantize_row || type.gguf_id == no_gguf_type)
                throw Error(s.name + ": llamaport cannot write " + type.name + " tensors");
            const size_t row_bytes = type.row_bytes(m.cols, 0);
            if (row_bytes != 0) {
                std::vector<uint8_t>& out = byte_copies.emplace_back(m.rows * row_bytes);
                std::vector<float> row(m.cols);
                for (size_t r = 0; r < m.rows; r++) {
                    m.row_to_f32(r, row.data());
                    type.quantize_row(out.data() + r * row_bytes, row.data(), m.cols);
                }
                t.type = type.gguf_id;
                t.data = out.data();
                tensors.push_back(std::move(t));
                continue;
            }
            if (f32_fallbacks) f32_fallbacks->push_back(s.name);
        }
        const bool q8_here = asked ? *asked == WeightType::Q8_0 : q8;
        const bool quantize = q8_here && m.cols % gguf::q8_0_block_values == 0;
        if (q8_here && !quantize && f32_fallbacks) f32_fallbacks->push_back(s.name);
        if (m.type == WeightType::F32 && !quantize) {
            t.data = m.data;
        } else if (!quantize) {
            std::vector<float>& copy = f32_copies.emplace_back(m.rows * m.cols);
            for (size_t r = 0; r < m.rows; r++) m.row_to_f32(r, copy.data() + r * m.cols);
            t.data = copy.data();
        } else if (m.type == WeightType::Q8_0) {
            t.type = gguf::type_q8_0;  // its blocks as they are
            t.data = m.data;
        } else {
            // ggml's reference quantizer, as llama-quantize writes Q8_0.
            const size_t row_bytes = weight_row_bytes(WeightType::Q8_0, m.cols);
            std::vector<gguf::Q8Block>& blocks =
                q8_copies.emplace_back(m.rows * (row_bytes / sizeof(gguf::Q8Block)));
            std::vector<float> row(m.cols);
            for (size_t r = 0; r < m.rows; r++) {
                m.row_to_f32(r, row.data());
                types::q8_0_quantize_weights(reinterpret_cast<uint8_t*>(blocks.data()) + r * row_bytes,
                                             row.data(), m.cols);
            }
            t.type = gguf::type_q8_0;
            t.data = blocks.data();
        }
        tensors.push_back(std::move(t));
    }
    if (!aqlm.matrices.empty()) {
        const AqlmShape& a = aqlm.matrices.front().shape;
        kv.emplace_back("aqlm.codebooks", Value::u32(uint32_t(a.codebooks)));
        kv.emplace_back("aqlm.bits", Value::u32(uint32_t(a.bits)));
        kv.emplace_back("aqlm.group_size", Value::u32(uint32_t(a.group_size)));
    }
    return gguf::write_gguf(kv, tensors, o.big_endian ? ByteOrder::Big : ByteOrder::Little);
}

std::vector<std::pair<std::string, Matrix*>> gguf_layer_matrices(Model& model) {
    std::vector<std::pair<std::string, Matrix*>> out;
    for (const Slot& s : llama_slots(model.config, model.weights, false))
        if (s.matrix && s.name.compare(0, 4, "blk.") == 0) out.emplace_back(s.name, s.matrix);
    return out;
}

}  // namespace llamaport

namespace llamaport {
namespace {

// llama.cpp's general.file_type for files mostly of one type (llama_ftype; 0 when unknown).
uint32_t ftype_of(WeightType t) {
    switch (type_info(t).gguf_id) {
        case 0: return 0;   // all F32
        case 1: return 1;   // mostly F16
        case 2: return 2;   // mostly Q4_0
        case 3: return 3;   // mostly Q4_1
        case 6: return 8;   // mostly Q5_0
        case 7: return 9;   // mostly Q5_1
        case 8: return 7;   // mostly Q8_0
        case 10: return 10; // mostly Q2_K
        case 11: return 11; // mostly Q3_K (llama.cpp's Q3_K_S: every matrix Q3_K)
        case 12: return 14; // mostly Q4_K (Q4_K_S)
        case 13: return 16; // mostly Q5_K (Q5_K_S)
        case 14: return 18; // mostly Q6_K
        case 20: return 25; // mostly IQ4_NL
        case 30: return 32; // mostly BF16
        default: return 0;
    }
}

// A vocabulary of `n` tokens llama.cpp accepts (unknown, BOS, EOS, the 256 byte tokens, then
// placeholder words), for models whose vocabulary only has to have the right size.
GgufWriteOptions placeholder_vocabulary(size_t n) {
    GgufWriteOptions o;
    o.pieces = {"<unk>", "\n<s>\n", "\n</s>\n"};
    for (int b = 0; b < 256 && o.pieces.size() < n; b++) {
        char piece[8];
        std::snprintf(piece, sizeof piece, "<0x%02X>", b);
        o.pieces.push_back(piece);
    }
    while (o.pieces.size() < n) o.pieces.push_back(" t" + std::to_string(o.pieces.size()));
    o.pieces.resize(n);
    for (size_t i = 0; i < n; i++) o.scores.push_back(-float(i));
    return o;
}

// Random blocks of a type: values uniform in +-range for the float types; for the others random
// bytes with every multi-byte field (the fp16 scales) a positive half near range / 64, so that
// weights come out at about the same magnitude.
void random_blocks(uint8_t* out, const WeightTypeInfo& type, size_t count, float range,
                   uint64_t& state) {
    const size_t bytes = type.block_bytes * count;
    if (type.type == WeightType::F32 || type.type == WeightType::F16 || type.type == WeightType::BF16) {
        for (size_t i = 0; i < count; i++) {
            const float v = (2.0f * random_f32(state) - 1.0f) * range;
            if (type.type == WeightType::F32) {
                std::memcpy(out + 4 * i, &v, 4);
            } else {
                const uint16_t h = type.type == WeightType::F16 ? fp32_to_fp16(v) : fp32_to_bf16(v);
                std::memcpy(out + 2 * i, &h, 2);
            }
        }
        return;
    }
    for (size_t i = 0; i < bytes; i += 4) {
        const uint32_t r = random_u32(state);
        std::memcpy(out + i, &r, std::min<size_t>(4, bytes - i));
    }
    for (size_t b = 0; b < count; b++)
        for (const BlockField& f : type.fields) {
            if (f.width != 2) continue;
            const uint16_t h = fp32_to_fp16(range / 64.0f * (0.5f + random_f32(state)));
            std::memcpy(out + b * type.block_bytes + f.offset, &h, 2);
        }
}

}  // namespace

void write_random_gguf(std::ostream& out, const Config& c, bool tied, const RandomGgufOptions& o,
                       const gguf::WriteProgress& progress) {
    validate_config(c, "random model");
    Weights weights;
    weights.layers.resize(size_t(c.n_layers));
    const std::vector<Slot> slots = llama_slots(c, weights, !tied);
    // What fills each tensor written without data: random blocks of a weight type, or an AQLM
    // matrix's random codes, random codebook entries in +-1, or its scales.
    struct Spec {
        enum Fill { blocks, codes, codebook, constant } fill;
        const WeightTypeInfo* type;  // blocks
        float value;                 // blocks: the weights' range; constant: the value
    };
    std::vector<gguf::WriteTensor> tensors;
    std::vector<Spec> specs;
    std::vector<float> ones(size_t(c.dim), 1.0f);
    const bool aqlm = o.matrix_type == WeightType::AQLM || o.matrix_type == WeightType::AQLM_WIDE;
    if (aqlm && (o.aqlm.codebooks < 1 || o.aqlm.bits < 1 || o.aqlm.bits > 16 || o.aqlm.group_size < 1))
        throw Error("random model: AQLM needs codebooks, bits (1..16) and a group size");
    if (!c.rope_freq_factors.empty()) {
        tensors.push_back({"rope_freqs.weight", {c.rope_freq_factors.size()}, gguf::type_f32,
                           c.rope_freq_factors.data()});
        specs.push_back({Spec::constant, nullptr, 0});
    }
    for (const Slot& s : slots) {
        if (s.vector) {
            tensors.push_back({s.name, {s.cols}, gguf::type_f32, ones.data()});
            specs.push_back({Spec::constant, nullptr, 1});
            continue;
        }
        const WeightType t = s.matrix == &weights.token_embedding ? o.embedding_type
                             : s.matrix == &weights.classifier     ? o.output_type
                                                                   : o.matrix_type;
        const float range = 1.0f / std::sqrt(float(s.cols));
        if (t == WeightType::AQLM || t == WeightType::AQLM_WIDE) {
            if (s.matrix == &weights.token_embedding || s.matrix == &weights.classifier)
                throw Error("random model: the embedding and classifier cannot be AQLM");
            const AqlmShape& a = o.aqlm;
            const size_t groups = (s.cols + a.group_size - 1) / a.group_size;
            tensors.push_back({s.name + ".codes", {a.codebooks, groups, s.rows},
                               a.bits <= 8 ? gguf::type_i8 : gguf::type_i16, nullptr});
            specs.push_back({Spec::codes, nullptr, float(a.bits)});
            tensors.push_back({s.name + ".codebooks", {a.group_size, a.entries(), a.codebooks},
                               gguf::type_f16, nullptr});
            specs.push_back({Spec::codebook, nullptr, 1});
            // A sum of M entries uniform in +-1 spreads as sqrt(M / 3); the weights as +-range.
            tensors.push_back({s.name + ".scales", {s.rows}, gguf::type_f32, nullptr});
            specs.push_back({Spec::constant, nullptr, range / std::sqrt(float(a.codebooks))});
            continue;
        }
        const WeightTypeInfo& type = type_info(t);
        if (type.gguf_id == no_gguf_type)
            throw Error(std::string("random model: ") + type.name + " has no GGUF type");
        if (type.row_bytes(s.cols, 0) == 0)
            throw Error("random model: " + s.name + " has rows of " + std::to_string(s.cols) +
                        " values, not whole " + type.name + " blocks of " +
                        std::to_string(type.block_values));
        tensors.push_back({s.name, {s.cols, s.rows}, type.gguf_id, nullptr});
        specs.push_back({Spec::blocks, &type, range});
    }
    GgufWriteOptions vocab = placeholder_vocabulary(size_t(c.vocab_size));
    vocab.name = "random";
    Model model;
    model.config = c;
    auto kv = llama_metadata(model, c, vocab, aqlm ? 0 : ftype_of(o.matrix_type));
    if (aqlm) {
        kv.emplace_back("aqlm.codebooks", Value::u32(uint32_t(o.aqlm.codebooks)));
        kv.emplace_back("aqlm.bits", Value::u32(uint32_t(o.aqlm.bits)));
        kv.emplace_back("aqlm.group_size", Value::u32(uint32_t(o.aqlm.group_size)));
    }
    gguf::write_gguf_to(
        out, kv, tensors, o.big_endian ? ByteOrder::Big : ByteOrder::Little,
        [&](size_t tensor, uint8_t* data, size_t first, size_t count) {
            // Seeded by tensor and position, so any chunking gives the same file.
            uint64_t state = o.seed * 0x9E3779B97F4A7C15ull + tensor * 0x100000001B3ull + first + 1;
            const Spec& spec = specs[tensor];
            switch (spec.fill) {
                case Spec::blocks: random_blocks(data, *spec.type, count, spec.value, state); break;
                case Spec::codes:
                    for (size_t i = 0; i < count; i++) {
                        const uint16_t code = uint16_t(random_u32(state) & ((1u << int(spec.value)) - 1));
                        if (spec.value <= 8)
                            data[i] = uint8_t(code);
                        else
                            std::memcpy(data + 2 * i, &code, 2);
                    }
                    break;
                case Spec::codebook:
                    for (size_t i = 0; i < count; i++) {
                        const uint16_t h = fp32_to_fp16(2.0f * random_f32(state) - 1.0f);
                        std::memcpy(data + 2 * i, &h, 2);
                    }
                    break;
                case Spec::constant:
                    for (size_t i = 0; i < count; i++) std::memcpy(data + 4 * i, &spec.value, 4);
                    break;
            }
        },
        progress);
}

}  // namespace llamaport

namespace llamaport {

// For the Hugging Face importer (src/import/), which streams its tensors itself.
std::vector<std::pair<std::string, gguf::Value>> gguf_llama_metadata(const Model& model,
                                                                     const GgufWriteOptions& o,
                                                                     WeightType matrix_type) {
    return llama_metadata(model, model.config, o, ftype_of(matrix_type));
}

}  // namespace llamaport
