// The llamaport command, run in-process: flags, errors and exit codes.
#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include "cli.hpp"
#include "llamaport/kernels.hpp"
#include "llamaport/llama2c.hpp"
#include "test_support.hpp"

using namespace llamaport;
using namespace llamaport::test;

namespace {

// A tiny random model and a matching 300-token tokenizer file, written once into the temporary
// directory. The names carry the process id: ctest runs areas in parallel, and several use these
// files (a file rewritten while another process maps it ends that process with SIGBUS).
struct TinyFiles {
    std::string base = (std::filesystem::temp_directory_path() /
                        ("llamaport-cli-test-" + std::to_string(getpid()))).string();
    std::string model = base + ".bin";
    std::string tokenizer = base + "-tok.bin";
    TinyFiles() {
        auto m = random_test_model(tiny_config(), 3);
        std::ofstream(model, std::ios::binary) << write_llama2c(*m, {});
        std::ofstream tok(tokenizer, std::ios::binary);
        auto le32 = [&](uint32_t v) {
            for (int i = 0; i < 4; i++) tok.put(char(v >> (8 * i)));
        };
        le32(8);
        const char* hex = "0123456789ABCDEF";
        for (int i = 0; i < 300; i++) {
            std::string piece = i == 0 ? "<unk>" : i == 1 ? "<s>" : i == 2 ? "</s>" : "";
            if (i >= 3 && i < 259) piece = std::string("<0x") + hex[(i - 3) / 16] + hex[(i - 3) % 16] + ">";
            if (i >= 259) piece = i == 259 ? " " : std::string(1, char('a' + (i - 260) % 26)) + std::to_string(i);
            le32(0);
            le32(uint32_t(piece.size()));
            tok << piece;
        }
    }
    ~TinyFiles() {
        std::remove(model.c_str());
        std::remove(tokenizer.c_str());
    }
};

const TinyFiles& tiny_files() {
    static TinyFiles files;
    return files;
}

CliResult tiny(std::vector<std::string> flags, const std::string& input = "",
               const cli::Terminals& terminals = {}) {
    std::vector<std::string> args{tiny_files().model, "-z", tiny_files().tokenizer};
    args.insert(args.end(), flags.begin(), flags.end());
    return run_cli(args, input, terminals);
}

// A file holding bytes, removed at the end of the scope.
struct ScratchFile {
    std::string path;
    ScratchFile(const std::string& name, const std::string& bytes)
        : path((std::filesystem::temp_directory_path() /
                (std::to_string(getpid()) + "-" + name)).string()) {
        std::ofstream(path, std::ios::binary) << bytes;
    }
    ~ScratchFile() { std::remove(path.c_str()); }
};

size_t occurrences(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) n++;
    return n;
}

bool one_line(const std::string& s) { return !s.empty() && s.find('\n') == s.size() - 1; }

}  // namespace

TEST_CASE("--help lists every flag with its default, and every kernel set", "[cli]") {
    const CliResult r = run_cli({"--help"});
    CHECK(r.status == 0);
    for (const char* flag : {"-t", "-p", "-s", "-n", "-i", "-z", "-m", "-y", "-c", "--kernel", "--threads",
                             "--kv-type", "--version"})
        CHECK_THAT(r.out, Catch::Contains(std::string("  ") + flag + " "));
    CHECK_THAT(r.out, Catch::Contains("default 1.0") && Catch::Contains("default 0.9") &&
                          Catch::Contains("default 256") && Catch::Contains("tokenizer.bin") &&
                          Catch::Contains("default f32"));
    for (const std::string& name : kernel_set_names()) CHECK_THAT(r.out, Catch::Contains(name));
}

TEST_CASE("no arguments print the usage on standard error, as run.c does; --version", "[cli]") {
    const CliResult none = run_cli({});
    CHECK(none.status == 2);
    CHECK(none.out.empty());
    CHECK(none.err == run_cli({"--help"}).out);
    const CliResult version = run_cli({"--version"});
    CHECK(version.status == 0);
    CHECK_THAT(version.out, Catch::Matches("llamaport [0-9]+\\.[0-9]+\\.[0-9]+\n"));
}

TEST_CASE("the model path goes anywhere among the flags, and --flag=value works", "[cli]") {
    const CliResult r = run_cli({"--kernel=scalar", "-n", "4", tiny_files().model, "--threads=1", "-z",
                                 tiny_files().tokenizer, "--kv-type=f16"});
    INFO(r.err);
    CHECK(r.status == 0);
    CHECK_THAT(r.err, Catch::Contains("kernel scalar") && Catch::Contains("| 1 thread |"));
}

TEST_CASE("bad flags and values exit 2 with one line", "[cli]") {
    struct Case { std::vector<std::string> args; const char* message; };
    const Case cases[] = {
        {{"-n", "3"}, "no model given"},
        {{"m.bin", "x.bin"}, "unexpected argument 'x.bin' (the model is 'm.bin'"},
        {{"m.bin", "--threads="}, "--threads: expected a whole number"},
        {{"m.bin", "--kv-type", "f8"}, "--kv-type: expected f32 or f16, got 'f8'"},
        {{"m.bin", "-z", ""}, "-z: the tokenizer path is empty"},
        {{"m.bin", "-x", "1"}, "unknown flag '-x'"},
        {{"m.bin", "-t"}, "-t needs a value"},
        {{"m.bin", "-t", "-1"}, "temperature must be >= 0"},
        {{"m.bin", "-t", "hot"}, "temperature must be a number"},
        {{"m.bin", "-p", "1.5"}, "top-p must be in [0,1]"},
        {{"m.bin", "-p", "-0.1"}, "top-p must be in [0,1]"},
        {{"m.bin", "-n", "-5"}, "-n: expected a whole number"},
        {{"m.bin", "-n", "12abc"}, "-n: expected a whole number"},
        {{"m.bin", "-s", "-1"}, "-s: expected a whole number"},
        {{"m.bin", "-m", "poem"}, "mode must be generate or chat"},
        {{"m.bin", "--threads", "0"}, "--threads: expected a whole number"},
        {{"m.bin", "stray"}, "unexpected argument 'stray'"},
    };
    for (const Case& c : cases) {
        std::vector<std::string> args = c.args;
        const CliResult r = run_cli(args);
        INFO(r.err);
        CHECK(r.status == 2);
        CHECK_THAT(r.err, Catch::StartsWith("llamaport: ") && Catch::Contains(c.message));
        CHECK(one_line(r.err));
        CHECK(r.out.empty());
    }
}

TEST_CASE("an unknown or unavailable kernel is a clear error", "[cli][kernels]") {
    CliResult r = tiny({"--kernel", "mmx"});
    CHECK(r.status == 2);
    CHECK_THAT(r.err, Catch::Contains("unknown kernel 'mmx'"));
    CHECK(one_line(r.err));
    for (const char* k : {"avx2", "avx512", "neon", "altivec"}) {
        r = tiny({"--kernel", k, "-n", "2"});
        if (r.status != 0) {
            CHECK(r.status == 2);
            CHECK_THAT(r.err, Catch::Contains(std::string("kernel '") + k + "'"));
        }
    }
}

TEST_CASE("file problems exit 1 with one line naming the file", "[cli]") {
    CliResult r = run_cli({"/nonexistent/model.bin"});
    CHECK(r.status == 1);
    CHECK(r.err == "llamaport: /nonexistent/model.bin: cannot open file: No such file or directory\n");
    r = tiny({"-z", "/nonexistent/tok.bin"});
    CHECK(r.status == 1);
    CHECK_THAT(r.err, Catch::Contains("/nonexistent/tok.bin: cannot open file"));
    r = run_cli({"."});
    CHECK(r.status == 1);
    CHECK(one_line(r.err));
}

TEST_CASE("messages quoting a hostile flag or file name cannot reach the terminal raw", "[cli]") {
    const CliResult kernel = tiny({"--kernel", "\x1b]0;owned\x07"});
    CHECK(kernel.status == 2);
    CHECK_THAT(kernel.err, Catch::Contains("kernel '\\x1B]0;owned\\x07'"));
    const CliResult file = run_cli({"/nonexistent/\x9b\n.bin"});
    CHECK(file.status == 1);
    CHECK_THAT(file.err, Catch::StartsWith("llamaport: /nonexistent/\\x9B\\x0A.bin: cannot open file"));
    CHECK(one_line(file.err));
}

TEST_CASE("chat turns of any length and content are handled", "[cli]") {
    std::string hostile(100000, 'a');
    for (size_t i = 0; i < hostile.size(); i += 7) hostile[i] = char(i % 256);
    hostile[5] = '\0';
    // A turn longer than the context is refused in one line, whatever bytes it holds.
    const CliResult piped = tiny({"-m", "chat", "-n", "32"}, hostile + "\n");
    CHECK(piped.status == 1);
    CHECK_THAT(piped.err, Catch::EndsWith("longer than the model's context of 32\n"));
    CHECK(piped.out.empty());
    const CliResult terminal = tiny({"-m", "chat", "-n", "32"}, "\n" + hostile + "\n", {true, false});
    CHECK(terminal.status == 1);
    CHECK_THAT(terminal.err, Catch::Contains("longer than the model's context of 32"));
    CHECK(one_line(terminal.err));
    CHECK(terminal.out == "Enter system prompt (optional): User: ");
}

TEST_CASE("a prompt longer than the context is refused", "[cli]") {
    const CliResult r = tiny({"-i", std::string(200, 'q')});  // 'q' is not in the vocabulary: byte tokens
    CHECK(r.status == 1);
    CHECK_THAT(r.err, Catch::Contains("prompt is 202 tokens, longer than the model's context of 32"));
    CHECK(one_line(r.err));
}

TEST_CASE("steps: 0 means the whole context, larger values are clamped", "[cli]") {
    for (const char* n : {"0", "1000"}) {
        const CliResult r = tiny({"-n", n, "-t", "0"});
        CHECK(r.status == 0);
        CHECK_THAT(r.err, Catch::Contains("achieved tok/s: "));
        CHECK((r.err.find("llamaport: -n 1000 is more than the model's context of 32 tokens; running 32\n") !=
               std::string::npos) == (std::string(n) == "1000"));
    }
    const CliResult one = tiny({"-n", "1", "-t", "0", "-i", "ab"});
    CHECK(one.status == 0);
}

TEST_CASE("the summary names model, format, kernel and rates", "[cli]") {
    const CliResult r = tiny({"-n", "8", "-s", "5", "--kernel", "scalar", "--threads", "1"});
    CHECK(r.status == 0);
    CHECK_THAT(r.err, Catch::Contains("llama2.c v0 fp32") && Catch::Contains("kernel scalar") &&
                          Catch::Contains("1 thread") && Catch::Contains("prompt 1 token,") &&
                          Catch::Contains("generation"));
}

TEST_CASE("the same seed gives the same story; -s 0 reports the seed it chose", "[cli]") {
    const CliResult a = tiny({"-s", "77", "-n", "20"}), b = tiny({"-s", "77", "-n", "20"});
    CHECK(a.status == 0);
    CHECK(a.out.size() > 1);  // a story, not only the final newline
    CHECK(a.out == b.out);
    CHECK(tiny({"-s", "78", "-n", "20"}).out != a.out);
    CHECK_THAT(a.err, Catch::Contains("| seed 77\n"));
    const CliResult clock = tiny({"-s", "0", "-n", "20"});
    CHECK(clock.status == 0);
    const size_t at = clock.err.find("| seed ");
    REQUIRE(at != std::string::npos);
    const std::string seed = clock.err.substr(at + 7, clock.err.find('\n', at) - at - 7);
    CHECK(std::stoull(seed) > 0);
    CHECK(tiny({"-s", seed, "-n", "20"}).out == clock.out);
}

TEST_CASE("chat on a terminal prompts as run.c does", "[cli]") {
    const CliResult chat = tiny({"-m", "chat", "-n", "4", "-s", "3", "-c", "128"}, "\nhi\nyo\n", {true, false});
    CHECK(chat.status == 0);
    CHECK_THAT(chat.out, Catch::StartsWith("Enter system prompt (optional): User: Assistant: "));
    CHECK(occurrences(chat.out, "User: ") == 3);  // two turns, then end of input
    // End of input ends the chat cleanly.
    const CliResult eof = tiny({"-m", "chat", "-n", "32", "-y", "sys"}, "", {true, false});
    CHECK(eof.status == 0);
    CHECK(eof.out == "User: \n");
}

TEST_CASE("chat on a pipe: one turn per line, every turn answered, prompts on standard error", "[cli]") {
    // The tiny model rarely says end-of-turn: -n 3 ends each answer after 3 tokens, so 128
    // positions hold three turns of "[INST] x [/INST]" (about 18 tokens, mostly bytes) and their
    // answers.
    const CliResult chat = tiny({"-m", "chat", "-n", "3", "-s", "3", "-c", "128"}, "a\nb\nc\n");
    INFO(chat.err);
    CHECK(chat.status == 0);
    CHECK(occurrences(chat.err, "Assistant: ") == 3);
    CHECK(occurrences(chat.err, "User: ") == 4);  // the fourth meets the end of input
    CHECK_THAT(chat.err, !Catch::Contains("system prompt"));
    for (const char* noise : {"User:", "Assistant:", "<s>", "</s>"}) CHECK_THAT(chat.out, !Catch::Contains(noise));
    CHECK(occurrences(chat.out, "\n") >= 3);  // each answer ends its line
    // A context too small for the next turn ends the chat with a note.
    const CliResult full = tiny({"-m", "chat", "-n", "0", "-s", "3"}, "a\nb\n");
    CHECK(full.status == 0);
    CHECK(occurrences(full.err, "Assistant: ") == 1);
    CHECK_THAT(full.err, Catch::Contains("the context of 32 positions is full; the chat ends here"));
}

TEST_CASE("Ctrl-C stops generation, prints the summary and exits 130", "[cli]") {
    cli::install_interrupt_handler();
    std::raise(SIGINT);
    const CliResult r = tiny({"-n", "20"});
    cli::interrupted = 0;
    std::signal(SIGINT, SIG_DFL);
    CHECK(r.status == 130);
    CHECK(r.out == "\n");
    CHECK_THAT(r.err, Catch::Contains("llamaport: load ") && Catch::EndsWith("llamaport: interrupted\n"));
}

TEST_CASE("files given in the wrong place are named for what they are", "[cli]") {
    const TinyFiles& files = tiny_files();
    CliResult r = run_cli({files.tokenizer});
    CHECK(r.status == 1);
    CHECK(r.err == "llamaport: " + files.tokenizer + ": this is a llama2.c tokenizer, not a model\n");
    r = run_cli({files.model, "-z", files.model});
    CHECK(r.status == 1);
    CHECK(r.err == "llamaport: " + files.model + ": this is a llama2.c checkpoint, not a tokenizer\n");
    const ScratchFile text("prompt.txt", "Once upon a time there was a model file that was not one.\n");
    r = run_cli({text.path});
    CHECK(r.err == "llamaport: " + text.path + ": this is a text file; llamaport reads llama2.c .bin and GGUF\n");
    r = run_cli({files.model, "-z", text.path});
    CHECK(r.err == "llamaport: " + text.path + ": this is a text file, not a tokenizer\n");
}

TEST_CASE("without -z, a llama2.c model looks for tokenizer.bin and says so", "[cli]") {
    if (std::ifstream("tokenizer.bin")) {
        WARN("skipped: this directory has a tokenizer.bin");
        return;
    }
    const CliResult r = run_cli({tiny_files().model});
    CHECK(r.status == 1);
    CHECK_THAT(r.err, Catch::StartsWith("llamaport: no tokenizer.bin here: give the tokenizer with -z ("));
    CHECK(one_line(r.err));
}

TEST_CASE("load progress and other terminal-only output stay off a pipe", "[cli]") {
    const CliResult r = tiny({"-n", "4"});
    CHECK(r.status == 0);
    CHECK_THAT(r.err, !Catch::Contains("\r") && !Catch::Contains("loading"));
    CHECK(occurrences(r.err, "\n") == 3);  // achieved tok/s and the two summary lines
}

TEST_CASE("a GGUF model runs with its own vocabulary; -c restores the context llama.cpp's converter dropped",
          "[cli][models]") {
    const std::string gguf = model_path("stories260K-F32.gguf");
    const std::string expected = read_file(reference_path("stories260K_02.txt"));
    const CliResult full = run_cli({gguf, "-c", "512", "-t", "0", "-n", "200", "-i", "One day, Tom"});
    CHECK(full.status == 0);
    CHECK(full.out == expected);
    CHECK_THAT(full.err, Catch::Contains("warning: context 512 is longer than the 128 tokens"));
    // As the file declares it: 128 positions, so the story stops early.
    const CliResult declared = run_cli({gguf, "-t", "0", "-n", "200", "-i", "One day, Tom"});
    CHECK(declared.status == 0);
    CHECK(declared.out.size() < expected.size());
    CHECK(expected.compare(0, declared.out.size() - 1, declared.out, 0, declared.out.size() - 1) == 0);
}
