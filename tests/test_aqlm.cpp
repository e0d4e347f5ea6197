// AQLM: the reference dequantizer on hand-computed cases, validation, and the quantizer's
// guarantees (monotone error, determinism, quality against round-to-nearest, calibration).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <vector>

#include "aqlm/quantize.hpp"
#include "llamaport/aqlm.hpp"
#include "llamaport/error.hpp"
#include "llamaport/kernels.hpp"
#include "llamaport/sampler.hpp"
#include "loader/fp16.hpp"
#include "test_support.hpp"

using namespace llamaport;

namespace {

AqlmMatrix empty_matrix(size_t rows, size_t cols, size_t m, size_t bits, size_t g) {
    AqlmMatrix q;
    q.shape = {rows, cols, m, bits, g};
    q.codes.assign(rows * q.shape.groups() * m, 0);
    q.codebooks.assign(m * q.shape.entries() * g, 0.0f);
    q.scales.assign(rows, 1.0f);
    return q;
}

void set_entry(AqlmMatrix& q, size_t m, size_t k, const std::vector<float>& v) {
    for (size_t j = 0; j < v.size(); j++)
        q.codebooks[(m * q.shape.entries() + k) * q.shape.group_size + j] = v[j];
}

std::vector<float> row(const AqlmMatrix& q, size_t r) {
    std::vector<float> out(q.shape.cols);
    q.row_to_f32(r, out.data());
    return out;
}

// Roughly normal values (a sum of 4 uniforms) and importances spread over 256x, as real layer
// inputs are, from run.c's generator: plain arithmetic, so every host gets the same data.
std::vector<float> gaussian(size_t n, uint64_t seed) {
    std::vector<float> v(n);
    for (float& x : v)
        x = 1.7320508f *
            (random_f32(seed) + random_f32(seed) + random_f32(seed) + random_f32(seed) - 2.0f);
    return v;
}

std::vector<float> spread_importance(size_t n, uint64_t seed) {
    std::vector<float> d(n);
    for (float& x : d) {
        const float base = 1.0f + 3.0f * random_f32(seed);
        x = base * base * base * base / 16.0f;
    }
    return d;
}

std::vector<float> dequantize(const AqlmMatrix& q) {
    std::vector<float> out(q.shape.rows * q.shape.cols);
    for (size_t r = 0; r < q.shape.rows; r++) q.row_to_f32(r, &out[r * q.shape.cols]);
    return out;
}

struct Run {
    AqlmMatrix q;
    std::vector<double> errors;  // progress reports, iteration 0 first
};

Run quantize(const std::vector<float>& w, size_t rows, size_t cols, const std::vector<float>& d,
             const AqlmConfig& config, ThreadPool* pool = nullptr) {
    Run run;
    run.q = quantize_aqlm(w.data(), rows, cols, d, config, pool, [&](int iteration, double e) {
        CHECK(size_t(iteration) == run.errors.size());
        run.errors.push_back(e);
    });
    return run;
}

AqlmConfig config(size_t m, size_t bits, size_t g, int iterations = 20) {
    AqlmConfig c;
    c.codebooks = m;
    c.bits = bits;
    c.group_size = g;
    c.max_iterations = iterations;
    return c;
}

}  // namespace

TEST_CASE("AQLM dequantizer: 2x8 with high codes and a padded last group", "[aqlm]") {
    // 2 rows x 10 columns, groups of 4: the third group holds columns 8, 9 and two of padding.
    AqlmMatrix q = empty_matrix(2, 10, 2, 8, 4);
    set_entry(q, 0, 200, {1, 2, 3, 4});
    set_entry(q, 0, 255, {0.5f, -0.5f, 0.25f, -0.25f});
    set_entry(q, 0, 0, {-1, -2, 100, 200});  // padding coordinates must not show
    set_entry(q, 1, 7, {10, 20, 30, 40});
    set_entry(q, 1, 128, {0.125f, 0.125f, 0.125f, 0.125f});
    set_entry(q, 1, 255, {1000, 2000, 3000, 4000});
    // Per row, per group, the two codebooks' codes.
    q.codes = {200, 7, 255, 128, 0, 255, 255, 255, 200, 128, 255, 7};
    q.scales = {2.0f, -0.5f};
    REQUIRE_NOTHROW(q.validate("test"));
    CHECK(row(q, 0) ==
          std::vector<float>{22, 44, 66, 88, 1.25f, -0.75f, 0.75f, -0.25f, 1998, 3996});
    CHECK(row(q, 1) == std::vector<float>{-500.25f, -999.75f, -1500.125f, -1999.875f, -0.5625f,
                                          -1.0625f, -1.5625f, -2.0625f, -5.25f, -9.75f});
    // codes 2*3*2 at 8 bits, codebooks 2*256*4 at fp16, 2 fp32 scales.
    CHECK(q.stored_bytes() == 12 + 4096 + 8);
}

TEST_CASE("AQLM dequantizer: 16-bit codes and odd widths", "[aqlm]") {
    AqlmMatrix q = empty_matrix(1, 5, 1, 16, 3);  // groups: columns 0-2, 3-4 + 1 padding
    set_entry(q, 0, 40000, {1.5f, -2.5f, 3.5f});
    set_entry(q, 0, 65535, {7, 8, 9});
    q.codes = {65535, 40000};
    q.scales = {4.0f};
    REQUIRE_NOTHROW(q.validate("test"));
    CHECK(row(q, 0) == std::vector<float>{28, 32, 36, 6, -10});
    CHECK(q.stored_bytes() == 4 + 65536 * 3 * 2 + 4);
    // 3-bit codes pack: 1 row, 3 groups, 1 codebook = 9 bits -> 2 bytes.
    CHECK(empty_matrix(1, 5, 1, 3, 2).stored_bytes() == 2 + 8 * 2 * 2 + 4);
    CHECK(aqlm_bits_per_weight(q) == Approx(8.0 * double(q.stored_bytes()) / 5.0));
}

TEST_CASE("AQLM validate() rejects inconsistent matrices", "[aqlm]") {
    const AqlmMatrix good = empty_matrix(3, 10, 2, 4, 4);
    REQUIRE_NOTHROW(good.validate("m"));
    auto rejects = [](const AqlmMatrix& q, const char* text) {
        CHECK_THROWS_WITH(q.validate("layer 3 wq"),
                          Catch::Contains("layer 3 wq") && Catch::Contains(text));
    };
    AqlmMatrix q = good;
    q.codes[17] = 16;  // 4-bit codebooks have entries 0..15
    rejects(q, "code 16 at index 17 is out of range");
    q = good;
    q.codes.pop_back();
    rejects(q, "codes hold 17 values, expected 18");
    q = good;
    q.codebooks.push_back(0);
    rejects(q, "codebooks hold");
    q = good;
    q.scales.resize(2);
    rejects(q, "scales hold 2 values, expected 3");
    q = good;
    q.shape.bits = 17;
    rejects(q, "outside 1..16");
    q = good;
    q.shape.bits = 0;
    rejects(q, "outside 1..16");
    q = good;
    q.shape.group_size = 0;
    rejects(q, "group size");
    q = good;
    q.shape.codebooks = 0;
    rejects(q, "codebook");
    q = good;
    q.shape.rows = 0;
    rejects(q, "no rows");
    q = good;
    q.shape.rows = size_t(-1) / 2;  // sizes overflow size_t
    CHECK_THROWS_AS(q.validate("m"), Error);
}

TEST_CASE("round_to_nearest_2bit uses 4 levels from each group's min to max", "[aqlm]") {
    const std::vector<float> w = {-1, 0.4f, 0.6f, 2, 0, 1, 3, 2, 1.4f};  // groups of 4, then 1
    const std::vector<float> out = round_to_nearest_2bit(w.data(), 1, 9, 4);
    CHECK(out == std::vector<float>{-1, 0, 1, 2, 0, 1, 3, 2, 1.4f});
    CHECK_THROWS_AS(round_to_nearest_2bit(w.data(), 1, 9, 0), Error);
}

TEST_CASE("AQLM quantizer: monotone error, consistent with the dequantizer", "[aqlm]") {
    // 32 x 44 (5 groups of 8 and 4 columns of padding), 2x6: the joint codebook solve.
    const size_t rows = 32, cols = 44;
    const std::vector<float> w = gaussian(rows * cols, 11), d = spread_importance(cols, 5);
    const Run run = quantize(w, rows, cols, d, config(2, 6, 8, 6));
    REQUIRE_NOTHROW(run.q.validate("quantized"));
    REQUIRE(run.errors.size() >= 3);
    for (size_t i = 1; i < run.errors.size(); i++) CHECK(run.errors[i] <= run.errors[i - 1]);
    CHECK(run.errors.back() < 0.9 * run.errors.front());  // the alternation does real work

    // The reported error is the error of the returned matrix as the dequantizer reads it.
    const std::vector<float> approx = dequantize(run.q);
    CHECK(weighted_error(w.data(), approx.data(), rows, cols, d).relative() ==
          Approx(run.errors.back()).epsilon(1e-12));
    for (float v : run.q.codebooks) CHECK(fp16_to_fp32(fp32_to_fp16(v)) == v);
}

// 0.15 s natively, 20 s under qemu-ppc (which emulates every floating-point operation).
TEST_CASE("AQLM quantizer: 2x8 far better than round-to-nearest 2-bit", "[aqlm][slow]") {
    // A 64 x 172 matrix (172 = 21 groups of 8 + 4 columns of padding), 2x8 g8.
    const size_t rows = 64, cols = 172;
    const std::vector<float> w = gaussian(rows * cols, 11), d = spread_importance(cols, 5);
    const std::vector<float> aqlm = dequantize(quantize(w, rows, cols, d, config(2, 8, 8, 4)).q);
    const std::vector<float> rtn = round_to_nearest_2bit(w.data(), rows, cols, 8);
    const WeightedError a = weighted_error(w.data(), aqlm.data(), rows, cols, d);
    const WeightedError baseline = weighted_error(w.data(), rtn.data(), rows, cols, d);
    INFO("AQLM 2x8 " << a.relative() << ", RTN " << baseline.relative());
    CHECK(a.error < 0.5 * baseline.error);
}

TEST_CASE("AQLM quantizer: deterministic for a seed whatever the thread count", "[aqlm]") {
    const size_t rows = 40, cols = 52;
    const std::vector<float> w = gaussian(rows * cols, 3), d = spread_importance(cols, 4);
    const AqlmConfig c = config(2, 6, 4, 4);
    ThreadPool three(3);
    const Run a = quantize(w, rows, cols, d, c), b = quantize(w, rows, cols, d, c, &three);
    CHECK(a.q.codes == b.q.codes);
    CHECK(a.q.codebooks == b.q.codebooks);
    CHECK(a.q.scales == b.q.scales);
    CHECK(a.errors == b.errors);
    AqlmConfig other = c;
    other.seed = 2;
    CHECK(quantize(w, rows, cols, d, other, &three).q.codes != a.q.codes);
}

TEST_CASE("AQLM quantizer: importance weighting lowers the weighted error", "[aqlm]") {
    const size_t rows = 32, cols = 64;
    const std::vector<float> w = gaussian(rows * cols, 21), d = spread_importance(cols, 22);
    const AqlmConfig c = config(2, 6, 8, 8);
    const std::vector<float> weighted = dequantize(quantize(w, rows, cols, d, c).q);
    const std::vector<float> plain = dequantize(quantize(w, rows, cols, {}, c).q);
    CHECK(weighted_error(w.data(), weighted.data(), rows, cols, d).error <
          0.8 * weighted_error(w.data(), plain.data(), rows, cols, d).error);
}

// 0.6 s natively, 100 s under qemu-ppc: 640 groups x 65536 entries per code search.
TEST_CASE("AQLM quantizer: 1x16 at least as good as 2x8 on a structured matrix", "[aqlm][slow]") {
    // 64 x 80, g8: 640 groups drawn from 600 patterns (repeats, as in trained weights with
    // shared structure): more than 2x8 fits exactly, while every distinct group fits in
    // one 16-bit codebook.
    const size_t rows = 64, cols = 80, g = 8;
    const std::vector<float> patterns = gaussian(600 * g, 8);
    std::vector<float> w(rows * cols);
    uint64_t state = 9;
    for (size_t v = 0; v < rows * cols / g; v++) {
        const size_t p = random_u32(state) % 600;
        std::memcpy(&w[v * g], &patterns[p * g], g * sizeof(float));
    }
    const std::vector<float> d = spread_importance(cols, 10);
    const double e16 = quantize(w, rows, cols, d, config(1, 16, g, 2)).errors.back();
    const double e8 = quantize(w, rows, cols, d, config(2, 8, g, 2)).errors.back();
    INFO("1x16 " << e16 << ", 2x8 " << e8);
    CHECK(e16 * 100 < e8);
    CHECK(e16 < 1e-5);  // exact but for fp16 codebook values
}

TEST_CASE("AQLM quantizer: fewer group vectors than codebook entries, and degenerate input",
          "[aqlm]") {
    // 4 x 10 with g4: 12 vectors for 65536 entries; most entries stay unused.
    const std::vector<float> w = gaussian(40, 1);
    const Run run = quantize(w, 4, 10, {}, config(1, 16, 4));
    REQUIRE_NOTHROW(run.q.validate("tiny"));
    CHECK(run.errors.back() < 1e-5);
    // All zero, and importance zero in some columns: nothing to fit, nothing divides by zero.
    const std::vector<float> zero(6 * 8, 0.0f);
    const Run z = quantize(zero, 6, 8, {}, config(2, 4, 4));
    CHECK(z.errors.back() == 0);
    for (float v : dequantize(z.q)) CHECK(v == 0);
    std::vector<float> d(8, 1.0f);
    d[0] = d[5] = 0;
    CHECK(quantize(gaussian(6 * 8, 2), 6, 8, d, config(2, 4, 4)).errors.back() < 0.5);
}

TEST_CASE("AQLM quantizer rejects bad configurations and input", "[aqlm]") {
    const std::vector<float> w = gaussian(8 * 8, 1);
    auto fails = [&](const AqlmConfig& c, const std::vector<float>& d,
                     const std::vector<float>& m) {
        CHECK_THROWS_AS(quantize_aqlm(m.data(), 8, 8, d, c, nullptr), Error);
    };
    fails(config(0, 8, 8), {}, w);
    fails(config(1, 0, 8), {}, w);
    fails(config(1, 17, 8), {}, w);
    fails(config(1, 8, 0), {}, w);
    fails(config(1, 4, 4), std::vector<float>(7, 1.0f), w);
    fails(config(1, 4, 4), std::vector<float>(8, -1.0f), w);
    std::vector<float> nan = w;
    nan[5] = std::nanf("");
    fails(config(1, 4, 4), {}, nan);
}

TEST_CASE("AQLM calibration: positive input importances for every matrix", "[aqlm]") {
    const Config c = test::tiny_config();
    const auto model = test::random_test_model(c, 7);
    const Weights& w = model->weights;
    std::vector<const Matrix*> matrices = {&w.classifier};
    for (const LayerWeights& l : w.layers)
        for (const Matrix* m : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w1, &l.w2, &l.w3})
            matrices.push_back(m);

    // 40 tokens: past seq_len (32), so the sequence restarts at least once.
    const auto sampled = collect_input_importance(*model, scalar_kernels(), 40, 3);
    const auto given =
        collect_input_importance(*model, scalar_kernels(), std::vector<int>{1, 5, 7, 1, 299, 2});
    for (const auto* importance : {&sampled, &given}) {
        CHECK(importance->size() == matrices.size());
        for (const Matrix* m : matrices) {
            REQUIRE(importance->count(m) == 1);
            const std::vector<float>& d = importance->at(m);
            REQUIRE(d.size() == m->cols);
            for (float v : d) CHECK(v > 0);
        }
    }
    // The same input, hence the same statistics, for the matrices that share it.
    CHECK(sampled.at(&w.layers[0].wq) == sampled.at(&w.layers[0].wk));
    CHECK_THROWS_AS(collect_input_importance(*model, scalar_kernels(), std::vector<int>{1, 300}),
                    Error);
    CHECK_THROWS_AS(collect_input_importance(*model, scalar_kernels(), std::vector<int>{}), Error);
    CHECK_THROWS_AS(collect_input_importance(*model, scalar_kernels(), 0, 1), Error);
}
