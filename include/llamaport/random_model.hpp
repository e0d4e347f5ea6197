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

// The TinyStories shapes by name: "260K", "15M", "42M", "110M". Throws Error for others.
Config named_shape(const std::string& name);

}  // namespace llamaport
