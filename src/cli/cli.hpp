// The llamaport command: flag parsing and printing around the library. Streams are parameters
// so the tests (and the command-line fuzz target) can run the whole command in-process.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

namespace llamaport::cli {

struct Options {
    std::string model_path;
    std::string tokenizer_path = "tokenizer.bin";
    bool tokenizer_given = false;
    float temperature = 1.0f;
    float top_p = 0.9f;
    uint64_t seed = 0;
    int steps = 256;
    bool steps_given = false;
    std::optional<std::string> prompt;
    std::string mode = "generate";
    std::optional<std::string> system_prompt;
    std::string chat_template;  // a template name; empty: the model's, recognised
    std::string kernel = "auto";
    int threads = 0;  // 0: hardware threads
    int context = 0;  // 0: the model's
};

// A bad flag or value: exit status 2.
struct UsageError {
    std::string message;
};

// The flags of argv (argv[0] is the program). Returns nothing when help was asked for; throws
// UsageError for a bad flag or value.
std::optional<Options> parse_options(int argc, const char* const* argv);

// Runs the model as the options say. Returns the exit status: 0 success, 1 bad input file or
// failed run, 2 bad flag value found late (an unknown kernel).
int run_options(const Options& options, std::ostream& out, std::ostream& err, std::istream& in);

// parse_options then run_options; prints the usage text for -h.
int run(int argc, const char* const* argv, std::ostream& out, std::ostream& err, std::istream& in);

}  // namespace llamaport::cli
