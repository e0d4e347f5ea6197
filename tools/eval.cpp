// llamaport-eval: how far a (quantized) model is from its reference, teacher-forced over the
// same tokens: tokens sampled from the reference itself, or a text file.
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "common.hpp"
#include "llamaport/eval.hpp"
#include "llamaport/kernels.hpp"
#include "llamaport/model.hpp"
#include "llamaport/sampler.hpp"
#include "llamaport/threadpool.hpp"
#include "llamaport/tokenizer.hpp"
#include "llamaport/transformer.hpp"

using namespace llamaport;

namespace {

const char* const usage_text =
    "Usage: llamaport-eval MODEL --reference REF [options]\n"
    "       llamaport-eval MODEL --ids IDS.txt --reference-logits REF.f32 [options]\n"
    "Runs MODEL and REF over the same tokens and reports, one 'key: value' per line:\n"
    "tokens, kl_divergence (mean KL(REF||MODEL), nats per token), top1_agreement,\n"
    "perplexity_reference and perplexity_model (of the actual next tokens).\n"
    "With --ids, MODEL is fed the token ids of IDS.txt (whitespace-separated) and held against\n"
    "another implementation's logits, REF.f32: one row of vocabulary-size little-endian float32\n"
    "per id fed; it reports rel_rms (RMS of the difference over RMS of REF), top1_agreement and\n"
    "kl_divergence.\n"
    "\n"
    "  --kv-type TYPE   f32 or f16 (llama.cpp's default cache; default f32)\n"
    "  --reference REF  the model to compare against (e.g. the fp32 original)\n"
    "  --tokens N       score N positions of text sampled from REF (default 2048)\n"
    "  --seed S         seed for that sampling (default 1)\n"
    "  --text FILE      score the tokens of a text file instead (needs a tokenizer)\n"
    "  -z PATH          llama2.c tokenizer for --text (default: the one embedded in a GGUF model)\n"
    "  --kernel NAME    kernels for both models (default auto)\n"
    "  --threads N      threads (default: all hardware threads)\n"
    "\n"
    "Exit status: 0 done, 1 bad input or failed run, 2 bad flags.\n";

struct Options {
    std::string model, reference, text, tokenizer, kernel = "auto", ids, reference_logits;
    Transformer::KvType kv_type = Transformer::KvType::f32;
    long long tokens = 2048;
    uint64_t seed = 1;
    int threads = 0;
};

Options parse(int argc, char** argv) {
    using tools::UsageError;
    Options o;
    tools::Flags flags(argc, argv);
    while (flags.next()) {
        const std::string& a = flags.current();
        if (a == "-h" || a == "--help") {
            std::cout << usage_text;
            std::exit(0);
        } else if (a == "--reference") {
            o.reference = flags.value();
        } else if (a == "--tokens") {
            o.tokens = flags.number(1, 1 << 24);
        } else if (a == "--seed") {
            o.seed = uint64_t(flags.number(1, INT64_MAX));
        } else if (a == "--text") {
            o.text = flags.value();
        } else if (a == "-z") {
            o.tokenizer = flags.value();
        } else if (a == "--ids") {
            o.ids = flags.value();
        } else if (a == "--reference-logits") {
            o.reference_logits = flags.value();
        } else if (a == "--kv-type") {
            const std::string t = flags.value();
            if (t != "f32" && t != "f16") throw UsageError{"--kv-type: expected f32 or f16, got '" + t + "'"};
            o.kv_type = t == "f16" ? Transformer::KvType::f16 : Transformer::KvType::f32;
        } else if (a == "--kernel") {
            o.kernel = flags.value();
        } else if (a == "--threads") {
            o.threads = int(flags.number(1, 1024));
        } else if (!a.empty() && a[0] == '-') {
            throw UsageError{"unknown flag '" + a + "'"};
        } else if (o.model.empty()) {
            o.model = a;
        } else {
            throw UsageError{"unexpected argument '" + a + "'"};
        }
    }
    if (!o.ids.empty() || !o.reference_logits.empty()) {
        if (o.model.empty() || o.ids.empty() || o.reference_logits.empty())
            throw UsageError{"need MODEL, --ids IDS.txt and --reference-logits REF.f32"};
        if (!o.reference.empty()) throw UsageError{"--reference and --ids do not go together"};
        return o;
    }
    if (o.model.empty() || o.reference.empty())
        throw UsageError{"need MODEL and --reference REF"};
    return o;
}

Tokenizer load_tokenizer(const Options& o, const Model& reference, const Model& model) {
    if (!o.tokenizer.empty()) return cli::tokenizer_for(reference, o.tokenizer);
    for (const Model* m : {&reference, &model})
        if (m->tokenizer) return *m->tokenizer;
    throw Error("--text needs a tokenizer: give -z (neither model embeds one)");
}

std::vector<int> text_tokens(const Options& o, const Tokenizer& tokenizer) {
    std::ifstream in(o.text, std::ios::binary);
    if (!in) throw Error(o.text + ": cannot open file");
    std::ostringstream s;
    s << in.rdbuf();
    return tokenizer.encode(s.str(), true, false);
}

std::string read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open file");
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// MODEL over the ids against another implementation's logits for them.
int against_logits(const Options& o) {
    auto model = load_model_file(o.model);
    const size_t vocab = size_t(model->config.vocab_size);
    std::vector<int> ids;
    std::istringstream text(read_all(o.ids));
    for (std::string word; text >> word;) {
        char* end = nullptr;
        const long id = std::strtol(word.c_str(), &end, 10);
        if (*end != '\0' || id < 0 || id >= long(vocab))
            throw Error(o.ids + ": '" + word + "' is not a token id of " + o.model + " (0.." +
                        std::to_string(vocab - 1) + ")");
        ids.push_back(int(id));
    }
    if (ids.empty()) throw Error(o.ids + ": no token ids");
    if (ids.size() > size_t(model->config.seq_len))
        throw Error(o.ids + ": " + std::to_string(ids.size()) + " ids, more than " + o.model +
                    "'s context of " + std::to_string(model->config.seq_len));
    const std::string bytes = read_all(o.reference_logits);
    if (bytes.size() != ids.size() * vocab * 4)
        throw Error(o.reference_logits + ": " + std::to_string(bytes.size()) + " bytes, expected " +
                    std::to_string(ids.size()) + " rows of " + std::to_string(vocab) +
                    " float32 logits (" + std::to_string(ids.size() * vocab * 4) + " bytes)");
    std::vector<float> reference(ids.size() * vocab);
    for (size_t i = 0; i < reference.size(); i++) {
        uint32_t bits = 0;  // little-endian whatever the host
        for (int b = 3; b >= 0; b--) bits = (bits << 8) | uint8_t(bytes[4 * i + size_t(b)]);
        std::memcpy(&reference[i], &bits, 4);
    }
    ThreadPool pool(o.threads ? o.threads : ThreadPool::hardware_threads());
    Transformer run(*model, select_kernels(o.kernel), &pool, int(ids.size()),
                    Transformer::default_batch, o.kv_type);
    const float* logits = run.forward(ids.data(), int(ids.size()), 0, Transformer::Logits::all);
    DivergenceMeter meter;
    for (size_t p = 0; p < ids.size(); p++)
        meter.add(&reference[p * vocab], logits + p * vocab, vocab, p + 1 < ids.size() ? ids[p + 1] : 0);
    std::cout << std::setprecision(6) << "model: " << o.model << "\npositions: " << ids.size()
              << "\nrel_rms: " << meter.relative_rms() << "\ntop1_agreement: " << meter.top1_agreement()
              << "\nkl_divergence: " << meter.kl_divergence() << "\n";
    return 0;
}

int evaluate(const Options& o) {
    if (!o.ids.empty()) return against_logits(o);
    auto reference = load_model_file(o.reference);
    auto model = load_model_file(o.model);
    const Config& rc = reference->config;
    if (model->config.vocab_size != rc.vocab_size)
        throw Error(o.model + ": vocabulary of " + std::to_string(model->config.vocab_size) +
                    " tokens differs from the reference's " + std::to_string(rc.vocab_size));
    const KernelSet& kernels = select_kernels(o.kernel);
    ThreadPool pool(o.threads ? o.threads : ThreadPool::hardware_threads());
    const int context = std::min(rc.seq_len, model->config.seq_len);

    std::vector<int> text;
    if (!o.text.empty()) {
        text = text_tokens(o, load_tokenizer(o, *reference, *model));
        if (text.size() < 2) throw Error(o.text + ": too little text to score");
    }
    const size_t wanted = text.empty() ? size_t(o.tokens) : text.size() - 1;

    DivergenceMeter meter;
    const bool terminal = isatty(2) == 1;  // a \r progress line only where it redraws
    Sampler sampler(rc.vocab_size, 1.0f, 1.0f, o.seed);
    std::vector<float> ref_logits(size_t(rc.vocab_size)), probs(size_t(rc.vocab_size));
    size_t text_pos = 0;
    // Sequences of at most `context` positions, each from a fresh cache.
    while (meter.positions() < wanted) {
        Transformer ref_run(*reference, kernels, &pool, context), model_run(*model, kernels, &pool, context);
        int token = text.empty() ? 1 : text[text_pos];
        for (int pos = 0; pos < context && meter.positions() < wanted; pos++) {
            const float* r = ref_run.forward(token, pos);
            ref_logits.assign(r, r + rc.vocab_size);
            int next;
            if (text.empty()) {
                probs = ref_logits;
                next = sampler.sample(probs.data());
            } else {
                next = text[++text_pos];
            }
            meter.add(ref_logits.data(), model_run.forward(token, pos), size_t(rc.vocab_size), next);
            if (terminal && meter.positions() % 256 == 0)
                std::cerr << "llamaport-eval: " << meter.positions() << "/" << wanted << " tokens\r" << std::flush;
            if (text.empty() && next == 1) break;  // the reference began a new story
            token = next;
        }
    }
    if (terminal) std::cerr << "\n";
    std::cout << std::setprecision(6) << "reference: " << o.reference << "\nmodel: " << o.model
              << "\ntokens: " << meter.positions() << "\nkl_divergence: " << meter.kl_divergence()
              << "\ntop1_agreement: " << meter.top1_agreement()
              << "\nperplexity_reference: " << meter.reference_perplexity()
              << "\nperplexity_model: " << meter.model_perplexity() << "\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    return tools::run_tool(
        "llamaport-eval", [&] { return evaluate(parse(argc, argv)); });
}
