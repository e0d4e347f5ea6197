// ggml's legacy block types (Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL) and the Q8_1 input format: the
// reference dequantizers on hand-built blocks (values from the format's definition), the Q8_1
// quantizer's sum term, every kernel set's products and Q8_1 preparation against the scalar set.
// (test_gguf_types.cpp: the fields a big-endian file swaps, and llama.cpp's logits.)
//
// Tolerances:
// - Products and Q8_1 preparation: bit-identical to the scalar set. Each block's integer sum is
//   exact and its float steps run in llama.cpp's order in every set. (Plus cols * FLT_MIN, as in
//   test_kernels.cpp: AltiVec flushes denormal results to zero.)
// - Products against the double-precision sum over the dequantized weights and inputs: the gamma
//   bound of test_kernels.cpp, (2 * (blocks + 10) + 1) * u * M, with M = sum over values of
//   |value * x|, plus 2 * |m| * |x| for the types with a minimum: at least (|d * q| + |m|) * |x|,
//   the two terms a block's step adds separately, before they can cancel. The minimum also meets
//   the input's s = d * sum(q), from the fp32 d and stored as fp16, where the input values are
//   the fp16 d times q: two fp16 roundings, each half an ulp (2^-11 relative, or 2^-25 absolute
//   below fp16's normal range), so |m| * |sum x| / 1000 (a little over 2^-10) plus |m| * 2^-25
//   per block.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "llamaport/kernels.hpp"
#include "loader/fp16.hpp"
#include "types/inputs.hpp"
#include "types/iq4_nl.hpp"

namespace {

using llamaport::InputFormat;
using llamaport::KernelSet;
using llamaport::Matrix;
using llamaport::WeightType;
using llamaport::fp16_to_fp32;
using llamaport::fp32_to_fp16;

constexpr double kUnitRoundoff = 1.0 / (1 << 24);

struct Legacy {
    WeightType type;
    size_t bytes;       // per block
    int low, high;      // the range of q (IQ4_NL: of the table index)
    bool has_min;
    size_t bits_offset;  // of the fifth bits; 0: none
};
const Legacy legacy_types[] = {
    {WeightType::Q4_0, 18, -8, 7, false, 0},  {WeightType::Q4_1, 20, 0, 15, true, 0},
    {WeightType::Q5_0, 22, -16, 15, false, 2}, {WeightType::Q5_1, 24, 0, 31, true, 4},
    {WeightType::IQ4_NL, 18, 0, 15, false, 0},
};

void put_half(uint8_t* p, float v) {
    const uint16_t h = fp32_to_fp16(v);
    std::memcpy(p, &h, 2);
}

// A block in host order from its integers (IQ4_NL: table indices), written from ggml's block
// structs: d, then m, then the fifth bits (bit i: value i), then 16 bytes holding value j in the
// low nibble of byte j and value j + 16 in the high one.
void encode_block(const Legacy& t, uint8_t* block, const int* q, float d, float m) {
    put_half(block, d);
    if (t.has_min) put_half(block + 2, m);
    const int offset = t.low < 0 ? -t.low : 0;
    uint32_t fifth = 0;
    for (int i = 0; i < 32; i++) fifth |= uint32_t((q[i] + offset) >> 4 & 1) << i;
    if (t.bits_offset) std::memcpy(block + t.bits_offset, &fifth, 4);
    uint8_t* packed = block + t.bytes - 16;
    for (int j = 0; j < 16; j++)
        packed[j] = uint8_t(((q[j] + offset) & 15) | ((q[j + 16] + offset) & 15) << 4);
}

// What a value of the block is by the format's definition.
float value_of(const Legacy& t, int q, float d, float m) {
    if (t.type == WeightType::IQ4_NL) return d * float(llamaport::types::iq4_nl_levels[q]);
    return t.has_min ? float(q) * d + m : float(q) * d;
}

TEST_CASE("legacy block types dequantize hand-built blocks as ggml defines them", "[kernels]") {
    std::mt19937 rng(12);
    for (const Legacy& t : legacy_types) {
        INFO(llamaport::weight_type_name(t.type));
        // Block 0: every q in turn; block 1: random q, negative scale and minimum.
        std::vector<uint8_t> row(2 * t.bytes);
        int q[2][32];
        const float d[2] = {0.5f, -0.0371f}, m[2] = {-1.25f, 3.5f};
        std::uniform_int_distribution<int> any(t.low, t.high);
        for (int i = 0; i < 32; i++) {
            q[0][i] = t.low + i % (t.high - t.low + 1);
            q[1][i] = any(rng);
        }
        for (int b = 0; b < 2; b++) encode_block(t, row.data() + b * t.bytes, q[b], d[b], m[b]);
        const Matrix w = llamaport::weight_matrix(t.type, row.data(), 1, 64);
        CHECK(w.row_stride == 2 * t.bytes);
        std::vector<float> out(64);
        w.row_to_f32(0, out.data());
        for (int b = 0; b < 2; b++)
            for (int i = 0; i < 32; i++) {
                INFO("block " << b << ", value " << i << ", q " << q[b][i]);
                CHECK(out[size_t(32 * b + i)] ==
                      value_of(t, q[b][i], fp16_to_fp32(fp32_to_fp16(d[b])), fp16_to_fp32(fp32_to_fp16(m[b]))));
            }
    }
    // A few bytes spelled out: d = 0.5 (0x3800), value 0 in byte 0's low nibble, value 16 in its
    // high nibble, value 31 in byte 15's high nibble; Q5_0's fifth bit of value 31 is the top
    // bit of the word (the last byte of the field in a little-endian file).
    uint8_t q4[18] = {}, q5[22] = {}, nl[18] = {};
    for (uint8_t* b : {q4, q5, nl}) put_half(b, 0.5f);
    q4[2] = 0xF1, q4[17] = 0xA0;
    const uint32_t fifth = 0x80000001u;
    std::memcpy(q5 + 2, &fifth, 4);
    q5[6] = 0x23, q5[21] = 0x40;
    nl[2] = 0x0F;
    std::vector<float> v(32);
    llamaport::weight_matrix(WeightType::Q4_0, q4, 1, 32).row_to_f32(0, v.data());
    CHECK(v[0] == -3.5f);   // (1 - 8) / 2
    CHECK(v[16] == 3.5f);   // (15 - 8) / 2
    CHECK(v[31] == 1.0f);   // (10 - 8) / 2
    CHECK(v[1] == -4.0f);   // (0 - 8) / 2
    llamaport::weight_matrix(WeightType::Q5_0, q5, 1, 32).row_to_f32(0, v.data());
    CHECK(v[0] == 1.5f);    // (16 + 3 - 16) / 2
    CHECK(v[16] == -7.0f);  // (2 - 16) / 2
    CHECK(v[31] == 2.0f);   // (16 + 4 - 16) / 2
    CHECK(v[15] == -8.0f);  // (0 - 16) / 2
    llamaport::weight_matrix(WeightType::IQ4_NL, nl, 1, 32).row_to_f32(0, v.data());
    CHECK(v[0] == 56.5f);   // 113 / 2
    CHECK(v[16] == -63.5f); // -127 / 2
}

// --- Q8_1 inputs ---------------------------------------------------------------------------------

std::vector<float> random_floats(std::mt19937& rng, size_t n, float scale) {
    std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
    std::vector<float> v(n);
    for (float& x : v) x = unit(rng) * scale;
    return v;
}

// A one-row matrix shape whose columns prepare() reads.
Matrix shape_of(WeightType t, size_t cols) { return llamaport::weight_matrix(t, nullptr, 1, cols); }

std::vector<uint8_t> prepare(const KernelSet& set, InputFormat f, const std::vector<float>& x,
                             size_t pieces = 1) {
    const Matrix shape = shape_of(f == InputFormat::Q8_1 ? WeightType::Q4_1 : WeightType::Q4_0, x.size());
    const auto& info = llamaport::input_info(f);
    std::vector<uint8_t> out(info.column_bytes(shape), 0xA5);
    const size_t parts = info.parts(shape);
    for (size_t p = 0; p < pieces; p++)
        set.prepare_for(f)(out.data(), shape, x.data(), parts * p / pieces, parts * (p + 1) / pieces);
    return out;
}

TEST_CASE("Q8_1 inputs are Q8_0's blocks with s = d * sum(q) in fp16, in every set", "[kernels]") {
    std::mt19937 rng(81);
    const KernelSet& scalar = llamaport::scalar_kernels();
    for (size_t n : {size_t(32), size_t(96), size_t(800)})
        for (float scale : {1.0f, 1e-3f, 3e4f}) {
            auto x = random_floats(rng, n, scale);
            if (n == 96) std::fill(x.begin() + 32, x.begin() + 64, 0.0f);  // an all-zero block
            const auto q8_1 = prepare(scalar, InputFormat::Q8_1, x);
            const auto q8_0 = prepare(scalar, InputFormat::Q8_0, x);
            REQUIRE(q8_1.size() == n / 32 * 36);
            for (size_t b = 0; b < n / 32; b++) {
                const uint8_t* one = q8_1.data() + 36 * b;
                const uint8_t* zero = q8_0.data() + 34 * b;
                INFO("n " << n << ", scale " << scale << ", block " << b);
                CHECK(std::memcmp(one, zero, 2) == 0);
                CHECK(std::memcmp(one + 4, zero + 2, 32) == 0);
                float most = 0.0f;
                for (size_t j = 0; j < 32; j++) most = std::fmax(most, std::fabs(x[32 * b + j]));
                const std::vector<int8_t> q(one + 4, one + 36);
                const int sum = std::accumulate(q.begin(), q.end(), 0);
                uint16_t s;
                std::memcpy(&s, one + 2, 2);
                CHECK(s == fp32_to_fp16(most / 127.0f * float(sum)));
            }
            for (const KernelSet* set : llamaport::available_kernels()) {
                INFO("set " << set->name << ", n " << n << ", scale " << scale);
                CHECK(prepare(*set, InputFormat::Q8_1, x, 3) == q8_1);
            }
        }
}

// --- products -------------------------------------------------------------------------------------

// Random rows of a type: random bytes, then scales (and minimums) of either sign in [1e-4, 1),
// pattern 1: large ones (6e4, near fp16's top) with q at its extremes, pattern 2: zero scales in
// every third block.
std::vector<uint8_t> random_rows(std::mt19937& rng, const Legacy& t, size_t rows, size_t cols,
                                 int pattern) {
    const size_t blocks = rows * cols / 32;
    std::vector<uint8_t> out(blocks * t.bytes);
    std::uniform_int_distribution<int> byte(0, 255), any(t.low, t.high), coin(0, 1);
    std::uniform_real_distribution<float> magnitude(1e-4f, 1.0f);
    for (size_t b = 0; b < blocks; b++) {
        uint8_t* block = out.data() + b * t.bytes;
        int q[32];
        for (int& v : q) v = pattern == 1 ? (coin(rng) ? t.high : t.low) : any(rng);
        auto scale = [&] {
            const float s = (coin(rng) ? 1.0f : -1.0f) * magnitude(rng);
            return pattern == 1 ? s * 6e4f : pattern == 2 && b % 3 == 0 ? 0.0f : s;
        };
        const float d = scale(), m = scale();
        encode_block(t, block, q, d, m);
    }
    return out;
}

// The prepared input column back as floats: d * q.
std::vector<float> input_values(const uint8_t* block, size_t cols, bool q8_1) {
    const size_t bytes = q8_1 ? 36 : 34, offset = q8_1 ? 4 : 2;
    std::vector<float> out(cols);
    for (size_t j = 0; j < cols; j++, block += j % 32 == 0 ? bytes : 0) {
        uint16_t d;
        std::memcpy(&d, block, 2);
        out[j] = fp16_to_fp32(d) * float(int8_t(block[offset + j % 32]));
    }
    return out;
}

std::string check_product(const KernelSet& set, const Legacy& t, size_t rows, size_t cols,
                          size_t columns, size_t begin, size_t end, int pattern, size_t w_offset,
                          std::mt19937& rng) {
    const std::vector<uint8_t> weights = random_rows(rng, t, rows, cols, pattern);
    std::vector<uint8_t> w_buffer(weights.size() + w_offset);
    std::memcpy(w_buffer.data() + w_offset, weights.data(), weights.size());
    const Matrix w = llamaport::weight_matrix(t.type, w_buffer.data() + w_offset, rows, cols);
    const InputFormat f = t.has_min ? InputFormat::Q8_1 : InputFormat::Q8_0;
    std::vector<uint8_t> in;
    for (size_t c = 0; c < columns; c++) {
        const auto column = prepare(llamaport::scalar_kernels(), f, random_floats(rng, cols, pattern == 1 ? 1e3f : 1.0f));
        in.insert(in.end(), column.begin(), column.end());
    }
    const size_t stride = in.size() / columns;
    auto run = [&](const KernelSet& s) {
        std::vector<float> y(columns * rows, -12345.5f);
        s.product_for(t.type)(y.data(), rows, w, in.data(), stride, columns, begin, end);
        return y;
    };
    const std::vector<float> got = run(set), want = run(llamaport::scalar_kernels());
    std::vector<float> row(cols);
    for (size_t c = 0; c < columns; c++) {
        const std::vector<float> x = input_values(in.data() + c * stride, cols, t.has_min);
        for (size_t r = 0; r < rows; r++) {
            const size_t i = c * rows + r;
            std::ostringstream where;
            where.precision(9);
            where << "column " << c << ", row " << r << ": got " << got[i] << ", scalar " << want[i];
            if (r < begin || r >= end) {
                if (got[i] != -12345.5f) return where.str() + " (outside the range)";
                continue;
            }
            if (std::memcmp(&got[i], &want[i], 4) != 0 &&
                !(std::fabs(double(got[i]) - double(want[i])) <= double(cols) * double(FLT_MIN)))
                return where.str() + " (bit for bit promised)";
            w.row_to_f32(r, row.data());
            const uint8_t* wr = w.row(r);
            double exact = 0, magnitude = 0, sum_term = 0;
            for (size_t j = 0; j < cols; j++) {
                exact += double(row[j]) * double(x[j]);
                magnitude += std::fabs(double(row[j]) * double(x[j]));
            }
            if (t.has_min)
                for (size_t b = 0; b < cols / 32; b++) {
                    uint16_t mh;
                    std::memcpy(&mh, wr + b * t.bytes + 2, 2);
                    const double m = std::fabs(double(fp16_to_fp32(mh)));
                    double s = 0;
                    for (size_t j = 32 * b; j < 32 * b + 32; j++) {
                        s += double(x[j]);
                        // |d q| + |m| for each value: |row[j]| alone may hide a cancellation.
                        magnitude += 2 * m * std::fabs(double(x[j]));
                    }
                    sum_term += m * (std::fabs(s) / 1000.0 + 1.0 / (1 << 25));
                }
            const double tolerance = (2.0 * double(cols / 32 + 10) + 1.0) * kUnitRoundoff * magnitude +
                                     sum_term + double(cols) * double(FLT_MIN);
            if (!(std::fabs(double(got[i]) - exact) <= tolerance)) {
                std::ostringstream s;
                s << where.str() << ", exact " << exact << ", tolerance " << tolerance;
                return s.str();
            }
        }
    }
    return "";
}

TEST_CASE("legacy block products match the scalar set bit for bit and the exact product",
          "[kernels]") {
    std::mt19937 rng(4);
    for (const KernelSet* set : llamaport::available_kernels())
        for (const Legacy& t : legacy_types)
            for (size_t cols : {size_t(32), size_t(64), size_t(96), size_t(256), size_t(800), size_t(2048)})
                for (int pattern = 0; pattern < 3; pattern++)
                    for (size_t variant = 0; variant < 4; variant++) {
                        // Rows: lanes of 4 and 8 and a tail; in the last variant a tile of 32,
                        // two up to 256 columns (cheaper under qemu than at 2048); ranges
                        // starting and ending off them.
                        const size_t rows = variant < 3 ? 21 : cols <= 256 ? 69 : 37;
                        const size_t begin = variant, end = rows - (variant & 1);
                        // Columns: 67 in the last variant, past the widest group a set takes (64).
                        const size_t columns = variant == 3 ? 67 : 1 + (cols / 32 + variant) % 6;
                        const size_t w_offset = variant == 2;
                        INFO("set " << set->name << ", " << llamaport::weight_type_name(t.type)
                                    << ", cols " << cols << ", pattern " << pattern << ", rows ["
                                    << begin << "," << end << ") of " << rows << ", columns "
                                    << columns << ", weights " << w_offset << " byte(s) off");
                        CHECK(check_product(*set, t, rows, cols, columns, begin, end, pattern,
                                            w_offset, rng) == "");
                    }
}

}  // namespace
