#include "test_support.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

#include "cli.hpp"
#include "llamaport/error.hpp"
#include "llamaport/gguf.hpp"
#include "llamaport/llama2c.hpp"
#include "llamaport/random_model.hpp"

namespace llamaport::test {

bool use_subset = false;

std::string shared_dir() {
    const char* env = std::getenv("LLAMAPORT_SHARED");
    return env && *env ? env : LLAMAPORT_DEFAULT_SHARED;
}

bool shared_available() {
    struct stat st;
    return stat(model_path("stories260K.bin").c_str(), &st) == 0;
}

std::string model_path(const std::string& name) { return shared_dir() + "/models/" + name; }
std::string reference_path(const std::string& name) { return shared_dir() + "/reference/" + name; }

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("test data missing: " + path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::vector<std::string> read_lines(const std::string& path) {
    std::istringstream in(read_file(path));
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

std::vector<int> parse_ids(const std::string& text) {
    std::istringstream in(text);
    std::vector<int> ids;
    for (int id; in >> id;) ids.push_back(id);
    return ids;
}

std::vector<ReferenceCase> reference_cases() {
    std::vector<ReferenceCase> cases;
    for (const std::string& line : read_lines(reference_path("stories260K_cases.tsv"))) {
        std::vector<std::string> fields;
        std::string field;
        std::istringstream in(line);
        while (std::getline(in, field, '\t')) fields.push_back(field);
        if (fields.empty()) continue;
        if (use_subset && fields[0] != "stories260K_02" && fields[0] != "stories260K_03" &&
            fields[0] != "stories260K_06" && fields[0] != "stories260K_09")
            continue;
        ReferenceCase c;
        c.name = fields[0];
        for (size_t i = 1; i + 1 < fields.size(); i += 2) {
            const std::string& flag = fields[i];
            const std::string& value = fields[i + 1];
            c.flags.push_back(flag);
            c.flags.push_back(value);
            if (flag == "-t") c.temperature = std::stof(value);
            if (flag == "-p") c.top_p = std::stof(value);
            if (flag == "-s") c.seed = std::stoull(value);
            if (flag == "-n") c.steps = std::stoi(value);
            if (flag == "-i") c.prompt = value;
        }
        cases.push_back(c);
    }
    return cases;
}

CliResult run_cli(const std::vector<std::string>& args, const std::string& input,
                  const cli::Terminals& terminals) {
    std::vector<const char*> argv{"llamaport"};
    for (const std::string& a : args) argv.push_back(a.c_str());
    std::ostringstream out, err;
    std::istringstream in(input);
    const int status = cli::run(int(argv.size()), argv.data(), out, err, in, terminals);
    return {status, out.str(), err.str()};
}

Config tiny_config() {
    Config c;
    c.dim = 16;
    c.hidden_dim = 36;
    c.n_layers = 2;
    c.n_heads = 4;
    c.n_kv_heads = 2;
    c.vocab_size = 300;
    c.seq_len = 32;
    return c;
}

std::unique_ptr<Model> random_test_model(const Config& config, unsigned seed, bool shared_classifier) {
    return make_random_model(config, seed, shared_classifier);
}

std::unique_ptr<Model> requantized(const Model& model, WeightType type, size_t group_size) {
    if (type == WeightType::Q8_G) {
        Llama2cWriteOptions o;
        o.version = 2;
        o.group_size = group_size;
        return load_model(own_memory(write_llama2c(model, o), "v2.bin"));
    }
    if (type != WeightType::Q8_0) throw Error("requantized: Q8_G or Q8_0 only");
    GgufWriteOptions o;
    o.matrix_type = WeightType::Q8_0;
    if (model.vocab.empty()) {
        for (int i = 0; i < model.config.vocab_size; i++) o.pieces.push_back("t" + std::to_string(i));
        o.pieces[1] = "\n<s>\n";
        o.pieces[2] = "\n</s>\n";
        o.scores.assign(o.pieces.size(), 0.0f);
    }
    return load_model(own_memory(write_gguf_model(model, o), "q8_0.gguf"));
}

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "no error";
}

}  // namespace llamaport::test
