// Hugging Face LlamaForCausalLM directories to GGUF, streamed tensor by tensor (see
// hf_import.hpp). The tensor names and order, the q/k row permutation and Llama 3.1's rope
// factors follow llama.cpp's convert_hf_to_gguf.py, so a dense import matches its files.
#include "llamaport/hf_import.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>

#include "import/safetensors.hpp"
#include "json.hpp"
#include "llamaport/error.hpp"
#include "llamaport/gguf.hpp"
#include "llamaport/tokenizer.hpp"
#include "loader/formats.hpp"
#include "loader/gguf.hpp"
#include "types/types.hpp"

namespace llamaport {
namespace {

namespace fs = std::filesystem;
using gguf::Value;
using safetensors::DType;
using safetensors::Tensor;

std::string read_text(const std::string& path) {
    const std::unique_ptr<Blob> blob = open_file(path);
    return std::string(reinterpret_cast<const char*>(blob->data()), blob->size());
}

// ---- config.json ------------------------------------------------------------------------------

// Typed access to a JSON object's members, with messages naming the file and key. A member that
// is JSON null counts as absent (config.json writes "head_dim": null and the like).
class Fields {
public:
    Fields(const json::Value& object, std::string file, std::string prefix = "")
        : v_(object), file_(std::move(file)), prefix_(std::move(prefix)) {}

    const json::Value* find(const std::string& key) const {
        const json::Value* v = v_.find(key);
        return v && !v->is_null() ? v : nullptr;
    }
    [[noreturn]] void fail(const std::string& key, const std::string& problem) const {
        throw Error(file_ + ": '" + prefix_ + key + "' " + problem);
    }
    const json::Value& require(const std::string& key) const {
        const json::Value* v = find(key);
        if (!v) throw Error(file_ + ": missing key '" + prefix_ + key + "'");
        return *v;
    }
    // A whole number in [min, max].
    int64_t integer(const std::string& key, int64_t min, int64_t max) const {
        return whole(require(key), key, min, max);
    }
    int64_t integer_or(const std::string& key, int64_t fallback, int64_t min, int64_t max) const {
        const json::Value* v = find(key);
        return v ? whole(*v, key, min, max) : fallback;
    }
    double real_or(const std::string& key, double fallback) const {
        const json::Value* v = find(key);
        if (!v) return fallback;
        if (!v->is_number())
            fail(key, std::string("is ") + json::type_name(v->type) + ", expected a number");
        return v->number;
    }
    bool boolean_or(const std::string& key, bool fallback) const {
        const json::Value* v = find(key);
        if (!v) return fallback;
        if (v->type != json::Type::Bool)
            fail(key, std::string("is ") + json::type_name(v->type) + ", expected true or false");
        return v->boolean;
    }
    std::string string_or(const std::string& key, const std::string& fallback) const {
        const json::Value* v = find(key);
        if (!v) return fallback;
        if (!v->is_string())
            fail(key, std::string("is ") + json::type_name(v->type) + ", expected a string");
        return v->string;
    }
    int64_t whole(const json::Value& v, const std::string& key, int64_t min, int64_t max) const {
        if (!v.is_integer)
            fail(key, std::string("is ") +
                          (v.is_number() ? "not a whole number" : json::type_name(v.type)) +
                          ", expected a whole number");
        if (v.integer < min || v.integer > max)
            fail(key, "= " + std::to_string(v.integer) + " is out of range (" +
                          std::to_string(min) + ".." + std::to_string(max) + ")");
        return v.integer;
    }

private:
    const json::Value& v_;
    std::string file_, prefix_;
};

struct AqlmParams {
    size_t bits = 0, codebooks = 0, in_group = 0, out_group = 0;
    std::string text() const {
        std::string s = "aqlm " + std::to_string(codebooks) + "x" + std::to_string(bits) + " g" +
                        std::to_string(in_group);
        return out_group > 1 ? s + " og" + std::to_string(out_group) : s;
    }
};

struct RopeScaling {
    double factor = 8, low_freq_factor = 1, high_freq_factor = 4, original_context = 8192;
};

struct HfConfig {
    Config c;
    bool tied = false;
    int bos = -1, eos = -1;
    std::optional<RopeScaling> llama3_rope;
    std::optional<AqlmParams> aqlm;
};

constexpr int64_t max_int = 0x7FFFFFFF;

// The first id of an int or a list of ints (Llama 3.1 Instruct lists three EOS ids).
int token_id(const Fields& f, const std::string& key) {
    const json::Value* v = f.find(key);
    if (!v) return -1;
    if (v->is_array()) {
        if (v->array.empty()) return -1;
        return int(f.whole(v->array[0], key, 0, max_int));
    }
    return int(f.whole(*v, key, 0, max_int));
}

HfConfig read_config(const std::string& dir) {
    const std::string file = (fs::path(dir) / "config.json").string();
    const json::Value root = json::parse(read_text(file), file);
    if (!root.is_object()) throw Error(file + ": not a JSON object");
    const Fields f(root, file);
    HfConfig h;
    const std::string model_type = f.string_or("model_type", "llama");
    bool llama_architecture = model_type == "llama";
    if (const json::Value* arch = f.find("architectures"); arch && arch->is_array())
        for (const json::Value& a : arch->array)
            llama_architecture = llama_architecture || a.string == "LlamaForCausalLM";
    if (!llama_architecture)
        throw Error(file + ": model_type '" + model_type + "' is not llama (LlamaForCausalLM)");
    Config& c = h.c;
    c.dim = int(f.integer("hidden_size", 1, max_int));
    c.hidden_dim = int(f.integer("intermediate_size", 1, max_int));
    c.n_layers = int(f.integer("num_hidden_layers", 1, 65536));
    c.n_heads = int(f.integer("num_attention_heads", 1, 65536));
    c.n_kv_heads = int(f.integer_or("num_key_value_heads", c.n_heads, 1, c.n_heads));
    c.vocab_size = int(f.integer("vocab_size", 1, max_int));
    c.seq_len = int(f.integer_or("max_position_embeddings", 2048, 1, max_int));
    c.norm_eps = float(f.real_or("rms_norm_eps", 1e-6));  // transformers' LlamaConfig default
    c.rope_theta = float(f.real_or("rope_theta", 10000.0));
    const int head_dim = int(f.integer_or("head_dim", c.dim / c.n_heads, 2, 65536));
    if (head_dim != c.dim / c.n_heads || c.dim % c.n_heads != 0) c.head_dim = head_dim;
    if (head_dim % 2 != 0)
        throw Error(file + ": 'head_dim' = " + std::to_string(head_dim) + " is odd");
    h.tied = f.boolean_or("tie_word_embeddings", false);
    h.bos = token_id(f, "bos_token_id");
    h.eos = token_id(f, "eos_token_id");
    if (f.string_or("hidden_act", "silu") != "silu")
        throw Error(file + ": hidden_act '" + f.string_or("hidden_act", "") + "' is not silu");
    if (f.boolean_or("attention_bias", false) || f.boolean_or("mlp_bias", false))
        throw Error(file + ": attention_bias / mlp_bias are not supported (llama has none)");

    if (const json::Value* rs = f.find("rope_scaling")) {
        if (!rs->is_object()) f.fail("rope_scaling", "is not an object");
        const Fields r(*rs, file, "rope_scaling.");
        const std::string type = r.string_or("rope_type", r.string_or("type", ""));
        if (type != "llama3")
            throw Error(file + ": rope_scaling type '" + type + "' is not supported (only llama3)");
        RopeScaling s;
        s.factor = r.real_or("factor", s.factor);
        s.low_freq_factor = r.real_or("low_freq_factor", s.low_freq_factor);
        s.high_freq_factor = r.real_or("high_freq_factor", s.high_freq_factor);
        s.original_context = double(f.integer_or(
            "original_max_position_embeddings",
            r.integer_or("original_max_position_embeddings", 8192, 1, max_int), 1, max_int));
        if (!(s.factor > 0) || !(s.low_freq_factor > 0) ||
            !(s.high_freq_factor > s.low_freq_factor))
            throw Error(
                file +
                ": rope_scaling factors must be positive with high_freq_factor > low_freq_factor");
        h.llama3_rope = s;
    }

    if (const json::Value* q = f.find("quantization_config")) {
        if (!q->is_object()) f.fail("quantization_config", "is not an object");
        const Fields qf(*q, file, "quantization_config.");
        const std::string method = qf.string_or("quant_method", "");
        if (method != "aqlm")
            throw Error(file + ": quantization method '" + method +
                        "' is not supported (plain or aqlm)");
        AqlmParams a;
        a.bits = size_t(qf.integer("nbits_per_codebook", 1, 16));
        a.codebooks = size_t(qf.integer("num_codebooks", 1, 16));
        a.in_group = size_t(qf.integer("in_group_size", 1, 1024));
        a.out_group = size_t(qf.integer("out_group_size", 1, 1024));
        h.aqlm = a;
    }
    validate_config(c, file);
    return h;
}

// Llama 3.1's rope factors as convert_hf_to_gguf.py computes them: in float32, as its torch
// tensors are (the Python scalars meet them as float32).
std::vector<float> llama3_rope_factors(const RopeScaling& s, int head_size, float theta) {
    const float pi2 = float(2 * 3.14159265358979323846);
    const float low_wavelength = float(s.original_context / s.low_freq_factor);
    const float high_wavelength = float(s.original_context / s.high_freq_factor);
    std::vector<float> out;
    for (int i = 0; i < head_size; i += 2) {
        const float freq = 1.0f / std::pow(theta, float(i) / float(head_size));
        const float wavelength = pi2 / freq;
        if (wavelength < high_wavelength) {
            out.push_back(1.0f);
        } else if (wavelength > low_wavelength) {
            out.push_back(float(s.factor));
        } else {
            const float smooth =
                (float(s.original_context) / wavelength - float(s.low_freq_factor)) /
                float(s.high_freq_factor - s.low_freq_factor);
            out.push_back(1.0f / ((1.0f - smooth) / float(s.factor) + smooth));
        }
    }
    return out;
}

// ---- the vocabulary ---------------------------------------------------------------------------

// llama.cpp's token types (llama_token_type).
constexpr int32_t type_normal = 1, type_control = 3, type_user_defined = 4, type_unused = 5;

// tokenizer.json's BPE vocabulary as llama.cpp's "gpt2" tokenizer keys (its get_vocab_base):
// ids past the vocabulary are "[PADn]" (unused); added tokens are control tokens when special or
// looking like "<|...|>", else user-defined (with SentencePiece's U+2581 as a space).
std::vector<std::pair<std::string, Value>> bpe_vocab(const std::string& dir, const HfConfig& h,
                                                     std::string& description) {
    const std::string file = (fs::path(dir) / "tokenizer.json").string();
    const json::Value root = json::parse(read_text(file), file);
    const Fields f(root, file);
    const json::Value& model = f.require("model");
    const Fields m(model, file, "model.");
    if (m.string_or("type", "BPE") != "BPE")
        throw Error(file + ": tokenizer model '" + m.string_or("type", "") + "' is not BPE");
    const json::Value& vocab = m.require("vocab");
    if (!vocab.is_object()) m.fail("vocab", "is not an object");
    const size_t n = size_t(h.c.vocab_size);
    std::vector<std::string> tokens(n);
    std::vector<int32_t> types(n, type_unused);
    std::vector<bool> present(n, false);
    auto place = [&](const std::string& token, const json::Value& id, const std::string& where,
                     int32_t type) {
        const int64_t i = f.whole(id, where, 0, int64_t(n) - 1);
        tokens[size_t(i)] = token;
        types[size_t(i)] = type;
        present[size_t(i)] = true;
    };
    for (const auto& [token, id] : vocab.object) place(token, id, "model.vocab", type_normal);
    if (const json::Value* added = f.find("added_tokens")) {
        if (!added->is_array()) f.fail("added_tokens", "is not an array");
        for (const json::Value& a : added->array) {
            const Fields af(a, file, "added_tokens[].");
            std::string content = af.require("content").string;
            const bool special = af.boolean_or("special", false) ||
                                 (content.size() >= 4 && content.compare(0, 2, "<|") == 0 &&
                                  content.compare(content.size() - 2, 2, "|>") == 0);
            if (!special)
                for (size_t at = content.find("\xE2\x96\x81"); at != std::string::npos;
                     at = content.find("\xE2\x96\x81", at))
                    content.replace(at, 3, " ");
            place(content, af.require("id"), "added_tokens[].id",
                  special ? type_control : type_user_defined);
        }
    }
    for (size_t i = 0; i < n; i++)
        if (!present[i]) tokens[i] = "[PAD" + std::to_string(i) + "]";

    std::vector<std::string> merges;
    if (const json::Value* ms = m.find("merges")) {
        if (!ms->is_array()) m.fail("merges", "is not an array");
        merges.reserve(ms->array.size());
        for (const json::Value& pair : ms->array) {
            if (pair.is_string()) {
                merges.push_back(pair.string);
            } else if (pair.is_array() && pair.array.size() == 2 && pair.array[0].is_string() &&
                       pair.array[1].is_string()) {
                merges.push_back(pair.array[0].string + " " +
                                 pair.array[1].string);  // the newer pair form
            } else {
                m.fail("merges", "holds something other than \"a b\" strings or [a, b] pairs");
            }
        }
    }
    description = "tokenizer.json (BPE, " + std::to_string(n) + " tokens, " +
                  std::to_string(merges.size()) + " merges)";

    std::vector<std::pair<std::string, Value>> kv;
    kv.emplace_back("tokenizer.ggml.model", Value::string("gpt2"));
    kv.emplace_back("tokenizer.ggml.pre", Value::string("llama-bpe"));
    kv.emplace_back("tokenizer.ggml.tokens", Value::string_array(std::move(tokens)));
    kv.emplace_back("tokenizer.ggml.token_type", Value::i32_array(types));
    kv.emplace_back("tokenizer.ggml.merges", Value::string_array(std::move(merges)));
    auto id_key = [&](const char* key, int id) {
        if (id < 0) return;
        if (size_t(id) >= n)
            throw Error((fs::path(dir) / "config.json").string() + ": " + key + " " +
                        std::to_string(id) + " is past the vocabulary");
        kv.emplace_back(key, Value::u32(uint32_t(id)));
    };
    id_key("tokenizer.ggml.bos_token_id", h.bos);
    id_key("tokenizer.ggml.eos_token_id", h.eos);

    const std::string config_file = (fs::path(dir) / "tokenizer_config.json").string();
    std::error_code ec;
    if (fs::exists(config_file, ec)) {
        const json::Value tc = json::parse(read_text(config_file), config_file);
        const Fields t(tc, config_file);
        if (t.find("add_bos_token"))
            kv.emplace_back("tokenizer.ggml.add_bos_token",
                            Value::boolean(t.boolean_or("add_bos_token", false)));
        if (const json::Value* tmpl = t.find("chat_template")) {
            std::string text;
            if (tmpl->is_string()) {
                text = tmpl->string;
            } else if (tmpl->is_array()) {  // named templates: the default one
                for (const json::Value& named : tmpl->array)
                    if (const json::Value* name = named.find("name");
                        name && name->string == "default")
                        if (const json::Value* tx = named.find("template"); tx && tx->is_string())
                            text = tx->string;
            } else {
                t.fail("chat_template", "is neither a string nor a list of named templates");
            }
            if (!text.empty()) kv.emplace_back("tokenizer.chat_template", Value::string(text));
        }
    }
    return kv;
}

// ---- tensors ----------------------------------------------------------------------------------

// One GGUF tensor to write and how to fill its blocks.
struct Output {
    gguf::WriteTensor tensor;
    std::function<void(uint8_t* out, size_t first_block, size_t count)> fill;
};

// Source row of GGUF row r for q_proj / k_proj with `heads` heads: Hugging Face keeps each head's
// rotation pairs as two halves, GGUF (llama.cpp's permute) interleaves them.
size_t unpermuted_row(size_t r, size_t rows, size_t heads) {
    if (heads == 0) return r;
    const size_t head_size = rows / heads, half = head_size / 2;
    const size_t head = r / head_size, within = r % head_size;
    return head * head_size + (within % 2) * half + within / 2;
}

// Writes n floats (whole blocks) as a dense type, in host order, by the weight table's quantizer.
void encode(WeightType type, const float* x, size_t n, uint8_t* out) {
    if (type == WeightType::F32)
        std::memcpy(out, x, n * 4);
    else
        type_info(type).quantize_row(out, x, n);
}

using RowSource = std::function<void(size_t row, float* out)>;

// A rows x cols matrix of `type` whose row r is source row unpermuted_row(r).
Output dense_output(const std::string& name, size_t rows, size_t cols, WeightType type,
                    size_t heads, RowSource source) {
    const WeightTypeInfo& info = type_info(type);
    Output o;
    o.tensor = {name, {cols, rows}, info.gguf_id, nullptr};
    const size_t bv = info.block_values;
    o.fill = [=](uint8_t* out, size_t first, size_t count) {
        std::vector<float> row(cols), values(count * bv);
        size_t cached = SIZE_MAX;
        for (size_t k = 0; k < count; k++) {
            const size_t e = (first + k) * bv, r = e / cols;
            if (r != cached) {
                source(unpermuted_row(r, rows, heads), row.data());
                cached = r;
            }
            std::memcpy(&values[k * bv], &row[e % cols], bv * sizeof(float));
        }
        encode(type, values.data(), values.size(), out);
    };
    return o;
}

RowSource tensor_rows(const Tensor& t, size_t cols) {
    return [&t, cols](size_t r, float* out) {
        for (size_t j = 0; j < cols; j++) out[j] = t.f32(r * cols + j);
    };
}

// A norm or the rope factors: F32.
Output vector_output(const std::string& name, std::vector<float> values) {
    auto shared = std::make_shared<std::vector<float>>(std::move(values));
    Output o;
    o.tensor = {name, {shared->size()}, gguf::type_f32, nullptr};
    o.fill = [shared](uint8_t* out, size_t first, size_t count) {
        std::memcpy(out, shared->data() + first, count * sizeof(float));
    };
    return o;
}

class Importer {
public:
    Importer(const std::string& dir, const HfImportOptions& o)
        : dir_(dir), o_(o), h_(read_config(dir)), ck_(dir) {}

    HfImportSummary run(std::ostream& out);

private:
    const Tensor& require(const std::string& name) const { return ck_.require(name); }
    void expect_shape(const Tensor& t, const std::vector<uint64_t>& shape) const {
        if (t.shape != shape) {
            safetensors::Tensor want;
            want.shape = shape;
            throw Error(t.file + ": tensor '" + t.name + "' has shape " + t.shape_text() +
                        ", expected " + want.shape_text());
        }
    }
    void expect_float(const Tensor& t) const {
        if (!t.is_float())
            throw Error(t.file + ": tensor '" + t.name + "' has dtype " +
                        safetensors::dtype_name(t.dtype) + ", expected a float type");
    }
    WeightType dense_type(WeightType wanted, size_t cols, const std::string& name) {
        if (cols % type_info(wanted).block_values != 0) {
            note(name + ": rows of " + std::to_string(cols) + " values are not whole " +
                 weight_type_name(wanted) + " blocks; written as f16");
            return WeightType::F16;
        }
        return wanted;
    }
    void note(const std::string& text) const {
        if (o_.note) o_.note(text);
    }
    void add_norm(const std::string& hf, const std::string& gguf_name);
    void add_dense(const std::string& hf, const std::string& gguf_name, size_t rows, size_t cols,
                   WeightType type, size_t heads);
    void add_linear(const std::string& hf_prefix, const std::string& gguf_name, size_t rows,
                    size_t cols, size_t heads);
    void add_aqlm_native(const std::string& hf_prefix, const std::string& gguf_name, size_t rows,
                         size_t cols, size_t heads);
    void add_aqlm_dense(const std::string& hf_prefix, const std::string& gguf_name, size_t rows,
                        size_t cols, size_t heads);

    std::string dir_;
    const HfImportOptions& o_;
    HfConfig h_;
    safetensors::Checkpoint ck_;
    std::vector<Output> outputs_;
    bool wrote_aqlm_ = false, decoded_aqlm_ = false;
};

void Importer::add_norm(const std::string& hf, const std::string& gguf_name) {
    const Tensor& t = require(hf);
    expect_shape(t, {uint64_t(h_.c.dim)});
    expect_float(t);
    std::vector<float> v(t.elements);
    for (size_t i = 0; i < v.size(); i++) v[i] = t.f32(i);
    outputs_.push_back(vector_output(gguf_name, std::move(v)));
}

void Importer::add_dense(const std::string& hf, const std::string& gguf_name, size_t rows,
                         size_t cols, WeightType type, size_t heads) {
    const Tensor& t = require(hf);
    expect_shape(t, {rows, cols});
    expect_float(t);
    outputs_.push_back(dense_output(gguf_name, rows, cols, dense_type(type, cols, gguf_name), heads,
                                    tensor_rows(t, cols)));
}

// A layer matrix: dense (<prefix>.weight) or AQLM (<prefix>.codes, .codebooks, .scales).
void Importer::add_linear(const std::string& hf_prefix, const std::string& gguf_name, size_t rows,
                          size_t cols, size_t heads) {
    if (ck_.find(hf_prefix + ".weight") || !h_.aqlm)
        return add_dense(hf_prefix + ".weight", gguf_name, rows, cols, o_.type, heads);
    if (h_.aqlm->out_group == 1) return add_aqlm_native(hf_prefix, gguf_name, rows, cols, heads);
    add_aqlm_dense(hf_prefix, gguf_name, rows, cols, heads);
}

// The three AQLM tensors of one matrix, checked against the configuration: codes
// [rows / og, cols / ig, M] of int8 (bits <= 8) or int16, codebooks [M, 2^B, og, ig], scales
// [rows / og, 1, 1, 1].
struct AqlmTensors {
    const Tensor *codes, *codebooks, *scales;
};

AqlmTensors aqlm_tensors(const safetensors::Checkpoint& ck, const std::string& prefix,
                         const AqlmParams& a, size_t rows, size_t cols) {
    AqlmTensors t{&ck.require(prefix + ".codes"), &ck.require(prefix + ".codebooks"),
                  &ck.require(prefix + ".scales")};
    auto fail = [](const Tensor& x, const std::string& problem) {
        throw Error(x.file + ": tensor '" + x.name + "' " + problem);
    };
    if (rows % a.out_group || cols % a.in_group)
        fail(*t.codes, "belongs to a " + std::to_string(rows) + " x " + std::to_string(cols) +
                           " matrix, not whole groups of " + std::to_string(a.out_group) + " x " +
                           std::to_string(a.in_group));
    const std::vector<uint64_t> codes_shape = {rows / a.out_group, cols / a.in_group, a.codebooks};
    const std::vector<uint64_t> codebooks_shape = {a.codebooks, uint64_t(1) << a.bits, a.out_group,
                                                   a.in_group};
    const std::vector<uint64_t> scales_shape = {rows / a.out_group, 1, 1, 1};
    auto shape_text = [](const std::vector<uint64_t>& s) {
        Tensor x;
        x.shape = s;
        return x.shape_text();
    };
    const std::pair<const Tensor*, const std::vector<uint64_t>*> checks[] = {
        {t.codes, &codes_shape}, {t.codebooks, &codebooks_shape}, {t.scales, &scales_shape}};
    for (const auto& [x, shape] : checks)
        if (x->shape != *shape)
            fail(*x, "has shape " + x->shape_text() + ", expected " + shape_text(*shape) + " (" +
                         a.text() + ")");
    const DType code_type = a.bits <= 8 ? DType::I8 : DType::I16;
    if (t.codes->dtype != code_type)
        fail(*t.codes, std::string("has dtype ") + safetensors::dtype_name(t.codes->dtype) + "; " +
                           std::to_string(a.bits) + "-bit codes are " +
                           safetensors::dtype_name(code_type));
    for (const Tensor* x : {t.codebooks, t.scales})
        if (!x->is_float())
            fail(*x, std::string("has dtype ") + safetensors::dtype_name(x->dtype) +
                         ", expected a float type");
    return t;
}

// Out-group size 1 is llamaport's own AQLM layout: codes [rows][groups][M] as they are (their bit
// pattern masked to B bits, as the reference reads them: value mod 2^B), codebooks [M][2^B][g],
// scales [rows]; q/k rows permuted in codes and scales alike.
void Importer::add_aqlm_native(const std::string& prefix, const std::string& gguf_name, size_t rows,
                               size_t cols, size_t heads) {
    const AqlmParams& a = *h_.aqlm;
    const AqlmTensors t = aqlm_tensors(ck_, prefix, a, rows, cols);
    const size_t per_row = cols / a.in_group * a.codebooks;
    const uint16_t mask = uint16_t((uint32_t(1) << a.bits) - 1);
    const bool narrow = a.bits <= 8;
    Output codes;
    codes.tensor = {gguf_name + ".codes",
                    {a.codebooks, cols / a.in_group, rows},
                    narrow ? gguf::type_i8 : gguf::type_i16,
                    nullptr};
    const Tensor* c = t.codes;
    codes.fill = [=](uint8_t* out, size_t first, size_t count) {
        for (size_t k = 0; k < count; k++) {
            const size_t e = first + k, r = e / per_row;
            const size_t src = unpermuted_row(r, rows, heads) * per_row + e % per_row;
            const uint16_t code = uint16_t(uint64_t(c->integer(src)) & mask);
            if (narrow)
                out[k] = uint8_t(code);
            else
                std::memcpy(out + 2 * k, &code, 2);
        }
    };
    outputs_.push_back(std::move(codes));

    // fp16 codebooks and scales keep their bits; other float types go as F32.
    auto floats = [](const Tensor* x, const std::string& name, std::vector<uint64_t> shape,
                     size_t rows, size_t heads) {
        const bool half = x->dtype == DType::F16;
        Output o;
        o.tensor = {name, std::move(shape), half ? gguf::type_f16 : gguf::type_f32, nullptr};
        o.fill = [=](uint8_t* out, size_t first, size_t count) {
            for (size_t k = 0; k < count; k++) {
                const size_t e = first + k;
                const size_t src = heads ? unpermuted_row(e, rows, heads) : e;
                if (half) {
                    std::memcpy(out + 2 * k, x->data + 2 * src, 2);
                    const uint16_t h = read_u16(out + 2 * k, ByteOrder::Little);
                    std::memcpy(out + 2 * k, &h, 2);
                } else {
                    const float v = x->f32(src);
                    std::memcpy(out + 4 * k, &v, 4);
                }
            }
        };
        return o;
    };
    outputs_.push_back(floats(t.codebooks, gguf_name + ".codebooks",
                              {a.in_group, uint64_t(1) << a.bits, a.codebooks}, 0, 0));
    outputs_.push_back(floats(t.scales, gguf_name + ".scales", {rows}, rows, heads));
    wrote_aqlm_ = true;
}

// Out-group sizes above 1 have no AQLM layout in llamaport: the matrix is decoded by the
// reference formula, W[o][i] = scales[o / og] * sum_m codebooks[m][codes[o / og][i / ig][m]][o %
// og][i % ig] (summed in fp32, m ascending, then scaled), and written dense.
void Importer::add_aqlm_dense(const std::string& prefix, const std::string& gguf_name, size_t rows,
                              size_t cols, size_t heads) {
    const AqlmParams a = *h_.aqlm;
    const AqlmTensors t = aqlm_tensors(ck_, prefix, a, rows, cols);
    const size_t groups = cols / a.in_group;
    const uint64_t mask = (uint64_t(1) << a.bits) - 1;
    RowSource decode = [a, t, groups, mask](size_t r, float* out) {
        const size_t out_group = r / a.out_group, within = r % a.out_group;
        const float scale = t.scales->f32(out_group);
        for (size_t g = 0; g < groups; g++) {
            for (size_t j = 0; j < a.in_group; j++) out[g * a.in_group + j] = 0.0f;
            for (size_t m = 0; m < a.codebooks; m++) {
                const uint64_t code =
                    uint64_t(t.codes->integer((out_group * groups + g) * a.codebooks + m)) & mask;
                const size_t base = ((m * (mask + 1) + code) * a.out_group + within) * a.in_group;
                for (size_t j = 0; j < a.in_group; j++)
                    out[g * a.in_group + j] += t.codebooks->f32(base + j);
            }
            for (size_t j = 0; j < a.in_group; j++) out[g * a.in_group + j] *= scale;
        }
    };
    outputs_.push_back(dense_output(gguf_name, rows, cols, dense_type(o_.type, cols, gguf_name),
                                    heads, std::move(decode)));
    decoded_aqlm_ = true;
}

HfImportSummary Importer::run(std::ostream& out) {
    Config& c = h_.c;
    HfImportSummary summary;
    if (h_.llama3_rope)
        c.rope_freq_factors = llama3_rope_factors(*h_.llama3_rope, c.head_size(), c.rope_theta);

    // The vocabulary first: a bad tokenizer fails before any tensor work.
    Model model;
    model.config = c;
    model.path = dir_;
    GgufWriteOptions vocab;
    vocab.name = fs::path(dir_).filename().string();
    if (vocab.name.empty()) vocab.name = fs::path(dir_).parent_path().filename().string();
    std::vector<std::pair<std::string, Value>> bpe;
    const std::string tokenizer_json = (fs::path(dir_) / "tokenizer.json").string();
    std::error_code ec;
    if (!o_.llama2c_tokenizer.empty()) {
        const Tokenizer tok = Tokenizer::from_file(o_.llama2c_tokenizer, c.vocab_size);
        vocab.pieces = tok.pieces();
        vocab.scores = tok.scores();
        vocab.bos_id = tok.bos_id();
        vocab.eos_id = tok.eos_id();
        summary.tokenizer = "llama2.c " + o_.llama2c_tokenizer;
    } else if (fs::exists(tokenizer_json, ec)) {
        bpe = bpe_vocab(dir_, h_, summary.tokenizer);
        // Placeholder pieces for the shared metadata writer; its tokenizer keys are replaced.
        vocab.pieces.assign(size_t(c.vocab_size), "");
        vocab.scores.assign(size_t(c.vocab_size), 0.0f);
        vocab.bos_id = vocab.eos_id = 0;
    } else {
        throw Error(dir_ + ": no tokenizer.json (give a llama2.c tokenizer with -z)");
    }

    const size_t dim = size_t(c.dim), hidden = size_t(c.hidden_dim), vocab_n = size_t(c.vocab_size);
    const size_t q_rows = size_t(c.q_dim()), kv_rows = size_t(c.kv_dim());
    if (c.rope_freq_factors.size())
        outputs_.push_back(vector_output("rope_freqs.weight", c.rope_freq_factors));
    add_dense("model.embed_tokens.weight", "token_embd.weight", vocab_n, dim,
              o_.embedding_type.value_or(o_.type), 0);
    add_norm("model.norm.weight", "output_norm.weight");
    if (!h_.tied)
        add_dense("lm_head.weight", "output.weight", vocab_n, dim, o_.output_type.value_or(o_.type),
                  0);
    for (int l = 0; l < c.n_layers; l++) {
        const std::string hf = "model.layers." + std::to_string(l) + ".";
        const std::string blk = "blk." + std::to_string(l) + ".";
        add_linear(hf + "self_attn.q_proj", blk + "attn_q.weight", q_rows, dim, size_t(c.n_heads));
        add_linear(hf + "self_attn.k_proj", blk + "attn_k.weight", kv_rows, dim,
                   size_t(c.n_kv_heads));
        add_linear(hf + "self_attn.v_proj", blk + "attn_v.weight", kv_rows, dim, 0);
        add_linear(hf + "self_attn.o_proj", blk + "attn_output.weight", dim, q_rows, 0);
        add_norm(hf + "input_layernorm.weight", blk + "attn_norm.weight");
        add_linear(hf + "mlp.gate_proj", blk + "ffn_gate.weight", hidden, dim, 0);
        add_linear(hf + "mlp.down_proj", blk + "ffn_down.weight", dim, hidden, 0);
        add_linear(hf + "mlp.up_proj", blk + "ffn_up.weight", hidden, dim, 0);
        add_norm(hf + "post_attention_layernorm.weight", blk + "ffn_norm.weight");
    }

    std::vector<std::pair<std::string, Value>> kv = gguf_llama_metadata(model, vocab, o_.type);
    if (!bpe.empty()) {
        kv.erase(
            std::remove_if(kv.begin(), kv.end(),
                           [](const auto& e) { return e.first.compare(0, 10, "tokenizer.") == 0; }),
            kv.end());
        for (auto& e : bpe) kv.push_back(std::move(e));
    }
    summary.weights = weight_type_name(o_.type);
    if (h_.aqlm) {
        const AqlmParams& a = *h_.aqlm;
        summary.weights = a.text();
        if (decoded_aqlm_) {
            summary.weights += std::string(" (decoded to ") + weight_type_name(o_.type) + ")";
            note(a.text() +
                 ": llamaport's AQLM layout has out_group_size 1; the layers are decoded and "
                 "written as " +
                 weight_type_name(o_.type));
        }
        if (wrote_aqlm_) {
            kv.emplace_back("aqlm.codebooks", Value::u32(uint32_t(a.codebooks)));
            kv.emplace_back("aqlm.bits", Value::u32(uint32_t(a.bits)));
            kv.emplace_back("aqlm.group_size", Value::u32(uint32_t(a.in_group)));
        }
    }
    std::vector<gguf::WriteTensor> tensors;
    for (const Output& o : outputs_) tensors.push_back(o.tensor);
    gguf::write_gguf_to(
        out, kv, tensors, o_.big_endian ? ByteOrder::Big : ByteOrder::Little,
        [&](size_t tensor, uint8_t* data, size_t first, size_t count) {
            outputs_[tensor].fill(data, first, count);
        },
        o_.progress);
    summary.config = c;
    summary.tied = h_.tied;
    return summary;
}

}  // namespace

HfImportSummary import_hf(const std::string& dir, std::ostream& out,
                          const HfImportOptions& options) {
    for (const std::optional<WeightType>& t :
         {std::optional<WeightType>(options.type), options.embedding_type, options.output_type})
        if (t && *t != WeightType::F32 && !type_info(*t).quantize_row)
            throw Error(std::string("import: cannot write dense matrices as ") +
                        weight_type_name(*t) + " (f32, f16, bf16, q8_0, q6_k or q4_k)");
    Importer importer(dir, options);
    return importer.run(out);
}

}  // namespace llamaport
