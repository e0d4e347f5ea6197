// Fuzz target: the llamaport command line. The input is split at NUL bytes: the first part is
// standard input (chat turns), the others are the arguments after the model path. Whatever
// parses runs against a small model written at start-up (paths are replaced, so no input can
// make the command open other files), with steps, context and threads capped to keep runs short.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "cli.hpp"
#include "fuzz_support.hpp"
#include "llamaport/llama2c.hpp"
#include "llamaport/random_model.hpp"

using namespace llamaport;

namespace {

struct Files {
    std::string model, tokenizer;
};

void write_file(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary) << bytes;
}

void remove_fuzz_files();

const Files& fuzz_files() {
    static const Files files = [] {
        // Per process: libFuzzer's -jobs runs several.
        const std::string base = (std::filesystem::temp_directory_path() /
                                  ("llamaport-fuzz-cli-" + std::to_string(getpid()))).string();
        Files f{base + ".bin", base + ".tok"};
        write_file(f.model, write_llama2c(*make_random_model(fuzz::small_config(16, 36), 5), {}));
        write_file(f.tokenizer, fuzz::small_tokenizer().to_llama2c_file());
        return f;
    }();
    // Registered once `files` is built, so it runs before files' destructor. (Registered
    // inside the initializer, it ran after it and removed nothing: every run left its files.)
    static const int removal = std::atexit(remove_fuzz_files);
    (void)removal;
    return files;
}

void remove_fuzz_files() {
    std::remove(fuzz_files().model.c_str());
    std::remove(fuzz_files().tokenizer.c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string input(reinterpret_cast<const char*>(data), size);
    std::vector<std::string> parts;
    size_t start = 0;
    for (size_t end; (end = input.find('\0', start)) != std::string::npos; start = end + 1)
        parts.push_back(input.substr(start, end - start));
    parts.push_back(input.substr(start));

    const Files& files = fuzz_files();
    std::vector<const char*> argv = {"llamaport", files.model.c_str()};
    for (size_t i = 1; i < parts.size(); i++) argv.push_back(parts[i].c_str());
    std::optional<cli::Options> options;
    try {
        options = cli::parse_options(int(argv.size()), argv.data());
    } catch (const cli::UsageError&) {
        // The whole command fails the same way, before opening any file, with one safe line.
        std::istringstream in;
        std::ostringstream out, err;
        fuzz::check(cli::run(int(argv.size()), argv.data(), out, err, in) == 2, "bad flags exit 2");
        const std::string message = err.str();
        fuzz::check(out.str().empty() && !message.empty() && message.find('\n') == message.size() - 1,
                    "a usage error is one line on standard error");
        fuzz::check(fuzz::terminal_safe(message), "a usage error is terminal-safe");
        return 0;
    }
    if (options->action != cli::Options::Action::run) return 0;  // --help, --version
    options->model_path = files.model;
    if (!options->tokenizer_path.empty()) options->tokenizer_path = files.tokenizer;
    options->steps = std::min(options->steps, 24);
    options->context = std::min(options->context, 64);
    options->threads = std::min(options->threads, 2);

    std::istringstream in(parts[0]);
    std::ostringstream out, err;
    const int status = cli::run_options(*options, out, err, in);
    fuzz::check(status == 0 || status == 1 || status == 2, "exit status 0, 1 or 2");
    fuzz::check(fuzz::terminal_safe(out.str()), "standard output is terminal-safe");
    fuzz::check(fuzz::terminal_safe(err.str()), "standard error is terminal-safe");
    return 0;
}
