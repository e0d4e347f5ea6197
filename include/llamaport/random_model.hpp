// Models with pseudo-random weights: the shapes of real models at the same cost to run, for
// benchmarks and tests where only the arithmetic matters.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "llamaport/model.hpp"

namespace llamaport {

// fp32 weights uniform in +-1/sqrt(fan_in), norms 1. Deterministic for a seed.
std::unique_ptr<Model> make_random_model(const Config& config, uint64_t seed,
                                         bool shared_classifier = true);

// The shapes people run, by name: the TinyStories ones ("260K", "15M", "42M", "110M", classifier
// tied) and "tinyllama-1.1b", "llama-3.2-1b" (tied), "llama-3.1-8b" (with Llama 3.1's rope
// factors). Throws Error for others, listing them.
struct NamedShape {
    Config config;
    bool tied = true;  // the classifier is the embedding
};
NamedShape named_model_shape(const std::string& name);
Config named_shape(const std::string& name);

}  // namespace llamaport
