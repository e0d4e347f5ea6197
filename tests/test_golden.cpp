// The forward pass against an independent one, with no model files: small models of several
// shapes (grouped-query attention, head sizes 16 and 64, odd hidden and vocabulary sizes) built
// from a seed by make_random_model, as fp32, as llama2.c v2 (Q8_G) and as GGUF Q8_0 files, run
// over a fixed token sequence on every kernel set, token by token and in batches. The expected
// logits come from tools/reference_forward.py, a plain-Python forward pass in llama2.c's order
// that rebuilds the same weights from the same seed (tests/data/golden/expected_logits.inc says
// how to regenerate them).
//
// Tolerance: |got - want| <= 2e-5 * max |want| over the position's logits, for every logit.
// - The reference rounds every float step as run.c / runq.c do, in the same order; its only
//   other difference from the scalar set is exp, sin, cos and pow, which it takes from Python
//   in double and rounds to float, where libm's expf, sinf, cosf and powf may differ in the last
//   bit. With the C library's own functions (reference_forward.py --libm) it gives the scalar
//   set's logits bit for bit in every case (glibc); as committed, within 4.4e-7 of the largest.
// - The SIMD sets add an fp32 product's terms in their own order: a relative error of up to
//   about n * 2^-24 per product (n <= 352 terms here: 2.1e-5 at worst, ~1e-6 in practice, as
//   rounding errors partly cancel); observed up to 1.3e-6 (AVX2, AltiVec, NEON). Q8_G and Q8_0
//   products are exact integer sums with float steps in one order in every set: they match the
//   scalar set bit for bit.
// - A last-bit libm difference could, rarely, move an activation across a rounding boundary of
//   its int8 quantization: one product term off by one quantization step, about 1e-3 of a logit,
//   which this tolerance would report. It does not happen for these cases on x86, PowerPC and
//   AArch64 (glibc); elsewhere, compare with reference_forward.py --libm's output before
//   suspecting the forward pass.
// A broken forward pass is far outside the tolerance: a flipped RoPE sign moves the logits by
// 0.14-0.41 of the largest one, an inverted attention scale by 1.1-1.9, RMSNorm without its
// epsilon by 5e-4-2e-2, query heads mapped to the wrong KV heads by 1.6-1.7 (in the cases where
// the mapping differs).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include "llamaport/kernels.hpp"
#include "llamaport/random_model.hpp"
#include "llamaport/transformer.hpp"
#include "test_support.hpp"

using namespace llamaport;

namespace {

enum class GoldenFormat { f32, q8_g, q8_0 };

struct GoldenCase {
    const char* name;
    GoldenFormat format;
    int shape[7];  // dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len
    unsigned seed;
    bool tied;
    const float* logits;  // every position of golden_tokens, vocab_size each
};

#include "data/golden/expected_logits.inc"

constexpr double tolerance = 2e-5;
constexpr size_t token_count = sizeof golden_tokens / sizeof golden_tokens[0];

std::unique_ptr<Model> golden_model(const GoldenCase& g) {
    Config c;
    c.dim = g.shape[0];
    c.hidden_dim = g.shape[1];
    c.n_layers = g.shape[2];
    c.n_heads = g.shape[3];
    c.n_kv_heads = g.shape[4];
    c.vocab_size = g.shape[5];
    c.seq_len = g.shape[6];
    auto model = make_random_model(c, g.seed, g.tied);
    switch (g.format) {
        case GoldenFormat::f32: return model;
        case GoldenFormat::q8_g: return test::requantized(*model, WeightType::Q8_G);
        case GoldenFormat::q8_0: return test::requantized(*model, WeightType::Q8_0);
    }
    return nullptr;
}

WeightType weight_type(GoldenFormat f) {
    return f == GoldenFormat::f32 ? WeightType::F32
                                  : f == GoldenFormat::q8_g ? WeightType::Q8_G : WeightType::Q8_0;
}

// The largest |got - want| of any position, relative to that position's largest |want|.
double worst_relative_error(const std::vector<float>& got, const float* want, size_t vocab) {
    double worst = 0;
    for (size_t p = 0; p < token_count; p++) {
        const float* w = want + p * vocab;
        double largest = 0;
        for (size_t i = 0; i < vocab; i++) largest = std::max(largest, std::fabs(double(w[i])));
        for (size_t i = 0; i < vocab; i++)
            worst = std::max(worst, std::fabs(double(got[p * vocab + i]) - double(w[i])) / largest);
    }
    return worst;
}

// Logits of every position: token by token (batch 0) or through the batched forward in chunks
// of at most `batch` positions.
std::vector<float> run_tokens(const Model& model, const KernelSet& kernels, int batch) {
    const size_t vocab = size_t(model.config.vocab_size);
    std::vector<float> out;
    if (batch == 0) {
        Transformer t(model, kernels);
        for (size_t p = 0; p < token_count; p++) {
            const float* logits = t.forward(golden_tokens[p], int(p));
            out.insert(out.end(), logits, logits + vocab);
        }
    } else {
        Transformer t(model, kernels, nullptr, 0, batch);
        const float* logits = t.forward(golden_tokens, int(token_count), 0, Transformer::Logits::all);
        out.assign(logits, logits + token_count * vocab);
    }
    return out;
}

}  // namespace

TEST_CASE("random models give the reference forward pass's logits on every kernel set",
          "[golden]") {
    for (const GoldenCase& g : golden_cases) {
        auto model = golden_model(g);
        for (const LayerWeights& l : model->weights.layers)
            for (const Matrix* m : l.matrices()) REQUIRE(m->type == weight_type(g.format));
        REQUIRE(model->weights.classifier.type == weight_type(g.format));
        const size_t vocab = size_t(model->config.vocab_size);
        for (const KernelSet* set : available_kernels())
            for (int batch : {0, 3, 16}) {
                const double error = worst_relative_error(run_tokens(*model, *set, batch), g.logits, vocab);
                INFO(g.name << " on " << set->name << ", "
                            << (batch ? "batches of " + std::to_string(batch) : "token by token")
                            << ": worst error " << error << " of the largest logit");
                CHECK(error <= tolerance);
            }
    }
}
