// Hugging Face directories written here, imported, and checked value by value: AQLM layers
// against the reference formula W[o][i] = scales[o / og] * sum_m codebooks[m][code][o % og][i % ig]
// (2x8, 1x16 and 1x8, out_group 1 and 2, tied and untied head, one file and shards), q_proj/k_proj
// rows moved from Hugging Face's rotate-half order to GGUF's interleaved pairs, dense checkpoints
// in every dtype, tokenizer.json's metadata, llama3 rope factors, and one-line errors for bad
// input.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <sstream>

#include "import/safetensors.hpp"
#include "import_support.hpp"
#include "llamaport/error.hpp"
#include "llamaport/hf_import.hpp"
#include "llamaport/kernels.hpp"
#include "llamaport/model.hpp"
#include "llamaport/tokenizer.hpp"
#include "llamaport/transformer.hpp"
#include "loader/fp16.hpp"
#include "loader/gguf.hpp"
#include "types/f16.hpp"
#include "types/q8_0.hpp"
#include "types/types.hpp"
#include "test_support.hpp"

using namespace llamaport;
using namespace llamaport::test;
using safetensors::DType;

namespace {

struct Aqlm {
    int codebooks, bits, in_group, out_group;
};

// What a test directory holds.
struct Spec {
    int dim = 32, hidden = 48, layers = 2, heads = 4, kv_heads = 2, vocab = 64;
    bool tied = true;
    int shards = 1;
    std::optional<Aqlm> aqlm;
    DType dense_dtype = DType::F32;
    std::string extra_config;  // more config.json members, each followed by a comma
    // Layer matrices left dense in an AQLM checkpoint (linear_weights_not_to_quantize).
    std::vector<std::string> dense_layers;
};

// A matrix in Hugging Face's row order, as the checkpoint means it.
struct Dense {
    size_t rows = 0, cols = 0;
    std::vector<float> w;
    float at(size_t r, size_t c) const { return w[r * cols + c]; }
};

float half(float v) {
    return fp16_to_fp32(fp32_to_fp16(v));
}

// Values that survive a round trip through the dtype unchanged, so every comparison is exact.
std::vector<float> random_values(std::mt19937& rng, size_t n, DType dtype, float range = 1.0f) {
    std::uniform_real_distribution<float> u(-range, range);
    std::vector<float> v(n);
    for (float& x : v) {
        x = u(rng);
        if (dtype == DType::F16) x = half(x);
        if (dtype == DType::BF16) x = bf16_to_fp32(fp32_to_bf16(x));
    }
    return v;
}

std::string encode(const std::vector<float>& v, DType dtype) {
    return dtype == DType::F16 ? f16_bytes(v) : dtype == DType::BF16 ? bf16_bytes(v) : f32_bytes(v);
}

// Writes the directory; returns every matrix and norm by its Hugging Face name.
std::map<std::string, Dense> write_directory(const TempDir& dir, const Spec& s, unsigned seed) {
    std::mt19937 rng(seed);
    std::map<std::string, Dense> expected;
    std::vector<safetensors::WriteTensor> tensors;
    auto dense = [&](const std::string& name, size_t rows, size_t cols, DType dtype) {
        Dense d{rows, cols, random_values(rng, rows * cols, dtype)};
        tensors.push_back(
            tensor(name, dtype,
                   rows == 1 ? std::vector<uint64_t>{cols} : std::vector<uint64_t>{rows, cols},
                   encode(d.w, dtype)));
        expected[name] = std::move(d);
    };
    auto aqlm = [&](const std::string& prefix, size_t rows, size_t cols) {
        const Aqlm& a = *s.aqlm;
        const size_t og = size_t(a.out_group), ig = size_t(a.in_group), M = size_t(a.codebooks);
        const size_t entries = size_t(1) << a.bits, out_groups = rows / og, groups = cols / ig;
        std::uniform_int_distribution<int64_t> code(0, int64_t(entries) - 1);
        std::vector<int64_t> codes(out_groups * groups * M);
        for (int64_t& c : codes) c = code(rng);
        const std::vector<float> books = random_values(rng, M * entries * og * ig, DType::F16);
        std::vector<float> scales = random_values(rng, out_groups, DType::F16, 2.0f);
        // The formula, in fp32: the sum over codebooks m ascending, then the scale.
        Dense d{rows, cols, std::vector<float>(rows * cols)};
        for (size_t o = 0; o < rows; o++)
            for (size_t i = 0; i < cols; i++) {
                float sum = 0.0f;
                for (size_t m = 0; m < M; m++) {
                    const size_t c = size_t(codes[((o / og) * groups + i / ig) * M + m]);
                    sum += books[((m * entries + c) * og + o % og) * ig + i % ig];
                }
                d.w[o * cols + i] = scales[o / og] * sum;
            }
        expected[prefix + ".weight"] = std::move(d);
        // Codes as the reference stores them: the unsigned index's bit pattern in int8 / int16.
        const size_t width = a.bits <= 8 ? 1 : 2;
        tensors.push_back(tensor(prefix + ".codes", width == 1 ? DType::I8 : DType::I16,
                                 {out_groups, groups, M}, int_bytes(codes, width)));
        tensors.push_back(
            tensor(prefix + ".codebooks", DType::F16, {M, entries, og, ig}, f16_bytes(books)));
        tensors.push_back(
            tensor(prefix + ".scales", DType::F16, {out_groups, 1, 1, 1}, f16_bytes(scales)));
    };
    const size_t dim = size_t(s.dim), hidden = size_t(s.hidden), head = dim / size_t(s.heads);
    const size_t kv = head * size_t(s.kv_heads);
    dense("model.embed_tokens.weight", size_t(s.vocab), dim, s.dense_dtype);
    for (int l = 0; l < s.layers; l++) {
        const std::string p = "model.layers." + std::to_string(l) + ".";
        const std::pair<std::string, std::pair<size_t, size_t>> linears[] = {
            {"self_attn.q_proj", {dim, dim}}, {"self_attn.k_proj", {kv, dim}},
            {"self_attn.v_proj", {kv, dim}},  {"self_attn.o_proj", {dim, dim}},
            {"mlp.gate_proj", {hidden, dim}}, {"mlp.down_proj", {dim, hidden}},
            {"mlp.up_proj", {hidden, dim}}};
        for (const auto& [name, shape] : linears) {
            const bool keep_dense = std::find(s.dense_layers.begin(), s.dense_layers.end(),
                                              p + name) != s.dense_layers.end();
            if (s.aqlm && !keep_dense)
                aqlm(p + name, shape.first, shape.second);
            else
                dense(p + name + ".weight", shape.first, shape.second, s.dense_dtype);
        }
        dense(p + "input_layernorm.weight", 1, dim, s.dense_dtype);
        dense(p + "post_attention_layernorm.weight", 1, dim, s.dense_dtype);
    }
    dense("model.norm.weight", 1, dim, s.dense_dtype);
    if (!s.tied) dense("lm_head.weight", size_t(s.vocab), dim, s.dense_dtype);

    if (s.shards == 1) {
        dir.write("model.safetensors", safetensors::write_file(tensors));
    } else {
        std::string map;
        const size_t per = (tensors.size() + size_t(s.shards) - 1) / size_t(s.shards);
        for (int i = 0; i < s.shards; i++) {
            const std::string name = "model-" + std::to_string(i + 1) + "-of-" +
                                     std::to_string(s.shards) + ".safetensors";
            std::vector<safetensors::WriteTensor> part;
            for (size_t t = size_t(i) * per; t < std::min(tensors.size(), size_t(i + 1) * per);
                 t++) {
                part.push_back(tensors[t]);
                map += std::string(map.empty() ? "" : ",") + "\"" + tensors[t].name + "\": \"" +
                       name + "\"";
            }
            dir.write(name, safetensors::write_file(part));
        }
        dir.write("model.safetensors.index.json",
                  "{\"metadata\": {}, \"weight_map\": {" + map + "}}");
    }
    std::string quant;
    if (s.aqlm) {
        std::string keep = "\"model.embed_tokens.weight\", \"lm_head.weight\"";
        for (const std::string& d : s.dense_layers) keep += ", \"" + d + "\"";
        quant = "\"quantization_config\": {\"quant_method\": \"aqlm\", \"nbits_per_codebook\": " +
                std::to_string(s.aqlm->bits) +
                ", \"num_codebooks\": " + std::to_string(s.aqlm->codebooks) +
                ", \"in_group_size\": " + std::to_string(s.aqlm->in_group) +
                ", \"out_group_size\": " + std::to_string(s.aqlm->out_group) +
                ", \"linear_weights_not_to_quantize\": [" + keep + "]},";
    }
    dir.write(
        "config.json",
        "{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\", " + quant +
            s.extra_config + "\"hidden_size\": " + std::to_string(s.dim) +
            ", \"intermediate_size\": " + std::to_string(s.hidden) + ", \"num_hidden_layers\": " +
            std::to_string(s.layers) + ", \"num_attention_heads\": " + std::to_string(s.heads) +
            ", \"num_key_value_heads\": " + std::to_string(s.kv_heads) +
            ", \"vocab_size\": " + std::to_string(s.vocab) +
            ", \"max_position_embeddings\": 32, \"rms_norm_eps\": 1e-05, \"rope_theta\": 10000.0" +
            ", \"tie_word_embeddings\": " + (s.tied ? "true" : "false") +
            ", \"bos_token_id\": 1, \"eos_token_id\": 2, \"head_dim\": null}");
    return expected;
}

// A llama2.c tokenizer of n tokens for -z.
std::string write_tokenizer(const TempDir& dir, int n) {
    std::vector<std::string> pieces = {"<unk>", "\n<s>\n", "\n</s>\n"};
    std::vector<float> scores(3, 0.0f);
    while (int(pieces.size()) < n) {
        pieces.push_back(" w" + std::to_string(pieces.size()));
        scores.push_back(-float(pieces.size()));
    }
    dir.write("tokenizer.bin", Tokenizer(pieces, scores).to_llama2c_file());
    return dir.file("tokenizer.bin");
}

std::string import_bytes(const TempDir& dir, HfImportOptions o,
                         HfImportSummary* summary = nullptr) {
    std::ostringstream out;
    const HfImportSummary s = import_hf(dir.path(), out, o);
    if (summary) *summary = s;
    return out.str();
}

// GGUF row of Hugging Face row r of q_proj / k_proj: written from llama.cpp's permute
// (reshape(heads, 2, head / 2, cols).swapaxes(1, 2)), not from the importer's inverse.
size_t gguf_row(size_t r, size_t rows, size_t heads) {
    const size_t head = rows / heads, half = head / 2;
    const size_t h = r / head, t = (r % head) / half, j = r % half;
    return h * head + 2 * j + t;
}

// Every matrix and norm of the loaded model against the directory's values, q/k rows permuted.
void check_model(const Model& m, const std::map<std::string, Dense>& expected, const Spec& s) {
    const Weights& w = m.weights;
    auto check_matrix = [&](const Matrix& got, const std::string& name, size_t heads) {
        INFO(name);
        const Dense& d = expected.at(name);
        REQUIRE(got.rows == d.rows);
        REQUIRE(got.cols == d.cols);
        std::vector<float> row(d.cols);
        size_t mismatches = 0;
        for (size_t r = 0; r < d.rows; r++) {
            got.row_to_f32(heads ? gguf_row(r, d.rows, heads) : r, row.data());
            for (size_t c = 0; c < d.cols; c++) mismatches += row[c] != d.at(r, c);
        }
        CHECK(mismatches == 0);
    };
    auto check_norm = [&](const float* got, const std::string& name) {
        INFO(name);
        const Dense& d = expected.at(name);
        CHECK(std::equal(d.w.begin(), d.w.end(), got));
    };
    check_matrix(w.token_embedding, "model.embed_tokens.weight", 0);
    check_matrix(w.classifier, s.tied ? "model.embed_tokens.weight" : "lm_head.weight", 0);
    CHECK(w.shared_classifier == s.tied);
    check_norm(w.rms_final, "model.norm.weight");
    for (int l = 0; l < s.layers; l++) {
        const LayerWeights& L = w.layers[size_t(l)];
        const std::string p = "model.layers." + std::to_string(l) + ".";
        check_matrix(L.wq, p + "self_attn.q_proj.weight", size_t(s.heads));
        check_matrix(L.wk, p + "self_attn.k_proj.weight", size_t(s.kv_heads));
        check_matrix(L.wv, p + "self_attn.v_proj.weight", 0);
        check_matrix(L.wo, p + "self_attn.o_proj.weight", 0);
        check_matrix(L.w1, p + "mlp.gate_proj.weight", 0);
        check_matrix(L.w2, p + "mlp.down_proj.weight", 0);
        check_matrix(L.w3, p + "mlp.up_proj.weight", 0);
        check_norm(L.rms_att, p + "input_layernorm.weight");
        check_norm(L.rms_ffn, p + "post_attention_layernorm.weight");
    }
}

}  // namespace

TEST_CASE("import: AQLM checkpoints match the reference formula value by value", "[import]") {
    struct Case {
        const char* name;
        Aqlm aqlm;
        bool tied;
        int shards, layers;
        WeightType layer_type;  // AQLM kept, or decoded to the --type (F32 here: exact)
    };
    const Case cases[] = {
        {"2x8 g8, tied, one file", {2, 8, 8, 1}, true, 1, 2, WeightType::AQLM},
        {"2x8 g8 out_group 2, untied, 3 shards", {2, 8, 8, 2}, false, 3, 2, WeightType::F32},
        {"1x16 g8, untied", {1, 16, 8, 1}, false, 1, 1, WeightType::AQLM_WIDE},
        {"1x16 g8 out_group 2, tied, 2 shards", {1, 16, 8, 2}, true, 2, 1, WeightType::F32},
        {"1x8 g8, untied, 2 shards", {1, 8, 8, 1}, false, 2, 2, WeightType::AQLM},
        {"2x8 g16, tied", {2, 8, 16, 1}, true, 1, 1, WeightType::AQLM},
        {"2x4 g8 out_group 2, tied", {2, 4, 8, 2}, true, 1, 1, WeightType::F32},
    };
    unsigned seed = 1;
    for (const Case& k : cases) {
        SECTION(k.name) {
            TempDir dir;
            Spec s;
            s.aqlm = k.aqlm;
            s.tied = k.tied;
            s.shards = k.shards;
            s.layers = k.layers;
            s.dense_layers = {"model.layers.0.self_attn.v_proj"};  // linear_weights_not_to_quantize
            const auto expected = write_directory(dir, s, seed++);
            HfImportOptions o;
            o.type = WeightType::F32;
            o.llama2c_tokenizer = write_tokenizer(dir, s.vocab);
            std::vector<std::string> notes;
            o.note = [&](const std::string& n) { notes.push_back(n); };
            HfImportSummary summary;
            const std::string bytes = import_bytes(dir, o, &summary);
            const auto model = load_model(own_memory(bytes, "imported.gguf"));
            CHECK(model->weights.layers[0].wq.type == k.layer_type);
            CHECK(model->weights.layers[0].w2.type == k.layer_type);
            CHECK(model->weights.layers[0].wv.type == WeightType::F32);  // left dense
            check_model(*model, expected, s);
            // A decoded layer says so, once.
            CHECK(notes.size() == (k.aqlm.out_group > 1 ? 1u : 0u));
            if (k.aqlm.out_group > 1) CHECK(notes[0].find("decoded") != std::string::npos);
            CHECK(summary.weights.compare(0, 5, "aqlm ") == 0);
        }
    }
}

TEST_CASE("import: AQLM codes keep their bit pattern, never sign-extended", "[import]") {
    // Every 8-bit code from 0 to 255 (int8 -128..-1 for 128..255) in one row of q_proj.
    TempDir dir;
    Spec s;
    s.aqlm = Aqlm{1, 8, 8, 1};
    s.layers = 1;
    s.dim = 256;  // 32 groups of 8 per row: over the 256 rows, every code 8 times
    s.heads = 4;
    s.kv_heads = 4;
    s.hidden = 32;
    auto expected = write_directory(dir, s, 7);
    // Rewrite q_proj with codes 0..255 in its first row and a codebook whose entry e is all e.
    const size_t rows = 256, cols = 256, groups = cols / 8;
    std::vector<int64_t> codes(rows * groups);
    for (size_t i = 0; i < codes.size(); i++)
        codes[i] = int64_t(i % 256) - (i % 256 >= 128 ? 256 : 0);
    std::vector<float> books(256 * 8);
    for (size_t e = 0; e < 256; e++)
        for (size_t j = 0; j < 8; j++) books[e * 8 + j] = float(e);
    safetensors::File original(open_file(dir.file("model.safetensors")));
    std::vector<safetensors::WriteTensor> tensors;
    for (const safetensors::Tensor& t : original.tensors()) {
        std::string bytes(reinterpret_cast<const char*>(t.data), t.bytes);
        if (t.name == "model.layers.0.self_attn.q_proj.codes") bytes = int_bytes(codes, 1);
        if (t.name == "model.layers.0.self_attn.q_proj.codebooks") bytes = f16_bytes(books);
        if (t.name == "model.layers.0.self_attn.q_proj.scales")
            bytes = f16_bytes(std::vector<float>(rows, 1.0f));
        tensors.push_back(tensor(t.name, t.dtype, t.shape, bytes));
    }
    dir.write("model.safetensors", safetensors::write_file(tensors));
    HfImportOptions o;
    o.type = WeightType::F32;
    o.llama2c_tokenizer = write_tokenizer(dir, s.vocab);
    const auto model = load_model(own_memory(import_bytes(dir, o), "codes.gguf"));
    const Matrix& wq = model->weights.layers[0].wq;
    std::vector<float> row(cols);
    for (size_t r = 0; r < rows; r++) {
        wq.row_to_f32(gguf_row(r, rows, 4), row.data());
        for (size_t g = 0; g < groups; g++) {
            INFO("row " << r << " group " << g);
            REQUIRE(row[g * 8] == float((r * groups + g) % 256));
        }
    }
}

// A random model written in Hugging Face's layout by the test itself (q/k rows moved to
// rotate-half order), imported, gives the same logits: the permutation goes the right way.
TEST_CASE("import: a dense checkpoint of a model computes its logits", "[import]") {
    for (bool tied : {true, false}) {
        for (int shards : {1, 2}) {
            INFO("tied " << tied << ", shards " << shards);
            const Config c = tiny_config();
            const auto original = random_test_model(c, 11, tied);
            TempDir dir;
            std::vector<safetensors::WriteTensor> t;
            auto matrix = [&](const std::string& name, const Matrix& m, size_t heads) {
                std::vector<float> w(m.rows * m.cols);
                for (size_t r = 0; r < m.rows; r++)
                    m.row_to_f32(heads ? gguf_row(r, m.rows, heads) : r, &w[r * m.cols]);
                t.push_back(tensor(name, DType::F32, {m.rows, m.cols}, f32_bytes(w)));
            };
            auto norm = [&](const std::string& name, const float* v) {
                t.push_back(tensor(name, DType::F32, {uint64_t(c.dim)},
                                   f32_bytes(std::vector<float>(v, v + c.dim))));
            };
            const Weights& w = original->weights;
            matrix("model.embed_tokens.weight", w.token_embedding, 0);
            if (!tied) matrix("lm_head.weight", w.classifier, 0);
            norm("model.norm.weight", w.rms_final);
            for (int l = 0; l < c.n_layers; l++) {
                const LayerWeights& L = w.layers[size_t(l)];
                const std::string p = "model.layers." + std::to_string(l) + ".";
                matrix(p + "self_attn.q_proj.weight", L.wq, size_t(c.n_heads));
                matrix(p + "self_attn.k_proj.weight", L.wk, size_t(c.n_kv_heads));
                matrix(p + "self_attn.v_proj.weight", L.wv, 0);
                matrix(p + "self_attn.o_proj.weight", L.wo, 0);
                matrix(p + "mlp.gate_proj.weight", L.w1, 0);
                matrix(p + "mlp.down_proj.weight", L.w2, 0);
                matrix(p + "mlp.up_proj.weight", L.w3, 0);
                norm(p + "input_layernorm.weight", L.rms_att);
                norm(p + "post_attention_layernorm.weight", L.rms_ffn);
            }
            if (shards == 1) {
                dir.write("model.safetensors", safetensors::write_file(t));
            } else {
                const std::vector<safetensors::WriteTensor> a(t.begin(), t.begin() + 5),
                    b(t.begin() + 5, t.end());
                dir.write("a.safetensors", safetensors::write_file(a));
                dir.write("b.safetensors", safetensors::write_file(b));
                std::string map;
                for (size_t i = 0; i < t.size(); i++)
                    map += std::string(i ? "," : "") + "\"" + t[i].name + "\": \"" +
                           (i < 5 ? "a" : "b") + ".safetensors\"";
                dir.write("model.safetensors.index.json", "{\"weight_map\": {" + map + "}}");
            }
            dir.write(
                "config.json",
                "{\"hidden_size\": 16, \"intermediate_size\": 36, \"num_hidden_layers\": 2, "
                "\"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"vocab_size\": 300, "
                "\"max_position_embeddings\": 32, \"rms_norm_eps\": 1e-5, "
                "\"tie_word_embeddings\": " +
                    std::string(tied ? "true" : "false") + "}");
            HfImportOptions o;
            o.type = WeightType::F32;
            o.llama2c_tokenizer = write_tokenizer(dir, c.vocab_size);
            const auto loaded = load_model(own_memory(import_bytes(dir, o), "dense.gguf"));
            Transformer a(*original, scalar_kernels()), b(*loaded, scalar_kernels());
            const std::vector<int> tokens = {1, 7, 99, 12, 250, 3};
            const float* la =
                a.forward(tokens.data(), int(tokens.size()), 0, Transformer::Logits::last);
            const std::vector<float> first(la, la + c.vocab_size);
            const float* lb =
                b.forward(tokens.data(), int(tokens.size()), 0, Transformer::Logits::last);
            CHECK(std::equal(first.begin(), first.end(), lb));
        }
    }
}

TEST_CASE("import: dense checkpoints in every dtype and output type", "[import]") {
    for (DType dtype : {DType::F32, DType::F16, DType::BF16}) {
        INFO(safetensors::dtype_name(dtype));
        TempDir dir;
        Spec s;
        s.dense_dtype = dtype;
        s.tied = false;
        const auto expected = write_directory(dir, s, 3);
        HfImportOptions o;
        o.llama2c_tokenizer = write_tokenizer(dir, s.vocab);
        o.type = WeightType::F32;
        check_model(*load_model(own_memory(import_bytes(dir, o), "f32.gguf")), expected, s);

        // F16: each value rounded to the nearest half (exact for F16 sources).
        o.type = WeightType::F16;
        const auto f16 = load_model(own_memory(import_bytes(dir, o), "f16.gguf"));
        CHECK(f16->weights.layers[1].wq.type == WeightType::F16);
        std::map<std::string, Dense> rounded = expected;
        for (auto& [name, d] : rounded)
            if (d.rows > 1)
                for (float& v : d.w) v = half(v);
        check_model(*f16, rounded, s);

        // Q8_0 where rows are whole blocks of 32 (ggml's quantizer); ffn_down's rows of 48 stay
        // F16, with a note.
        o.type = WeightType::Q8_0;
        std::vector<std::string> notes;
        o.note = [&](const std::string& n) { notes.push_back(n); };
        const auto q8 = load_model(own_memory(import_bytes(dir, o), "q8.gguf"));
        const LayerWeights& L = q8->weights.layers[0];
        CHECK(L.wq.type == WeightType::Q8_0);
        CHECK(L.w2.type == WeightType::F16);
        CHECK(notes.size() == size_t(s.layers));
        CHECK(notes[0] ==
              "blk.0.ffn_down.weight: rows of 48 values are not whole q8_0 blocks; written as f16");
        const Dense& up = expected.at("model.layers.0.mlp.up_proj.weight");
        std::vector<uint8_t> blocks(weight_row_bytes(WeightType::Q8_0, up.cols) * up.rows);
        for (size_t r = 0; r < up.rows; r++)
            types::q8_0_quantize_weights(&blocks[r * blocks.size() / up.rows], &up.w[r * up.cols],
                                         up.cols);
        const Matrix want = weight_matrix(WeightType::Q8_0, blocks.data(), up.rows, up.cols);
        std::vector<float> a(up.cols), b(up.cols);
        for (size_t r = 0; r < up.rows; r++) {
            want.row_to_f32(r, a.data());
            L.w3.row_to_f32(r, b.data());
            CHECK(a == b);
        }
    }
}

TEST_CASE("import: the embedding and head take their own types", "[import]") {
    TempDir dir;
    Spec s;
    s.tied = false;
    write_directory(dir, s, 4);
    HfImportOptions o;
    o.llama2c_tokenizer = write_tokenizer(dir, s.vocab);
    o.type = WeightType::F16;
    o.embedding_type = WeightType::Q8_0;
    o.output_type = WeightType::BF16;
    const auto m = load_model(own_memory(import_bytes(dir, o), "types.gguf"));
    CHECK(m->weights.token_embedding.type == WeightType::Q8_0);
    CHECK(m->weights.classifier.type == WeightType::BF16);
    CHECK(m->weights.layers[0].wq.type == WeightType::F16);

    // K-quants through the weight table's quantizers, where rows are whole blocks of 256 (as the
    // 2x8 8B file's Q4_K head needs); rows of 32 fall back to f16 with a note.
    std::vector<std::string> notes;
    o.note = [&](const std::string& n) { notes.push_back(n); };
    o.embedding_type = WeightType::Q4_K;
    o.output_type = WeightType::Q6_K;
    const auto narrow = load_model(own_memory(import_bytes(dir, o), "narrow.gguf"));
    CHECK(narrow->weights.token_embedding.type == WeightType::F16);
    REQUIRE(notes.size() == 2);
    CHECK(notes[0] == "token_embd.weight: rows of 32 values are not whole q4_k blocks; written as f16");

    TempDir wide_dir;
    Spec wide;
    wide.dim = 256;
    wide.tied = false;
    const auto expected = write_directory(wide_dir, wide, 5);
    o.llama2c_tokenizer = write_tokenizer(wide_dir, wide.vocab);
    const auto k = load_model(own_memory(import_bytes(wide_dir, o), "k.gguf"));
    const std::pair<const Matrix*, const char*> checks[] = {
        {&k->weights.token_embedding, "model.embed_tokens.weight"},
        {&k->weights.classifier, "lm_head.weight"}};
    for (const auto& [matrix, hf_name] : checks) {
        INFO(hf_name);
        const Dense& d = expected.at(hf_name);
        REQUIRE(matrix->rows == d.rows);
        REQUIRE(matrix->cols == d.cols);
        const WeightTypeInfo& info = type_info(matrix->type);
        std::vector<uint8_t> blocks(weight_row_bytes(matrix->type, d.cols) * d.rows);
        for (size_t r = 0; r < d.rows; r++)
            info.quantize_row(&blocks[r * blocks.size() / d.rows], &d.w[r * d.cols], d.cols);
        const Matrix want = weight_matrix(matrix->type, blocks.data(), d.rows, d.cols);
        std::vector<float> a(d.cols), b(d.cols);
        for (size_t r = 0; r < d.rows; r++) {
            want.row_to_f32(r, a.data());
            matrix->row_to_f32(r, b.data());
            CHECK(a == b);
        }
    }
    CHECK(k->weights.token_embedding.type == WeightType::Q4_K);
    CHECK(k->weights.classifier.type == WeightType::Q6_K);
}

TEST_CASE("import: llama3 rope scaling gives convert_hf_to_gguf.py's factors", "[import]") {
    TempDir dir;
    Spec s;
    s.dim = 128;
    s.heads = 2;  // head size 64: 32 rotation pairs, spanning all three regimes
    s.kv_heads = 1;
    s.layers = 1;
    s.extra_config =
        "\"rope_scaling\": {\"factor\": 8.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0, "
        "\"original_max_position_embeddings\": 8192, \"rope_type\": \"llama3\"}, "
        "\"rope_theta_unused\": 1,";
    write_directory(dir, s, 5);
    HfImportOptions o;
    o.type = WeightType::F32;
    o.llama2c_tokenizer = write_tokenizer(dir, s.vocab);
    const auto m = load_model(own_memory(import_bytes(dir, o), "rope.gguf"));
    const std::vector<float>& f = m->config.rope_freq_factors;
    REQUIRE(f.size() == 32);
    // The formula in double; the importer computes in float32 as the script's torch tensors do,
    // so the two agree to float32 rounding (a few ulps through pow and the division).
    const double pi = 3.14159265358979323846;
    int ones = 0, eights = 0, ramp = 0;
    for (int i = 0; i < 32; i++) {
        const double wavelength = 2 * pi * std::pow(10000.0, 2.0 * i / 64);
        double want;
        if (wavelength < 8192.0 / 4)
            want = 1, ones++;
        else if (wavelength > 8192.0)
            want = 8, eights++;
        else {
            const double smooth = (8192.0 / wavelength - 1) / 3;
            want = 1 / ((1 - smooth) / 8 + smooth);
            ramp++;
        }
        CHECK(f[size_t(i)] == Approx(want).epsilon(1e-5));
    }
    CHECK(ones > 0);
    CHECK(eights > 0);
    CHECK(ramp > 0);
}

TEST_CASE("import: tokenizer.json becomes llama.cpp's gpt2 tokenizer keys", "[import]") {
    TempDir dir;
    Spec s;
    s.vocab = 12;
    s.layers = 1;
    write_directory(dir, s, 6);
    dir.write("tokenizer.json", R"({"version": "1.0",
        "added_tokens": [
            {"id": 9, "content": "<|begin_of_text|>", "special": true, "normalized": false},
            {"id": 10, "content": "<|eot_id|>", "special": false, "normalized": false},
            {"id": 11, "content": "my\u2581word", "special": false, "normalized": true}],
        "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "\u0120a": 3, "\u00e9": 4, "c": 5, "abc": 7},
                  "merges": ["a b", ["ab", "c"]]}})");
    dir.write(
        "tokenizer_config.json",
        R"({"add_bos_token": true, "chat_template": "{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}"})");
    HfImportOptions o;
    o.type = WeightType::F32;
    HfImportSummary summary;
    const std::string bytes = import_bytes(dir, o, &summary);
    CHECK(summary.tokenizer == "tokenizer.json (BPE, 12 tokens, 2 merges)");
    const gguf::GgufFile f(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "t.gguf");
    auto value = [&](const std::string& key) {
        const gguf::KeyValue* kv = f.find(key);
        REQUIRE(kv);
        return f.value(*kv);
    };
    CHECK(value("tokenizer.ggml.model").str == "gpt2");
    CHECK(value("tokenizer.ggml.pre").str == "llama-bpe");
    CHECK(value("tokenizer.ggml.tokens").strings ==
          std::vector<std::string>{"a", "b", "ab",
                                   "\xC4\xA0"
                                   "a",
                                   "\xC3\xA9", "c", "[PAD6]", "abc", "[PAD8]", "<|begin_of_text|>",
                                   "<|eot_id|>", "my word"});
    const gguf::Value types = value("tokenizer.ggml.token_type");
    std::vector<int64_t> type_values;
    for (size_t i = 0; i < types.size(); i++) type_values.push_back(types.element(i).as_int());
    // normal 1, control 3 (special, or looking like <|...|>), user-defined 4, unused 5.
    CHECK(type_values == std::vector<int64_t>{1, 1, 1, 1, 1, 1, 5, 1, 5, 3, 3, 4});
    CHECK(value("tokenizer.ggml.merges").strings == std::vector<std::string>{"a b", "ab c"});
    CHECK(value("tokenizer.ggml.bos_token_id").as_int() == 1);
    CHECK(value("tokenizer.ggml.eos_token_id").as_int() == 2);
    CHECK(value("tokenizer.ggml.add_bos_token").bits == 1);
    CHECK(value("tokenizer.chat_template").str ==
          "{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}");
    CHECK(f.find("tokenizer.ggml.scores") == nullptr);
    CHECK(value("llama.embedding_length").as_int() == 32);
}

TEST_CASE("import: bad directories give one line naming the file and the problem", "[import]") {
    TempDir dir;
    Spec s;
    s.aqlm = Aqlm{2, 8, 8, 1};
    s.layers = 1;
    write_directory(dir, s, 8);
    HfImportOptions o;
    o.llama2c_tokenizer = write_tokenizer(dir, s.vocab);
    const auto import_error = [&] { return error_of([&] { import_bytes(dir, o); }); };
    const std::string config = read_file(dir.file("config.json"));
    const std::string weights = read_file(dir.file("model.safetensors"));

    auto edited = [](std::string text, const std::string& from, const std::string& to) {
        const size_t at = text.find(from);
        REQUIRE(at != std::string::npos);
        return text.replace(at, from.size(), to);
    };
    dir.write("config.json", edited(config, "\"hidden_size\": 32, ", ""));
    CHECK(import_error() == dir.file("config.json") + ": missing key 'hidden_size'");
    dir.write("config.json",
              edited(config, "\"num_key_value_heads\": 2", "\"num_key_value_heads\": 3"));
    CHECK(import_error().find(dir.file("config.json") + ": ") == 0);
    dir.write("config.json",
              edited(config, "\"nbits_per_codebook\": 8", "\"nbits_per_codebook\": 8.5"));
    CHECK(import_error() == dir.file("config.json") +
                                ": 'quantization_config.nbits_per_codebook' is not a whole number, "
                                "expected a whole number");
    dir.write("config.json",
              edited(config, "\"quant_method\": \"aqlm\"", "\"quant_method\": \"gptq\""));
    CHECK(import_error() == dir.file("config.json") +
                                ": quantization method 'gptq' is not supported (plain or aqlm)");
    dir.write("config.json", edited(config, "\"vocab_size\": 64", "\"vocab_size\": 64,"));
    CHECK(import_error() == dir.file("config.json") +
                                ": expected a string key, found ',' at byte " +
                                std::to_string(config.find("\"vocab_size\": 64") + 17));
    dir.write("config.json", config);

    dir.write("model.safetensors", weights.substr(0, weights.size() - 100));
    CHECK(import_error().find(dir.file("model.safetensors") + ": tensor ") == 0);
    CHECK(import_error().find("are outside the data section") != std::string::npos);
    std::string absurd = weights;
    absurd[7] = '\x40';
    dir.write("model.safetensors", absurd);
    CHECK(import_error() == dir.file("model.safetensors") + ": header length " +
                                std::to_string((uint64_t(0x40) << 56) | (weights[0] & 0xFF) |
                                               (uint64_t(uint8_t(weights[1])) << 8)) +
                                " is absurd (limit 104857600)");
    // 8-bit codes stored as int16: the layout does not match the configuration.
    safetensors::File original(own_memory(weights, "w"));
    std::vector<safetensors::WriteTensor> tensors;
    for (const safetensors::Tensor& t : original.tensors()) {
        safetensors::WriteTensor w = tensor(
            t.name, t.dtype, t.shape, std::string(reinterpret_cast<const char*>(t.data), t.bytes));
        if (t.name == "model.layers.0.mlp.up_proj.codes") {
            w.dtype = DType::I16;
            w.bytes += w.bytes;
        }
        tensors.push_back(w);
    }
    dir.write("model.safetensors", safetensors::write_file(tensors));
    CHECK(import_error() ==
          dir.file("model.safetensors") +
              ": tensor 'model.layers.0.mlp.up_proj.codes' has dtype I16; 8-bit codes are I8");
    tensors.erase(std::remove_if(tensors.begin(), tensors.end(),
                                 [](const safetensors::WriteTensor& t) {
                                     return t.name == "model.layers.0.mlp.up_proj.codes";
                                 }),
                  tensors.end());
    dir.write("model.safetensors", safetensors::write_file(tensors));
    CHECK(import_error() ==
          dir.file("model.safetensors") + ": no tensor 'model.layers.0.mlp.up_proj.codes'");
    dir.write("model.safetensors", weights);

    o.llama2c_tokenizer.clear();
    CHECK(import_error() == dir.path() + ": no tokenizer.json (give a llama2.c tokenizer with -z)");
    o.type = WeightType::AQLM;
    CHECK(import_error() == "import: cannot write dense matrices as aqlm (f32, f16, bf16, q8_0, q6_k or q4_k)");
}

TEST_CASE("import: Llama 3's tokenizer.json and chat template as llama.cpp reads them, and chat runs",
          "[import][models]") {
    TempDir dir;
    Spec s;
    s.vocab = 128256;
    s.layers = 1;
    s.dense_dtype = DType::F16;
    s.extra_config =  // Llama 3.1's long-context rope: the file gets rope_freqs
        "\"rope_scaling\": {\"factor\": 8.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0, "
        "\"original_max_position_embeddings\": 8192, \"rope_type\": \"llama3\"}, ";
    write_directory(dir, s, 9);
    const std::string config = read_file(dir.file("config.json"));
    // Llama 3.1 Instruct's ids: BOS 128000, three EOS ids of which GGUF keeps the first.
    std::string edited = config;
    edited.replace(edited.find("\"bos_token_id\": 1, \"eos_token_id\": 2"), 36,
                   "\"bos_token_id\": 128000, \"eos_token_id\": [128001, 128008, 128009]");
    const std::string context = "\"max_position_embeddings\": 32";
    edited.replace(edited.find(context), context.size(), "\"max_position_embeddings\": 256");
    dir.write("config.json", edited);
    dir.write("tokenizer.json", read_file(shared_dir() + "/models/llama3/tokenizer.json"));
    const std::string jinja = read_file(shared_dir() + "/models/llama3/chat_template.jinja");
    std::string quoted = "\"";
    for (char ch : jinja) {
        if (ch == '"' || ch == '\\')
            quoted += '\\', quoted += ch;
        else if (ch == '\n')
            quoted += "\\n";
        else
            quoted += ch;
    }
    dir.write("tokenizer_config.json", "{\"chat_template\": " + quoted + "\"}");
    HfImportOptions o;
    o.type = WeightType::F16;
    const std::string bytes = import_bytes(dir, o);
    const gguf::GgufFile f(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "l3.gguf");
    auto value = [&](const std::string& key) {
        const gguf::KeyValue* kv = f.find(key);
        REQUIRE(kv);
        return f.value(*kv);
    };
    const gguf::Value tokens = value("tokenizer.ggml.tokens");
    REQUIRE(tokens.strings.size() == 128256);
    CHECK(tokens.strings[9906] == "Hello");
    CHECK(tokens.strings[1917] == "\xC4\xA0world");  // byte-level BPE's visible space
    CHECK(tokens.strings[128000] == "<|begin_of_text|>");
    CHECK(tokens.strings[128009] == "<|eot_id|>");
    const gguf::Value types = value("tokenizer.ggml.token_type");
    CHECK(types.element(9906).as_int() == 1);
    CHECK(types.element(128009).as_int() == 3);
    CHECK(types.element(128255).as_int() == 3);
    CHECK(value("tokenizer.ggml.merges").strings.size() == 280147);
    CHECK(value("tokenizer.ggml.merges").strings[0] == "\xC4\xA0 \xC4\xA0");
    CHECK(value("tokenizer.ggml.bos_token_id").as_int() == 128000);
    CHECK(value("tokenizer.ggml.eos_token_id").as_int() == 128001);
    CHECK(value("tokenizer.chat_template").str == jinja);
    REQUIRE(f.find_tensor("rope_freqs.weight"));

    // The file in chat mode, two piped turns: the template is recognised (no warning), each turn
    // is answered up to its -n limit or <|eot_id|>, and no control piece reaches the output.
    const std::string path = dir.file("l3.gguf");
    std::ofstream(path, std::ios::binary) << bytes;
    const test::CliResult chat = test::run_cli({path, "-m", "chat", "-n", "6", "-t", "0", "-s", "3"},
                                               "Hello\nWhat is 2+2?\n");
    INFO(chat.err);
    CHECK(chat.status == 0);
    CHECK_THAT(chat.err, !Catch::Contains("warning") && Catch::Contains("prompt"));
    size_t turns = 0;
    for (size_t at = chat.err.find("Assistant: "); at != std::string::npos;
         at = chat.err.find("Assistant: ", at + 1))
        turns++;
    CHECK(turns == 2);
    CHECK_THAT(chat.out, !Catch::Contains("<|eot_id|>") && !Catch::Contains("<|start_header_id|>"));
}
