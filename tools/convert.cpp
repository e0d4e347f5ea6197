// llamaport-convert: between llama2.c checkpoints (v0/v1/v2) and GGUF, in either byte order, and
// models of the TinyStories shapes with random weights for benchmarks.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "common.hpp"
#include "llamaport/gguf.hpp"
#include "llamaport/llama2c.hpp"
#include "llamaport/model.hpp"
#include "llamaport/random_model.hpp"
#include "llamaport/tokenizer.hpp"

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
    "                     stay f32, as in llama.cpp)\n"
    "  --group-size N     v2: Q8_0 group size (default: largest of 64, 32, ... dividing dim and\n"
    "                     hidden_dim)\n"
    "  --big-endian       write for a big-endian host (maps there without conversion)\n"
    "  -z PATH            llama2.c tokenizer to embed in a GGUF file (needed unless IN is GGUF)\n"
    "  --tokenizer-out P  also write the vocabulary as a llama2.c tokenizer.bin\n"
    "  --random SHAPE     no IN: random weights of shape 260K, 15M, 42M or 110M\n"
    "  --seed N           seed for --random (default 1)\n"
    "  -h, --help         this text\n"
    "\n"
    "Exit status: 0 done, 1 bad input or failed run, 2 bad flags.\n";

struct Options {
    std::string in, out, to, type = "f32", tokenizer, tokenizer_out, random_shape;
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
    if (o.type != "f32" && o.type != "q8_0")
        throw UsageError{"--type: expected f32 or q8_0, got '" + o.type + "'"};
    return o;
}

int convert(const Options& o) {
    std::unique_ptr<Model> model =
        o.random_shape.empty() ? load_model_file(o.in) : make_random_model(named_shape(o.random_shape), o.seed);
    const std::string source = o.random_shape.empty() ? o.in : "random " + o.random_shape;

    std::unique_ptr<Tokenizer> tokenizer;
    if (!o.tokenizer.empty())
        tokenizer = std::make_unique<Tokenizer>(Tokenizer::from_file(o.tokenizer, model->config.vocab_size));
    else if (!model->vocab.empty())
        tokenizer = std::make_unique<Tokenizer>(model->vocab.pieces, model->vocab.scores,
                                                model->vocab.bos_id, model->vocab.eos_id);

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
        "llamaport-convert", [&] { return convert(parse(argc, argv)); },
        " (see llamaport-convert --help)");
}
