#include "llamaport/sampler.hpp"

#include <algorithm>
#include <cmath>

#include "llamaport/error.hpp"

namespace llamaport {

uint32_t random_u32(uint64_t& state) {
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return uint32_t((state * 0x2545F4914F6CDD1Dull) >> 32);
}

float random_f32(uint64_t& state) { return float(random_u32(state) >> 8) / 16777216.0f; }

void softmax(float* x, size_t n) {
    float max_val = x[0];
    for (size_t i = 1; i < n; i++)
        if (x[i] > max_val) max_val = x[i];
    float sum = 0.0f;
    for (size_t i = 0; i < n; i++) {
        x[i] = std::exp(x[i] - max_val);
        sum += x[i];
    }
    for (size_t i = 0; i < n; i++) x[i] /= sum;
}

Sampler::Sampler(int vocab_size, float temperature, float top_p, uint64_t seed)
    // xorshift never leaves state 0, so 0 stands for 1 (the command maps 0 to the clock first).
    : vocab_size_(vocab_size), temperature_(temperature), top_p_(top_p), state_(seed ? seed : 1) {
    if (vocab_size <= 0) throw Error("sampler: vocabulary size must be positive");
    if (!(temperature >= 0.0f) || std::isinf(temperature))
        throw Error("temperature must be a number >= 0");
    if (!(top_p >= 0.0f && top_p <= 1.0f)) throw Error("top-p must be in [0, 1]");
    candidates_.resize(size_t(vocab_size));
}

int Sampler::sample(float* logits) {
    const size_t n = size_t(vocab_size_);
    if (temperature_ == 0.0f) {
        size_t best = 0;
        for (size_t i = 1; i < n; i++)
            if (logits[i] > logits[best]) best = i;
        return int(best);
    }
    for (size_t i = 0; i < n; i++) logits[i] /= temperature_;
    softmax(logits, n);
    const float coin = random_f32(state_);
    if (top_p_ <= 0.0f || top_p_ >= 1.0f) {
        float cdf = 0.0f;
        for (size_t i = 0; i < n; i++) {
            cdf += logits[i];
            if (coin < cdf) return int(i);
        }
        return int(n - 1);  // rounding left the cdf short of coin
    }
    return sample_top_p(logits, coin);
}

int Sampler::sample_top_p(const float* probs, float coin) {
    // Tokens below this probability cannot be in the nucleus; dropping them first keeps the
    // sort short (run.c's shortcut, kept for identical results).
    const size_t n = size_t(vocab_size_);
    const float cutoff = (1.0f - top_p_) / float(n - 1);
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        if (probs[i] >= cutoff) candidates_[count++] = {probs[i], int(i)};
    if (count == 0) {
        // Only when probabilities are degenerate (near-uniform with tiny top_p, or NaN): where
        // run.c would read out of bounds, take the most likely token.
        return int(std::max_element(probs, probs + n) - probs);
    }
    // Stable, as glibc's qsort (a merge sort) is for run.c: ties keep vocabulary order.
    std::stable_sort(candidates_.begin(), candidates_.begin() + std::ptrdiff_t(count),
                     [](const Candidate& a, const Candidate& b) { return a.prob > b.prob; });
    float cumulative = 0.0f;
    size_t last = count - 1;
    for (size_t i = 0; i < count; i++) {
        cumulative += candidates_[i].prob;
        if (cumulative > top_p_) {
            last = i;
            break;
        }
    }
    const float r = coin * cumulative;
    float cdf = 0.0f;
    for (size_t i = 0; i <= last; i++) {
        cdf += candidates_[i].prob;
        if (r < cdf) return candidates_[i].index;
    }
    return candidates_[last].index;
}

}  // namespace llamaport
