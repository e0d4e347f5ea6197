#include "cli.hpp"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>

#include "llamaport/chat_template.hpp"
#include "llamaport/error.hpp"
#include "llamaport/generate.hpp"
#include "llamaport/kernels.hpp"
#include "llamaport/model.hpp"
#include "llamaport/system.hpp"
#include "llamaport/text_output.hpp"
#include "llamaport/threadpool.hpp"
#include "llamaport/tokenizer.hpp"

namespace llamaport::cli {
namespace {

const char* const usage_text =
    "Usage: llamaport MODEL [options]\n"
    "Runs a Llama-family model: llama2.c checkpoints (.bin, v0/v1/v2) or GGUF files.\n"
    "Example: llamaport stories260K.bin -z tok512.bin -n 256 -i \"Once upon a time\"\n"
    "\n"
    "Options (the flags of llama2.c's run):\n"
    "  -t FLOAT    temperature, >= 0; 0 is greedy (default 1.0)\n"
    "  -p FLOAT    top-p (nucleus) sampling threshold in [0,1]; 0 or 1 disable it (default 0.9)\n"
    "  -s INT      random seed, 0 = from the clock (default 0)\n"
    "  -n INT      number of steps (positions) to run, 0 = the model's context (default 256)\n"
    "  -i STRING   prompt (default empty)\n"
    "  -z PATH     llama2.c tokenizer file (default tokenizer.bin; a GGUF model carries its own)\n"
    "  -m MODE     generate or chat (default generate); chat reads turns from standard input\n"
    "  -y STRING   system prompt in chat mode (default: asked on standard input)\n"
    "  --chat-template NAME  chat format, overriding the one recognised in the model's\n"
    "              tokenizer.chat_template (default without one: llama2-sys-bos, run.c's):\n"
    "              chatml, llama2, llama2-sys, llama2-sys-bos, llama2-sys-strip, mistral-v1,\n"
    "              mistral-v3, mistral-v3-tekken, mistral-v7, phi3, zephyr, llama3\n"
    "Also:\n"
    "  -c N            context length, overriding the model's (default: the model's; GGUF files\n"
    "                  from llama.cpp's llama2c converter declare 128 whatever the model had)\n"
    "  --kernel NAME   matmul kernels: auto, scalar, avx2, avx512, neon, altivec (default auto)\n"
    "  --threads N     threads for matrix products (default: all hardware threads)\n"
    "  -h, --help      this text\n"
    "\n"
    "The story goes to standard output; timing and a summary go to standard error.\n";



// The whole string must be the number.
float parse_float(const std::string& flag, const std::string& text, const char* what) {
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !std::isfinite(v))
        throw UsageError{flag + ": " + what + " must be a number, got '" + text + "'"};
    return float(v);
}

long long parse_int(const std::string& flag, const std::string& text, long long min, long long max) {
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || errno == ERANGE || v < min || v > max)
        throw UsageError{flag + ": expected a whole number in " + std::to_string(min) + ".." +
                         std::to_string(max) + ", got '" + text + "'"};
    return v;
}

}  // namespace

std::optional<Options> parse_options(int argc, const char* const* argv) {
    Options o;
    if (argc < 2) throw UsageError{"no model given"};
    int first_flag = 1;
    const std::string first = argv[1];
    if (first == "-h" || first == "--help") return std::nullopt;
    if (first.empty() || first[0] != '-') {
        o.model_path = first;
        first_flag = 2;
    }
    for (int i = first_flag; i < argc; i += 2) {
        const std::string flag = argv[i];
        if (flag == "-h" || flag == "--help") return std::nullopt;
        if (flag.size() < 2 || flag[0] != '-')
            throw UsageError{"unexpected argument '" + flag + "' (flags come in pairs: -x VALUE)"};
        static const char* const known[] = {"-t", "-p", "-s", "-n", "-i", "-z", "-m",
                                            "-y", "-c", "--kernel", "--threads",
                                            "--chat-template"};
        bool is_known = false;
        for (const char* k : known) is_known = is_known || flag == k;
        if (!is_known) throw UsageError{"unknown flag '" + flag + "'"};
        if (i + 1 >= argc) throw UsageError{flag + " needs a value"};
        const std::string value = argv[i + 1];
        if (flag == "-t") {
            o.temperature = parse_float(flag, value, "temperature");
            if (o.temperature < 0) throw UsageError{"-t: temperature must be >= 0, got " + value};
        } else if (flag == "-p") {
            o.top_p = parse_float(flag, value, "top-p");
            if (o.top_p < 0 || o.top_p > 1) throw UsageError{"-p: top-p must be in [0,1], got " + value};
        } else if (flag == "-s") {
            o.seed = uint64_t(parse_int(flag, value, 0, INT64_MAX));
        } else if (flag == "-n") {
            o.steps = int(parse_int(flag, value, 0, INT32_MAX));
            o.steps_given = true;
        } else if (flag == "-i") {
            o.prompt = value;
        } else if (flag == "-z") {
            o.tokenizer_path = value;
            o.tokenizer_given = true;
        } else if (flag == "-m") {
            if (value != "generate" && value != "chat")
                throw UsageError{"-m: mode must be generate or chat, got '" + value + "'"};
            o.mode = value;
        } else if (flag == "-y") {
            o.system_prompt = value;
        } else if (flag == "--chat-template") {
            if (!ChatTemplate::from_name(value))
                throw UsageError{"--chat-template: unknown template '" + value + "'"};
            o.chat_template = value;
        } else if (flag == "-c") {
            o.context = int(parse_int(flag, value, 1, 1 << 20));
        } else if (flag == "--kernel") {
            o.kernel = value;
        } else if (flag == "--threads") {
            o.threads = int(parse_int(flag, value, 1, 1024));
        }
    }
    if (o.model_path.empty()) throw UsageError{"no model given (the model path comes first)"};
    return o;
}

namespace {

std::string rate(int tokens, double seconds) {
    std::ostringstream s;
    s << tokens << " tokens";
    if (tokens > 0 && seconds > 0) s << ", " << std::fixed << std::setprecision(1) << tokens / seconds << " tok/s";
    return s.str();
}

// The flag's template, else the one the model's template text is recognised as, else run.c's.
ChatTemplate chat_template_for(const Options& o, const Model& model, std::ostream& err) {
    if (!o.chat_template.empty()) return *ChatTemplate::from_name(o.chat_template);
    const ChatTemplate fallback(ChatTemplate::Kind::llama2_sys_bos);
    if (model.vocab.chat_template.empty()) return fallback;
    if (const std::optional<ChatTemplate> t = ChatTemplate::detect(model.vocab.chat_template)) return *t;
    err << "llamaport: warning: the model's chat template is not one llamaport knows; using "
        << fallback.name() << " (see --chat-template)\n";
    return fallback;
}

int run_model(const Options& o, std::ostream& out, std::ostream& err, std::istream& in) {
    const KernelSet* kernels;
    try {
        kernels = &select_kernels(o.kernel);
    } catch (const Error& e) {
        throw UsageError{std::string("--kernel: ") + e.what()};
    }
    const auto load_start = std::chrono::steady_clock::now();
    LoadOptions load_options;
    load_options.memory_limit = memory_budget();
    std::unique_ptr<Model> model = load_model_file(o.model_path, load_options);
    const Config& c = model->config;
    if (o.context) {
        // Rotary embeddings work at any position, so a longer context runs; whether the model
        // makes sense past what it was trained on is another matter.
        if (o.context > c.seq_len)
            err << "llamaport: warning: context " << o.context << " is longer than the "
                << c.seq_len << " tokens " << escape_for_terminal(model->path) << " declares\n";
        model->config.seq_len = o.context;
    }
    const std::shared_ptr<const Tokenizer> own_tokenizer =
        model->tokenizer && !o.tokenizer_given
            ? model->tokenizer
            : std::make_shared<const Tokenizer>(Tokenizer::from_file(o.tokenizer_path, c.vocab_size));
    const Tokenizer& tokenizer = *own_tokenizer;
    const double load_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();

    // run.c's rule: 0 or more than the context means the whole context.
    const int steps = o.steps == 0 || o.steps > c.seq_len ? c.seq_len : o.steps;
    if (o.steps_given && o.steps > c.seq_len)
        err << "llamaport: -n " << o.steps << " is more than the model's context of " << c.seq_len
            << " tokens; running " << c.seq_len << "\n";
    const int threads = o.threads ? o.threads : ThreadPool::hardware_threads();
    ThreadPool pool(threads);
    Transformer transformer(*model, *kernels, &pool, steps);
    uint64_t seed = o.seed ? o.seed : uint64_t(std::time(nullptr));
    if (seed == 0) seed = 1;
    Sampler sampler(c.vocab_size, o.temperature, o.top_p, seed);

    TextOutput text;
    auto print_piece = [&](int, std::string_view piece) {
        out << text.push(piece) << std::flush;
        return true;
    };
    GenerationStats stats;
    if (o.mode == "generate") {
        stats = generate(transformer, tokenizer, sampler, o.prompt ? *o.prompt : "", steps, print_piece);
        out << "\n" << std::flush;
        if (stats.prompt_tokens + stats.generated_tokens > 1)
            err << "achieved tok/s: " << std::fixed << std::setprecision(6)
                << stats.achieved_tokens_per_second << "\n";
    } else {
        ChatCallbacks io;
        io.read_line = [&](const char* label, std::string& line) {
            out << label << std::flush;
            return bool(std::getline(in, line));
        };
        io.on_assistant_turn = [&] { out << "Assistant: " << std::flush; };
        io.on_token = print_piece;
        io.on_answer_end = [&] { out << "\n" << std::flush; };
        io.on_context_full = [&](int positions) {
            err << "llamaport: the context is full (" << positions << " of " << steps
                << " tokens); the chat ends\n";
        };
        ChatSession::Settings settings;
        settings.chat_template = chat_template_for(o, *model, err);
        settings.end_of_turn = default_end_of_turn(tokenizer);
        stats = chat(transformer, tokenizer, sampler, o.prompt ? &*o.prompt : nullptr,
                     o.system_prompt ? &*o.system_prompt : nullptr,
                     special_token_encoder(tokenizer), settings, io);
        out << "\n" << std::flush;
    }
    err << std::fixed << std::setprecision(2) << "llamaport: " << escape_for_terminal(model->path) << " | "
        << model->format << " | " << double(model->parameter_count()) / 1e6 << "M params, "
        << size_text(model->weight_bytes()) << " | kernel " << kernels->name << " | "
        << pool.size() << (pool.size() == 1 ? " thread" : " threads") << "\n"
        << "llamaport: load " << std::setprecision(1) << load_seconds * 1000 << " ms | prompt "
        << rate(stats.prompt_tokens, stats.prompt_seconds) << " | generation "
        << rate(stats.generated_tokens, stats.generation_seconds) << "\n";
    return 0;
}

int report_usage_error(const UsageError& e, std::ostream& err) {
    err << "llamaport: " << escape_for_terminal(e.message) << " (see llamaport --help)\n";
    return 2;
}

}  // namespace

int run_options(const Options& options, std::ostream& out, std::ostream& err, std::istream& in) {
    try {
        return run_model(options, out, err, in);
    } catch (const UsageError& e) {
        return report_usage_error(e, err);
    } catch (const Error& e) {
        err << "llamaport: " << escape_for_terminal(e.what()) << "\n";
        return 1;
    } catch (const std::bad_alloc&) {
        err << "llamaport: out of memory\n";
        return 1;
    }
}

int run(int argc, const char* const* argv, std::ostream& out, std::ostream& err, std::istream& in) {
    std::optional<Options> options;
    try {
        options = parse_options(argc, argv);
    } catch (const UsageError& e) {
        return report_usage_error(e, err);
    }
    if (!options) {
        out << usage_text;
        return 0;
    }
    return run_options(*options, out, err, in);
}

}  // namespace llamaport::cli
