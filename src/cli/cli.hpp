// The llamaport command: flag parsing and printing around the library. Streams are parameters
// so the tests (and the command-line fuzz target) can run the whole command in-process.
#pragma once

#include <csignal>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

#include "command_line.hpp"
#include "llamaport/transformer.hpp"

namespace llamaport::cli {

struct Options {
    enum class Action { run, help, version };
    Action action = Action::run;
    std::string model_path;
    std::string tokenizer_path;  // empty: the model's own vocabulary, else tokenizer.bin
    float temperature = 1.0f;
    float top_p = 0.9f;
    uint64_t seed = 0;
    int steps = 256;  // in chat: per answer
    bool steps_given = false;
    std::optional<std::string> prompt;
    std::string mode = "generate";
    std::optional<std::string> system_prompt;
    std::string chat_template;  // a template name; empty: the model's, recognised
    std::string kernel = "auto";
    int threads = 0;  // 0: hardware threads
    int context = 0;  // 0: the model's
    Transformer::KvType kv_type = Transformer::KvType::f32;
};

// Which of the standard streams are terminals (main() asks isatty; the tests choose). On a
// pipe, chat sends its prompts to standard error and asks no system prompt; load progress
// shows only on a terminal.
struct Terminals {
    bool input = false;
    bool error = false;
};

// Set by SIGINT once install_interrupt_handler() ran: generation stops, the summary is printed
// and the command exits 130.
extern volatile std::sig_atomic_t interrupted;
void install_interrupt_handler();

// The flags of argv (argv[0] is the program), the model path anywhere among them. Throws
// UsageError for a bad flag or value.
Options parse_options(int argc, const char* const* argv);

// Runs the model as the options say. Returns the exit status: 0 success, 1 bad input file or
// failed run, 2 bad flag value found late (an unknown kernel), 130 interrupted.
int run_options(const Options& options, std::ostream& out, std::ostream& err, std::istream& in,
                const Terminals& terminals = {});

// parse_options then run_options; prints the usage text for -h (and on standard error, with
// status 2, when there are no arguments at all, as run.c does), the version for --version.
int run(int argc, const char* const* argv, std::ostream& out, std::ostream& err, std::istream& in,
        const Terminals& terminals = {});

}  // namespace llamaport::cli
