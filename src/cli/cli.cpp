#include "cli.hpp"

#include <chrono>
#include <ctime>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include <sys/stat.h>

#include "llamaport/chat_template.hpp"
#include "llamaport/error.hpp"
#include "llamaport/generate.hpp"
#include "llamaport/kernels.hpp"
#include "llamaport/model.hpp"
#include "llamaport/system.hpp"
#include "llamaport/text_output.hpp"
#include "llamaport/threadpool.hpp"
#include "llamaport/tokenizer.hpp"

#ifndef LLAMAPORT_VERSION
#define LLAMAPORT_VERSION "(version unknown: built without CMake)"
#endif

namespace llamaport::cli {

volatile std::sig_atomic_t interrupted = 0;

void install_interrupt_handler() {
    struct sigaction action {};
    action.sa_handler = [](int) { interrupted = 1; };
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;  // no SA_RESTART: a chat waiting for a line stops waiting
    sigaction(SIGINT, &action, nullptr);
}

namespace {

const char* const default_tokenizer = "tokenizer.bin";

// Every flag once: how it reads its value, and its line in the usage text.
struct Flag {
    const char* name;
    const char* value;  // what the value is, for the usage text
    std::string (*help)();
    void (*read)(Flags& flags, Options& o);
};

std::string chat_template_help() {
    std::string names;
    for (const std::string& name : ChatTemplate::names()) names += (names.empty() ? "" : ", ") + name;
    return "chat format, overriding the one recognised in the model's\n"
           "                  tokenizer.chat_template (without one: llama2-sys-bos, run.c's):\n"
           "                  " + names;
}

std::string kernel_help() {
    std::string names = "auto";
    for (const std::string& name : kernel_set_names()) names += ", " + name;
    return "matmul kernels: " + names + "\n                  (default auto: the best this CPU runs)";
}

const Flag flag_table[] = {
    {"-t", "FLOAT", [] { return std::string("temperature, >= 0; 0 is greedy (default 1.0)"); },
     [](Flags& f, Options& o) {
         const std::string text = f.value();
         o.temperature = parse_float("-t", text, "temperature");
         if (o.temperature < 0) throw UsageError{"-t: temperature must be >= 0, got " + text};
     }},
    {"-p", "FLOAT",
     [] { return std::string("top-p (nucleus) sampling threshold in [0,1]; 0 or 1 disable it (default 0.9)"); },
     [](Flags& f, Options& o) {
         const std::string text = f.value();
         o.top_p = parse_float("-p", text, "top-p");
         if (o.top_p < 0 || o.top_p > 1) throw UsageError{"-p: top-p must be in [0,1], got " + text};
     }},
    {"-s", "INT",
     [] { return std::string("random seed, 0 = from the clock, printed in the summary (default 0)"); },
     [](Flags& f, Options& o) { o.seed = uint64_t(f.number(0, INT64_MAX)); }},
    {"-n", "INT",
     [] {
         return std::string("steps (positions) to run, 0 = the model's context; in chat, the most\n"
                            "                  tokens per answer (default 256)");
     },
     [](Flags& f, Options& o) {
         o.steps = int(f.number(0, INT32_MAX));
         o.steps_given = true;
     }},
    {"-i", "STRING", [] { return std::string("prompt (default empty)"); },
     [](Flags& f, Options& o) { o.prompt = f.value(); }},
    {"-z", "PATH",
     [] {
         return std::string("llama2.c tokenizer file (default ") + default_tokenizer +
                "; a GGUF model carries its own)";
     },
     [](Flags& f, Options& o) {
         o.tokenizer_path = f.value();
         if (o.tokenizer_path.empty()) throw UsageError{"-z: the tokenizer path is empty"};
     }},
    {"-m", "MODE",
     [] { return std::string("generate or chat (default generate); chat reads one turn per line"); },
     [](Flags& f, Options& o) {
         o.mode = f.value();
         if (o.mode != "generate" && o.mode != "chat")
             throw UsageError{"-m: mode must be generate or chat, got '" + o.mode + "'"};
     }},
    {"-y", "STRING",
     [] { return std::string("system prompt in chat mode (default: asked on a terminal, none on a pipe)"); },
     [](Flags& f, Options& o) { o.system_prompt = f.value(); }},
    {"--chat-template", "NAME", chat_template_help,
     [](Flags& f, Options& o) {
         o.chat_template = f.value();
         if (!ChatTemplate::from_name(o.chat_template))
             throw UsageError{"--chat-template: unknown template '" + o.chat_template + "'"};
     }},
    {"-c", "N",
     [] {
         return std::string("context length, overriding the model's (GGUF files from llama.cpp's\n"
                            "                  llama2c converter declare 128 whatever the model had)");
     },
     [](Flags& f, Options& o) { o.context = int(f.number(1, 1 << 20)); }},
    {"--kernel", "NAME", kernel_help, [](Flags& f, Options& o) { o.kernel = f.value(); }},
    {"--threads", "N", [] { return std::string("threads for matrix products (default: all hardware threads)"); },
     [](Flags& f, Options& o) { o.threads = int(f.number(1, 1024)); }},
    {"--kv-type", "TYPE", [] { return std::string("KV cache values: f32 or f16, half the memory (default f32)"); },
     [](Flags& f, Options& o) {
         const std::string type = f.value();
         if (type != "f32" && type != "f16")
             throw UsageError{"--kv-type: expected f32 or f16, got '" + type + "'"};
         o.kv_type = type == "f16" ? Transformer::KvType::f16 : Transformer::KvType::f32;
     }},
};

std::string usage_text() {
    std::ostringstream s;
    s << "Usage: llamaport MODEL [options]\n"
         "Runs a Llama-family model: llama2.c checkpoints (.bin, v0/v1/v2) or GGUF files.\n"
         "Example: llamaport models/stories260K.bin -z models/tok512.bin -n 256 -i \"Once upon a time\"\n"
         "\n"
         "Options (run.c's, then llamaport's own; --flag=value works too):\n";
    for (const Flag& f : flag_table) {
        const std::string head = std::string(f.name) + " " + f.value;
        s << "  " << std::left << std::setw(16) << head << f.help() << "\n";
    }
    s << "  -h, --help      this text\n"
         "  --version       the version\n"
         "\n"
         "The story goes to standard output; timing and a summary go to standard error.\n"
         "Exit status: 0 done, 1 bad input file or failed run, 2 bad flags, 130 interrupted.\n";
    return s.str();
}

bool file_exists(const char* path) {
    struct stat st;
    return stat(path, &st) == 0;
}

std::string count(int n, const char* noun) {
    return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

std::string rate(int tokens, double seconds) {
    std::ostringstream s;
    s << count(tokens, "token");
    if (tokens > 0 && seconds > 0) s << ", " << std::fixed << std::setprecision(1) << tokens / seconds << " tok/s";
    return s.str();
}

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// The model, with a progress line on a terminal once loading has taken a second.
std::unique_ptr<Model> load(const Options& o, std::ostream& err, const Terminals& terminals) {
    const Clock::time_point start = Clock::now();
    LoadOptions load_options;
    load_options.memory_limit = memory_budget();
    bool shown = false;
    if (terminals.error)
        load_options.progress = [&](uint64_t done, uint64_t total) {
            if (total == 0 || seconds_since(start) < 1.0) return;
            err << "\rllamaport: loading, " << done * 100 / total << "% of " << size_text(total)
                << std::flush;
            shown = true;
        };
    std::unique_ptr<Model> model = load_model_file(o.model_path, load_options);
    if (shown) err << "\n";
    return model;
}

// -z's file; else the model's own vocabulary; else tokenizer.bin in this directory.
Tokenizer load_tokenizer(const Options& o, const Model& model) {
    std::string path = o.tokenizer_path;
    if (path.empty() && !model.tokenizer) {
        if (!file_exists(default_tokenizer))
            throw Error(std::string("no ") + default_tokenizer + " here: give the tokenizer with -z (" +
                        model.path + " is a llama2.c checkpoint, which carries none)");
        path = default_tokenizer;
    }
    return tokenizer_for(model, path);
}

// The flag's template, else the one the model's template text is recognised as, else run.c's.
ChatTemplate chat_template_for(const Options& o, const Model& model, std::ostream& err) {
    if (!o.chat_template.empty()) return *ChatTemplate::from_name(o.chat_template);
    const ChatTemplate fallback(ChatTemplate::Kind::llama2_sys_bos);
    if (model.chat_template.empty()) return fallback;
    if (const std::optional<ChatTemplate> t = ChatTemplate::detect(model.chat_template)) return *t;
    err << "llamaport: warning: the model's chat template is not one llamaport knows; using "
        << fallback.name() << " (see --chat-template)\n";
    return fallback;
}

int run_model(const Options& o, std::ostream& out, std::ostream& err, std::istream& in,
              const Terminals& terminals) {
    const KernelSet* kernels;
    try {
        kernels = &select_kernels(o.kernel);
    } catch (const Error& e) {
        throw UsageError{std::string("--kernel: ") + e.what()};
    }
    const Clock::time_point load_start = Clock::now();
    std::unique_ptr<Model> model = load(o, err, terminals);
    const Config& c = model->config;
    if (o.context) {
        // Rotary embeddings work at any position, so a longer context runs; whether the model
        // makes sense past what it was trained on is another matter.
        if (o.context > c.seq_len)
            err << "llamaport: warning: context " << o.context << " is longer than the "
                << c.seq_len << " tokens " << escape_for_terminal(model->path) << " declares\n";
        model->config.seq_len = o.context;
    }
    const Tokenizer tokenizer = load_tokenizer(o, *model);
    const double load_seconds = seconds_since(load_start);

    const bool chatting = o.mode == "chat";
    // run.c's rule: 0 or more than the context means the whole context. A chat has the whole
    // context, -n limits each answer.
    const int steps = chatting || o.steps == 0 || o.steps > c.seq_len ? c.seq_len : o.steps;
    if (!chatting && o.steps_given && o.steps > c.seq_len)
        err << "llamaport: -n " << o.steps << " is more than the model's context of " << c.seq_len
            << " tokens; running " << c.seq_len << "\n";
    const int threads = o.threads ? o.threads : ThreadPool::hardware_threads();
    ThreadPool pool(threads);
    Transformer transformer(*model, *kernels, &pool, steps, Transformer::default_batch, o.kv_type);
    uint64_t seed = o.seed ? o.seed : uint64_t(std::time(nullptr));
    if (seed == 0) seed = 1;
    Sampler sampler(c.vocab_size, o.temperature, o.top_p, seed);

    TextOutput text;
    // Control pieces (<s>, </s>) are never printed.
    auto print_piece = [&](int token, std::string_view piece) {
        if (interrupted) return false;
        if (token != tokenizer.bos_id() && token != tokenizer.eos_id()) out << text.push(piece) << std::flush;
        return true;
    };
    GenerationStats stats;
    if (!chatting) {
        stats = generate(transformer, tokenizer, sampler, o.prompt ? *o.prompt : "", steps, print_piece);
        out << "\n" << std::flush;
        if (stats.prompt_tokens + stats.generated_tokens > 1)
            err << "achieved tok/s: " << std::fixed << std::setprecision(6)
                << stats.achieved_tokens_per_second << "\n";
    } else {
        // On a terminal as run.c: prompts on standard output, the system prompt asked. On a
        // pipe: one turn per line, the prompts on standard error, so standard output holds the
        // answers, one per line.
        const bool piped = !terminals.input;
        std::ostream& prompts = piped ? err : out;
        bool answer_open = false;
        ChatCallbacks io;
        io.read_line = [&](const char* label, std::string& line) {
            if (interrupted) return false;
            prompts << label << std::flush;
            if (!std::getline(in, line)) return false;
            if (piped) prompts << escape_for_terminal(line) << "\n";  // the transcript shows the turn
            return true;
        };
        io.on_assistant_turn = [&] {
            answer_open = true;
            prompts << "Assistant: " << std::flush;
        };
        io.on_token = [&](int token, std::string_view piece) {
            if (token == tokenizer.bos_id()) return false;  // the model starts anew: the answer ends
            return print_piece(token, piece);
        };
        io.on_answer_end = [&] {
            out << "\n" << std::flush;
            answer_open = false;
        };
        io.on_context_full = [&](int) {
            err << "llamaport: the context of " << steps << " positions is full; the chat ends here\n";
        };
        ChatSession::Settings settings;
        settings.chat_template = chat_template_for(o, *model, err);
        settings.end_of_turn = default_end_of_turn(tokenizer);
        settings.max_answer_tokens = o.steps;  // 0: until end of turn or a full context
        const std::string no_system_prompt;
        const std::string* system_prompt =
            o.system_prompt ? &*o.system_prompt : piped ? &no_system_prompt : nullptr;
        stats = chat(transformer, tokenizer, sampler, o.prompt ? &*o.prompt : nullptr, system_prompt,
                     special_token_encoder(tokenizer), settings, io);
        if (answer_open || !piped) out << "\n" << std::flush;
    }
    err << std::fixed << std::setprecision(2) << "llamaport: " << escape_for_terminal(model->path) << " | "
        << model->format << " | " << double(model->parameter_count()) / 1e6 << "M params, "
        << size_text(model->weight_bytes()) << " | kernel " << kernels->name << " | "
        << count(pool.size(), "thread") << " | seed " << seed << "\n"
        << "llamaport: load " << std::setprecision(1) << load_seconds * 1000 << " ms | prompt "
        << rate(stats.prompt_tokens, stats.prompt_seconds) << " | generation "
        << rate(stats.generated_tokens, stats.generation_seconds) << "\n";
    if (interrupted) {
        err << "llamaport: interrupted\n";
        return 130;
    }
    return 0;
}

}  // namespace

Options parse_options(int argc, const char* const* argv) {
    Options o;
    Flags flags(argc, argv);
    while (flags.next()) {
        const std::string& a = flags.current();
        if (a == "-h" || a == "--help") {
            o.action = Options::Action::help;
            return o;
        }
        if (a == "--version") {
            o.action = Options::Action::version;
            return o;
        }
        if (!flags.is_flag()) {
            if (!o.model_path.empty())
                throw UsageError{"unexpected argument '" + a + "' (the model is '" + o.model_path +
                                 "'; flags come in pairs: -x VALUE)"};
            o.model_path = a;
            continue;
        }
        const Flag* flag = nullptr;
        for (const Flag& f : flag_table)
            if (a == f.name) flag = &f;
        if (!flag) throw UsageError{"unknown flag '" + a + "'"};
        flag->read(flags, o);
    }
    if (o.model_path.empty()) throw UsageError{"no model given"};
    return o;
}

int run_options(const Options& options, std::ostream& out, std::ostream& err, std::istream& in,
                const Terminals& terminals) {
    return run_command("llamaport", err, [&] { return run_model(options, out, err, in, terminals); });
}

int run(int argc, const char* const* argv, std::ostream& out, std::ostream& err, std::istream& in,
        const Terminals& terminals) {
    if (argc < 2) {
        err << usage_text();
        return 2;
    }
    Options options;
    const int status = run_command("llamaport", err, [&] {
        options = parse_options(argc, argv);
        return 0;
    });
    if (status != 0) return status;
    switch (options.action) {
    case Options::Action::help: out << usage_text(); return 0;
    case Options::Action::version: out << "llamaport " << LLAMAPORT_VERSION << "\n"; return 0;
    case Options::Action::run: break;
    }
    return run_options(options, out, err, in, terminals);
}

}  // namespace llamaport::cli
