// ggml's K-quant weight types and their Q8_K input (src/types/k_quants.hpp):
// - the dequantizers on hand-built blocks, each value placed by the format's definition (ggml's
//   block_q*_K comments and its dequantize_row_q*_K), so a misplaced bit or scale shows;
// - the Q8_K quantizer on hand-picked values (the largest magnitude's sign, ties to even, zeros);
// - every kernel set's products against the scalar set and against a double-precision sum over
//   the dequantized weights and inputs. The scalar, NEON and AltiVec sets match bit for bit (each
//   block's integer sums are exact and its float steps are KAccumulator's in every one of them).
//   With u = 2^-24 and M = sum |(d * scale * (u - offset)) * x| + |dmin * min * x| over a row:
//   . scalar order: a block's term rounds x_d * d, the int sum (above 2^24), the product and the
//     add (4 steps, twice for the mins), so it is within (8 * blocks + 1) * u * M of the product
//     of the stored values (the 1: acc - acc_min);
//   . AVX2's order (AVX-512 takes AVX2's K-quant products): 8 fp32 lanes per row and column, each
//     block's exact lane sums (below 2^24, so converted exactly) times x_d * d (1 step) added by
//     an FMA; the mins likewise, into the same lanes (Q2_K: a chain of 2 * blocks FMAs) or into
//     an accumulator of 4 lanes (Q4_K) or 1 (Q5_K) added at the end. A term sees at most
//     1 + 2 * blocks + 3 steps (8 lanes summed in 3), or 1 + blocks + 3 + 1 with the final add,
//     both at most 2 * blocks + 4, so it is within (2 * blocks + 4) * u * M of that product, and
//     within (10 * blocks + 5) * u * M of the scalar set (the two bounds added). Each result must
//     also be the same bit for bit with its row and column computed alone;
//   . against the double sum, each dequantized weight rounds up to 3 times more: both orders are
//     within (8 * blocks + 3 + 1) * u * M of it (for AVX2, 2 * blocks + 7 <= 8 * blocks + 4),
//     plus cols * FLT_MIN for AltiVec's flush of denormals to zero.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "llamaport/error.hpp"
#include "llamaport/kernels.hpp"
#include "loader/fp16.hpp"
#include "types/q2_k.hpp"
#include "types/q3_k.hpp"
#include "types/q4_k.hpp"
#include "types/q5_k.hpp"
#include "types/q6_k.hpp"

using namespace llamaport;

namespace {

constexpr double kUnit = 1.0 / (1 << 24);

struct KType {
    WeightType type;
    size_t block_bytes;
    void (*unpack)(const uint8_t*, types::KBlock&);
    int offset;
    std::vector<BlockField> halves;  // the fp16 factors: d (and dmin)
};

const std::vector<KType>& k_types() {
    static const std::vector<KType> all = {
        {WeightType::Q6_K, types::Q6K::bytes, types::k_unpack<types::Q6K>, types::Q6K::offset, {{208, 2}}},
        {WeightType::Q4_K, types::Q4K::bytes, types::k_unpack<types::Q4K>, 0, {{0, 2}, {2, 2}}},
        {WeightType::Q5_K, types::Q5K::bytes, types::k_unpack<types::Q5K>, 0, {{0, 2}, {2, 2}}},
        {WeightType::Q3_K, types::Q3K::bytes, types::k_unpack<types::Q3K>, types::Q3K::offset, {{108, 2}}},
        {WeightType::Q2_K, types::Q2K::bytes, types::k_unpack<types::Q2K>, 0, {{80, 2}, {82, 2}}},
    };
    return all;
}

void put_half(uint8_t* p, float v) {
    const uint16_t h = fp32_to_fp16(v);
    std::memcpy(p, &h, 2);
}

std::vector<float> dequantize(WeightType t, const std::vector<uint8_t>& bytes, size_t cols) {
    std::vector<float> out(cols);
    weight_matrix(t, bytes.data(), 1, cols).row_to_f32(0, out.data());
    return out;
}

// Q8_K blocks of x by the reference, and their values back as floats (d * q).
std::vector<uint8_t> q8_k(const std::vector<float>& x) {
    const Matrix shape = weight_matrix(WeightType::Q6_K, nullptr, 1, x.size());
    const InputFormatInfo& info = input_info(InputFormat::Q8_K);
    std::vector<uint8_t> out(info.column_bytes(shape));
    info.reference(out.data(), shape, x.data(), 0, info.parts(shape));
    return out;
}
float q8_k_d(const std::vector<uint8_t>& in, size_t block) {
    return load_f32(in.data() + block * types::q8_k_bytes);
}
int q8_k_q(const std::vector<uint8_t>& in, size_t i) {
    return types::q8_k_values_of(in.data() + i / 256 * types::q8_k_bytes)[i % 256];
}

}  // namespace

TEST_CASE("Q6_K dequantizes each value from its bits, group scale and d", "[kernels][kquants]") {
    // Six-bit value v_i = (i * 7 + 3) % 64 placed by the format's definition; scale of group g
    // is g * 9 - 70 (negative and positive); d = 0.5: every value is exact in fp32.
    std::vector<uint8_t> block(210, 0);
    auto six = [](size_t i) { return int((i * 7 + 3) % 64); };
    for (size_t i = 0; i < 256; i++) {
        const size_t half = i / 128, k = i % 128 / 32, l = i % 32;
        block[64 * half + l + 32 * (k & 1)] |= uint8_t((six(i) & 0xF) << (4 * (k >> 1)));
        block[128 + 32 * half + l] |= uint8_t((six(i) >> 4) << (2 * k));
    }
    for (size_t g = 0; g < 16; g++) block[192 + g] = uint8_t(int8_t(int(g) * 9 - 70));
    put_half(&block[208], 0.5f);
    const auto v = dequantize(WeightType::Q6_K, block, 256);
    for (size_t i = 0; i < 256; i++) {
        INFO("value " << i);
        CHECK(v[i] == 0.5f * float(int(i / 16) * 9 - 70) * float(six(i) - 32));
    }
    // Where single bits land: value 0 <- ql[0] low nibble, 64 <- ql[0] high nibble, 32 <- ql[32],
    // 128 <- ql[64]; the top two bits of value 96 <- qh[0] bits 6-7.
    std::vector<uint8_t> sparse(210, 0);
    sparse[0] = 0x21;
    sparse[32] = 0x03;
    sparse[64] = 0x05;
    sparse[128] = 0xC0;
    for (size_t g = 0; g < 16; g++) sparse[192 + g] = 1;
    put_half(&sparse[208], 1.0f);
    const auto s = dequantize(WeightType::Q6_K, sparse, 256);
    CHECK(s[0] == 1 - 32);
    CHECK(s[64] == 2 - 32);
    CHECK(s[32] == 3 - 32);
    CHECK(s[128] == 5 - 32);
    CHECK(s[96] == 48 - 32);
    CHECK(s[1] == -32);
}

// Q4_K's and Q5_K's 12 bytes of 6-bit scales and mins, packed as ggml's get_scale_min_k4 reads them.
void pack_scale_mins(uint8_t* s, const int* scale, const int* min) {
    for (size_t j = 0; j < 4; j++) {
        s[j] = uint8_t(scale[j] | (scale[j + 4] >> 4) << 6);
        s[j + 4] = uint8_t(min[j] | (min[j + 4] >> 4) << 6);
        s[j + 8] = uint8_t((scale[j + 4] & 0xF) | (min[j + 4] & 0xF) << 4);
    }
}

TEST_CASE("Q4_K and Q5_K dequantize each value from its bits, group scale and min",
          "[kernels][kquants]") {
    // Values, scales and mins that differ from group to group; d = 0.25, dmin = 0.5 keep every
    // value exact in fp32.
    int scale[8], min[8];
    for (int j = 0; j < 8; j++) {
        scale[j] = (j * 7 + 3) % 64;
        min[j] = (j * 11 + 5) % 64;
    }
    for (bool five : {false, true}) {
        std::vector<uint8_t> block(five ? 176 : 144, 0);
        auto v = [five](size_t i) { return int((i * 13 + 7) % (five ? 32 : 16)); };
        const size_t qs = five ? 48 : 16;
        for (size_t c = 0; c < 4; c++)
            for (size_t l = 0; l < 32; l++) {
                block[qs + 32 * c + l] = uint8_t((v(64 * c + l) & 0xF) | (v(64 * c + 32 + l) & 0xF) << 4);
                if (five)
                    block[16 + l] |= uint8_t((v(64 * c + l) >> 4) << (2 * c) |
                                             (v(64 * c + 32 + l) >> 4) << (2 * c + 1));
            }
        pack_scale_mins(&block[4], scale, min);
        put_half(&block[0], 0.25f);
        put_half(&block[2], 0.5f);
        const auto got = dequantize(five ? WeightType::Q5_K : WeightType::Q4_K, block, 256);
        for (size_t i = 0; i < 256; i++) {
            INFO((five ? "Q5_K" : "Q4_K") << " value " << i);
            CHECK(got[i] == 0.25f * float(scale[i / 32]) * float(v(i)) - 0.5f * float(min[i / 32]));
        }
    }
}

TEST_CASE("Q3_K and Q2_K dequantize each value from its bits and group scale",
          "[kernels][kquants]") {
    // Q3_K: three-bit v (value v - 4), the low two bits at bits 2k of qs[32n + l], the third at
    // bit 4n + k of hmask[l]; 6-bit scales minus 32 split into nibbles and 2-bit pairs.
    std::vector<uint8_t> q3(110, 0);
    auto v3 = [](size_t i) { return int((i * 3 + 2) % 8); };
    auto s3 = [](size_t j) { return int((j * 29 + 9) % 64); };
    for (size_t i = 0; i < 256; i++) {
        const size_t n = i / 128, k = i % 128 / 32, l = i % 32;
        q3[32 + 32 * n + l] |= uint8_t((v3(i) & 3) << (2 * k));
        q3[l] |= uint8_t((v3(i) >> 2) << (4 * n + k));
    }
    for (size_t j = 0; j < 16; j++) {
        q3[96 + j % 8] |= uint8_t((s3(j) & 0xF) << (4 * (j / 8)));
        q3[104 + j % 4] |= uint8_t((s3(j) >> 4) << (2 * (j / 4)));
    }
    put_half(&q3[108], 0.5f);
    const auto got3 = dequantize(WeightType::Q3_K, q3, 256);
    for (size_t i = 0; i < 256; i++) {
        INFO("Q3_K value " << i);
        CHECK(got3[i] == 0.5f * float(s3(i / 16) - 32) * float(v3(i) - 4));
    }
    // Q2_K: two-bit v at bits 2k of qs[32n + l]; scale low nibble, min high nibble per 16.
    std::vector<uint8_t> q2(84, 0);
    auto v2 = [](size_t i) { return int((i * 3 + 1) % 4); };
    for (size_t i = 0; i < 256; i++) q2[16 + 32 * (i / 128) + i % 32] |= uint8_t(v2(i) << (2 * (i % 128 / 32)));
    for (size_t g = 0; g < 16; g++) q2[g] = uint8_t((g * 3 + 1) % 16 | ((g * 7 + 2) % 16) << 4);
    put_half(&q2[80], 0.25f);
    put_half(&q2[82], 0.5f);
    const auto got2 = dequantize(WeightType::Q2_K, q2, 256);
    for (size_t i = 0; i < 256; i++) {
        const size_t g = i / 16;
        INFO("Q2_K value " << i);
        CHECK(got2[i] == 0.25f * float((g * 3 + 1) % 16) * float(v2(i)) - 0.5f * float((g * 7 + 2) % 16));
    }
}

TEST_CASE("K-quant rows must be whole blocks of 256", "[kernels][kquants]") {
    for (const KType& k : k_types()) {
        CHECK(weight_row_bytes(k.type, 512) == 2 * k.block_bytes);
        CHECK_THROWS_WITH(weight_row_bytes(k.type, 300), Catch::Contains("300") && Catch::Contains("256"));
    }
}

TEST_CASE("Q8_K quantizes as llama.cpp's x86 backend", "[kernels][kquants]") {
    // The first value of largest magnitude sets the scale with its sign: m = -127 gives
    // iscale = 127 / 127 = 1 exactly, so the rest round as they are, ties to even.
    std::vector<float> x(512, 0.0f);
    const float halves[] = {2.5f, 3.5f, -0.5f, -1.5f, 126.5f, 127.0f, 0.49999997f};
    x[0] = 1.0f;
    x[3] = -127.0f;
    x[4] = 127.0f;  // same magnitude, later: not the one
    for (size_t i = 0; i < 7; i++) x[10 + i] = halves[i];
    x[40] = std::numeric_limits<float>::quiet_NaN();
    // Second block: a positive maximum 63.5, so iscale = -127 / 63.5 = -2 exactly and d < 0.
    x[300] = 63.5f;
    x[301] = 0.75f;
    x[302] = 0.25f;
    const auto q = q8_k(x);
    CHECK(q8_k_d(q, 0) == 1.0f / (-127.0f / -127.0f));
    CHECK(q8_k_q(q, 0) == 1);
    CHECK(q8_k_q(q, 3) == -127);
    CHECK(q8_k_q(q, 4) == 127);
    const int want[] = {2, 4, 0, -2, 126, 127, 0};
    for (size_t i = 0; i < 7; i++) {
        INFO("x = " << halves[i]);
        CHECK(q8_k_q(q, 10 + i) == want[i]);
    }
    CHECK(q8_k_q(q, 40) == 0);
    int16_t bsum;
    std::memcpy(&bsum, q.data() + types::q8_k_bsums_offset, 2);
    CHECK(bsum == 1 - 127 + 127 + 2 + 4 + 0 - 2 + 126 + 127);  // values 0..15
    CHECK(q8_k_d(q, 1) == -0.5f);
    CHECK(q8_k_q(q, 300) == -127);
    CHECK(q8_k_q(q, 301) == -2);  // -1.5 and -0.5 to even
    CHECK(q8_k_q(q, 302) == 0);
    // A block of zeros: d = 0, values and sums 0.
    const auto z = q8_k(std::vector<float>(256, 0.0f));
    CHECK(q8_k_d(z, 0) == 0.0f);
    CHECK(std::all_of(z.begin() + 4, z.end(), [](uint8_t b) { return b == 0; }));
}

TEST_CASE("Q8_K preparation is the reference's in every set", "[kernels][kquants]") {
    // Random blocks, some of them large; blocks whose largest magnitude comes twice with both
    // signs (the first sets the sign) or once, first, last or between; zeros; and what a corrupt
    // model can feed it: NaN, infinities, denormals.
    std::mt19937 rng(5);
    std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const float inf = std::numeric_limits<float>::infinity();
    const float denormal = std::numeric_limits<float>::denorm_min();
    std::vector<std::vector<float>> inputs;
    for (size_t cols : {size_t(256), size_t(1024)}) {
        std::vector<float> x(cols);
        for (float& v : x) v = unit(rng) * (rng() % 7 == 0 ? 1e4f : 1.0f);
        inputs.push_back(x);
    }
    for (size_t first : {size_t(0), size_t(7), size_t(8), size_t(31), size_t(200), size_t(254)}) {
        std::vector<float> x(256);
        for (float& v : x) v = unit(rng);
        x[first] = rng() % 2 ? 3.0f : -3.0f;
        x[first + 1 + rng() % (255 - first)] = -x[first];
        inputs.push_back(x);
    }
    for (size_t at : {size_t(0), size_t(100), size_t(255)}) {  // one largest magnitude
        std::vector<float> x(256);
        for (float& v : x) v = unit(rng);
        x[at] = -5.0f;
        inputs.push_back(x);
    }
    inputs.push_back(std::vector<float>(512, 0.0f));
    for (int pattern = 0; pattern < 5; pattern++) {
        std::vector<float> x(256);
        for (size_t i = 0; i < x.size(); i++) {
            switch (pattern) {
                case 0: x[i] = i % 3 == 0 ? nan : unit(rng); break;
                case 1: x[i] = i % 5 == 1 ? (i % 2 ? inf : -inf) : unit(rng); break;
                case 2: x[i] = denormal * float(int(rng() % 301) - 150); break;
                case 3: x[i] = i % 2 ? nan : denormal * float(int(rng() % 9) - 4); break;
                default: x[i] = nan; break;
            }
        }
        inputs.push_back(x);
    }
    for (const KernelSet* set : available_kernels())
        for (size_t n = 0; n < inputs.size(); n++) {
            const std::vector<float>& x = inputs[n];
            const Matrix shape = weight_matrix(WeightType::Q6_K, nullptr, 1, x.size());
            const auto want = q8_k(x);
            std::vector<uint8_t> got(want.size(), 0xA5);
            const size_t parts = input_info(InputFormat::Q8_K).parts(shape);
            set->prepare_for(InputFormat::Q8_K)(got.data(), shape, x.data(), 0, parts / 2);
            set->prepare_for(InputFormat::Q8_K)(got.data(), shape, x.data(), parts / 2, parts);
            INFO("set " << set->name << ", input " << n);
            CHECK(got == want);
        }
}

namespace {

// Rows of random blocks: pattern 0 random bytes, 1 every byte 0xFF, 2 every byte 0x80 (the
// extreme values and scales); the fp16 factors random in [1e-3, 1e-1) either way.
std::vector<uint8_t> random_rows(std::mt19937& rng, const KType& k, size_t rows, size_t cols,
                                 int pattern) {
    std::vector<uint8_t> out(rows * cols / 256 * k.block_bytes);
    std::uniform_real_distribution<float> factor(1e-3f, 1e-1f);
    for (uint8_t& b : out) b = pattern == 0 ? uint8_t(rng()) : pattern == 1 ? 0xFF : 0x80;
    for (size_t b = 0; b < out.size() / k.block_bytes; b++)
        for (const BlockField& f : k.halves) put_half(&out[b * k.block_bytes + f.offset], factor(rng));
    return out;
}

// sum |(d * scale * (u - offset)) * x| + |dmin * min * x| over row r.
double magnitude(const KType& k, const uint8_t* row, const std::vector<float>& x) {
    double sum = 0;
    types::KBlock b;
    for (size_t j = 0; j < x.size(); j += 256, row += k.block_bytes) {
        k.unpack(row, b);
        for (size_t i = 0; i < 256; i++)
            sum += (std::fabs(double(b.d) * b.scale[i / 16] * (int(b.u[i]) - k.offset)) +
                    std::fabs(double(b.dmin) * b.min[i / 16])) * std::fabs(double(x[j + i]));
    }
    return sum;
}

// The sets whose K-quant products add in their own order (the header's AVX2 bound).
bool own_order(const KernelSet& set) {
    return std::strcmp(set.name, "avx2") == 0 || std::strcmp(set.name, "avx512") == 0;
}

std::string check_product(const KernelSet& set, const KType& k, std::mt19937& rng, size_t rows,
                          size_t cols, size_t columns, size_t begin, size_t end, int pattern) {
    const auto w = random_rows(rng, k, rows, cols, pattern);
    const Matrix m = weight_matrix(k.type, w.data(), rows, cols);
    std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
    std::vector<uint8_t> in;
    std::vector<std::vector<float>> xs;
    for (size_t c = 0; c < columns; c++) {
        std::vector<float> x(cols);
        // Pattern 1 inputs: +-1, so that most quantized values are +-127.
        for (float& v : x) v = pattern == 1 ? (rng() % 2 ? 1.0f : -1.0f) : unit(rng);
        const auto q = q8_k(x);
        in.insert(in.end(), q.begin(), q.end());
        for (size_t i = 0; i < cols; i++) x[i] = q8_k_d(q, i / 256) * float(q8_k_q(q, i));
        xs.push_back(x);
    }
    const size_t stride = in.size() / columns;
    std::vector<float> got(rows * columns, -1.5f), want(rows * columns, -1.5f);
    set.product_for(k.type)(got.data(), rows, m, in.data(), stride, columns, begin, end);
    scalar_kernels().product_for(k.type)(want.data(), rows, m, in.data(), stride, columns, begin, end);
    // Whatever the order, a result must not depend on the other columns or rows computed with
    // it (batched prompts and thread splits rely on it): each row alone, one column at a time.
    std::vector<float> alone(rows, -1.5f);
    for (size_t c = 0; c < columns; c++)
        for (size_t r = begin; r < end; r++) {
            set.product_for(k.type)(alone.data(), rows, m, in.data() + c * stride, stride, 1, r, r + 1);
            if (std::memcmp(&alone[r], &got[c * rows + r], 4) != 0)
                return "column " + std::to_string(c) + ", row " + std::to_string(r) + ": " +
                       std::to_string(alone[r]) + " alone, " + std::to_string(got[c * rows + r]) +
                       " with the others";
        }
    std::vector<float> row(cols);
    for (size_t c = 0; c < columns; c++)
        for (size_t r = 0; r < rows; r++) {
            const size_t i = c * rows + r;
            std::ostringstream where;
            where.precision(9);
            where << "column " << c << ", row " << r << ": got " << got[i];
            if (r < begin || r >= end) {
                if (got[i] != -1.5f) return where.str() + " outside the row range";
                continue;
            }
            const double blocks = double(cols / 256), size = magnitude(k, m.row(r), xs[c]);
            if (own_order(set) ? !(std::fabs(double(got[i]) - double(want[i])) <=
                                   (10.0 * blocks + 5.0) * kUnit * size)
                               : std::memcmp(&got[i], &want[i], 4) != 0)
                return where.str() + ", scalar " + std::to_string(want[i]);
            m.row_to_f32(r, row.data());
            double exact = 0;
            for (size_t j = 0; j < cols; j++) exact += double(row[j]) * double(xs[c][j]);
            const double tolerance =
                (8.0 * blocks + 4.0) * kUnit * size + double(cols) * double(FLT_MIN);
            if (!(std::fabs(double(got[i]) - exact) <= tolerance))
                return where.str() + ", exact " + std::to_string(exact) + ", tolerance " +
                       std::to_string(tolerance);
        }
    return "";
}

}  // namespace

TEST_CASE("K-quant products match the scalar set and the exact product",
          "[kernels][kquants]") {
    std::mt19937 rng(42);
    for (const KernelSet* set : available_kernels())
        for (const KType& k : k_types())
            for (size_t cols : {size_t(256), size_t(512), size_t(768), size_t(2048)})
                for (int pattern = 0; pattern < 3; pattern++)
                    for (size_t columns = 1; columns <= 5; columns++) {
                        const size_t rows = 21, begin = columns % 2 ? 0 : 8,
                                     end = columns % 3 ? rows : 13;
                        INFO("set " << set->name << ", " << weight_type_name(k.type) << ", cols "
                                    << cols << ", pattern " << pattern << ", columns " << columns
                                    << ", rows [" << begin << "," << end << ")");
                        CHECK(check_product(*set, k, rng, rows, cols, columns, begin, end, pattern) == "");
                    }
}

TEST_CASE("the simple Q4_K and Q6_K quantizers round-trip within a step", "[kernels][kquants]") {
    // Each value comes back within one step of its group (d * scale; Q4_K also half a step of
    // dmin for its rounded min) and a block of zeros stays zeros. The other types have none.
    std::mt19937 rng(8);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (WeightType t : {WeightType::Q4_K, WeightType::Q6_K}) {
        const WeightTypeInfo& info = type_info(t);
        REQUIRE(info.quantize_row != nullptr);
        std::vector<float> x(1024);
        for (size_t i = 0; i < x.size(); i++) x[i] = normal(rng) * (i < 512 ? 0.02f : 3.0f);
        std::fill(x.begin() + 256, x.begin() + 512, 0.0f);
        std::vector<uint8_t> blocks(weight_row_bytes(t, x.size()));
        info.quantize_row(blocks.data(), x.data(), x.size());
        const auto back = dequantize(t, blocks, x.size());
        double error = 0, squares = 0;
        for (size_t i = 0; i < x.size(); i++) {
            types::KBlock b;
            (t == WeightType::Q4_K ? types::k_unpack<types::Q4K> : types::k_unpack<types::Q6K>)(&blocks[i / 256 * info.block_bytes], b);
            const double step = std::fabs(double(b.d) * b.scale[i % 256 / 16]) + 0.5 * double(b.dmin);
            INFO(info.name << " value " << i << ": " << x[i] << " came back as " << back[i]);
            CHECK(std::fabs(double(back[i]) - x[i]) <= step * 1.0001);
            if (i >= 256 && i < 512) CHECK(back[i] == 0.0f);
            error += (double(back[i]) - x[i]) * (double(back[i]) - x[i]);
            squares += double(x[i]) * x[i];
        }
        // Bits of resolution: 4-bit steps leave about 8% of the RMS, 6-bit ones about 2%.
        CHECK(std::sqrt(error / squares) < (t == WeightType::Q4_K ? 0.12 : 0.03));
    }
    for (WeightType t : {WeightType::Q5_K, WeightType::Q3_K, WeightType::Q2_K}) CHECK(type_info(t).quantize_row == nullptr);
    CHECK(type_info(WeightType::Q8_0).quantize_row != nullptr);
}
