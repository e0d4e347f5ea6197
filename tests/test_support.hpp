// Helpers shared by the tests: where the shared model files are, reading reference files, and
// small models made on the fly.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cli.hpp"
#include "llamaport/model.hpp"

namespace llamaport::test {

// Set by --subset (cross builds under qemu-user): the loops that dominate emulated time run
// on a fixed subset that still covers every kernel set and both byte orders.
extern bool use_subset;

// $LLAMAPORT_SHARED, or ../shared beside the source tree.
std::string shared_dir();
bool shared_available();
std::string model_path(const std::string& name);      // shared_dir()/models/name
std::string reference_path(const std::string& name);  // shared_dir()/reference/name

std::string read_file(const std::string& path);
std::vector<std::string> read_lines(const std::string& path);
std::vector<int> parse_ids(const std::string& text);  // space-separated integers

// One generation case of reference/stories260K_cases.tsv.
struct ReferenceCase {
    std::string name;
    float temperature = 1.0f, top_p = 0.9f;
    unsigned long long seed = 0;
    int steps = 256;
    std::string prompt;
    std::vector<std::string> flags;  // as given, for running the CLI
};
// All ten, or with use_subset four of them (557 of 3058 positions): 02 (greedy after a prompt),
// 03 (temperature and top-p), 06 (an emoji from byte tokens) and 09 (a one-token run).
std::vector<ReferenceCase> reference_cases();

// Runs the llamaport command in-process.
struct CliResult {
    int status;
    std::string out, err;
};
CliResult run_cli(const std::vector<std::string>& args, const std::string& input = "",
                  const cli::Terminals& terminals = {});

// A small model with deterministic pseudo-random weights.
Config tiny_config();
std::unique_ptr<Model> random_test_model(const Config& config, unsigned seed, bool shared_classifier = true);

// `model` written as a file of a quantized type and loaded back: Q8_G as a llama2.c v2 file
// (group_size 0: write_llama2c's default), Q8_0 as a GGUF file (with a vocabulary of made-up
// pieces when the model has none).
std::unique_ptr<Model> requantized(const Model& model, WeightType type, size_t group_size = 0);

// The message of the Error f throws, or "no error".
std::string error_of(const std::function<void()>& f);

}  // namespace llamaport::test
