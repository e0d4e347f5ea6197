// run.c's sampler: greedy at temperature 0, otherwise softmax(logits / temperature) and either
// multinomial sampling or top-p (nucleus) sampling, driven by run.c's xorshift generator so that
// a seed gives the same story as llama2.c.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace llamaport {

// xorshift64* as in run.c; state must not be 0.
uint32_t random_u32(uint64_t& state);
float random_f32(uint64_t& state);  // [0, 1)

// In-place softmax with run.c's arithmetic.
void softmax(float* x, size_t n);

class Sampler {
public:
    // temperature >= 0, top_p in [0, 1] (0 or 1: plain multinomial); throws Error otherwise.
    Sampler(int vocab_size, float temperature, float top_p, uint64_t seed);

    // Picks the next token; overwrites logits with probabilities when sampling.
    int sample(float* logits);

private:
    struct Candidate {
        float prob;
        int index;
    };
    int sample_top_p(const float* probs, float coin);

    int vocab_size_;
    float temperature_, top_p_;
    uint64_t state_;
    std::vector<Candidate> candidates_;
};

}  // namespace llamaport
