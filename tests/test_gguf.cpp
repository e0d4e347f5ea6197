// GGUF: the container (every metadata type, both byte orders, every kind of bad file), fp16 and
// Q8_0 conversions, llama models written and read back, and llama.cpp's own stories260K file.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <deque>
#include <functional>
#include <map>
#include <sstream>

#include "llamaport/error.hpp"
#include "llamaport/generate.hpp"
#include "llamaport/gguf.hpp"
#include "llamaport/kernels.hpp"
#include "llamaport/model.hpp"
#include "llamaport/system.hpp"
#include "llamaport/tokenizer.hpp"
#include "llamaport/transformer.hpp"
#include "loader/fp16.hpp"
#include "loader/gguf.hpp"
#include "types/f16.hpp"
#include "types/q8_0.hpp"
#include "test_support.hpp"

using namespace llamaport;
using namespace llamaport::test;
using gguf::GgufFile;
using gguf::Value;
using gguf::ValueType;

namespace {

// ggml's quantize_row_q8_0_ref into host-order blocks, as the writer quantizes.
void quantize_q8_0(const float* x, size_t n, gguf::Q8Block* out) {
    types::q8_0_quantize_weights(reinterpret_cast<uint8_t*>(out), x, n);
}

using Metadata = std::vector<std::pair<std::string, Value>>;
using Tensors = std::vector<gguf::WriteTensor>;

std::string parse_error(const std::string& bytes, const std::string& name = "t.gguf") {
    return error_of(
        [&] { GgufFile(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), name); });
}

std::string load_error(const std::string& bytes, const std::string& name = "m.gguf") {
    return error_of([&] { load_model(borrow_memory(bytes.data(), bytes.size(), name)); });
}

GgufFile parse(const std::string& bytes, const std::string& name = "t.gguf") {
    return GgufFile(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), name);
}

// Little-endian fields patched into a file (the files these tests patch are little-endian).
void put_le(std::string& bytes, size_t offset, uint64_t v, size_t width) {
    for (size_t i = 0; i < width; i++) bytes[offset + i] = char(uint8_t(v >> (8 * i)));
}

// Where a tensor info's fields are: its name is unique in these files.
struct InfoFields {
    size_t n_dims, type, offset;
};
InfoFields info_fields(const std::string& bytes, const std::string& name, size_t n_dims) {
    const size_t at = bytes.find(name);
    REQUIRE(at != std::string::npos);
    const size_t dims = at + name.size();
    return {dims, dims + 4 + 8 * n_dims, dims + 4 + 8 * n_dims + 4};
}

// Parses a file and writes it again after `edit`, tensor data carried over in host form.
// The file's metadata and F32 tensors through `edit`, written again (in big-endian order when
// asked, else in the file's).
std::string rebuild(const std::string& bytes,
                    const std::function<void(Metadata&, Tensors&)>& edit, bool big_endian = false) {
    const GgufFile f = parse(bytes);
    Metadata kv;
    for (const gguf::KeyValue& e : f.metadata()) kv.emplace_back(e.key, f.value(e));
    std::deque<std::vector<float>> storage;
    Tensors tensors;
    for (const gguf::TensorInfo& t : f.tensors()) {
        REQUIRE(t.type->id == gguf::type_f32);
        std::vector<float>& data = storage.emplace_back(size_t(t.elements));
        for (size_t i = 0; i < data.size(); i++)
            data[i] = read_f32(f.data() + t.file_offset + 4 * i, f.byte_order());
        tensors.push_back(
            {t.name, std::vector<uint64_t>(t.ne, t.ne + t.n_dims), gguf::type_f32, data.data()});
    }
    edit(kv, tensors);
    return gguf::write_gguf(kv, tensors, big_endian ? ByteOrder::Big : f.byte_order());
}

void set_key(Metadata& kv, const std::string& key, Value v) {
    for (auto& e : kv)
        if (e.first == key) {
            e.second = std::move(v);
            return;
        }
    kv.emplace_back(key, std::move(v));
}

void drop_key(Metadata& kv, const std::string& key) {
    for (size_t i = 0; i < kv.size(); i++)
        if (kv[i].first == key) kv.erase(kv.begin() + long(i));
}

gguf::WriteTensor& tensor_named(Tensors& t, const std::string& name) {
    for (auto& x : t)
        if (x.name == name) return x;
    FAIL("no tensor " << name);
    throw;
}

// A small llama model whose rows are multiples of 32 except w2's (hidden_dim 80).
Config q8_config() {
    Config c;
    c.dim = 64;
    c.hidden_dim = 80;
    c.n_layers = 2;
    c.n_heads = 4;
    c.n_kv_heads = 2;
    c.vocab_size = 300;
    c.seq_len = 48;
    c.rope_theta = 50000.0f;
    c.norm_eps = 1e-6f;
    return c;
}

// A llama2.c-style vocabulary: unk, BOS and EOS in llama2.c's newline form, 256 byte tokens,
// then pieces with spaces.
void test_vocab(size_t n, std::vector<std::string>& pieces, std::vector<float>& scores) {
    pieces = {"<unk>", "\n<s>\n", "\n</s>\n"};
    for (int b = 0; b < 256; b++) {
        char hex[8];
        std::snprintf(hex, sizeof hex, "<0x%02X>", b);
        pieces.push_back(hex);
    }
    while (pieces.size() < n)
        pieces.push_back((pieces.size() % 2 ? " w" : "x y") + std::to_string(pieces.size()));
    scores.clear();
    for (size_t i = 0; i < n; i++) scores.push_back(i < 259 ? 0.0f : -float(i - 259));
}

GgufWriteOptions options_with_vocab(const Model& m) {
    GgufWriteOptions o;
    test_vocab(size_t(m.config.vocab_size), o.pieces, o.scores);
    return o;
}

// Every matrix and norm of two models, as fp32 values.
void check_same_weights(const Model& a, const Model& b) {
    auto same_matrix = [](const Matrix& x, const Matrix& y) {
        if (x.rows != y.rows || x.cols != y.cols) return false;
        std::vector<float> rx(x.cols), ry(y.cols);
        for (size_t r = 0; r < x.rows; r++) {
            x.row_to_f32(r, rx.data());
            y.row_to_f32(r, ry.data());
            if (std::memcmp(rx.data(), ry.data(), 4 * x.cols) != 0) return false;
        }
        return true;
    };
    const size_t dim = size_t(a.config.dim);
    auto same_vector = [&](const float* x, const float* y) {
        return std::memcmp(x, y, 4 * dim) == 0;
    };
    CHECK(same_matrix(a.weights.token_embedding, b.weights.token_embedding));
    CHECK(same_matrix(a.weights.classifier, b.weights.classifier));
    CHECK(same_vector(a.weights.rms_final, b.weights.rms_final));
    REQUIRE(a.weights.layers.size() == b.weights.layers.size());
    for (size_t l = 0; l < a.weights.layers.size(); l++) {
        INFO("layer " << l);
        const LayerWeights &x = a.weights.layers[l], &y = b.weights.layers[l];
        CHECK(same_vector(x.rms_att, y.rms_att));
        CHECK(same_vector(x.rms_ffn, y.rms_ffn));
        CHECK(same_matrix(x.wq, y.wq));
        CHECK(same_matrix(x.wk, y.wk));
        CHECK(same_matrix(x.wv, y.wv));
        CHECK(same_matrix(x.wo, y.wo));
        CHECK(same_matrix(x.w1, y.w1));
        CHECK(same_matrix(x.w2, y.w2));
        CHECK(same_matrix(x.w3, y.w3));
    }
}

void check_same_config(const Config& a, const Config& b) {
    CHECK(a.dim == b.dim);
    CHECK(a.hidden_dim == b.hidden_dim);
    CHECK(a.n_layers == b.n_layers);
    CHECK(a.n_heads == b.n_heads);
    CHECK(a.n_kv_heads == b.n_kv_heads);
    CHECK(a.vocab_size == b.vocab_size);
    CHECK(a.seq_len == b.seq_len);
    CHECK(a.rope_theta == b.rope_theta);
    CHECK(a.norm_eps == b.norm_eps);
    CHECK(a.head_size() == b.head_size());
    CHECK(a.rope_freq_factors == b.rope_freq_factors);
}

// A valid little-endian llama GGUF of the q8 shape, F32 throughout.
std::string small_model_file(bool shared_classifier = true) {
    auto m = random_test_model(q8_config(), 3, shared_classifier);
    return write_gguf_model(*m, options_with_vocab(*m));
}

}  // namespace

// ---- fp16 ---------------------------------------------------------------------------------

TEST_CASE("fp16 conversion: exact values, rounding, subnormals, infinities, NaN", "[gguf]") {
    CHECK(fp32_to_fp16(0.0f) == 0x0000);
    CHECK(fp32_to_fp16(-0.0f) == 0x8000);
    CHECK(fp32_to_fp16(1.0f) == 0x3C00);
    CHECK(fp32_to_fp16(-2.0f) == 0xC000);
    CHECK(fp32_to_fp16(65504.0f) == 0x7BFF);   // largest half
    CHECK(fp32_to_fp16(65519.99f) == 0x7BFF);  // below the halfway point: stays finite
    CHECK(fp32_to_fp16(65520.0f) == 0x7C00);   // halfway: ties to even, which is inf
    CHECK(fp32_to_fp16(1e10f) == 0x7C00);
    CHECK(fp32_to_fp16(-INFINITY) == 0xFC00);
    CHECK(fp32_to_fp16(NAN) == 0x7E00);
    CHECK(fp32_to_fp16(1.0f + 1.0f / 2048) == 0x3C00);          // tie between 1 and 1+2^-10: even
    CHECK(fp32_to_fp16(1.0f + 3.0f / 2048) == 0x3C02);          // tie between odd and even: up
    CHECK(fp32_to_fp16(1.0f + 1.0f / 2048 + 1e-7f) == 0x3C01);  // just above the tie
    CHECK(fp32_to_fp16(std::ldexp(1.0f, -14)) == 0x0400);       // smallest normal
    CHECK(fp32_to_fp16(std::ldexp(1.0f, -24)) == 0x0001);       // smallest subnormal
    CHECK(fp32_to_fp16(std::ldexp(1.0f, -25)) == 0x0000);       // half of it: tie to even, zero
    CHECK(fp32_to_fp16(std::ldexp(1.5f, -25)) == 0x0001);
    CHECK(fp32_to_fp16(std::ldexp(3.0f, -25)) == 0x0002);      // 1.5 units: tie to even, 2
    CHECK(fp32_to_fp16(-std::ldexp(1023.0f, -24)) == 0x83FF);  // largest subnormal
    CHECK(fp32_to_fp16(std::ldexp(1023.5f, -24)) == 0x0400);   // rounds up into the normals
    CHECK(fp32_to_fp16(std::ldexp(1.0f, -140)) == 0x0000);     // float subnormal

    CHECK(fp16_to_fp32(0x0001) == std::ldexp(1.0f, -24));
    CHECK(fp16_to_fp32(0x03FF) == std::ldexp(1023.0f, -24));
    CHECK(fp16_to_fp32(0x7BFF) == 65504.0f);
    CHECK(fp16_to_fp32(0xFC00) == -INFINITY);
    CHECK(std::isnan(fp16_to_fp32(0x7E01)));
    CHECK(std::signbit(fp16_to_fp32(0x8000)));

    // Every half survives a round trip through fp32 (NaNs stay NaN).
    int mismatches = 0;
    for (uint32_t h = 0; h < 0x10000; h++) {
        const float f = fp16_to_fp32(uint16_t(h));
        const bool nan = ((h >> 10) & 0x1F) == 0x1F && (h & 0x3FF);
        if (nan ? !std::isnan(f) : fp32_to_fp16(f) != h) mismatches++;
    }
    CHECK(mismatches == 0);
}

// ---- the container ------------------------------------------------------------------------

TEST_CASE("every metadata type round-trips in both byte orders", "[gguf]") {
    const Metadata kv = {
        {"u8", Value::u8(250)},
        {"i8", Value::i8(-5)},
        {"u16", Value::u16(65000)},
        {"i16", Value::i16(-32000)},
        {"u32", Value::u32(4000000000u)},
        {"i32", Value::i32(-2000000000)},
        {"f32", Value::f32(-1.5e-3f)},
        {"bool.true", Value::boolean(true)},
        {"bool.false", Value::boolean(false)},
        {"string", Value::string("h\xC3\xA9llo \xE2\x96\x81 world")},
        {"string.empty", Value::string("")},
        {"u64", Value::u64(0xFEDCBA9876543210ull)},
        {"i64", Value::i64(-1234567890123456789ll)},
        {"f64", Value::f64(3.141592653589793)},
        {"array.u8", Value::array_of(ValueType::U8, {0, 1, 255})},
        {"array.i16", Value::array_of(ValueType::I16, {uint16_t(-7), 9})},
        {"array.f32", Value::f32_array({1.0f, -0.0f, 1e30f})},
        {"array.i32", Value::i32_array({-1, 0, 7})},
        {"array.u64", Value::array_of(ValueType::U64, {~0ull})},
        {"array.f64", Value::array_of(ValueType::F64, {Value::f64(-2.5).bits})},
        {"array.bool", Value::array_of(ValueType::Bool, {1, 0, 1})},
        {"array.string", Value::string_array({"a", "", "\xE2\x96\x81the"})},
        {"array.empty", Value::array_of(ValueType::U32, {})},
        {"array.nested", Value::array_of_arrays({Value::string_array({"x", "y"}),
                                                 Value::array_of_arrays({Value::i32_array({3})}),
                                                 Value::array_of(ValueType::U8, {})})},
    };
    for (ByteOrder order : {ByteOrder::Little, ByteOrder::Big}) {
        INFO(byte_order_name(order));
        const std::string bytes = gguf::write_gguf(kv, {}, order);
        CHECK(bytes.compare(0, 4, "GGUF") == 0);
        // Version 3, in the file's order.
        CHECK(uint8_t(bytes[order == ByteOrder::Little ? 4 : 7]) == 3);
        const GgufFile f = parse(bytes);
        CHECK(f.byte_order() == order);
        CHECK(f.version() == 3);
        CHECK(f.tensors().empty());
        REQUIRE(f.metadata().size() == kv.size());
        for (size_t i = 0; i < kv.size(); i++) {
            INFO(kv[i].first);
            CHECK(f.metadata()[i].key == kv[i].first);
            CHECK(f.value(f.metadata()[i]) == kv[i].second);
        }
        // Decoded as numbers.
        CHECK(f.value(*f.find("i8")).as_int() == -5);
        CHECK(f.value(*f.find("i16")).is_negative());
        CHECK(f.value(*f.find("u64")).as_int() == int64_t(0xFEDCBA9876543210ull));
        CHECK_FALSE(f.value(*f.find("u64")).is_negative());
        CHECK(f.value(*f.find("f32")).as_float() == double(-1.5e-3f));
        CHECK(f.value(*f.find("f64")).as_float() == 3.141592653589793);
        CHECK(f.value(*f.find("array.i16")).element(0).as_int() == -7);
        CHECK(f.find("array.string")->count == 3);
        CHECK(f.find("array.string")->element_type == ValueType::String);
        CHECK(f.find("missing") == nullptr);
    }
}

TEST_CASE("tensors round-trip in both byte orders, aligned", "[gguf]") {
    std::vector<float> a(3 * 5);
    for (size_t i = 0; i < a.size(); i++) a[i] = float(i) * 0.25f - 1.0f;
    const std::vector<uint16_t> h = {0x3C00, 0xC000, 0x0001, 0x7BFF};
    std::vector<gguf::Q8Block> q(4);
    for (size_t b = 0; b < q.size(); b++) {
        q[b].d = uint16_t(0x3800 + b);
        for (int j = 0; j < 32; j++) q[b].q[j] = int8_t(j - int(b) * 9);
    }
    const Tensors tensors = {
        {"a", {5, 3}, gguf::type_f32, a.data()},
        {"h", {4}, gguf::type_f16, h.data()},
        {"q", {64, 2}, gguf::type_q8_0, q.data()},
    };
    for (uint32_t alignment : {32u, 64u, 1u}) {
        for (ByteOrder order : {ByteOrder::Little, ByteOrder::Big}) {
            INFO(byte_order_name(order) << ", alignment " << alignment);
            const std::string bytes =
                gguf::write_gguf({{"general.alignment", Value::u32(alignment)}}, tensors, order);
            const GgufFile f = parse(bytes);
            CHECK(f.alignment() == alignment);
            CHECK(f.data_offset() % alignment == 0);
            REQUIRE(f.tensors().size() == 3);
            const gguf::TensorInfo &ta = f.tensors()[0], &th = f.tensors()[1], &tq = f.tensors()[2];
            CHECK(ta.shape() == "[5, 3]");
            CHECK(ta.elements == 15);
            CHECK(ta.bytes == 60);
            CHECK(std::string(th.type->name) == "F16");
            CHECK(tq.bytes == 4 * 34);  // 2 rows of 2 blocks
            CHECK(f.find_tensor("q") == &tq);
            for (const gguf::TensorInfo* t : {&ta, &th, &tq})
                CHECK(t->file_offset % alignment == 0);
            for (size_t i = 0; i < a.size(); i++)
                CHECK(read_f32(f.data() + ta.file_offset + 4 * i, order) == a[i]);
            for (size_t i = 0; i < h.size(); i++)
                CHECK(read_u16(f.data() + th.file_offset + 2 * i, order) == h[i]);
            // Q8_0 blocks: the scale in the file's order, then the 32 values as they are.
            const uint8_t* block1 = f.data() + tq.file_offset + 34;
            CHECK(read_u16(block1, order) == 0x3801);
            CHECK(int8_t(block1[2 + 31]) == 31 - 9);
        }
    }
}

TEST_CASE("Q8_0: ggml's reference quantizer", "[gguf]") {
    SECTION("quantize: d = amax/127 as fp16, q = roundf(x / d) with the fp32 d") {
        float x[64];
        for (int j = 0; j < 32; j++) x[j] = float(j - 16);  // amax 16
        for (int j = 32; j < 64; j++) x[j] = 0.0f;          // all zero: d = 0, q = 0
        gguf::Q8Block b[2];
        quantize_q8_0(x, 64, b);
        // 16/127 = 0.125984..., nearest half 0.125 * (1 + 8/1024).
        CHECK(b[0].d == 0x3008);
        CHECK(b[0].q[0] == -127);  // -16 * 127/16
        CHECK(b[0].q[17] == 8);    // 1 * 7.9375
        CHECK(b[0].q[18] == 16);   // 2 * 7.9375 = 15.875
        CHECK(b[0].q[20] == 32);   // 4 * 7.9375 = 31.75
        CHECK(b[0].q[16] == 0);
        CHECK(b[0].q[31] == 119);  // 15 * 7.9375 = 119.06
        CHECK(b[1].d == 0);
        for (int j = 0; j < 32; j++) CHECK(b[1].q[j] == 0);

        // Halves round away from zero (roundf), not to even.
        float y[32] = {127.0f, 2.5f, -2.5f, 0.5f, -0.5f, 3.5f};
        gguf::Q8Block c;
        quantize_q8_0(y, 32, &c);
        CHECK(c.d == 0x3C00);  // d = 1
        CHECK(c.q[1] == 3);
        CHECK(c.q[2] == -3);
        CHECK(c.q[3] == 1);
        CHECK(c.q[4] == -1);
        CHECK(c.q[5] == 4);
    }
}

// ---- models -------------------------------------------------------------------------------

// Llama 3's shapes: a head size other than dim / n_heads (q is 4 heads of 24 from 64 inputs) and
// Llama 3.1's rope factors, through the writer and back, with the same logits.
TEST_CASE("head size and rope factors round-trip through GGUF and run", "[gguf]") {
    Config c = q8_config();
    c.head_dim = 24;
    c.rope_freq_factors = {1.0f, 1.5f, 2.0f, 4.0f, 8.0f, 1.0f, 3.0f, 1.0f, 1.0f, 2.0f, 1.0f, 1.0f};
    auto original = random_test_model(c, 5, false);
    GgufWriteOptions o = options_with_vocab(*original);
    const std::string bytes = write_gguf_model(*original, o);
    const GgufFile f = parse(bytes);
    CHECK(f.value(*f.find("llama.attention.key_length")).as_int() == 24);
    CHECK(f.find_tensor("blk.0.attn_q.weight")->shape() == "[64, 96]");
    CHECK(f.find_tensor("blk.0.attn_output.weight")->shape() == "[96, 64]");
    auto loaded = load_model(borrow_memory(bytes.data(), bytes.size(), "l3.gguf"));
    check_same_config(loaded->config, original->config);
    Transformer a(*original, scalar_kernels()), b(*loaded, scalar_kernels());
    const std::vector<int> tokens = {1, 7, 99, 12, 250, 3};
    const float* la = a.forward(tokens.data(), int(tokens.size()), 0, Transformer::Logits::last);
    const std::vector<float> first(la, la + c.vocab_size);
    const float* lb = b.forward(tokens.data(), int(tokens.size()), 0, Transformer::Logits::last);
    CHECK(std::equal(first.begin(), first.end(), lb));
    // The factors matter: without them the last position comes out otherwise.
    Config plain = c;
    plain.rope_freq_factors.clear();
    loaded->config = plain;
    Transformer d(*loaded, scalar_kernels());
    const float* ld = d.forward(tokens.data(), int(tokens.size()), 0, Transformer::Logits::last);
    CHECK(!std::equal(first.begin(), first.end(), ld));
}

TEST_CASE("random GGUF files: every type loads, the same seed gives the same file, both byte orders",
          "[gguf]") {
    Config c = q8_config();
    c.hidden_dim = 256;  // whole blocks of every type
    struct Case {
        WeightType type;
        size_t codebooks, bits;  // AQLM
    };
    const Case cases[] = {{WeightType::F32, 0, 0}, {WeightType::F16, 0, 0}, {WeightType::BF16, 0, 0},
                          {WeightType::Q8_0, 0, 0}, {WeightType::AQLM, 2, 8},
                          {WeightType::AQLM_WIDE, 1, 16}};
    for (const Case& k : cases) {
        INFO(weight_type_name(k.type));
        RandomGgufOptions o;
        o.matrix_type = k.type;
        o.aqlm.codebooks = k.codebooks;
        o.aqlm.bits = k.bits;
        o.aqlm.group_size = 8;
        if (k.codebooks) o.embedding_type = o.output_type = WeightType::Q8_0;
        auto write = [&](uint64_t seed, bool big) {
            o.seed = seed;
            o.big_endian = big;
            std::ostringstream out;
            write_random_gguf(out, c, false, o);
            return out.str();
        };
        const std::string bytes = write(3, false);
        CHECK(bytes == write(3, false));
        CHECK(bytes != write(4, false));
        auto model = load_model(borrow_memory(bytes.data(), bytes.size(), "random.gguf"));
        check_same_config(model->config, c);
        const Matrix& wq = model->weights.layers[1].wq;
        CHECK(wq.type == k.type);
        CHECK(model->weights.classifier.type == o.output_type);
        // The weights come out uniform in +-1/sqrt(cols) or near that scale whatever the type;
        // for AQLM the scales make a sum of M entries in +-1 spread like that.
        std::vector<float> row(wq.cols);
        double squares = 0;
        for (size_t r = 0; r < wq.rows; r++) {
            wq.row_to_f32(r, row.data());
            for (float v : row) squares += double(v) * v;
        }
        const double rms = std::sqrt(squares / double(wq.rows * wq.cols));
        const double uniform = 1.0 / std::sqrt(double(c.dim)) / std::sqrt(3.0);
        if (k.type != WeightType::Q8_0) CHECK(std::fabs(rms / uniform - 1.0) < 0.1);
        // A big-endian file holds the same model: the same logits on this host.
        const std::string swapped = write(3, true);
        auto other = load_model(borrow_memory(swapped.data(), swapped.size(), "random-be.gguf"));
        Transformer a(*model, scalar_kernels()), b(*other, scalar_kernels());
        const std::vector<int> tokens = {1, 7, 99, 12};
        const float* la = a.forward(tokens.data(), int(tokens.size()), 0, Transformer::Logits::last);
        const std::vector<float> first(la, la + c.vocab_size);
        CHECK(std::all_of(first.begin(), first.end(), [](float v) { return std::isfinite(v); }));
        const float* lb = b.forward(tokens.data(), int(tokens.size()), 0, Transformer::Logits::last);
        CHECK(std::equal(first.begin(), first.end(), lb));
    }
}

TEST_CASE("the writer quantizes the embedding and the classifier to the types asked", "[gguf]") {
    Config c = q8_config();
    c.dim = 256;  // whole K-quant blocks
    c.hidden_dim = 256;
    auto original = random_test_model(c, 9, false);
    GgufWriteOptions o = options_with_vocab(*original);
    o.matrix_type = WeightType::Q8_0;
    // The largest error of a quantized value, relative to the row's largest magnitude: about
    // half a step of the type (Q6_K 1/64 of a 6-bit range with 8-bit scales, Q4_K 1/16, F16 2^-11).
    const struct {
        WeightType embedding, output;
        double embedding_error, output_error;
    } cases[] = {{WeightType::Q6_K, WeightType::Q4_K, 0.04, 0.1},
                 {WeightType::F16, WeightType::BF16, 1e-3, 8e-3}};
    for (const auto& k : cases) {
        o.embedding_type = k.embedding;
        o.output_type = k.output;
        const std::string bytes = write_gguf_model(*original, o);
        auto loaded = load_model(borrow_memory(bytes.data(), bytes.size(), "typed.gguf"));
        CHECK(loaded->weights.token_embedding.type == k.embedding);
        CHECK(loaded->weights.classifier.type == k.output);
        CHECK(loaded->weights.layers[0].wq.type == WeightType::Q8_0);
        auto worst = [](const Matrix& a, const Matrix& b) {
            std::vector<float> x(a.cols), y(a.cols);
            double most = 0;
            for (size_t r = 0; r < a.rows; r++) {
                a.row_to_f32(r, x.data());
                b.row_to_f32(r, y.data());
                double scale = 0, error = 0;
                for (size_t j = 0; j < a.cols; j++) {
                    scale = std::max(scale, double(std::fabs(x[j])));
                    error = std::max(error, double(std::fabs(x[j] - y[j])));
                }
                most = std::max(most, error / scale);
            }
            return most;
        };
        CHECK(worst(original->weights.token_embedding, loaded->weights.token_embedding) < k.embedding_error);
        CHECK(worst(original->weights.classifier, loaded->weights.classifier) < k.output_error);
    }
    // A type with no quantizer is refused by name.
    o.embedding_type = WeightType::Q2_K;
    CHECK_THROWS_WITH(write_gguf_model(*original, o), Catch::Contains("cannot write q2_k"));
}

TEST_CASE("llama models round-trip through GGUF F32 in both byte orders", "[gguf]") {
    for (bool shared : {true, false}) {
        auto original = random_test_model(q8_config(), 11, shared);
        GgufWriteOptions o = options_with_vocab(*original);
        for (bool big_endian : {false, true}) {
            o.big_endian = big_endian;
            const std::string bytes = write_gguf_model(*original, o);
            for (bool writable : {false, true}) {
                INFO((big_endian ? "big" : "little")
                     << "-endian, " << (shared ? "shared" : "separate") << " classifier, "
                     << (writable ? "writable" : "read-only"));
                auto loaded =
                    writable ? load_model(own_memory(bytes, "rt.gguf"))
                             : load_model(borrow_memory(bytes.data(), bytes.size(), "rt.gguf"));
                CHECK(loaded->format ==
                      std::string("gguf f32") + (big_endian ? " big-endian" : ""));
                CHECK(loaded->weights.shared_classifier == shared);
                check_same_config(loaded->config, original->config);
                check_same_weights(*loaded, *original);
                CHECK(loaded->vocab.pieces == o.pieces);  // back in llama2.c's form
                CHECK(loaded->vocab.scores == o.scores);
                CHECK(loaded->vocab.bos_id == 1);
                CHECK(loaded->vocab.eos_id == 2);
                // What is in the file is in SentencePiece's form, with llama.cpp's token types.
                const GgufFile f = parse(bytes);
                const Value tokens = f.value(*f.find("tokenizer.ggml.tokens"));
                CHECK(tokens.strings[1] == "<s>");
                CHECK(tokens.strings[260] == "x\xE2\x96\x81y260");
                CHECK(tokens.strings[261] == "\xE2\x96\x81w261");
                const Value types = f.value(*f.find("tokenizer.ggml.token_type"));
                CHECK(types.element(0).as_int() == 2);
                CHECK(types.element(2).as_int() == 3);
                CHECK(types.element(3).as_int() == 6);
                CHECK(types.element(258).as_int() == 6);
                CHECK(types.element(259).as_int() == 1);
                CHECK(f.value(*f.find("tokenizer.ggml.unknown_token_id")).as_int() == 0);
                CHECK(f.value(*f.find("llama.rope.dimension_count")).as_int() == 16);
                CHECK((f.find_tensor("output.weight") == nullptr) == shared);
            }
        }
    }
}

TEST_CASE("Q8_0 GGUF: matrices quantized as ggml does, F32 where rows are not 32-multiples",
          "[gguf]") {
    auto original = random_test_model(q8_config(), 12, false);
    GgufWriteOptions o = options_with_vocab(*original);
    o.matrix_type = WeightType::Q8_0;
    for (bool big_endian : {false, true}) {
        o.big_endian = big_endian;
        std::vector<std::string> fallbacks;
        const std::string bytes = write_gguf_model(*original, o, &fallbacks);
        CHECK(fallbacks ==
              std::vector<std::string>{"blk.0.ffn_down.weight", "blk.1.ffn_down.weight"});
        auto loaded = load_model(borrow_memory(bytes.data(), bytes.size(), "q8.gguf"));
        CHECK(loaded->format == std::string("gguf mixed") + (big_endian ? " big-endian" : ""));
        const GgufFile f = parse(bytes);
        CHECK(f.value(*f.find("general.file_type")).as_int() == 7);
        CHECK(std::string(f.find_tensor("blk.0.attn_norm.weight")->type->name) == "F32");
        CHECK(std::string(f.find_tensor("blk.1.ffn_down.weight")->type->name) == "F32");
        CHECK(std::string(f.find_tensor("output.weight")->type->name) == "Q8_0");

        const LayerWeights& l = loaded->weights.layers[1];
        CHECK(l.w2.type == WeightType::F32);
        const Weights& w = loaded->weights;
        for (const Matrix* m : {&l.wq, &l.wk, &l.w1, &w.token_embedding, &w.classifier}) {
            CHECK(m->type == WeightType::Q8_0);
            CHECK(m->row_stride == m->cols / 32 * 34);  // ggml's blocks, read in place
        }
        // Each loaded row is exactly the writer's quantization of the original row.
        const Matrix& src = original->weights.layers[1].w3;
        const Matrix& got = l.w3;
        std::vector<float> row(src.cols), back(src.cols);
        std::vector<gguf::Q8Block> blocks(src.cols / 32);
        bool same = true;
        for (size_t r = 0; r < src.rows; r++) {
            src.row_to_f32(r, row.data());
            quantize_q8_0(row.data(), src.cols, blocks.data());
            got.row_to_f32(r, back.data());
            for (size_t j = 0; j < src.cols; j++)
                same = same &&
                       back[j] == fp16_to_fp32(blocks[j / 32].d) * float(blocks[j / 32].q[j % 32]);
        }
        CHECK(same);
    }
    // Writing a loaded Q8_0 model again gives the same bytes (fp16 scales and int8 values are
    // exact).
    const std::string once = write_gguf_model(*original, o);
    auto loaded = load_model(borrow_memory(once.data(), once.size(), "q8.gguf"));
    CHECK(write_gguf_model(*loaded, o) == once);
}

TEST_CASE("F16 and BF16 tensors are read as they are, in either byte order", "[gguf]") {
    const std::string bytes = small_model_file();
    for (bool big_endian : {false, true})
        for (uint32_t type : {gguf::type_f16, uint32_t(30)}) {
            std::vector<uint16_t> halves;
            const std::string file = rebuild(bytes, [&](Metadata&, Tensors& t) {
                gguf::WriteTensor& wq = tensor_named(t, "blk.0.attn_q.weight");
                const float* x = static_cast<const float*>(wq.data);
                for (size_t i = 0; i < 64 * 64; i++)
                    halves.push_back(type == gguf::type_f16 ? fp32_to_fp16(x[i]) : fp32_to_bf16(x[i]));
                wq.type = type;
                wq.data = halves.data();
            }, big_endian);
            INFO((type == gguf::type_f16 ? "F16" : "BF16") << (big_endian ? ", big-endian" : ""));
            auto m = load_model(borrow_memory(file.data(), file.size(), "f16.gguf"));
            CHECK(m->format == std::string("gguf mixed") + (big_endian ? " big-endian" : ""));
            const Matrix& wq = m->weights.layers[0].wq;
            REQUIRE(wq.type == (type == gguf::type_f16 ? WeightType::F16 : WeightType::BF16));
            CHECK(wq.bytes() == 64 * 64 * 2);
            std::vector<float> row(64);
            bool same = true;
            for (size_t r = 0; r < 64; r++) {
                wq.row_to_f32(r, row.data());
                for (size_t j = 0; j < 64; j++) {
                    const uint16_t h = halves[r * 64 + j];
                    same = same && row[j] == (type == gguf::type_f16 ? fp16_to_fp32(h) : bf16_to_fp32(h));
                }
            }
            CHECK(same);
        }
}

TEST_CASE("bfloat16 conversion rounds to nearest even, as ggml's", "[gguf]") {
    CHECK(fp32_to_bf16(1.0f) == 0x3F80);
    CHECK(fp32_to_bf16(-2.0f) == 0xC000);
    CHECK(fp32_to_bf16(1.0f + 1.0f / 256) == 0x3F80);          // tie: to even
    CHECK(fp32_to_bf16(1.0f + 3.0f / 256) == 0x3F82);          // tie: to even, upwards
    CHECK(fp32_to_bf16(std::nextafter(1.0f + 1.0f / 256, 2.0f)) == 0x3F81);
    CHECK(fp32_to_bf16(INFINITY) == 0x7F80);
    CHECK((fp32_to_bf16(NAN) & 0x7FC0) == 0x7FC0);  // quiet NaN
    CHECK(bf16_to_fp32(0xBF80) == -1.0f);
}

TEST_CASE("the memory limit covers converted tensors", "[gguf]") {
    auto original = random_test_model(q8_config(), 4, true);
    GgufWriteOptions o = options_with_vocab(*original);
    o.matrix_type = WeightType::Q8_0;
    // The other byte order than this host's, in read-only memory: the blocks are copied to swap
    // their scales.
    o.big_endian = host_byte_order() == ByteOrder::Little;
    const std::string bytes = write_gguf_model(*original, o);
    LoadOptions tight;
    tight.memory_limit = bytes.size() + 1024;  // the file fits, its converted copy does not
    const std::string e =
        error_of([&] { load_model(borrow_memory(bytes.data(), bytes.size(), "big.gguf"), tight); });
    CHECK(e.rfind("big.gguf: loading needs ", 0) == 0);
    CHECK(e.find("more than the " + size_text(tight.memory_limit) + " available") != std::string::npos);
}

// ---- bad files ----------------------------------------------------------------------------

TEST_CASE("bad GGUF containers give one-line errors naming the file and the problem", "[gguf]") {
    const std::string good = small_model_file();
    REQUIRE(load_error(good) == "no error");
    auto patched = [&](size_t offset, uint64_t v, size_t width) {
        std::string b = good;
        put_le(b, offset, v, width);
        return b;
    };
    auto expect = [](const std::string& error, const std::string& problem) {
        INFO(error);
        CHECK(error.rfind("t.gguf: ", 0) == 0);
        CHECK(error.find(problem) != std::string::npos);
        CHECK(error.find('\n') == std::string::npos);
    };

    SECTION("truncated anywhere") {
        const GgufFile f = parse(good);
        const size_t first_key = 24, tensor_infos = good.find("token_embd.weight") - 8;
        for (size_t cut :
             {size_t(4), size_t(10), size_t(23), first_key + 3, first_key + 30, size_t(2000),
              tensor_infos + 5, f.data_offset() - 1, f.data_offset() + 100, good.size() - 1}) {
            INFO("cut at " << cut);
            const std::string e = parse_error(good.substr(0, cut));
            CHECK(e.rfind("t.gguf: ", 0) == 0);
            const bool ok = e.find("file ends inside") != std::string::npos ||
                            e.find("runs past the end of the file") != std::string::npos ||
                            e.find("is impossible for a file of") != std::string::npos ||
                            e.find("more than the") != std::string::npos;
            CHECK(ok);
        }
        expect(parse_error(good.substr(0, 3)), "not a GGUF file");
        expect(parse_error(good.substr(0, 12)), "file ends inside the header");
    }
    SECTION("magic and version") {
        std::string b = good;
        b[3] = 'X';
        expect(parse_error(b), "not a GGUF file");
        expect(parse_error(patched(4, 0, 4)), "GGUF version 0 is not supported");
        expect(parse_error(patched(4, 99, 4)), "GGUF version 99 is not supported");
        expect(parse_error(patched(4, 1, 4)), "GGUF version 1 is not supported");
        CHECK(parse_error(patched(4, 2, 4)) == "no error");  // version 2: same layout
    }
    SECTION("absurd counts are refused before anything is allocated") {
        expect(parse_error(patched(8, uint64_t(1) << 40, 8)),
               "tensor count 1099511627776 is impossible");
        expect(parse_error(patched(16, uint64_t(1) << 62, 8)),
               "metadata count 4611686018427387904 is impossible");
        expect(parse_error(patched(8, ~0ull, 8)), "tensor count");
        // An array count no file could hold (tokenizer.ggml.tokens).
        const size_t tokens = good.find("tokenizer.ggml.tokens") + 21;
        expect(parse_error(patched(tokens + 8, uint64_t(1) << 60, 8)), "more than the");
    }
    SECTION("string lengths past the end of the file") {
        expect(parse_error(patched(24, uint64_t(1) << 50, 8)), "file ends inside metadata entry 0");
        expect(parse_error(patched(24, 0, 8)), "empty key");
        const size_t name_len = good.find("general.name") + 12 + 4;  // the value's length
        expect(parse_error(patched(name_len, good.size(), 8)),
               "file ends inside metadata 'general.name'");
    }
    SECTION("metadata values") {
        const size_t arch_type = good.find("general.architecture") + 20;
        expect(parse_error(patched(arch_type, 13, 4)), "unknown value type 13");
        const size_t align_value = good.find("general.alignment") + 17 + 4;
        expect(parse_error(patched(align_value, 48, 4)),
               "general.alignment must be a u32 power of two");
        expect(parse_error(patched(align_value, 0, 4)),
               "general.alignment must be a u32 power of two");
        const std::string kv =
            gguf::write_gguf({{"a", Value::boolean(true)}}, {}, ByteOrder::Little);
        std::string bad_bool = kv;
        bad_bool[24 + 9 + 4] = 2;  // after the header, the key "a" and the type
        expect(parse_error(bad_bool), "bool of value 2");
        // Names from the file cannot break the message's single line.
        std::string newline =
            gguf::write_gguf({{"bad\nkey", Value::boolean(true)}}, {}, ByteOrder::Little);
        newline[24 + 15 + 4] = 7;
        expect(parse_error(newline), "metadata 'bad\\x0Akey' has a bool of value 7");
        Value nested = Value::array_of(ValueType::U8, {});
        for (int i = 0; i < 9; i++) nested = Value::array_of_arrays({nested});
        expect(parse_error(gguf::write_gguf({{"deep", nested}}, {}, ByteOrder::Little)),
               "nests arrays more than 8 deep");
    }
    SECTION("duplicate keys and tensor names") {
        std::string b =
            gguf::write_gguf({{"aa", Value::u8(1)}, {"ab", Value::u8(2)}}, {}, ByteOrder::Little);
        b[b.find("ab") + 1] = 'a';
        expect(parse_error(b), "metadata key 'aa' appears twice");
        std::string t = good;
        t.replace(t.find("blk.1.attn_q.weight"), 19, "blk.0.attn_q.weight");
        expect(parse_error(t), "tensor 'blk.0.attn_q.weight' appears twice");
    }
    SECTION("tensor infos") {
        const InfoFields embd = info_fields(good, "token_embd.weight", 2);
        const InfoFields wk = info_fields(good, "blk.0.attn_k.weight", 2);
        expect(parse_error(patched(embd.n_dims, 5, 4)),
               "tensor 'token_embd.weight' has 5 dimensions (at most 4)");
        expect(parse_error(patched(wk.type, 77, 4)),
               "tensor 'blk.0.attn_k.weight' has unknown ggml type 77");
        expect(parse_error(patched(wk.type, 4, 4)), "unknown ggml type 4");  // removed from ggml
        const InfoFields down = info_fields(good, "blk.0.ffn_down.weight", 2);
        expect(parse_error(patched(down.type, gguf::type_q8_0, 4)),
               "tensor 'blk.0.ffn_down.weight' of type Q8_0 has rows of 80 values, not a multiple "
               "of its block size 32");
        const GgufFile f = parse(good);
        const uint64_t wk_offset = f.find_tensor("blk.0.attn_k.weight")->offset;
        expect(parse_error(patched(wk.offset, wk_offset + 4, 8)),
               "data offset " + std::to_string(wk_offset + 4) +
                   " is not a multiple of the alignment 32");
        expect(parse_error(patched(wk.offset, uint64_t(1) << 40, 8)),
               "runs past the end of the file");
        expect(parse_error(patched(wk.offset, ~0ull - 31, 8)), "runs past the end of the file");
        expect(parse_error(patched(wk.offset, 0, 8)), "overlap in the data section");
        const std::string huge = parse_error(patched(embd.n_dims + 4, ~0ull, 8));
        INFO(huge);
        CHECK(huge.find("token_embd.weight") != std::string::npos);
    }
}

TEST_CASE("GGUF files that are not runnable llama models are refused with the reason", "[gguf]") {
    const std::string good = small_model_file();
    auto expect = [](const std::string& error, const std::string& problem) {
        INFO(error);
        CHECK(error.rfind("m.gguf: ", 0) == 0);
        CHECK(error.find(problem) != std::string::npos);
    };
    expect(load_error(rebuild(good,
                              [](Metadata& kv, Tensors&) {
                                  set_key(kv, "general.architecture", Value::string("gpt2"));
                              })),
           "architecture is 'gpt2'; llamaport runs only 'llama' models");
    for (const char* key :
         {"general.architecture", "llama.embedding_length", "llama.block_count",
          "llama.context_length", "tokenizer.ggml.tokens", "tokenizer.ggml.scores"})
        expect(load_error(rebuild(good, [&](Metadata& kv, Tensors&) { drop_key(kv, key); })),
               std::string("missing required metadata key '") + key + "'");
    expect(
        load_error(rebuild(
            good, [](Metadata& kv, Tensors&) { set_key(kv, "llama.block_count", Value::f32(2)); })),
        "'llama.block_count' is a f32, expected an integer");
    expect(load_error(rebuild(
               good,
               [](Metadata& kv, Tensors&) { set_key(kv, "llama.block_count", Value::i32(-2)); })),
           "'llama.block_count' = -2 is out of range");
    expect(load_error(rebuild(good,
                              [](Metadata& kv, Tensors&) {
                                  set_key(kv, "llama.attention.head_count", Value::u32(5));
                              })),
           "does not divide dim");
    expect(load_error(rebuild(good,
                              [](Metadata& kv, Tensors&) {
                                  set_key(kv, "llama.rope.dimension_count", Value::u32(8));
                              })),
           "partial rotary embeddings are not supported");
    expect(load_error(rebuild(good,
                              [](Metadata& kv, Tensors&) {
                                  set_key(kv, "tokenizer.ggml.model", Value::string("bert"));
                              })),
           "tokenizer is 'bert'");
    expect(load_error(rebuild(good,
                              [](Metadata& kv, Tensors&) {
                                  set_key(kv, "tokenizer.ggml.model", Value::string("gpt2"));
                                  set_key(kv, "tokenizer.ggml.pre", Value::string("qwen2"));
                              })),
           "pre-tokenizer 'qwen2'");
    expect(load_error(rebuild(good,
                              [](Metadata& kv, Tensors&) {
                                  set_key(kv, "tokenizer.ggml.scores", Value::f32_array({1, 2}));
                              })),
           "'tokenizer.ggml.scores' has 2 elements, expected 300");
    expect(load_error(rebuild(good,
                              [](Metadata& kv, Tensors&) {
                                  set_key(kv, "tokenizer.ggml.eos_token_id", Value::u32(300));
                              })),
           "'tokenizer.ggml.eos_token_id' = 300 is outside the vocabulary");
    // Defaults: head_count_kv = head_count (so K and V become 64 x 64), rope base 10000,
    // epsilon 1e-5.
    const std::vector<float> wide(64 * 64, 0.5f);
    const std::string defaults = rebuild(good, [&](Metadata& kv, Tensors& t) {
        for (const char* k : {"llama.attention.head_count_kv", "llama.rope.freq_base",
                              "llama.attention.layer_norm_rms_epsilon"})
            drop_key(kv, k);
        for (const char* n : {"blk.0.attn_k.weight", "blk.0.attn_v.weight", "blk.1.attn_k.weight",
                              "blk.1.attn_v.weight"}) {
            tensor_named(t, n).shape = {64, 64};
            tensor_named(t, n).data = wide.data();
        }
    });
    auto m = load_model(borrow_memory(defaults.data(), defaults.size(), "d.gguf"));
    CHECK(m->config.n_kv_heads == 4);
    CHECK(m->config.rope_theta == 10000.0f);
    CHECK(m->config.norm_eps == 1e-5f);

    // Tensors: shape, type, presence.
    expect(load_error(rebuild(good,
                              [](Metadata&, Tensors& t) {
                                  tensor_named(t, "blk.0.attn_k.weight").shape = {32, 64};
                              })),
           "tensor 'blk.0.attn_k.weight' has shape [32, 64], expected [64, 32]");
    expect(load_error(rebuild(good,
                              [](Metadata&, Tensors& t) {
                                  tensor_named(t, "output_norm.weight").shape = {32, 2};
                              })),
           "tensor 'output_norm.weight' has shape [32, 2], expected [64]");
    expect(load_error(rebuild(good, [](Metadata&, Tensors& t) { t.pop_back(); })),
           "missing tensor 'blk.1.ffn_norm.weight'");
    expect(
        load_error(rebuild(good,
                           [](Metadata&, Tensors& t) {
                               t.push_back({"blk.0.attn_q.bias", {8}, gguf::type_f32, t[0].data});
                           })),
        "unexpected tensor 'blk.0.attn_q.bias'");
    // Llama 3.1's rope factors: one positive factor per rotation pair (head size 16 here).
    static const float wrong_count[4] = {1, 1, 1, 1};
    expect(load_error(rebuild(good,
                              [](Metadata&, Tensors& t) {
                                  t.push_back({"rope_freqs.weight", {4}, gguf::type_f32, wrong_count});
                              })),
           "tensor 'rope_freqs.weight' has shape [4], expected [8] (one factor per rotation pair)");
    static const float negative[8] = {1, 1, 1, -2, 1, 1, 1, 1};
    expect(load_error(rebuild(good,
                              [](Metadata&, Tensors& t) {
                                  t.push_back({"rope_freqs.weight", {8}, gguf::type_f32, negative});
                              })),
           "a rope frequency factor is -2");
    {
        std::string i32 = good;
        put_le(i32, info_fields(good, "blk.0.ffn_up.weight", 2).type, 26,
               4);  // I32: same size as F32
        // The list grows with the weight table; its start and end are fixed.
        expect(load_error(i32), "tensor 'blk.0.ffn_up.weight' has type I32; llamaport reads F32, Q8_0, F16");
        expect(load_error(i32), " matrices");
        std::vector<gguf::Q8Block> blocks(2);
        expect(load_error(rebuild(good,
                                  [&](Metadata&, Tensors& t) {
                                      gguf::WriteTensor& n = tensor_named(t, "output_norm.weight");
                                      n.type = gguf::type_q8_0;
                                      n.data = blocks.data();
                                  })),
               "tensor 'output_norm.weight' has type Q8_0; llamaport reads F32 and F16 norms");
    }
    // The writer needs a vocabulary.
    auto bare = random_test_model(q8_config(), 1, true);
    CHECK(error_of([&] { write_gguf_model(*bare, GgufWriteOptions{}); }).find("no vocabulary") !=
          std::string::npos);
}

// ---- llama.cpp's own file -----------------------------------------------------------------

TEST_CASE("stories260K-F32.gguf as llama.cpp's converter wrote it", "[gguf][models]") {
    const std::string bytes = read_file(model_path("stories260K-F32.gguf"));
    const GgufFile f = parse(bytes, "stories260K-F32.gguf");
    CHECK(f.version() == 3);
    CHECK(f.byte_order() == ByteOrder::Little);
    CHECK(f.alignment() == 32);
    CHECK(f.metadata().size() == 19);
    CHECK(f.tensors().size() == 48);
    for (const gguf::TensorInfo& t : f.tensors()) CHECK(t.type->id == gguf::type_f32);
    CHECK(f.find_tensor("output.weight") != nullptr);  // the classifier is stored separately
    CHECK(f.find("general.alignment") == nullptr);
    CHECK(f.find("llama.rope.freq_base") == nullptr);
    // The converter's default context (128), not the checkpoint's seq_len (512).
    CHECK(f.value(*f.find("llama.context_length")).as_int() == 128);
    std::map<int64_t, int> type_counts;
    const Value types = f.value(*f.find("tokenizer.ggml.token_type"));
    CHECK(types.element_type == ValueType::I32);
    for (size_t i = 0; i < types.size(); i++) type_counts[types.element(i).as_int()]++;
    CHECK(type_counts == std::map<int64_t, int>{{1, 253}, {2, 1}, {3, 2}, {6, 256}});
}

TEST_CASE("stories260K-F32.gguf holds exactly stories260K.bin and tok512.bin", "[gguf][models]") {
    auto gguf_model = load_model_file(model_path("stories260K-F32.gguf"));
    auto bin_model = load_model_file(model_path("stories260K.bin"));
    CHECK(gguf_model->format == "gguf f32");
    CHECK_FALSE(gguf_model->weights.shared_classifier);
    Config expected = bin_model->config;
    expected.seq_len = 128;
    check_same_config(gguf_model->config, expected);
    check_same_weights(*gguf_model, *bin_model);  // classifier included
    const Tokenizer tok = Tokenizer::from_file(model_path("tok512.bin"), 512);
    CHECK(gguf_model->vocab.pieces == tok.pieces());
    CHECK(gguf_model->vocab.scores == tok.scores());
    CHECK(gguf_model->vocab.bos_id == 1);
    CHECK(gguf_model->vocab.eos_id == 2);
}

TEST_CASE("our writer reproduces llama.cpp's stories260K file", "[gguf][models]") {
    auto bin_model = load_model_file(model_path("stories260K.bin"));
    const Tokenizer tok = Tokenizer::from_file(model_path("tok512.bin"), 512);
    GgufWriteOptions o;
    o.pieces = tok.pieces();
    o.scores = tok.scores();
    bin_model->weights.shared_classifier = false;  // llama.cpp stores output.weight
    const std::string ours_bytes = write_gguf_model(*bin_model, o);
    const std::string theirs_bytes = read_file(model_path("stories260K-F32.gguf"));
    const GgufFile ours = parse(ours_bytes, "ours"), theirs = parse(theirs_bytes, "theirs");
    for (const gguf::KeyValue& kv : theirs.metadata()) {
        INFO(kv.key);
        const gguf::KeyValue* mine = ours.find(kv.key);
        if (kv.key == "tokenizer.ggml.seperator_token_id" ||
            kv.key == "tokenizer.ggml.padding_token_id") {
            CHECK(mine == nullptr);  // llama.cpp writes them as "none" (UINT32_MAX)
        } else if (kv.key == "llama.context_length") {
            CHECK(ours.value(*mine).as_int() == 512);  // the checkpoint's real seq_len
        } else {
            REQUIRE(mine != nullptr);
            CHECK(ours.value(*mine) == theirs.value(kv));
        }
    }
    REQUIRE(ours.tensors().size() == theirs.tensors().size());
    for (size_t i = 0; i < ours.tensors().size(); i++) {
        const gguf::TensorInfo &a = ours.tensors()[i], &b = theirs.tensors()[i];
        INFO(b.name);
        CHECK(a.name == b.name);  // same order too
        CHECK(a.shape() == b.shape());
        CHECK(a.offset == b.offset);
        CHECK(ours_bytes.compare(a.file_offset, a.bytes, theirs_bytes, b.file_offset, b.bytes) ==
              0);
    }
}

TEST_CASE("stories260K-F32.gguf with its embedded vocabulary reproduces llama2.c's stories",
          "[gguf][models]") {
    auto model = load_model_file(model_path("stories260K-F32.gguf"));
    // llama.cpp's converter recorded its default context of 128; the model was trained on 512,
    // which the reference cases use.
    model->config.seq_len = 512;
    const EmbeddedVocab& v = model->vocab;
    const Tokenizer tokenizer(v.pieces, v.scores, v.bos_id, v.eos_id);
    // A big-endian copy (swapped at load on little-endian hosts, used in place on big-endian
    // ones) holds the same weights and vocabulary; one story shows the whole path runs.
    GgufWriteOptions big_endian_copy;
    big_endian_copy.big_endian = true;
    auto swapped = load_model(own_memory(write_gguf_model(*model, big_endian_copy), "be.gguf"));
    CHECK(swapped->format == "gguf f32 big-endian");
    check_same_weights(*swapped, *model);
    CHECK(swapped->vocab.pieces == v.pieces);
    for (const Model* m : {model.get(), swapped.get()}) {
        for (const ReferenceCase& c : reference_cases()) {
            if (m == swapped.get() && c.name != "stories260K_02") continue;
            INFO("case " << c.name << ", " << m->format);
            const int steps = c.steps == 0 || c.steps > 512 ? 512 : c.steps;
            Transformer transformer(*m, scalar_kernels(), nullptr, steps);
            Sampler sampler(m->config.vocab_size, c.temperature, c.top_p, c.seed);
            std::vector<int> ids{tokenizer.bos_id()};
            generate(transformer, tokenizer, sampler, c.prompt, steps,
                     [&](int token, std::string_view) {
                         ids.push_back(token);
                         return true;
                     });
            CHECK(ids == parse_ids(read_file(reference_path(c.name + ".ids"))));
        }
    }
}
