// llamaport-convert: between llama2.c checkpoints (v0/v1/v2) and GGUF, in either byte order,
// Hugging Face model directories (plain or AQLM) to GGUF, and models of the TinyStories shapes
// with random weights for benchmarks.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "common.hpp"
#include "llamaport/gguf.hpp"
#include "llamaport/hf_import.hpp"
#include "llamaport/llama2c.hpp"
#include "llamaport/model.hpp"
#include "llamaport/random_model.hpp"
#include "llamaport/system.hpp"
#include "llamaport/tokenizer.hpp"
#include "llamaport/weights.hpp"

#include <unistd.h>

using namespace llamaport;

namespace {

const char* const usage_text =
    "Usage: llamaport-convert IN OUT [options]\n"
    "       llamaport-convert HF_DIR OUT.gguf [options]\n"
    "       llamaport-convert --random SHAPE OUT [options]\n"
    "Converts between llama2.c checkpoints and GGUF. IN may be any model llamaport loads, or a\n"
    "Hugging Face LlamaForCausalLM directory (config.json, model.safetensors or its shards with\n"
    "model.safetensors.index.json, tokenizer.json): plain checkpoints become f16/bf16/f32/q8_0\n"
    "GGUF; AQLM ones (quantization_config.quant_method aqlm) keep their codes when\n"
    "out_group_size is 1 and are decoded to the --type otherwise.\n"
    "\n"
    "  --to FORMAT        v0, v1 (llama2.c fp32), v2 (llama2.c Q8_0) or gguf\n"
    "                     (default: gguf when OUT ends in .gguf, else v0)\n"
    "  --type TYPE        gguf matrices: f32 or q8_0 (default f32; rows not a multiple of 32\n"
    "                     stay f32, as in llama.cpp); with --random any GGUF type llamaport\n"
    "                     runs (f32, f16, bf16, q8_0, ...; default f16), or aqlm-MxB (e.g.\n"
    "                     aqlm-2x8, aqlm-1x16): random AQLM codes, groups of 8, embedding and\n"
    "                     classifier q8_0 unless given; from HF_DIR the dense\n"
    "                     matrices' type: f32, f16, bf16, q8_0, q6_k or q4_k (default f16;\n"
    "                     rows that are not whole blocks stay f16)\n"
    "  --embedding-type T, --output-type T\n"
    "                     with --random or HF_DIR: the token embedding's and the classifier's type\n"
    "                     (default: the --type; e.g. q8_0 and q4_k put Llama-3.1-8B 2x8 near\n"
    "                     2.5 GB, as AQLM's published demo)\n"
    "  --group-size N     v2: Q8_0 group size (default: largest of 64, 32, ... dividing dim and\n"
    "                     hidden_dim)\n"
    "  --big-endian       write for a big-endian host (maps there without conversion)\n"
    "  -z PATH            llama2.c tokenizer to embed in a GGUF file (needed unless IN is GGUF\n"
    "                     or a Hugging Face directory with tokenizer.json)\n"
    "  --tokenizer-out P  also write the vocabulary as a llama2.c tokenizer.bin\n"
    "  --random SHAPE     no IN: random weights of shape 260K, 15M, 42M, 110M, tinyllama-1.1b,\n"
    "                     llama-3.2-1b or llama-3.1-8b; to a .gguf OUT streamed in the types\n"
    "                     asked (no fp32 copy in memory), for benchmarks\n"
    "  --seed N           seed for --random (default 1)\n"
    "  -h, --help         this text\n"
    "\n"
    "Exit status: 0 done, 1 bad input or failed run, 2 bad flags.\n";

struct Options {
    std::string in, out, to, type, embedding_type, output_type, tokenizer, tokenizer_out,
        random_shape;
    size_t group_size = 0;
    bool big_endian = false, hf_dir = false;
    uint64_t seed = 1;
};

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Options parse(int argc, char** argv) {
    using tools::UsageError;
    Options o;
    std::vector<std::string> positional;
    tools::Flags flags(argc, argv);
    while (flags.next()) {
        const std::string& a = flags.current();
        if (a == "-h" || a == "--help") {
            std::cout << usage_text;
            std::exit(0);
        } else if (a == "--to") {
            o.to = flags.value();
        } else if (a == "--type") {
            o.type = flags.value();
        } else if (a == "--embedding-type") {
            o.embedding_type = flags.value();
        } else if (a == "--output-type") {
            o.output_type = flags.value();
        } else if (a == "--group-size") {
            o.group_size = size_t(flags.number(1, 1 << 16));
        } else if (a == "--big-endian") {
            o.big_endian = true;
        } else if (a == "-z") {
            o.tokenizer = flags.value();
        } else if (a == "--tokenizer-out") {
            o.tokenizer_out = flags.value();
        } else if (a == "--random") {
            o.random_shape = flags.value();
        } else if (a == "--seed") {
            o.seed = uint64_t(flags.number(0, INT64_MAX));
        } else if (!a.empty() && a[0] == '-') {
            throw UsageError{"unknown flag '" + a + "'"};
        } else {
            positional.push_back(a);
        }
    }
    const size_t wanted = o.random_shape.empty() ? 2 : 1;
    if (positional.size() != wanted)
        throw UsageError{wanted == 2 ? "expected IN and OUT" : "with --random, expected only OUT"};
    o.out = positional.back();
    if (wanted == 2) o.in = positional[0];
    std::error_code ec;
    o.hf_dir = !o.in.empty() && std::filesystem::is_directory(o.in, ec);
    if (o.to.empty()) o.to = ends_with(o.out, ".gguf") || o.hf_dir ? "gguf" : "v0";
    if (o.hf_dir && o.to != "gguf") throw UsageError{"a Hugging Face directory converts to gguf only"};
    if (o.to != "v0" && o.to != "v1" && o.to != "v2" && o.to != "gguf")
        throw UsageError{"--to: expected v0, v1, v2 or gguf, got '" + o.to + "'"};
    const bool streamed = (!o.random_shape.empty() || o.hf_dir) && o.to == "gguf";
    if (o.type.empty()) o.type = streamed ? "f16" : "f32";
    if (!streamed && o.type != "f32" && o.type != "q8_0")
        throw UsageError{"--type: expected f32 or q8_0, got '" + o.type + "'"};
    if (!streamed && (!o.embedding_type.empty() || !o.output_type.empty()))
        throw UsageError{"--embedding-type and --output-type go with --random or HF_DIR to a .gguf file"};
    return o;
}

WeightType gguf_type(const std::string& flag, const std::string& name) {
    WeightType t;
    if (!weight_type_from_name(name, t) || t == WeightType::Q8_G || t == WeightType::AQLM ||
        t == WeightType::AQLM_WIDE)
        throw tools::UsageError{flag + ": '" + name + "' is not a GGUF weight type llamaport runs"};
    return t;
}

using Progress = std::function<void(uint64_t, uint64_t)>;

// Streams a file to OUT.partial, with progress on a terminal after the first second, then
// renames it into place; a failure leaves nothing behind. Returns its size.
uint64_t write_streamed(const std::string& out, const std::function<void(std::ostream&, const Progress&)>& body) {
    const std::string partial = out + ".partial";
    std::ofstream file(partial, std::ios::binary | std::ios::trunc);
    if (!file) throw Error(out + ": cannot create file");
    const auto start = std::chrono::steady_clock::now();
    const bool terminal = isatty(2);
    uint64_t size = 0;
    try {
        body(file, [&](uint64_t done, uint64_t total) {
            size = total;
            const double seconds =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            if (seconds > 1 && terminal)
                std::cerr << "\rllamaport-convert: " << done * 100 / total << "% of "
                          << size_text(total) << std::flush;
        });
        file.close();
        if (!file) throw Error(out + ": write failed (disk full?)");
    } catch (...) {
        std::remove(partial.c_str());
        throw;
    }
    if (terminal) std::cerr << "\r";
    if (std::rename(partial.c_str(), out.c_str()) != 0) {
        std::remove(partial.c_str());
        throw Error(out + ": cannot rename the finished file into place");
    }
    return size;
}

// A random model of a named shape streamed to a GGUF file in the types asked.
int write_random(const Options& o) {
    const NamedShape shape = named_model_shape(o.random_shape);
    RandomGgufOptions r;
    unsigned codebooks = 0, bits = 0;
    char end = 0;
    if (std::sscanf(o.type.c_str(), "aqlm-%ux%u%c", &codebooks, &bits, &end) == 2) {
        if (codebooks < 1 || codebooks > 16 || bits < 1 || bits > 16)
            throw tools::UsageError{"--type: AQLM takes 1 to 16 codebooks of 1 to 16 bits, got '" + o.type + "'"};
        // Random codes and codebooks, groups of 8 as the published checkpoints have them; the
        // embedding and classifier default to Q8_0, as the AQLM paper keeps them.
        r.matrix_type = bits <= 8 ? WeightType::AQLM : WeightType::AQLM_WIDE;
        r.aqlm.codebooks = codebooks;
        r.aqlm.bits = bits;
        r.aqlm.group_size = 8;
    } else {
        r.matrix_type = gguf_type("--type", o.type);
    }
    const WeightType dense = r.aqlm.codebooks ? WeightType::Q8_0 : r.matrix_type;
    r.embedding_type = o.embedding_type.empty() ? dense : gguf_type("--embedding-type", o.embedding_type);
    r.output_type = o.output_type.empty() ? dense : gguf_type("--output-type", o.output_type);
    r.seed = o.seed;
    r.big_endian = o.big_endian;
    const uint64_t size = write_streamed(o.out, [&](std::ostream& file, const Progress& progress) {
        write_random_gguf(file, shape.config, shape.tied, r, progress);
    });
    std::cerr << "llamaport-convert: wrote " << o.out << " (random " << o.random_shape << ", "
              << o.type << " layers, " << weight_type_name(r.embedding_type) << " embedding, "
              << (shape.tied ? "tied classifier" : std::string(weight_type_name(r.output_type)) + " classifier")
              << ", " << size_text(size) << ")\n";
    return 0;
}

// A Hugging Face directory streamed to a GGUF file.
int import_directory(const Options& o) {
    HfImportOptions h;
    h.type = gguf_type("--type", o.type);
    if (!o.embedding_type.empty()) h.embedding_type = gguf_type("--embedding-type", o.embedding_type);
    if (!o.output_type.empty()) h.output_type = gguf_type("--output-type", o.output_type);
    h.llama2c_tokenizer = o.tokenizer;
    h.big_endian = o.big_endian;
    h.note = [](const std::string& text) { std::cerr << "llamaport-convert: " << text << "\n"; };
    HfImportSummary summary;
    const uint64_t size = write_streamed(o.out, [&](std::ostream& file, const Progress& progress) {
        h.progress = progress;
        summary = import_hf(o.in, file, h);
    });
    const Config& c = summary.config;
    std::cerr << "llamaport-convert: wrote " << o.out << " (" << summary.weights << ", " << c.n_layers
              << " layers, dim " << c.dim << ", " << (summary.tied ? "tied classifier, " : "")
              << summary.tokenizer << ", " << size_text(size) << ") from " << o.in << "\n";
    return 0;
}

int convert(const Options& o) {
    if (!o.random_shape.empty() && o.to == "gguf") return write_random(o);
    if (o.hf_dir) return import_directory(o);
    std::unique_ptr<Model> model =
        o.random_shape.empty() ? load_model_file(o.in) : make_random_model(named_shape(o.random_shape), o.seed);
    const std::string source = o.random_shape.empty() ? o.in : "random " + o.random_shape;

    std::unique_ptr<Tokenizer> tokenizer;
    if (!o.tokenizer.empty() || model->tokenizer)
        tokenizer = std::make_unique<Tokenizer>(cli::tokenizer_for(*model, o.tokenizer));

    std::string bytes;
    std::string description;
    if (o.to == "gguf") {
        if (!tokenizer)
            throw Error(source + ": a GGUF file carries its vocabulary; give the llama2.c tokenizer with -z");
        GgufWriteOptions options;
        options.big_endian = o.big_endian;
        options.matrix_type = o.type == "q8_0" ? WeightType::Q8_0 : WeightType::F32;
        options.pieces = tokenizer->pieces();
        options.scores = tokenizer->scores();
        options.bos_id = tokenizer->bos_id();
        options.eos_id = tokenizer->eos_id();
        std::vector<std::string> fallbacks;
        bytes = write_gguf_model(*model, options, &fallbacks);
        for (const std::string& name : fallbacks)
            std::cerr << "llamaport-convert: " << name << " stays f32: its rows are not a multiple of 32\n";
        description = "gguf " + o.type;
    } else {
        Llama2cWriteOptions options;
        options.version = o.to[1] - '0';
        options.big_endian = o.big_endian;
        options.group_size = o.group_size;
        bytes = write_llama2c(*model, options);
        description = "llama2.c " + o.to + (options.version == 2 ? " q8_0" : " fp32");
    }
    tools::write_file_atomically(o.out, bytes);
    if (!o.tokenizer_out.empty()) {
        if (!tokenizer) throw Error(source + ": no vocabulary to write (give -z, or convert from GGUF)");
        tools::write_file_atomically(o.tokenizer_out, tokenizer->to_llama2c_file());
    }
    std::cerr << "llamaport-convert: wrote " << o.out << " (" << description
              << (o.big_endian ? ", big-endian" : "") << ", " << model->parameter_count() << " parameters, "
              << size_text(bytes.size()) << ") from " << source << "\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    return tools::run_tool(
        "llamaport-convert", [&] { return convert(parse(argc, argv)); });
}
