#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "llamaport/error.hpp"
#include "llamaport/sampler.hpp"

using namespace llamaport;

TEST_CASE("xorshift matches run.c's generator", "[sampler]") {
    // Values computed independently from run.c's definition (64-bit xorshift, * 0x2545F4914F6CDD1D, >> 32).
    uint64_t state = 42;
    CHECK(random_u32(state) == 1456360119u);
    CHECK(random_u32(state) == 3359763283u);
    CHECK(random_u32(state) == 3393612768u);
    uint64_t s2 = 42;
    CHECK(random_f32(s2) == float(1456360119u >> 8) / 16777216.0f);
}

TEST_CASE("temperature 0 is argmax, first index on ties", "[sampler]") {
    Sampler s(5, 0.0f, 0.9f, 1);
    std::vector<float> logits{0.1f, 3.0f, -2.0f, 3.0f, 1.0f};
    CHECK(s.sample(logits.data()) == 1);
}

TEST_CASE("softmax sums to one and keeps order", "[sampler]") {
    std::vector<float> x{1.0f, 2.0f, 3.0f};
    softmax(x.data(), x.size());
    CHECK(x[0] + x[1] + x[2] == Approx(1.0f));
    CHECK(x[0] < x[1]);
    CHECK(x[1] / x[0] == Approx(std::exp(1.0f)));
    // A huge logit does not overflow: the maximum is subtracted first.
    std::vector<float> big{0.0f, 1000.0f};
    softmax(big.data(), big.size());
    CHECK(big[1] == 1.0f);
    CHECK(big[0] == 0.0f);
}

TEST_CASE("top-p never picks a token outside the nucleus", "[sampler]") {
    // Probabilities 0.5, 0.3, 0.15, 0.05 (as logits): top-p 0.7 keeps the first two.
    const std::vector<float> probs{0.5f, 0.3f, 0.15f, 0.05f};
    Sampler s(4, 1.0f, 0.7f, 12345);
    int counts[4] = {0, 0, 0, 0};
    for (int i = 0; i < 2000; i++) {
        std::vector<float> logits;
        for (float p : probs) logits.push_back(std::log(p));
        counts[s.sample(logits.data())]++;
    }
    CHECK(counts[2] == 0);
    CHECK(counts[3] == 0);
    // 0.5 / 0.8 of the draws go to token 0.
    CHECK(counts[0] == Approx(2000 * 0.625).epsilon(0.08));
}

TEST_CASE("multinomial sampling follows the distribution", "[sampler]") {
    Sampler s(3, 1.0f, 1.0f, 7);
    int counts[3] = {0, 0, 0};
    for (int i = 0; i < 3000; i++) {
        std::vector<float> logits{std::log(0.2f), std::log(0.3f), std::log(0.5f)};
        counts[s.sample(logits.data())]++;
    }
    CHECK(counts[0] == Approx(600).epsilon(0.15));
    CHECK(counts[2] == Approx(1500).epsilon(0.1));
}

TEST_CASE("degenerate probabilities in top-p give the most likely token", "[sampler]") {
    // With top-p 0.01 over 4 tokens no probability reaches run.c's cutoff (0.99 / 3), where run.c
    // would read out of bounds: the sampler takes the most likely token, the first on ties.
    Sampler s(4, 1.0f, 0.01f, 3);
    std::vector<float> uniform(4, 0.0f);
    CHECK(s.sample(uniform.data()) == 0);
    std::vector<float> near_uniform{0.0f, 0.0f, 0.01f, 0.0f};
    CHECK(s.sample(near_uniform.data()) == 2);
    // NaN logits: no probability is larger than another, so the first token.
    std::vector<float> nan(4, std::nanf(""));
    CHECK(s.sample(nan.data()) == 0);
}

TEST_CASE("sampler refuses out-of-range settings", "[sampler]") {
    CHECK_THROWS_AS(Sampler(10, -0.1f, 0.9f, 1), Error);
    CHECK_THROWS_AS(Sampler(10, 1.0f, 1.5f, 1), Error);
    CHECK_THROWS_AS(Sampler(10, 1.0f, -0.5f, 1), Error);
    CHECK_THROWS_AS(Sampler(10, std::nanf(""), 0.9f, 1), Error);
    CHECK_THROWS_AS(Sampler(0, 1.0f, 0.9f, 1), Error);
}
