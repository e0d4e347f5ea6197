// Every GGUF weight type against llama.cpp's own numbers: ../shared/reference/gguf-types holds one
// small Llama (dim 256, GQA) as llama.cpp's llama-quantize wrote it in each type, with llama.cpp's
// logits for 64 teacher-forced positions and its 32 greedy tokens after them (README there).
//
// llamaport runs each file with the KV cache llama.cpp used (fp16) on every kernel set, and
// compares the relative RMS of the logits (RMS of the difference over RMS of llama.cpp's) and
// the argmax at every position. Why the tolerances are what they are:
// - F32: only summation orders differ (llama.cpp's 8-lane FMAs, ours per set): measured 2e-6.
// - Types whose products round their inputs (F16, BF16 to 16 bits; the quantized types to
//   int8 blocks) also start out equal to 6 digits, until a last-bit difference in a sum lands an
//   activation on the other side of a rounding boundary; that value then moves by one step of
//   its format, and every later position sees it through the cache. One such flip moves the
//   logits by about 1e-4 (F16), 1e-3 (BF16) or 4e-3 (int8 blocks of Q8_0), the size of one
//   rounding step at 11, 8 and 7 bits. Each tolerance is about twice the largest measured on
//   any set, and is still well below the distance between neighbouring types (listed in the
//   README there: F16 0.0004 from F32, BF16 0.003, Q8_0 0.0095, Q6_K 0.026, ...): a block read
//   wrongly moves the logits by that much or more.
// - K-quant files (Q8_K inputs: int8 blocks of 256 at an fp32 scale) behave as Q8_0 does: measured
//   4.4e-3 for Q6_K, 5.2e-3 Q5_K_M, 4.6e-3 Q4_K_M (4.4e-3 with Llama 3.1's rope), 5.6e-3 Q3_K_M,
//   4.9e-3 Q2_K: all far below the distances between the K-quant mixes.
// - The legacy 32-value types pair their blocks with Q8_0 inputs (Q4_0, Q5_0) or Q8_1 (Q4_1,
//   Q5_1, whose minimum meets the input's fp16 sum term; IQ4_NL with Q8_0), as llama.cpp's x86
//   backend does, and measured 3.0e-3, 4.3e-3, 3.0e-3, 4.9e-3 and 3.1e-3 (IQ4_NL) on every set
//   (the products are bit-identical across sets): the int8 rounding flips of Q8_0, a little
//   more where the fp16 sum term adds one more rounding per block. Their files' classifier is
//   Q6_K (IQ4_NL's also has Q5_K matrices). The README puts Q5_0 0.048 and Q4_0 0.091 from F32:
//   a misread block is ten times the tolerance.
// - The argmax must agree wherever llama.cpp's top two logits are further apart than the
//   tolerance allows to move them (2 x tolerance x the RMS of the logits); a closer pair is a
//   coin toss for any implementation that does not add in llama.cpp's exact order.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "llamaport/blob.hpp"
#include "llamaport/error.hpp"
#include "llamaport/gguf.hpp"
#include "llamaport/eval.hpp"
#include "llamaport/kernels.hpp"
#include "llamaport/model.hpp"
#include "llamaport/sampler.hpp"
#include "llamaport/transformer.hpp"
#include "loader/gguf.hpp"
#include "test_support.hpp"

using namespace llamaport;
using namespace llamaport::test;

namespace {

struct TypeCase {
    const char* name;    // the file is NAME.gguf, its references NAME.logits.f32, .greedy.ids
    double tolerance;    // relative RMS of the logits against llama.cpp's
    bool greedy;         // llama.cpp's 32 greedy tokens must come out
};

const TypeCase cases[] = {
    {"mini-f32", 2e-5, true},
    {"mini3-f32", 2e-5, false},
    {"mini-F16", 4e-4, true},
    {"mini-BF16", 2e-3, false},
    {"mini-Q8_0", 8e-3, true},
    {"mini-Q6_K", 9e-3, true},
    {"mini-Q5_K_M", 1e-2, false},  // greedy parts from llama.cpp at token 17, Q2_K at 9
    {"mini-Q4_K_M", 9e-3, true},
    {"mini3-Q4_K_M", 9e-3, true},
    {"mini-Q3_K_M", 1.2e-2, true},
    {"mini-Q2_K", 1e-2, false},
    {"mini-Q4_0", 6e-3, true},
    {"mini-Q4_1", 9e-3, true},
    {"mini-Q5_0", 6e-3, true},
    {"mini-Q5_1", 1e-2, true},
    {"mini-IQ4_NL", 6e-3, true},
};

std::string types_path(const std::string& name) { return reference_path("gguf-types/" + name); }

std::vector<float> read_floats(const std::string& path) {
    const std::string bytes = read_file(path);
    std::vector<float> out(bytes.size() / 4);
    for (size_t i = 0; i < out.size(); i++) {
        uint32_t bits = 0;  // little-endian on any host
        for (int b = 3; b >= 0; b--) bits = (bits << 8) | uint8_t(bytes[4 * i + size_t(b)]);
        std::memcpy(&out[i], &bits, 4);
    }
    return out;
}

size_t argmax(const float* v, size_t n) { return size_t(std::max_element(v, v + n) - v); }

// The emulated subset runs the greedy and batching checks on the best set only: the logits test
// still runs every set on every file, and the kernels' batch products are checked against
// the matvec on every set in [kernels].
std::vector<const KernelSet*> sets_to_run() {
    return use_subset ? std::vector<const KernelSet*>{&select_kernels("auto")} : available_kernels();
}

}  // namespace

TEST_CASE("every GGUF type gives llama.cpp's logits within its tolerance", "[gguf][models]") {
    std::vector<int> ids = parse_ids(read_file(types_path("seq64.ids")));
    REQUIRE(ids.size() == 64);
    if (use_subset) ids.resize(16);  // a prefix: the logits of a position do not depend on later ones
    for (const TypeCase& c : cases) {
        auto model = load_model_file(types_path(std::string(c.name) + ".gguf"));
        const size_t vocab = size_t(model->config.vocab_size);
        const std::vector<float> reference = read_floats(types_path(std::string(c.name) + ".logits.f32"));
        REQUIRE(reference.size() == 64 * vocab);
        for (const KernelSet* set : available_kernels()) {
            Transformer run(*model, *set, nullptr, 0, Transformer::default_batch,
                            Transformer::KvType::f16);
            const float* logits = run.forward(ids.data(), int(ids.size()), 0, Transformer::Logits::all);
            DivergenceMeter meter;
            double squares = 0;
            for (size_t p = 0; p < ids.size(); p++) {
                meter.add(&reference[p * vocab], logits + p * vocab, vocab,
                          p + 1 < ids.size() ? ids[p + 1] : 0);
                for (size_t i = 0; i < vocab; i++) squares += double(reference[p * vocab + i]) * reference[p * vocab + i];
            }
            const double rms = std::sqrt(squares / double(ids.size() * vocab));
            INFO(c.name << " on " << set->name << ": relative RMS " << meter.relative_rms()
                        << " (tolerance " << c.tolerance << "), top-1 " << meter.top1_agreement());
            CHECK(meter.relative_rms() <= c.tolerance);
            for (size_t p = 0; p < ids.size(); p++) {
                const float* ref = &reference[p * vocab];
                std::vector<float> sorted(ref, ref + vocab);
                std::partial_sort(sorted.begin(), sorted.begin() + 2, sorted.end(), std::greater<float>());
                if (sorted[0] - sorted[1] <= 2 * c.tolerance * rms) continue;
                INFO("position " << p << ", llama.cpp's margin " << sorted[0] - sorted[1]);
                CHECK(argmax(logits + p * vocab, vocab) == argmax(ref, vocab));
            }
        }
    }
}

TEST_CASE("F32, F16, Q8_0 and K-quant files continue greedily as llama.cpp does", "[gguf][models]") {
    const std::vector<int> ids = parse_ids(read_file(types_path("seq64.ids")));
    for (const TypeCase& c : cases) {
        if (!c.greedy) continue;
        auto model = load_model_file(types_path(std::string(c.name) + ".gguf"));
        const std::vector<int> want = parse_ids(read_file(types_path(std::string(c.name) + ".greedy.ids")));
        REQUIRE(want.size() == 32);
        const size_t wanted = use_subset ? 8 : want.size();  // the emulated subset checks a prefix
        for (const KernelSet* set : sets_to_run()) {
            Transformer run(*model, *set, nullptr, 0, Transformer::default_batch,
                            Transformer::KvType::f16);
            Sampler greedy(model->config.vocab_size, 0.0f, 0.0f, 1);
            int token = greedy.sample(run.forward(ids.data(), int(ids.size()), 0, Transformer::Logits::last));
            std::vector<int> got{token};
            for (int pos = int(ids.size()); got.size() < wanted; pos++)
                got.push_back(token = greedy.sample(run.forward(token, pos)));
            INFO(c.name << " on " << set->name);
            CHECK(got == std::vector<int>(want.begin(), want.begin() + std::ptrdiff_t(wanted)));
        }
    }
}

// A prompt run in batches gives the logits of running it token by token, bit for bit, on every
// set and cache type: batching changes only how weights are read.
TEST_CASE("batched prompts give the token-by-token logits bit for bit", "[gguf][models]") {
    std::vector<int> ids = parse_ids(read_file(types_path("seq64.ids")));
    if (use_subset) ids.resize(30);  // the emulated subset: still a full batch of 24 and a partial one
    for (const char* name : {"mini-f32", "mini-Q8_0", "mini-BF16", "mini-Q5_1", "mini-Q4_K_M"}) {
        auto model = load_model_file(types_path(std::string(name) + ".gguf"));
        const size_t vocab = size_t(model->config.vocab_size);
        for (const KernelSet* set : sets_to_run())
            for (auto kv : {Transformer::KvType::f32, Transformer::KvType::f16}) {
                Transformer batched(*model, *set, nullptr, 0, 24, kv), single(*model, *set, nullptr, 0, 1, kv);
                const float* b = batched.forward(ids.data(), int(ids.size()), 0, Transformer::Logits::all);
                const std::vector<float> all(b, b + ids.size() * vocab);
                size_t differing = 0;
                for (size_t p = 0; p < ids.size(); p++) {
                    const float* s = single.forward(ids[p], int(p));
                    differing += std::memcmp(s, &all[p * vocab], vocab * sizeof(float)) != 0;
                }
                INFO(name << " on " << set->name << (kv == Transformer::KvType::f16 ? ", f16 cache" : ""));
                CHECK(differing == 0);
            }
    }
}

// ggml's legacy blocks in a big-endian file: d and m are 2-byte fields, Q5's fifth bits one
// 4-byte little-endian word; the writer and the loader swap each by its own width.
TEST_CASE("legacy block types swap d, m and the 4-byte fifth bits in big-endian files", "[gguf]") {
    Config c;
    c.dim = 64, c.hidden_dim = 96, c.n_layers = 1, c.n_heads = 2, c.n_kv_heads = 1;
    c.vocab_size = 64, c.seq_len = 16;
    struct Layout {
        WeightType type;
        size_t block_bytes;
        std::vector<std::pair<size_t, size_t>> fields;  // offset, width
    };
    const Layout layouts[] = {{WeightType::Q4_0, 18, {{0, 2}}},
                              {WeightType::Q4_1, 20, {{0, 2}, {2, 2}}},
                              {WeightType::Q5_0, 22, {{0, 2}, {2, 4}}},
                              {WeightType::Q5_1, 24, {{0, 2}, {2, 2}, {4, 4}}},
                              {WeightType::IQ4_NL, 18, {{0, 2}}}};
    for (const Layout& l : layouts) {
        INFO(weight_type_name(l.type));
        RandomGgufOptions o;
        o.matrix_type = l.type;
        std::string files[2];
        for (bool big : {false, true}) {
            o.big_endian = big;
            std::ostringstream out;
            write_random_gguf(out, c, true, o);
            files[big] = out.str();
        }
        // The same weights, whichever the file's order.
        auto little = load_model(own_memory(files[0], "le.gguf"));
        auto big = load_model(own_memory(files[1], "be.gguf"));
        const Matrix& a = little->weights.layers[0].w2;
        const Matrix& b = big->weights.layers[0].w2;
        REQUIRE(a.type == l.type);
        REQUIRE(b.type == l.type);
        std::vector<float> ra(a.cols), rb(b.cols);
        bool same = true;
        for (size_t r = 0; r < a.rows; r++) {
            a.row_to_f32(r, ra.data());
            b.row_to_f32(r, rb.data());
            same = same && std::memcmp(ra.data(), rb.data(), ra.size() * 4) == 0;
        }
        CHECK(same);
        // The bytes: each field reversed, nothing else moved.
        const gguf::GgufFile parsed(reinterpret_cast<const uint8_t*>(files[0].data()), files[0].size(), "le.gguf");
        size_t at = 0;
        for (const gguf::TensorInfo& t : parsed.tensors())
            if (t.name == "blk.0.ffn_down.weight") at = t.file_offset;
        REQUIRE(at != 0);
        bool swapped = true;
        for (size_t block = 0; block < 8; block++) {
            std::string want = files[0].substr(at + block * l.block_bytes, l.block_bytes);
            for (const auto& f : l.fields) std::reverse(want.begin() + long(f.first), want.begin() + long(f.first + f.second));
            swapped = swapped && files[1].substr(at + block * l.block_bytes, l.block_bytes) == want;
        }
        CHECK(swapped);
    }
}
