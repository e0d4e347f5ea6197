// llamaport-bench: tokens per second of prompt processing and generation for each model, kernel
// set and thread count, in the manner of llama.cpp's llama-bench, against a memory-bandwidth
// ceiling measured in the same run.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "common.hpp"
#include "llamaport/error.hpp"
#include "llamaport/kernels.hpp"
#include "llamaport/llama2c.hpp"
#include "llamaport/model.hpp"
#include "llamaport/random_model.hpp"
#include "llamaport/sampler.hpp"
#include "llamaport/threadpool.hpp"
#include "llamaport/transformer.hpp"

#if defined(__unix__) || defined(__APPLE__)
#define LLAMAPORT_BENCH_POSIX 1
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

using namespace llamaport;

namespace {

const char* const usage_text =
    "Usage: llamaport-bench -m MODEL [-m MODEL2 ...] [--random SHAPE[:f32|:q8_0] ...] [options]\n"
    "Measures prompt processing (pp) and generation (tg) speed for every model x kernel set x\n"
    "thread count, like llama.cpp's llama-bench.\n"
    "\n"
    "  -m PATH            a model file llamaport loads (llama2.c .bin or GGUF); repeatable\n"
    "  --random SHAPE     a model with random weights built in memory: 260K, 15M, 42M or 110M,\n"
    "                     optionally :f32 (default) or :q8_0; repeatable. Its peak memory\n"
    "                     includes the building, so use -m FILE for memory figures\n"
    "  -k LIST            kernel sets, comma separated: auto, scalar, avx2, avx512, neon, altivec, or all\n"
    "                     (every set this CPU runs) (default auto)\n"
    "  -t LIST            thread counts, comma separated (default: hardware threads)\n"
    "  -p N               pp test: N prompt tokens at positions 0..N-1; 0 skips it (default 32)\n"
    "  -b LIST            pp batch sizes, comma separated: positions run together (default 64;\n"
    "                     1 runs the prompt one token at a time, as generation does)\n"
    "  -n N               tg test: N greedy tokens after a 1-token start; 0 skips it\n"
    "                     (default 128)\n"
    "  --kv-type TYPE     f32 or f16: the KV cache's element type (default f32; llama.cpp's\n"
    "                     default is f16)\n"
    "  -r N               measured repetitions (default 5)\n"
    "  --warmup N         unmeasured runs before them (default 1)\n"
    "  --bw-mib N         buffer for the memory-bandwidth measurement, 0 skips it\n"
    "                     (default: 512, or an eighth of the RAM if that is less)\n"
    "  -o FORMAT          md, json or csv (default md); json and csv also give tps_cpu,\n"
    "                     tokens per second of process CPU time (all threads), steadier\n"
    "                     than t/s on a busy machine\n"
    "  -v                 a progress line on standard error per model and repetition\n"
    "  -h, --help         this text\n"
    "\n"
    "Results go to standard output; with -v, progress to standard error.\n"
    "Example: llamaport-bench -m stories110M.bin -k all -t 1,2 -r 3\n";

// A bad flag or value: exit status 2.
using tools::UsageError;

struct ModelSpec {
    std::string path;   // a file, or empty for a random model
    std::string shape;  // random: "110M"
    bool q8 = false;    // random: quantize to Q8_0
};

struct Options {
    std::vector<ModelSpec> models;
    std::vector<const KernelSet*> kernels;
    std::vector<int> threads;
    std::vector<int> batches = {Transformer::default_batch};
    int prompt = 32, generate = 128, reps = 5, warmup = 1;
    long long bw_mib = -1;  // -1: the default
    Transformer::KvType kv = Transformer::KvType::f32;
    std::string output = "md";
    bool verbose = false;  // a progress line per model, measurement and repetition
};

std::vector<std::string> split_list(const std::string& text) {
    std::vector<std::string> items;
    std::string item;
    std::istringstream in(text);
    while (std::getline(in, item, ',')) items.push_back(item);
    if (items.empty() || text.back() == ',') items.push_back("");
    return items;
}

void add_kernels(const std::string& list, std::vector<const KernelSet*>& out) {
    for (const std::string& name : split_list(list)) {
        std::vector<const KernelSet*> sets;
        if (name == "all") {
            sets = available_kernels();
        } else {
            try {
                sets.push_back(&select_kernels(name));
            } catch (const Error& e) {
                throw UsageError{std::string("-k: ") + e.what()};
            }
        }
        for (const KernelSet* set : sets)
            if (std::find(out.begin(), out.end(), set) == out.end()) out.push_back(set);
    }
}

ModelSpec random_spec(const std::string& text) {
    ModelSpec spec;
    const size_t colon = text.find(':');
    spec.shape = text.substr(0, colon);
    const std::string type = colon == std::string::npos ? "f32" : text.substr(colon + 1);
    if (type != "f32" && type != "q8_0")
        throw UsageError{"--random: type must be f32 or q8_0, got '" + type + "'"};
    spec.q8 = type == "q8_0";
    try {
        named_shape(spec.shape);
    } catch (const Error& e) {
        throw UsageError{std::string("--random: ") + e.what()};
    }
    return spec;
}

// Returns false when help was asked for.
bool parse(int argc, char** argv, Options& o) {
    std::string kernel_list = "auto";
    tools::Flags flags(argc, argv);
    while (flags.next()) {
        const std::string& a = flags.current();
        if (a == "-h" || a == "--help") return false;
        if (a == "-m") {
            o.models.push_back({flags.value(), "", false});
        } else if (a == "--random") {
            o.models.push_back(random_spec(flags.value()));
        } else if (a == "-k") {
            kernel_list = flags.value();
        } else if (a == "-t") {
            const std::string list = flags.value();
            o.threads.clear();
            for (const std::string& t : split_list(list))
                o.threads.push_back(int(tools::parse_int(a, t, 1, 1024)));
        } else if (a == "-b") {
            const std::string list = flags.value();
            o.batches.clear();
            for (const std::string& b : split_list(list))
                o.batches.push_back(int(tools::parse_int(a, b, 1, 1 << 16)));
        } else if (a == "-p") {
            o.prompt = int(flags.number(0, 1 << 20));
        } else if (a == "-n") {
            o.generate = int(flags.number(0, 1 << 20));
        } else if (a == "-r") {
            o.reps = int(flags.number(1, 1 << 20));
        } else if (a == "--kv-type") {
            const std::string kv = flags.value();
            if (kv != "f32" && kv != "f16")
                throw UsageError{"--kv-type: expected f32 or f16, got '" + kv + "'"};
            o.kv = kv == "f16" ? Transformer::KvType::f16 : Transformer::KvType::f32;
        } else if (a == "--warmup") {
            o.warmup = int(flags.number(0, 1 << 20));
        } else if (a == "--bw-mib") {
            // At most what this host's address space can hold (2 GiB on 32-bit hosts).
            const long long most = (long long)std::min<size_t>(1 << 16, SIZE_MAX >> 21);
            o.bw_mib = flags.number(0, most);
        } else if (a == "-v") {
            o.verbose = true;
        } else if (a == "-o") {
            o.output = flags.value();
            if (o.output != "md" && o.output != "json" && o.output != "csv")
                throw UsageError{"-o: expected md, json or csv, got '" + o.output + "'"};
        } else {
            throw UsageError{"unknown flag or argument '" + a + "'"};
        }
    }
    if (o.models.empty()) throw UsageError{"no model given (-m FILE or --random SHAPE)"};
    if (o.prompt == 0 && o.generate == 0) throw UsageError{"-p 0 and -n 0 leave nothing to run"};
    add_kernels(kernel_list, o.kernels);
    if (o.threads.empty()) o.threads.push_back(ThreadPool::hardware_threads());
    return true;
}

// --- statistics -------------------------------------------------------------------------------

struct Summary {
    double mean = 0, sd = 0;  // sd: sample standard deviation, 0 for one value
};

Summary summarize(const std::vector<double>& values) {
    Summary s;
    if (values.empty()) return s;
    for (double v : values) s.mean += v;
    s.mean /= double(values.size());
    if (values.size() < 2) return s;
    double squares = 0;
    for (double v : values) squares += (v - s.mean) * (v - s.mean);
    s.sd = std::sqrt(squares / double(values.size() - 1));
    return s;
}

// --- the machine ------------------------------------------------------------------------------

size_t default_bandwidth_mib() {
    size_t mib = 512;
#if defined(LLAMAPORT_BENCH_POSIX) && defined(_SC_PHYS_PAGES) && defined(_SC_PAGESIZE)
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0) {
        const double ram_mib = double(pages) * double(page) / (1 << 20);
        mib = std::min(mib, std::max(size_t(32), size_t(ram_mib / 8)));
    }
#endif
    return mib;
}

volatile size_t bandwidth_sink;  // keeps the sums from being optimised away

// Best of a few passes summing a buffer far larger than the caches, in GB/s. Each thread reads
// its own share as several interleaved sequential streams, as a matrix-vector product reading a
// few rows at once does: one stream alone leaves much of the bandwidth unused.
double read_bandwidth(size_t mib, int threads) {
    constexpr size_t streams = 8;
    ThreadPool pool(threads);
    const size_t n = size_t(pool.size());
    const size_t per_stream = mib * (1 << 20) / sizeof(size_t) / streams / n / 2 * 2;
    const size_t share = per_stream * streams;
    std::vector<size_t> buffer(share * n);
    // Real pages, not the shared zero page, each first touched by the thread that reads it.
    pool.run_on_all([&](size_t t) {
        for (size_t i = t * share; i < (t + 1) * share; i++) buffer[i] = i;
    });
    constexpr size_t apart = 64 / sizeof(size_t);  // one cache line per thread's checksum
    std::vector<size_t> checksums(n * apart);
    double best = 0;
    for (int pass = 0; pass < 5; pass++) {
        const auto start = std::chrono::steady_clock::now();
        pool.run_on_all([&](size_t t) {
            size_t sums[streams][2] = {};
            const size_t* p = buffer.data() + t * share;
            for (size_t i = 0; i < per_stream; i += 2)
                for (size_t s = 0; s < streams; s++) {
                    sums[s][0] += p[s * per_stream + i];
                    sums[s][1] += p[s * per_stream + i + 1];
                }
            for (const auto& sum : sums) checksums[t * apart] += sum[0] + sum[1];
        });
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (seconds > 0) best = std::max(best, double(buffer.size() * sizeof(size_t)) / seconds / 1e9);
    }
    size_t checksum = 0;
    for (size_t c : checksums) checksum += c;
    bandwidth_sink = checksum;
    return best;
}

// Measured in a child process where possible, so that the buffer stays out of this process's
// peak memory. Returns -1 when the buffer cannot be had; sets in_process when it ran here.
double measure_bandwidth(size_t mib, int threads, bool& in_process) {
    in_process = false;
#ifdef LLAMAPORT_BENCH_POSIX
    std::cout.flush();
    std::cerr.flush();
    int fds[2];
    if (pipe(fds) == 0) {
        const pid_t pid = fork();
        if (pid == 0) {
            close(fds[0]);
            double gbs = -1;
            try {
                gbs = read_bandwidth(mib, threads);
            } catch (const std::exception&) {  // no room for the buffer
            }
            const ssize_t written = write(fds[1], &gbs, sizeof gbs);
            _exit(written == ssize_t(sizeof gbs) ? 0 : 1);
        }
        close(fds[1]);
        if (pid > 0) {
            double gbs = -1;
            const ssize_t got = read(fds[0], &gbs, sizeof gbs);
            close(fds[0]);
            int status = 0;
            waitpid(pid, &status, 0);
            return got == ssize_t(sizeof gbs) ? gbs : -1;
        }
        close(fds[0]);
    }
#endif
    in_process = true;
    try {
        return read_bandwidth(mib, threads);
    } catch (const std::exception&) {
        return -1;
    }
}

// The process's peak resident memory so far in MiB, or -1 where the platform does not say.
double peak_rss_mib() {
#ifdef LLAMAPORT_BENCH_POSIX
    rusage usage{};
    if (getrusage(RUSAGE_SELF, &usage) != 0) return -1;
#ifdef __APPLE__
    return double(usage.ru_maxrss) / (1 << 20);  // bytes
#else
    return double(usage.ru_maxrss) / 1024;  // KiB
#endif
#else
    return -1;
#endif
}

// --- models and runs --------------------------------------------------------------------------

std::string model_label(const ModelSpec& spec) {
    if (spec.path.empty()) return "random " + spec.shape + (spec.q8 ? " q8_0" : " f32");
    const size_t slash = spec.path.find_last_of("/\\");
    return slash == std::string::npos ? spec.path : spec.path.substr(slash + 1);
}

std::unique_ptr<Model> build_model(const ModelSpec& spec) {
    if (!spec.path.empty()) return load_model_file(spec.path);
    std::unique_ptr<Model> model = make_random_model(named_shape(spec.shape), 1);
    if (!spec.q8) return model;
    Llama2cWriteOptions options;
    options.version = 2;
    std::string bytes = write_llama2c(*model, options);
    model.reset();
    return load_model(own_memory(std::move(bytes), model_label(spec)));
}

struct Test {
    bool generation;
    int tokens;
    int batch = 1;  // pp: positions run together
    std::string name() const {
        return generation ? "tg " + std::to_string(tokens)
                          : "pp " + std::to_string(tokens) + " b" + std::to_string(batch);
    }
    int positions() const { return generation ? tokens + 1 : tokens; }
};

struct Timing {
    double wall = 0, cpu = 0;  // seconds; cpu: the process's processor time, all threads
};

// One run of the test on a fresh KV cache of exactly the positions it needs.
Timing run_test(const Model& model, const KernelSet& kernels, ThreadPool& pool, const Test& test,
                Transformer::KvType kv) {
    const int vocab = model.config.vocab_size;
    Transformer transformer(model, kernels, &pool, test.positions(), test.batch, kv);
    std::chrono::steady_clock::time_point start;
    std::clock_t cpu_start;
    if (test.generation) {
        Sampler greedy(vocab, 0.0f, 0.0f, 1);
        int token = greedy.sample(transformer.forward(vocab > 1 ? 1 : 0, 0));
        start = std::chrono::steady_clock::now();
        cpu_start = std::clock();
        for (int pos = 1; pos <= test.tokens; pos++)
            token = greedy.sample(transformer.forward(token, pos));
    } else {
        uint64_t state = 0x5eed;  // the same prompt every run
        std::vector<int> prompt(size_t(test.tokens));
        for (int& token : prompt) token = int(random_u32(state) % uint32_t(vocab));
        start = std::chrono::steady_clock::now();
        cpu_start = std::clock();
        // As generation does: only the last prompt token needs the classifier.
        transformer.forward(prompt.data(), test.tokens, 0, Transformer::Logits::last);
    }
    Timing t;
    t.cpu = double(std::clock() - cpu_start) / CLOCKS_PER_SEC;
    t.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return t;
}

struct Result {
    std::string model, format, kernel, test;
    size_t model_index = 0, params = 0, weight_bytes = 0, token_bytes = 0;
    bool generation = false, from_file = true;
    int threads = 1, tokens = 0;
    Summary tps;
    double cpu_tps = 0;  // tokens per second of processor time: less sensitive to other load
    double vs_scalar = -1;  // -1: scalar not run
    double peak_rss = -1;   // MiB after this model's runs, -1: unknown
};

// Tokens per second over o.reps runs after o.warmup unmeasured ones, with a progress line each;
// cpu_tps: tokens per second of processor time over all of them.
Summary measure(const Options& o, const std::string& label, const Model& model,
                const KernelSet& kernels, ThreadPool& pool, const Test& test, double& cpu_tps) {
    std::vector<double> rates;
    double cpu_seconds = 0;
    for (int run = 0; run < o.warmup + o.reps; run++) {
        const bool warm = run < o.warmup;
        if (o.verbose)
            std::cerr << "bench: " << label << " " << kernels.name << " t=" << pool.size() << " "
                  << (test.generation ? "tg" : "pp") << test.tokens << " "
                  << (warm ? "warmup " : "rep ") << (warm ? run + 1 : run - o.warmup + 1) << "/"
                  << (warm ? o.warmup : o.reps) << "\n";
        const Timing t = run_test(model, kernels, pool, test, o.kv);
        if (warm) continue;
        rates.push_back(t.wall > 0 ? test.tokens / t.wall : 0);
        cpu_seconds += t.cpu;
    }
    cpu_tps = cpu_seconds > 0 ? double(o.reps) * test.tokens / cpu_seconds : 0;
    return summarize(rates);
}

void bench_model(const Options& o, size_t index, std::vector<Result>& results) {
    const ModelSpec& spec = o.models[index];
    const std::string label = model_label(spec);
    if (o.verbose) std::cerr << "bench: loading " << label << "\n";
    const std::unique_ptr<Model> model = build_model(spec);
    std::vector<Test> tests;
    if (o.prompt > 0)
        for (int batch : o.batches) tests.push_back({false, o.prompt, batch});
    if (o.generate > 0) tests.push_back({true, o.generate});
    for (const Test& t : tests)
        if (t.positions() > model->config.seq_len)
            throw Error(label + ": " + t.name() + " needs " + std::to_string(t.positions()) +
                        " positions, more than the model's context of " +
                        std::to_string(model->config.seq_len));

    Result r;
    r.model = label;
    r.format = model->format;
    r.model_index = index;
    r.from_file = !spec.path.empty();
    r.params = model->parameter_count();
    r.weight_bytes = model->weight_bytes();
    r.token_bytes = model->token_bytes();
    const size_t first = results.size();
    for (const KernelSet* kernels : o.kernels)
        for (int threads : o.threads) {
            ThreadPool pool(threads);
            for (const Test& test : tests) {
                r.kernel = kernels->name;
                r.threads = threads;
                r.test = test.name();
                r.generation = test.generation;
                r.tokens = test.tokens;
                r.tps = measure(o, label, *model, *kernels, pool, test, r.cpu_tps);
                results.push_back(r);
            }
        }
    const double rss = peak_rss_mib();
    for (size_t i = first; i < results.size(); i++) results[i].peak_rss = rss;
}

void compare_with_scalar(std::vector<Result>& results) {
    const std::string scalar = scalar_kernels().name;
    for (Result& r : results)
        for (const Result& s : results)
            if (s.kernel == scalar && s.model_index == r.model_index && s.threads == r.threads &&
                s.test == r.test && s.tps.mean > 0)
                r.vs_scalar = r.tps.mean / s.tps.mean;
}

// --- output -----------------------------------------------------------------------------------

// Measured with one thread (what one core can draw), with every hardware thread (the machine's
// bus) and with each thread count the rows run.
struct Bandwidth {
    size_t mib = 0;  // 0: not measured
    bool in_process = false;
    std::vector<std::pair<int, double>> gbs;  // (threads, GB/s), by threads; -1: unavailable

    double at(int threads) const {
        for (const auto& m : gbs)
            if (m.first == threads) return m.second;
        return -1;
    }
};

// The derived figures of a row, empty when they do not apply.
struct Derived {
    double weight_gbs = -1, ceiling_tps = -1, ceiling_ratio = -1;
};

Derived derive(const Result& r, const Bandwidth& bw) {
    Derived d;
    if (!r.generation) return d;
    d.weight_gbs = double(r.token_bytes) * r.tps.mean / 1e9;
    const double gbs = bw.at(r.threads);
    if (gbs > 0) {
        d.ceiling_tps = gbs * 1e9 / double(r.token_bytes);
        d.ceiling_ratio = r.tps.mean / d.ceiling_tps;
    }
    return d;
}

std::string fixed(double v, int precision) {
    std::ostringstream s;
    s << std::fixed << std::setprecision(precision) << v;
    return s.str();
}

// A number, or `missing` when the figure is unknown (negative).
std::string number(double v, int precision, const std::string& missing) {
    return v < 0 ? missing : fixed(v, precision);
}

void print_markdown(std::ostream& out, const std::vector<Result>& results, const Bandwidth& bw,
                    const Options& o) {
    if (bw.mib == 0) {
        out << "memory bandwidth: not measured (--bw-mib 0)\n\n";
    } else {
        out << "memory bandwidth: ";
        for (size_t i = 0; i < bw.gbs.size(); i++)
            out << (i ? ", " : "") << number(bw.gbs[i].second, 2, "unavailable") << " GB/s with "
                << bw.gbs[i].first << (bw.gbs[i].first == 1 ? " thread" : " threads");
        out << " (sum of a " << bw.mib
            << " MiB buffer, each thread reading its share as 8 streams, best of 5 passes before "
               "the runs and 5 after)\n\n";
    }
    out << "| model | format | params (M) | size (MiB) | read/token (MiB) | kernel | threads | test "
           "| t/s | vs scalar | weights GB/s | ceiling t/s | % of ceiling | peak RSS (MiB) |\n"
           "|---|---|--:|--:|--:|---|--:|---|--:|--:|--:|--:|--:|--:|\n";
    bool any_random = false;
    for (const Result& r : results) {
        const Derived d = derive(r, bw);
        any_random = any_random || !r.from_file;
        out << "| " << r.model << " | " << r.format << " | " << fixed(double(r.params) / 1e6, 2)
            << " | " << fixed(double(r.weight_bytes) / (1 << 20), 1) << " | "
            << fixed(double(r.token_bytes) / (1 << 20), 1) << " | " << r.kernel << " | "
            << r.threads << " | " << r.test << " | " << fixed(r.tps.mean, 2) << " ± "
            << fixed(r.tps.sd, 2) << " | " << number(r.vs_scalar, 2, "") << " | "
            << number(d.weight_gbs, 2, "") << " | " << number(d.ceiling_tps, 1, "") << " | "
            << number(d.ceiling_ratio * 100, 1, "") << " | " << number(r.peak_rss, 1, "?")
            << (r.from_file ? "" : "*") << " |\n";
    }
    out << "\n"
        << "- t/s: tokens per second, mean ± sd of " << o.reps << " runs after " << o.warmup
        << " warm-up run(s), each on a fresh KV cache. pp N: N fixed pseudo-random tokens at "
           "positions 0..N-1; tg N: N greedy tokens after a 1-token start.\n"
        << "- vs scalar: t/s over the scalar kernels' t/s for the same model, threads and test.\n"
        << "- read/token: the weight bytes a generated token reads: the size, less all but one row "
           "of an embedding the classifier does not share. weights GB/s: read/token x t/s, the "
           "weight bytes streamed per second. ceiling t/s: the bandwidth measured with the row's "
           "thread count / read/token, as if each token only had to read those bytes once; "
           "models small enough to stay in the caches can pass 100%.\n"
        << "- peak RSS: the process's high-water mark (getrusage) after the model's runs; it "
           "carries over from earlier models in the same process, so run one model per process.\n";
    if (any_random)
        out << "- *: built in memory by --random (the fp32 model and, for q8_0, its serialized "
               "copy count too): not a real model's footprint; use -m FILE for memory figures.\n";
    if (bw.in_process && bw.mib > 0)
        out << "- peak RSS includes the " << bw.mib << " MiB bandwidth buffer (no fork here).\n";
}

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (const char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char buffer[8];
            std::snprintf(buffer, sizeof buffer, "\\u%04x", unsigned(c));
            out += buffer;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string out = "\"";
    for (const char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

// One row as (name, value) pairs; text values already quoted for the format.
std::vector<std::pair<std::string, std::string>> fields(const Result& r, const Bandwidth& bw,
                                                        bool json) {
    const Derived d = derive(r, bw);
    const std::string none = json ? "null" : "";
    const auto text = [&](const std::string& s) { return json ? json_string(s) : csv_field(s); };
    return {
        {"model", text(r.model)},
        {"format", text(r.format)},
        {"params", std::to_string(r.params)},
        {"weight_bytes", std::to_string(r.weight_bytes)},
        {"kernel", text(r.kernel)},
        {"threads", std::to_string(r.threads)},
        {"test", text(r.test)},
        {"tokens", std::to_string(r.tokens)},
        {"tps_mean", fixed(r.tps.mean, 3)},
        {"tps_sd", fixed(r.tps.sd, 3)},
        {"tps_cpu", fixed(r.cpu_tps, 3)},
        {"vs_scalar", number(r.vs_scalar, 3, none)},
        {"weights_gbs", number(d.weight_gbs, 3, none)},
        {"bandwidth_gbs", number(bw.at(r.threads), 3, none)},
        {"ceiling_tps", number(d.ceiling_tps, 2, none)},
        {"ceiling_ratio", number(d.ceiling_ratio, 4, none)},
        {"peak_rss_mib", number(r.peak_rss, 1, none)},
        {"rss_meaningful", (r.from_file && !bw.in_process) ? "true" : "false"},
        {"token_bytes", std::to_string(r.token_bytes)},
    };
}

void print_json(std::ostream& out, const std::vector<Result>& results, const Bandwidth& bw) {
    out << "[";
    for (size_t i = 0; i < results.size(); i++) {
        out << (i ? ",\n  {" : "\n  {");
        const auto row = fields(results[i], bw, true);
        for (size_t j = 0; j < row.size(); j++)
            out << (j ? ", " : "") << json_string(row[j].first) << ": " << row[j].second;
        out << "}";
    }
    out << "\n]\n";
}

void print_csv(std::ostream& out, const std::vector<Result>& results, const Bandwidth& bw) {
    for (size_t i = 0; i < results.size(); i++) {
        const auto row = fields(results[i], bw, false);
        if (i == 0)
            for (size_t j = 0; j < row.size(); j++) out << (j ? "," : "") << row[j].first;
        out << "\n";
        for (size_t j = 0; j < row.size(); j++) out << (j ? "," : "") << row[j].second;
    }
    out << "\n";
}

int bench(const Options& o) {
    Bandwidth bw;
    bw.mib = o.bw_mib < 0 ? default_bandwidth_mib() : size_t(o.bw_mib);
    std::vector<int> counts = o.threads;
    counts.push_back(1);
    counts.push_back(ThreadPool::hardware_threads());
    std::sort(counts.begin(), counts.end());
    counts.erase(std::unique(counts.begin(), counts.end()), counts.end());
    if (bw.mib > 0)
        for (const int threads : counts) bw.gbs.emplace_back(threads, -1.0);
    // Measured again after the runs, in case other work on the machine held a figure down.
    auto measure = [&](const char* when) {
        for (auto& [threads, best] : bw.gbs) {
            if (o.verbose)
                std::cerr << "bench: measuring memory bandwidth" << when << " (" << bw.mib
                          << " MiB, " << threads << (threads == 1 ? " thread)\n" : " threads)\n");
            bool in_process = false;
            best = std::max(best, measure_bandwidth(bw.mib, threads, in_process));
            bw.in_process = bw.in_process || in_process;
        }
    };
    measure("");
    std::vector<Result> results;
    for (size_t i = 0; i < o.models.size(); i++) bench_model(o, i, results);
    measure(" again");
    compare_with_scalar(results);
    if (o.output == "json")
        print_json(std::cout, results, bw);
    else if (o.output == "csv")
        print_csv(std::cout, results, bw);
    else
        print_markdown(std::cout, results, bw, o);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    return tools::run_tool(
        "llamaport-bench",
        [&] {
            Options options;
            if (!parse(argc, argv, options)) {
                std::cout << usage_text;
                return 0;
            }
            return bench(options);
        });
}
