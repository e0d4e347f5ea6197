// llamaport-convert: between llama2.c checkpoints (v0/v1/v2) and GGUF, in either byte order, and
// models of the TinyStories shapes with random weights for benchmarks.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "common.hpp"
#include "llamaport/gguf.hpp"
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
    "       llamaport-convert --random SHAPE OUT [options]\n"
    "Converts between llama2.c checkpoints and GGUF. IN may be any model llamaport loads.\n"
    "\n"
    "  --to FORMAT        v0, v1 (llama2.c fp32), v2 (llama2.c Q8_0) or gguf\n"
    "                     (default: gguf when OUT ends in .gguf, else v0)\n"
    "  --type TYPE        gguf matrices: f32 or q8_0 (default f32; rows not a multiple of 32\n"
    "                     stay f32, as in llama.cpp); with --random any GGUF type llamaport\n"
    "                     runs (f32, f16, bf16, q8_0, ...; default f16)\n"
    "  --embedding-type T, --output-type T\n"
    "                     with --random: the token embedding's and the classifier's type\n"
    "                     (default: the --type)\n"
    "  --group-size N     v2: Q8_0 group size (default: largest of 64, 32, ... dividing dim and\n"
    "                     hidden_dim)\n"
    "  --big-endian       write for a big-endian host (maps there without conversion)\n"
    "  -z PATH            llama2.c tokenizer to embed in a GGUF file (needed unless IN is GGUF)\n"
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
    bool big_endian = false;
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
    if (o.to.empty()) o.to = ends_with(o.out, ".gguf") ? "gguf" : "v0";
    if (o.to != "v0" && o.to != "v1" && o.to != "v2" && o.to != "gguf")
        throw UsageError{"--to: expected v0, v1, v2 or gguf, got '" + o.to + "'"};
    const bool streamed = !o.random_shape.empty() && o.to == "gguf";
    if (o.type.empty()) o.type = streamed ? "f16" : "f32";
    if (!streamed && o.type != "f32" && o.type != "q8_0")
        throw UsageError{"--type: expected f32 or q8_0, got '" + o.type + "'"};
    if (!streamed && (!o.embedding_type.empty() || !o.output_type.empty()))
        throw UsageError{"--embedding-type and --output-type go with --random to a .gguf file"};
    return o;
}

WeightType gguf_type(const std::string& flag, const std::string& name) {
    WeightType t;
    if (!weight_type_from_name(name, t) || t == WeightType::Q8_G || t == WeightType::AQLM ||
        t == WeightType::AQLM_WIDE)
        throw tools::UsageError{flag + ": '" + name + "' is not a GGUF weight type llamaport runs"};
    return t;
}

// A random model of a named shape streamed to a GGUF file in the types asked.
int write_random(const Options& o) {
    const NamedShape shape = named_model_shape(o.random_shape);
    RandomGgufOptions r;
    r.matrix_type = gguf_type("--type", o.type);
    r.embedding_type = o.embedding_type.empty() ? r.matrix_type : gguf_type("--embedding-type", o.embedding_type);
    r.output_type = o.output_type.empty() ? r.matrix_type : gguf_type("--output-type", o.output_type);
    r.seed = o.seed;
    r.big_endian = o.big_endian;
    const std::string partial = o.out + ".partial";
    std::ofstream file(partial, std::ios::binary | std::ios::trunc);
    if (!file) throw Error(o.out + ": cannot create file");
    const auto start = std::chrono::steady_clock::now();
    const bool terminal = isatty(2);
    uint64_t size = 0;
    try {
        write_random_gguf(file, shape.config, shape.tied, r, [&](uint64_t done, uint64_t total) {
            size = total;
            const double seconds =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            if (seconds > 1 && terminal)
                std::cerr << "\rllamaport-convert: " << done * 100 / total << "% of "
                          << size_text(total) << std::flush;
        });
        file.close();
        if (!file) throw Error(o.out + ": write failed (disk full?)");
    } catch (...) {
        std::remove(partial.c_str());
        throw;
    }
    if (terminal) std::cerr << "\r";
    if (std::rename(partial.c_str(), o.out.c_str()) != 0) {
        std::remove(partial.c_str());
        throw Error(o.out + ": cannot rename the finished file into place");
    }
    std::cerr << "llamaport-convert: wrote " << o.out << " (random " << o.random_shape << ", "
              << o.type << " layers, " << weight_type_name(r.embedding_type) << " embedding, "
              << (shape.tied ? "tied classifier" : std::string(weight_type_name(r.output_type)) + " classifier")
              << ", " << size_text(size) << ")\n";
    return 0;
}

int convert(const Options& o) {
    if (!o.random_shape.empty() && o.to == "gguf") return write_random(o);
    std::unique_ptr<Model> model =
        o.random_shape.empty() ? load_model_file(o.in) : make_random_model(named_shape(o.random_shape), o.seed);
    const std::string source = o.random_shape.empty() ? o.in : "random " + o.random_shape;

    std::unique_ptr<Tokenizer> tokenizer;
    if (!o.tokenizer.empty() || !model->vocab.empty())
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
              << bytes.size() << " bytes) from " << source << "\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    return tools::run_tool(
        "llamaport-convert", [&] { return convert(parse(argc, argv)); });
}
