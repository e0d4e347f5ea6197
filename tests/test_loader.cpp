// The llama2.c loader: every version and byte order, and every kind of bad file.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include <unistd.h>

#include "llamaport/error.hpp"
#include "llamaport/kernels.hpp"
#include "llamaport/llama2c.hpp"
#include "llamaport/model.hpp"
#include "llamaport/system.hpp"
#include "llamaport/threadpool.hpp"
#include "llamaport/transformer.hpp"
#include "loader/byte_order.hpp"
#include "test_support.hpp"

using namespace llamaport;
using namespace llamaport::test;

namespace {

std::vector<float> logits_after(const Model& model, const std::vector<int>& tokens) {
    Transformer t(model, scalar_kernels());
    float* logits = nullptr;
    for (size_t pos = 0; pos < tokens.size(); pos++) logits = t.forward(tokens[pos], int(pos));
    return std::vector<float>(logits, logits + model.config.vocab_size);
}

std::string load_error(const std::string& bytes, const std::string& name = "m.bin") {
    try {
        load_model(borrow_memory(bytes.data(), bytes.size(), name));
    } catch (const Error& e) {
        return e.what();
    }
    return "no error";
}

void put_i32(std::string& bytes, size_t offset, int32_t v) {
    for (int i = 0; i < 4; i++) bytes[offset + size_t(i)] = char(uint32_t(v) >> (8 * i));
}

}  // namespace

TEST_CASE("v0, v1 and v2 files in both byte orders load and agree", "[loader]") {
    for (bool shared : {true, false}) {
        auto original = random_test_model(tiny_config(), 5, shared);
        const std::vector<int> tokens{1, 7, 42, 299, 3};
        const std::vector<float> expected = logits_after(*original, tokens);
        for (int version : {0, 1, 2}) {
            for (bool big_endian : {false, true}) {
                INFO("v" << version << (big_endian ? " big-endian" : " little-endian")
                         << (shared ? " shared" : " separate") << " classifier");
                Llama2cWriteOptions options;
                options.version = version;
                options.big_endian = big_endian;
                const std::string bytes = write_llama2c(*original, options);
                auto loaded = load_model(borrow_memory(bytes.data(), bytes.size(), "m.bin"));
                CHECK(loaded->weights.shared_classifier == shared);
                CHECK(loaded->config.vocab_size == 300);
                CHECK(loaded->config.n_kv_heads == 2);
                const std::vector<float> got = logits_after(*loaded, tokens);
                if (version < 2) {
                    CHECK(got == expected);
                } else {
                    CHECK(loaded->format == std::string("llama2.c v2 q8_0") + (big_endian ? " big-endian" : ""));
                    CHECK(loaded->weights.layers[1].w2.type == WeightType::Q8_G);
                    CHECK(loaded->weights.layers[1].w2.block_values == 4);  // divides 16 and 36
                    // Q8_0 weights and activations: relative L2 error of the logits under 3%
                    // (measured about 1% on this model).
                    double error = 0, norm = 0;
                    for (size_t i = 0; i < got.size(); i++) {
                        error += double(got[i] - expected[i]) * (got[i] - expected[i]);
                        norm += double(expected[i]) * expected[i];
                    }
                    INFO("relative error " << std::sqrt(error / norm));
                    CHECK(std::sqrt(error / norm) < 0.03);
                }
            }
        }
    }
}

TEST_CASE("bad files give one-line errors naming the file", "[loader]") {
    auto model = random_test_model(tiny_config(), 9);
    Llama2cWriteOptions v1;
    v1.version = 1;
    const std::string v0_bytes = write_llama2c(*model, {});
    const std::string v1_bytes = write_llama2c(*model, v1);

    SECTION("truncated at several offsets") {
        for (const std::string* bytes : {&v0_bytes, &v1_bytes})
            for (size_t cut : {size_t(1), size_t(7), size_t(27), size_t(100), size_t(255), size_t(256),
                               bytes->size() / 2, bytes->size() - 1}) {
                INFO("cut at " << cut);
                const std::string msg = load_error(bytes->substr(0, cut));
                CHECK(msg.rfind("m.bin: ", 0) == 0);
                CHECK(msg.find('\n') == std::string::npos);
            }
        CHECK_THAT(load_error(v0_bytes.substr(0, v0_bytes.size() - 4)), Catch::Contains("(truncated)"));
        CHECK_THAT(load_error(v1_bytes.substr(0, 100)), Catch::Contains("header alone needs 256"));
    }
    SECTION("trailing bytes") {
        CHECK_THAT(load_error(v0_bytes + "xxxx"), Catch::Contains("implies"));
    }
    SECTION("empty file") {
        CHECK(load_error("") == "m.bin: file is empty");
    }
    SECTION("wrong magic is read as a legacy header and does not fit") {
        std::string bytes = v1_bytes;
        bytes[0] = 'X';
        CHECK_THAT(load_error(bytes), Catch::StartsWith("m.bin: "));
    }
    SECTION("unknown version") {
        std::string bytes = v1_bytes;
        put_i32(bytes, 4, 7);
        CHECK(load_error(bytes) == "m.bin: unknown llama2.c checkpoint version 7 (supported: 1 fp32, 2 q8_0)");
    }
    SECTION("zero, negative and huge header values") {
        struct Field { size_t offset; const char* name; };
        const Field fields[] = {{0, "dim"}, {4, "hidden_dim"}, {8, "n_layers"}, {12, "n_heads"},
                                {16, "n_kv_heads"}, {24, "seq_len"}};
        for (const Field& f : fields)
            for (int32_t value : {0, -3, 0x7fffffff}) {
                std::string bytes = v0_bytes;
                put_i32(bytes, f.offset, value);
                INFO(f.name << " = " << value);
                const std::string msg = load_error(bytes);
                CHECK(msg.rfind("m.bin: ", 0) == 0);
                CHECK_THAT(msg, Catch::Contains(f.name) || Catch::Contains("implies") ||
                                    Catch::Contains("divide"));
            }
        std::string huge_vocab = v0_bytes;
        put_i32(huge_vocab, 20, 0x7fffffff);
        CHECK_THAT(load_error(huge_vocab), Catch::Contains("vocab_size"));
        std::string min_vocab = v0_bytes;
        put_i32(min_vocab, 20, INT32_MIN);
        CHECK_THAT(load_error(min_vocab), Catch::Contains("vocab_size"));
    }
    SECTION("heads that do not divide") {
        std::string bytes = v0_bytes;
        put_i32(bytes, 12, 3);  // 3 heads do not divide dim 16
        CHECK_THAT(load_error(bytes), Catch::Contains("n_heads (3) does not divide dim (16)"));
        bytes = v0_bytes;
        put_i32(bytes, 16, 3);  // 3 kv heads do not divide 4 heads
        CHECK_THAT(load_error(bytes), Catch::Contains("n_kv_heads (3) does not divide n_heads (4)"));
    }
    SECTION("a v2 group size that splits rows is refused") {
        Llama2cWriteOptions v2;
        v2.version = 2;
        std::string bytes = write_llama2c(*model, v2);
        put_i32(bytes, 37, 8);  // 8 does not divide hidden_dim 36
        CHECK_THAT(load_error(bytes), Catch::Contains("group size 8 does not divide"));
        put_i32(bytes, 37, 0);
        CHECK_THAT(load_error(bytes), Catch::Contains("group size 0 is out of range"));
    }
    SECTION("a bad shared-classifier flag") {
        std::string bytes = v1_bytes;
        bytes[36] = 5;
        CHECK_THAT(load_error(bytes), Catch::Contains("shared-classifier flag is 5"));
    }
}

TEST_CASE("missing files and directories are errors naming the path", "[loader]") {
    CHECK_THROWS_WITH(load_model_file("/nonexistent/model.bin"),
                      Catch::StartsWith("/nonexistent/model.bin: cannot open file"));
    CHECK_THROWS_WITH(load_model_file("."), Catch::Contains(".: is a directory"));
}

TEST_CASE("a generated token reads every weight, but one row of an untied embedding", "[loader]") {
    for (bool shared : {true, false}) {
        auto model = random_test_model(tiny_config(), 5, shared);
        const Config& c = model->config;
        const size_t row = size_t(c.dim) * sizeof(float);  // the fp32 embedding's row
        size_t layers = 0;
        for (const LayerWeights& l : model->weights.layers)
            for (const Matrix* m : l.matrices()) layers += m->bytes();
        const size_t norms = (2 * size_t(c.n_layers) + 1) * row;
        const size_t classifier = size_t(c.vocab_size) * row;
        INFO((shared ? "shared" : "separate") << " classifier");
        CHECK(model->weight_bytes() == layers + norms + classifier * (shared ? 1 : 2));
        CHECK(model->token_bytes() == layers + norms + classifier + (shared ? 0 : row));
    }
}

TEST_CASE("a model file on disk loads through the mapping and swaps in place", "[loader]") {
    auto model = random_test_model(tiny_config(), 11);
    const std::vector<float> expected = logits_after(*model, {1, 2, 3});
    for (bool big_endian : {false, true}) {
        Llama2cWriteOptions options;
        options.big_endian = big_endian;
        const std::string path = "llamaport-test-model-" + std::to_string(getpid()) + ".bin";
        {
            std::ofstream out(path, std::ios::binary);
            const std::string bytes = write_llama2c(*model, options);
            out.write(bytes.data(), std::streamsize(bytes.size()));
        }
        auto loaded = load_model_file(path);
        std::remove(path.c_str());
        CHECK(logits_after(*loaded, {1, 2, 3}) == expected);
    }
}

TEST_CASE("the memory limit refuses conversions before allocating", "[loader]") {
    auto model = random_test_model(tiny_config(), 12);
    Llama2cWriteOptions options;
    options.big_endian = host_byte_order() == ByteOrder::Little;
    const std::string bytes = write_llama2c(*model, options);
    LoadOptions limited;
    // Room for the file but not for the copy that read-only bytes in the other order need.
    limited.memory_limit = bytes.size() + 1024;
    CHECK_THROWS_WITH(load_model(borrow_memory(bytes.data(), bytes.size(), "m.bin"), limited),
                      Catch::StartsWith("m.bin: loading needs") &&
                          Catch::Contains("of converted weights), more than the " +
                                          size_text(bytes.size() + 1024) + " available"));
    limited.memory_limit = bytes.size() - 1;
    CHECK_THROWS_WITH(load_model(borrow_memory(bytes.data(), bytes.size(), "m.bin"), limited),
                      "m.bin: the file is " + size_text(bytes.size()) + ", more than the " +
                          size_text(bytes.size() - 1) + " available");
}

TEST_CASE("a KV cache beyond this host's memory or address space is refused before allocating", "[loader]") {
    const std::string bytes = write_llama2c(*random_test_model(tiny_config(), 12), {});
    LoadOptions options;
    options.memory_limit = memory_budget();  // what the command uses
    auto model = load_model(borrow_memory(bytes.data(), bytes.size(), "m.bin"), options);
    // 1024 layers x 2^20 positions x kv_dim 8 x 2 x 4 bytes = 64 GiB: more than a 32-bit address
    // space and more than this machine. Only the constructor's sizing reads these fields.
    model->config.n_layers = 1024;
    model->config.seq_len = 1 << 20;
    CHECK_THROWS_WITH(Transformer(*model, scalar_kernels(), nullptr, 0),
                      Catch::StartsWith("m.bin: the KV cache and buffers for 1048576 positions need ") &&
                          Catch::Contains("more than the " + size_text(memory_budget()) + " available"));
    CHECK(memory_budget() <= (sizeof(size_t) < 8 ? size_t(3) << 30 : SIZE_MAX));
}

TEST_CASE("the run state is checked against the memory limit before allocating", "[loader]") {
    const Config c = tiny_config();
    const std::string bytes = write_llama2c(*random_test_model(c, 12), {});
    auto model = load_model(borrow_memory(bytes.data(), bytes.size(), "m.bin"));
    // The model's own footprint (a host of the other byte order holds a converted copy too) plus
    // 16 KiB: room for a few positions, not for a KV cache that alone needs more.
    const size_t room = 16 * 1024;
    model->memory_limit = model->blob->size() + model->allocated_bytes + room;
    const size_t kv_bytes_per_position = 2 * size_t(c.n_layers) * size_t(c.kv_dim()) * sizeof(float);
    model->config.seq_len = int(room / kv_bytes_per_position + 1);
    CHECK_NOTHROW(Transformer(*model, scalar_kernels(), nullptr, 4));
    CHECK_THROWS_WITH(Transformer(*model, scalar_kernels(), nullptr, model->config.seq_len),
                      Catch::StartsWith("m.bin: the KV cache and buffers for " +
                                        std::to_string(model->config.seq_len) + " positions need ") &&
                          Catch::Contains(" available; fewer positions need less"));
}

namespace {

// Every position's logits under `kernels`, with `threads` threads, token by token or through
// the batched forward (chunks of max_batch).
std::vector<float> all_logits(const Model& model, const KernelSet& kernels, int threads,
                              const std::vector<int>& tokens, bool batched = false,
                              int max_batch = Transformer::default_batch) {
    ThreadPool pool(threads);
    Transformer t(model, kernels, &pool, 0, max_batch);
    const size_t vocab = size_t(model.config.vocab_size);
    if (batched) {
        const float* logits = t.forward(tokens.data(), int(tokens.size()), 0, Transformer::Logits::all);
        return std::vector<float>(logits, logits + tokens.size() * vocab);
    }
    std::vector<float> out;
    for (size_t pos = 0; pos < tokens.size(); pos++) {
        const float* logits = t.forward(tokens[pos], int(pos));
        out.insert(out.end(), logits, logits + vocab);
    }
    return out;
}

}  // namespace

// runq.c's arithmetic on every set: a v2 model's products are exact integer sums per group, then
// acc + ((float)isum * w_scale) * x_scale in runq.c's order, and attention adds in one order
// everywhere, so every set gives the scalar set's logits bit for bit (AltiVec too: the values
// here stay far from denormals), whatever the thread count and batch. Group sizes 32 and 64 take
// the SIMD lanes of every set; 8 the reference loops. GGUF Q8_0 files are promised the same
// (README, kernel sets) in ggml's order, acc + isum * (w_scale * x_scale); every matrix here is
// whole blocks of 32, so all of the model is Q8_0. 80 positions: the batched run takes two chunks.
TEST_CASE("llama2.c v2 and GGUF Q8_0 models give the same logits bit for bit on every kernel set",
          "[loader]") {
    Config c;
    c.dim = 128;
    c.hidden_dim = 320;
    c.n_layers = 2;
    c.n_heads = 8;
    c.n_kv_heads = 4;
    c.vocab_size = 384;
    c.seq_len = 80;
    auto original = random_test_model(c, 77, false);
    std::vector<int> tokens;
    for (int i = 0; i < c.seq_len; i++) tokens.push_back((i * 37 + 11) % c.vocab_size);
    for (size_t group : {size_t(32), size_t(64), size_t(8), size_t(0)}) {
        // group 0: the GGUF Q8_0 file
        auto model = group ? requantized(*original, WeightType::Q8_G, group)
                           : requantized(*original, WeightType::Q8_0);
        for (const LayerWeights& l : model->weights.layers)
            for (const Matrix* m : l.matrices()) {
                REQUIRE(m->type == (group ? WeightType::Q8_G : WeightType::Q8_0));
                REQUIRE(m->block_values == group);
            }
        REQUIRE(model->weights.classifier.type == model->weights.layers[0].w2.type);
        const std::vector<float> want = all_logits(*model, scalar_kernels(), 1, tokens);
        for (const KernelSet* set : available_kernels())
            for (int threads : {1, 3})
                for (bool batched : {false, true}) {
                    INFO("set " << set->name << ", " << (group ? "Q8_G group " + std::to_string(group) : "Q8_0")
                                << ", threads " << threads << (batched ? ", batched" : ", token by token"));
                    const std::vector<float> got = all_logits(*model, *set, threads, tokens, batched);
                    REQUIRE(got.size() == want.size());
                    size_t first_difference = got.size();
                    for (size_t i = 0; i < got.size() && first_difference == got.size(); i++)
                        if (std::memcmp(&got[i], &want[i], sizeof(float)) != 0) first_difference = i;
                    INFO("first difference at position " << first_difference / size_t(c.vocab_size));
                    CHECK(first_difference == got.size());
                }
    }
}

// The model above is too small for threads (Transformer::threads() stays 1); this one's smallest
// matrix is 256 x 256, so 3 threads split every product's rows, and the per-position steps and
// attention's heads. Every row and head is computed as on one thread: the logits are bit for bit
// the same, F32 and Q8_0, token by token and batched (30 positions: batches of 24 and 6).
TEST_CASE("threads give one thread's logits bit for bit on every kernel set", "[loader]") {
    Config c = tiny_config();
    c.dim = 256, c.hidden_dim = 512, c.n_heads = 8, c.n_kv_heads = 8, c.vocab_size = 96;
    c.seq_len = 32;
    auto f32 = random_test_model(c, 5, false);
    auto q8_0 = requantized(*f32, WeightType::Q8_0);
    std::vector<int> tokens;
    for (int i = 0; i < 30; i++) tokens.push_back((i * 29 + 7) % c.vocab_size);
    for (const Model* model : {f32.get(), q8_0.get()}) {
        ThreadPool pool(3);
        REQUIRE(Transformer(*model, scalar_kernels(), &pool).threads() == 3);
        for (const KernelSet* set : available_kernels())
            for (bool batched : {false, true}) {
                INFO("set " << set->name << (model == f32.get() ? ", F32" : ", Q8_0")
                            << (batched ? ", batched" : ", token by token"));
                const std::vector<float> one = all_logits(*model, *set, 1, tokens, batched, 24);
                const std::vector<float> three = all_logits(*model, *set, 3, tokens, batched, 24);
                REQUIRE(one.size() == three.size());
                CHECK(std::memcmp(one.data(), three.data(), one.size() * sizeof(float)) == 0);
            }
    }
}
