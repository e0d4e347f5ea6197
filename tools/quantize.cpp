// llamaport-quantize: a model llamaport loads, quantized into a GGUF file: Q8_0, AQLM (2x8, 1x16,
// 1x8, calibrated on text the model writes itself or on a text file), or the round-to-nearest
// 2-bit baseline.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "aqlm/quantize_model.hpp"
#include "common.hpp"
#include "llamaport/gguf.hpp"
#include "llamaport/kernels.hpp"
#include "llamaport/model.hpp"
#include "llamaport/system.hpp"
#include "llamaport/threadpool.hpp"
#include "llamaport/tokenizer.hpp"

using namespace llamaport;

namespace {

const char* const usage_text =
    "Usage: llamaport-quantize IN OUT --type TYPE [options]\n"
    "Quantizes IN (any model llamaport loads: llama2.c .bin or GGUF, F32, F16 or Q8_0) into the\n"
    "GGUF file OUT.\n"
    "\n"
    "  --type TYPE     q8_0       ggml's Q8_0 for every matrix\n"
    "                  aqlm-2x8   AQLM layer matrices, 2 codebooks of 256 entries, groups of 8:\n"
    "                             2 bits per weight plus 8 KiB of codebooks per matrix; the fast\n"
    "                             one on CPUs (table lookups)\n"
    "                  aqlm-1x16  1 codebook of 65536 entries: 2 bits per weight plus 1 MiB of\n"
    "                             codebooks per matrix; the best fit on large matrices, but about\n"
    "                             256x the quantizing work of 2x8 and slower to run (decodes)\n"
    "                  aqlm-1x8   1 codebook of 256 entries: 1 bit per weight\n"
    "                  rtn-2bit   round-to-nearest 2-bit (4 levels from each group's min to max),\n"
    "                             written as F32 weights: a quality reference point for AQLM, not\n"
    "                             a compact format\n"
    "                  With AQLM the embedding and classifier become Q8_0 (F32 when dim is not a\n"
    "                  multiple of 32), as the AQLM paper keeps them in higher precision.\n"
    "  --iters N       AQLM: at most N rounds of code and codebook updates per matrix after the\n"
    "                  k-means initialisation; fewer once a round gains < 0.1% (default 20)\n"
    "  --seed S        AQLM: seed of the calibration text and the initialisation (default 1)\n"
    "  --random-codes  AQLM: random codes and codebooks instead of a fit, in seconds: a model\n"
    "                  that costs what a fitted one costs to store and run, for benchmarks\n"
    "  --threads N     threads (default: all hardware threads)\n"
    "  --calibration FILE\n"
    "                  AQLM: gather each layer's input statistics on this text file instead of\n"
    "                  on text the model generates itself\n"
    "  --calibration-tokens N\n"
    "                  AQLM: positions to run for those statistics (default 1024; with\n"
    "                  --calibration, the file's first N tokens)\n"
    "  --group-size N  rtn-2bit: weights per min/max pair along a row (default 32)\n"
    "  --embedding-type T, --output-type T\n"
    "                  the token embedding's and the classifier's type: f32, f16, bf16, q8_0,\n"
    "                  q6_k or q4_k (default: q8_0, f32 for rtn-2bit); a tied classifier is the\n"
    "                  embedding\n"
    "  -z PATH         llama2.c tokenizer: the vocabulary to embed (needed unless IN is GGUF)\n"
    "                  and to encode --calibration\n"
    "  -h, --help      this text\n"
    "\n"
    "Progress and each matrix's relative error go to standard error. The same IN, flags and\n"
    "kernel set (the best this CPU runs) give the same file, whatever the thread count.\n"
    "Exit status: 0 done, 1 bad input or failed run, 2 bad flags.\n";

// A bad flag or value: exit status 2.
using tools::UsageError;

struct Options {
    std::string in, out, type, calibration, tokenizer;
    AqlmConfig aqlm;
    int threads = 0;
    int calibration_tokens = 1024;
    size_t rtn_group = 32;
    bool random_codes = false;
    std::optional<WeightType> embedding_type, output_type;
};

// --embedding-type / --output-type: a type the GGUF writer can quantize to.
WeightType dense_type(const std::string& flag, const std::string& name) {
    WeightType t;
    const bool known = weight_type_from_name(name, t);
    if (!known || !(t == WeightType::F32 || t == WeightType::Q8_0 || t == WeightType::Q4_K ||
                    t == WeightType::Q6_K || t == WeightType::F16 || t == WeightType::BF16))
        throw UsageError{flag + ": expected f32, f16, bf16, q8_0, q6_k or q4_k, got '" + name + "'"};
    return t;
}

bool is_aqlm(const std::string& type) { return type.compare(0, 5, "aqlm-") == 0; }

Options parse(int argc, char** argv) {
    Options o;
    std::vector<std::string> positional, flags;
    auto check = [](bool ok, const std::string& message) {
        if (!ok) throw UsageError{message};
    };
    tools::Flags command_line(argc, argv);
    while (command_line.next()) {
        const std::string& a = command_line.current();
        auto value = [&] {
            flags.push_back(a);
            return command_line.value();
        };
        auto number = [&](long long min, long long max) {
            flags.push_back(a);
            return command_line.number(min, max);
        };
        if (a == "-h" || a == "--help") {
            std::cout << usage_text;
            std::exit(0);
        } else if (a == "--type") {
            o.type = value();
        } else if (a == "--iters") {
            o.aqlm.max_iterations = int(number(0, 10000));
        } else if (a == "--seed") {
            o.aqlm.seed = uint64_t(number(1, INT64_MAX));
        } else if (a == "--threads") {
            o.threads = int(number(1, 1024));
        } else if (a == "--calibration") {
            o.calibration = value();
        } else if (a == "--calibration-tokens") {
            o.calibration_tokens = int(number(1, 1 << 24));
        } else if (a == "--random-codes") {
            flags.push_back(a);
            o.random_codes = true;
        } else if (a == "--group-size") {
            o.rtn_group = size_t(number(1, 1 << 16));
        } else if (a == "--embedding-type") {
            o.embedding_type = dense_type(a, value());
        } else if (a == "--output-type") {
            o.output_type = dense_type(a, value());
        } else if (a == "-z") {
            o.tokenizer = value();
        } else {
            check(a.empty() || a[0] != '-', "unknown flag '" + a + "'");
            positional.push_back(a);
        }
    }
    check(positional.size() == 2, "expected IN and OUT");
    o.in = positional[0];
    o.out = positional[1];
    const struct {
        const char* name;
        size_t codebooks, bits;
    } aqlm_types[] = {{"aqlm-2x8", 2, 8}, {"aqlm-1x16", 1, 16}, {"aqlm-1x8", 1, 8}};
    bool known = o.type == "q8_0" || o.type == "rtn-2bit";
    for (const auto& t : aqlm_types)
        if (o.type == t.name) {
            o.aqlm.codebooks = t.codebooks;
            o.aqlm.bits = t.bits;
            o.aqlm.group_size = 8;
            known = true;
        }
    check(!o.type.empty(), "--type is required: q8_0, aqlm-2x8, aqlm-1x16, aqlm-1x8 or rtn-2bit");
    check(known, "--type: expected q8_0, aqlm-2x8, aqlm-1x16, aqlm-1x8 or rtn-2bit, got '" +
                     o.type + "'");
    for (const std::string& f : flags) {
        const bool aqlm_only = f == "--iters" || f == "--seed" || f == "--calibration" ||
                               f == "--calibration-tokens" || f == "--random-codes";
        check(!aqlm_only || is_aqlm(o.type), f + " applies to the aqlm types only");
        check(f != "--group-size" || o.type == "rtn-2bit", "--group-size applies to rtn-2bit only");
    }
    return o;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string fixed(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open file");
    std::ostringstream s;
    s << in.rdbuf();
    if (!in && !in.eof()) throw Error(path + ": read error");
    return s.str();
}

// Each layer's input statistics, on the model's own text or on the calibration file.
std::map<const Matrix*, std::vector<float>> calibrate(const Options& o, const Model& model,
                                                      const Tokenizer& tokenizer) {
    const KernelSet& kernels = select_kernels("auto");
    const auto start = std::chrono::steady_clock::now();
    std::map<const Matrix*, std::vector<float>> importance;
    if (o.calibration.empty()) {
        std::cerr << "llamaport-quantize: calibrating on " << o.calibration_tokens
                  << " tokens of text the model generates itself\n";
        importance = collect_input_importance(model, kernels, o.calibration_tokens, o.aqlm.seed);
    } else {
        std::vector<int> tokens = tokenizer.encode(read_text(o.calibration), true, false);
        if (tokens.size() < 2) throw Error(o.calibration + ": too little text to calibrate on");
        if (tokens.size() > size_t(o.calibration_tokens)) tokens.resize(size_t(o.calibration_tokens));
        std::cerr << "llamaport-quantize: calibrating on " << tokens.size() << " tokens of "
                  << o.calibration << "\n";
        importance = collect_input_importance(model, kernels, tokens);
    }
    std::cerr << "llamaport-quantize: calibrated in " << fixed(seconds_since(start), 1) << " s\n";
    return importance;
}

int quantize(const Options& o) {
    const auto start = std::chrono::steady_clock::now();
    std::unique_ptr<Model> model = load_model_file(o.in);
    for (const auto& [name, matrix] : gguf_layer_matrices(*model))
        if (matrix->type == WeightType::AQLM)
            throw Error(o.in + ": already AQLM (" + name +
                        "); quantize from the F32, F16 or Q8_0 model");
    if (o.tokenizer.empty() && !model->tokenizer)
        throw UsageError{o.in + ": a GGUF file carries its vocabulary; give the llama2.c tokenizer with -z"};
    const Tokenizer tokenizer = cli::tokenizer_for(*model, o.tokenizer);
    {  // fail now, not after an hour of quantizing, when OUT cannot be written
        const std::string probe = o.out + ".partial";
        if (!std::ofstream(probe, std::ios::binary)) throw Error(o.out + ": cannot create file");
        std::remove(probe.c_str());
    }
    std::cerr << "llamaport-quantize: " << o.in << " (" << model->format << ", "
              << model->parameter_count() << " parameters) -> " << o.out << " as " << o.type << "\n";

    ThreadPool pool(o.threads ? o.threads : ThreadPool::hardware_threads());
    size_t layer_weights = 0, layer_bytes = 0;
    auto report = [&](const LayerResult& r) {
        layer_weights += r.weights;
        layer_bytes += r.stored_bytes;
        std::cerr << "llamaport-quantize: [" << r.index + 1 << "/" << r.count << "] " << r.name << " "
                  << (is_aqlm(o.type) ? o.type.substr(5) : o.type);
        if (o.random_codes)
            std::cerr << ": random codes";
        else
            std::cerr << ": rel. error " << fixed(r.relative_error, 4);
        if (is_aqlm(o.type) && !o.random_codes)
            std::cerr << " after " << r.rounds << (r.rounds == 1 ? " round" : " rounds");
        std::cerr << ", " << fixed(r.seconds, 1) << " s\n";
    };
    if (is_aqlm(o.type) && o.random_codes)
        randomize_layers_aqlm(*model, o.aqlm, report);
    else if (is_aqlm(o.type))
        quantize_layers_aqlm(*model, calibrate(o, *model, tokenizer), o.aqlm, &pool, report);
    else if (o.type == "rtn-2bit")
        quantize_layers_rtn2(*model, o.rtn_group, report);

    GgufWriteOptions options;
    options.matrix_type = o.type == "rtn-2bit" ? WeightType::F32 : WeightType::Q8_0;
    options.embedding_type = o.embedding_type;
    options.output_type = o.output_type;
    options.pieces = tokenizer.pieces();
    options.scores = tokenizer.scores();
    options.bos_id = tokenizer.bos_id();
    options.eos_id = tokenizer.eos_id();
    std::vector<std::string> fallbacks;
    const std::string bytes = write_gguf_model(*model, options, &fallbacks);
    for (const std::string& name : fallbacks)
        std::cerr << "llamaport-quantize: " << name << " stays f32: its rows are not whole blocks of the type asked\n";
    tools::write_file_atomically(o.out, bytes);

    std::cerr << "llamaport-quantize: wrote " << o.out << ": " << size_text(bytes.size()) << ", "
              << fixed(8.0 * double(bytes.size()) / double(model->parameter_count()), 2)
              << " bits per parameter for the whole file";
    if (layer_bytes)
        std::cerr << "; layer matrices " << fixed(8.0 * double(layer_bytes) / double(layer_weights), 3)
                  << " bits per weight incl. codebooks and scales";
    std::cerr << "; " << fixed(seconds_since(start), 1) << " s\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    return tools::run_tool(
        "llamaport-quantize", [&] { return quantize(parse(argc, argv)); });
}
