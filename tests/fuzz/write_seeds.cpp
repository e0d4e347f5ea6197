// fuzz-write-seeds OUT [MODELS]: writes a seed corpus per fuzz target under OUT/<target>/: small
// models in every format and byte order the loaders read, tokenizer files, prompts and command
// lines, plus (when MODELS, e.g. ../shared/models, is given) the real model and tokenizer files.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>

#include "aqlm/quantize_model.hpp"
#include "fuzz_support.hpp"
#include "import/safetensors.hpp"
#include "llamaport/blob.hpp"
#include "llamaport/error.hpp"
#include "llamaport/gguf.hpp"
#include "llamaport/llama2c.hpp"
#include "llamaport/random_model.hpp"
#include "loader/gguf.hpp"
#include "tokenizer/byte_level.hpp"
#include "tokenizer/sentencepiece.hpp"

using namespace llamaport;
namespace fs = std::filesystem;

namespace {

fs::path out_dir;

void write(const std::string& target, const std::string& name, const std::string& bytes) {
    // A model seed the loader refused would leave the fuzz target's replay testing nothing.
    if (target == "llama2c" || target == "gguf") load_model(borrow_memory(bytes.data(), bytes.size(), name));
    fs::create_directories(out_dir / target);
    std::ofstream(out_dir / target / name, std::ios::binary) << bytes;
}

std::string read(const fs::path& path) {
    std::ifstream file(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

void write_llama2c_seeds() {
    auto model = make_random_model(fuzz::small_config(16, 36), 1);
    auto unshared = make_random_model(fuzz::small_config(16, 36), 2, false);
    for (int version : {0, 1, 2})
        for (bool big_endian : {false, true}) {
            Llama2cWriteOptions o;
            o.version = version;
            o.big_endian = big_endian;
            const std::string name = "v" + std::to_string(version) + (big_endian ? "-be" : "-le");
            write("llama2c", name + ".bin", write_llama2c(*model, o));
            write("llama2c", name + "-unshared.bin", write_llama2c(*unshared, o));
        }
}

void write_gguf_seeds() {
    const Tokenizer tokenizer = fuzz::small_tokenizer();
    GgufWriteOptions o;
    o.pieces = tokenizer.pieces();
    o.scores = tokenizer.scores();
    auto model = make_random_model(fuzz::small_config(32, 64), 3, false);
    for (WeightType type : {WeightType::F32, WeightType::Q8_0})
        for (bool big_endian : {false, true}) {
            o.matrix_type = type;
            o.big_endian = big_endian;
            write("gguf", std::string(weight_type_name(type)) + (big_endian ? "-be" : "-le") + ".gguf",
                  write_gguf_model(*model, o));
        }
    AqlmConfig aqlm;
    aqlm.bits = 4;  // 16 entries keep the seed small; the layout is that of 2x8
    aqlm.max_iterations = 1;
    quantize_layers_aqlm(*model, {}, aqlm, nullptr);
    o.matrix_type = WeightType::F32;
    for (bool big_endian : {false, true}) {
        o.big_endian = big_endian;
        write("gguf", std::string("aqlm-2x4") + (big_endian ? "-be" : "-le") + ".gguf", write_gguf_model(*model, o));
    }
}

// fuzz_tokenizer's inputs: the vocabulary size minus one (two bytes, little-endian), then the file.
std::string tokenizer_input(int vocab, const std::string& file) {
    return std::string{char((vocab - 1) & 0xFF), char((vocab - 1) >> 8)} + file;
}

void write_text_seeds() {
    write("tokenizer", "small.tok", tokenizer_input(300, fuzz::small_tokenizer().to_llama2c_file()));
    const std::string prompts[] = {"Once upon a time, there was a little girl named Lily.",
                                   "caf\xC3\xA9 \xF0\x9F\x98\x80 \xE6\x97\xA5\xE6\x9C\xAC",
                                   std::string("\xFF\xC3(\x80\0 \t\n\x1B[2J", 12), " the day"};
    int n = 0;
    for (const std::string& p : prompts) write("encode", "prompt" + std::to_string(n++), p);
    using namespace std::string_literals;
    const std::string command_lines[] = {
        "\0-n\0"s "8\0-i\0Once upon a time"s,
        "\0-t\0"s "0\0-p\0"s "0.5\0-s\0"s "42\0-n\0"s "0"s,
        "Hello\nHow are you?\n\0-m\0chat\0-y\0Be nice"s,
        "Hi\n\0-m\0chat\0-i\0The day"s,
        "\0-z\0tok\0-i\0x\0--kernel\0scalar\0--threads\0"s "2"s,
        "\0-c\0"s "16\0-n\0"s "0\0--kernel\0auto"s,
        "\0--help"s,
        "\0-q\0"s "1"s,
    };
    n = 0;
    for (const std::string& c : command_lines) write("cli", "args" + std::to_string(n++), c);
}

void write_json_seeds() {
    const std::string texts[] = {
        R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 64, "rms_norm_eps": 1e-05,
"rope_scaling": {"factor": 8.0, "rope_type": "llama3"}, "tie_word_embeddings": true, "x": null})",
        R"({"model": {"type": "BPE", "vocab": {"a": 0, "\u0120b": 1}, "merges": ["a b", ["\ud83d\ude00", "c"]]}})",
        R"(["\"\\\/\b\f\n\r\t", -0, 0.5e-3, 9007199254740993, 1E+2, true, false, [], {}])",
        "\xEF\xBB\xBF [[[[{\"\xC3\xA9\": \"\xF0\x9F\x98\x80\"}]]]] ",
    };
    int n = 0;
    for (const std::string& t : texts) write("json", "text" + std::to_string(n++) + ".json", t);
}

// fuzz_vocab's inputs: GGUF files holding only a vocabulary.
void write_vocab_seeds() {
    using gguf::Value;
    const Tokenizer spm = fuzz::small_tokenizer();
    std::vector<int32_t> types(spm.pieces().size(), 1);
    types[0] = 2;
    types[1] = types[2] = 3;
    for (size_t i = 3; i < 259; i++) types[i] = 6;
    std::vector<std::string> pieces;
    for (const std::string& piece : spm.pieces()) pieces.push_back(replace_all(piece, " ", sentencepiece_space));
    write("vocab", "spm.gguf",
          gguf::write_gguf({{"tokenizer.ggml.model", Value::string("llama")},
                            {"tokenizer.ggml.tokens", Value::string_array(pieces)},
                            {"tokenizer.ggml.scores", Value::f32_array(spm.scores())},
                            {"tokenizer.ggml.token_type", Value::i32_array(types)},
                            {"tokenizer.ggml.bos_token_id", Value::u32(1)},
                            {"tokenizer.ggml.eos_token_id", Value::u32(2)}},
                           {}, ByteOrder::Little));
    std::vector<std::string> tokens;
    for (int b = 0; b < 256; b++) tokens.push_back(byte_level::encode(std::string(1, char(b))));
    for (const char* t : {"\xC4\xA0t", "he", "\xC4\xA0the", "<|begin_of_text|>", "<|eot_id|>"}) tokens.push_back(t);
    std::vector<int32_t> bpe_types(tokens.size(), 1);
    bpe_types[259] = bpe_types[260] = 3;
    for (const char* pre : {"llama-bpe", "gpt-2"})
        write("vocab", std::string("bpe-") + pre + ".gguf",
              gguf::write_gguf({{"tokenizer.ggml.model", Value::string("gpt2")},
                                {"tokenizer.ggml.pre", Value::string(pre)},
                                {"tokenizer.ggml.tokens", Value::string_array(tokens)},
                                {"tokenizer.ggml.token_type", Value::i32_array(bpe_types)},
                                {"tokenizer.ggml.merges", Value::string_array({"\xC4\xA0 t", "h e", "\xC4\xA0t he"})},
                                {"tokenizer.ggml.bos_token_id", Value::u32(259)},
                                {"tokenizer.ggml.eot_token_id", Value::u32(260)}},
                               {}, ByteOrder::Big));
    write("tokenizer_json", "llama3.json",
          R"({"added_tokens": [{"id": 4, "content": "<|eot_id|>", "special": true}],
"pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": )"
          R"("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}}, )"
          R"({"type": "ByteLevel", "use_regex": false}]},
"model": {"type": "BPE", "ignore_merges": true, "vocab": {"a": 0, "b": 1, "ab": 2, "\u0120": 3}, "merges": ["a b"]}})");
    write("tokenizer_json", "gpt2.json",
          R"({"pre_tokenizer": {"type": "ByteLevel"}, "model": {"vocab": {"a": 0, "b": 1, "ab": 2},
"merges": [["a", "b"]]}})");
    const std::string texts[] = {"I'm HERE'S 1234567 naïve  café\n\n\tx", "a\xFF\xC3(b \xF0\x9F\xA6\x99"};
    int n = 0;
    for (const std::string& text : texts) write("pretokenize", "text" + std::to_string(n++), text);
}

void write_safetensors_seeds() {
    using safetensors::DType;
    const std::string two_floats("\0\0\x80\x3F\0\0\0\xC0", 8);  // 1.0f, -2.0f little-endian
    write("safetensors", "dtypes.safetensors",
          safetensors::write_file({{"f32", DType::F32, {2}, two_floats},
                                   {"f16", DType::F16, {2, 1}, std::string("\0\x3C\0\xC0", 4)},
                                   {"bf16", DType::BF16, {1}, std::string("\x80\x3F", 2)},
                                   {"codes", DType::I8, {2, 2, 1}, std::string("\x7F\x80\xFF\0", 4)},
                                   {"i16", DType::I16, {1}, std::string("\xFF\xFF", 2)},
                                   {"i32", DType::I32, {1}, std::string("\1\0\0\x80", 4)},
                                   {"empty", DType::F32, {0}, ""}}));
}

void copy_real_files(const fs::path& models) {
    const std::pair<const char*, const char*> model_files[] = {{"stories260K.bin", "llama2c"},
                                                               {"stories260K-F32.gguf", "gguf"}};
    for (const auto& [name, target] : model_files)
        if (fs::exists(models / name)) write(target, name, read(models / name));
    const std::pair<const char*, int> tokenizers[] = {{"tok512.bin", 512}, {"tokenizer.bin", 32000}};
    for (const auto& [name, vocab] : tokenizers)
        if (fs::exists(models / name)) write("tokenizer", name, tokenizer_input(vocab, read(models / name)));
    const fs::path spm_vocab = models / ".." / "reference" / "tokenizers" / "ggml-vocab-llama-spm.gguf";
    if (fs::exists(spm_vocab)) write("vocab", "llama-spm.gguf", read(spm_vocab));
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || argc > 3) {
        std::cerr << "usage: fuzz-write-seeds OUT [MODELS]\n";
        return 2;
    }
    out_dir = argv[1];
    try {
        write_llama2c_seeds();
        write_gguf_seeds();
        write_text_seeds();
        write_json_seeds();
        write_vocab_seeds();
        write_safetensors_seeds();
        if (argc == 3) copy_real_files(argv[2]);
    } catch (const Error& e) {
        std::cerr << "fuzz-write-seeds: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
