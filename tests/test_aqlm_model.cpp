// AQLM in models: the packed layout, every kernel set's AQLM kernels against the dequantizer,
// GGUF storage (both byte orders, bad files), and whole models quantized in-process.
//
// Kernel tolerance, with u = 2^-24 (float unit roundoff): a product is a sum over G groups of M
// codebooks of g-term dot products, times the row's scale. Any evaluation order, fused or not, is
// within (g + G * M + 2) * u * T of the exact value, T = sum_j sum_m |s * c_m[j] * x_j| (Higham,
// "Accuracy and Stability of Numerical Algorithms", 3.1), and the double-precision reference is
// exact to far less; the tests allow twice that, plus FLT_MIN per term for AltiVec's flushing of
// denormals. The table layout rounds inputs to int8 and codebooks to int16 (127 and
// L = codebook_limit() levels each side of 0: per entry at most
// g * xmax * cmax * (1/254 + 1/(2L) + 1/(508L)), xmax the table block's largest input, cmax the
// codebook's largest value) and each table entry to a multiple of its table block's scale sigma
// (at most sigma / 2 per entry): so |s| * sum over table blocks b and
// codebooks m of n_b times the first plus sigma_bm * (n_b / 2 + 1) for a row, n_b the block's
// groups (the 1 covers the rounding of the scales and of the float sums, each far below sigma).
// Every set builds the same table and gives the same product bit for bit.
//
// Batch products (prompts, from aqlm_batch_columns columns on, but for avx512's larger matrices,
// which read prompts through the tables) decode rows to fp32 as the dequantizer does and run the
// set's fp32 product: that product of the dequantized row w (rows
// 64 bytes apart) bit for bit, so within 2 * (cols + 2) * u * sum_j |w_j x_j| (+ cols * FLT_MIN)
// of the exact sum over w (cols products and cols - 1 additions in any order, fused or not;
// twice for margin). The single-column product above is bounded against the same exact sum, so
// a batch product and the column-by-column one may differ by the two bounds added: for 2x8 g8
// that is dominated by the tables' rounding, about |s| * g * xmax * cmax / 127 per group and
// codebook.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <deque>
#include <functional>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "aqlm/quantize_model.hpp"
#include "llamaport/aqlm.hpp"
#include "llamaport/blob.hpp"
#include "llamaport/error.hpp"
#include "llamaport/eval.hpp"
#include "llamaport/gguf.hpp"
#include "llamaport/kernels.hpp"
#include "llamaport/sampler.hpp"
#include "llamaport/transformer.hpp"
#include "loader/fp16.hpp"
#include "loader/gguf.hpp"
#include "kernels/aqlm_table.hpp"
#include "test_support.hpp"

using namespace llamaport;
using test::error_of;

namespace {

constexpr double kUnitRoundoff = 1.0 / (1 << 24);

struct Config3 {
    size_t codebooks, bits, group_size;
};

// Codes uniform over the codebook with the largest code in the first and last place (the top
// bit set: the one a sign extension would break), fp16-exact codebook values in [-1, 1) and
// scales of both signs.
AqlmMatrix random_aqlm(size_t rows, size_t cols, Config3 c, uint64_t seed) {
    AqlmMatrix q;
    q.shape = {rows, cols, c.codebooks, c.bits, c.group_size};
    const size_t entries = q.shape.entries();
    q.codes.resize(rows * q.shape.groups() * c.codebooks);
    for (uint16_t& code : q.codes) code = uint16_t(random_u32(seed) % entries);
    q.codes.front() = q.codes.back() = uint16_t(entries - 1);
    q.codebooks.resize(c.codebooks * entries * c.group_size);
    for (float& v : q.codebooks) v = fp16_to_fp32(fp32_to_fp16(2.0f * random_f32(seed) - 1.0f));
    q.scales.resize(rows);
    for (float& s : q.scales) s = (random_f32(seed) - 0.3f) * 0.2f;
    return q;
}

std::vector<float> random_vector(size_t n, uint64_t seed) {
    std::vector<float> v(n);
    for (float& x : v) x = 2.0f * random_f32(seed) - 1.0f;
    return v;
}

bool same(const AqlmMatrix& a, const AqlmMatrix& b) {
    const AqlmShape &s = a.shape, &t = b.shape;
    return s.rows == t.rows && s.cols == t.cols && s.codebooks == t.codebooks &&
           s.bits == t.bits && s.group_size == t.group_size && a.codes == b.codes &&
           a.codebooks == b.codebooks && a.scales == b.scales;
}

// A product's int8 table and its scales, the table on a 64-byte boundary (as the transformer's),
// every byte first set to `fill`.
class Table {
public:
    // The prepared input of matrix m (InputFormat::AqlmTable): the tables, then their scales.
    Table(const Matrix& m, int8_t fill)
        : m_(m), storage_(kernels::aqlm_input_bytes(m) + 64, uint8_t(fill)) {
        const size_t misalign = reinterpret_cast<uintptr_t>(storage_.data()) % 64;
        data_ = storage_.data() + (64 - misalign) % 64;
        bytes_ = m.aqlm().steps() * AqlmPacked::table_entries;
        scales = reinterpret_cast<float*>(data_ + kernels::aqlm_lut_bytes(m.aqlm()));
        std::fill(scales, scales + m.aqlm().table_scales(), NAN);
    }
    Table(const Table&) = delete;
    const int8_t* data() const { return reinterpret_cast<const int8_t*>(data_); }
    bool operator==(const Table& o) const {
        return std::memcmp(data_, o.data_, bytes_) == 0 &&
               std::memcmp(scales, o.scales, m_.aqlm().table_scales() * sizeof(float)) == 0;
    }
    void build(const KernelSet& set, const AqlmPacked&, const float* x, size_t b0 = 0,
               size_t b1 = SIZE_MAX) {
        set.prepare_for(InputFormat::AqlmTable)(data_, m_, x, b0,
                                                std::min(b1, m_.aqlm().table_blocks()));
    }
    void product(const KernelSet& set, const AqlmPacked&, float* y, size_t r0, size_t r1) {
        set.product_for(WeightType::AQLM)(y, 0, m_, data_, 0, 1, r0, r1);
    }
    // What rounding inputs and codebooks to int16 and the entries to int8 may cost row r, for
    // the input x (see the top of the file).
    double rounding(const AqlmPacked& a, const float* x, size_t r) const {
        const size_t groups = a.shape.groups(), per_block = AqlmPacked::table_block_groups;
        const size_t g = a.shape.group_size, m_count = a.shape.codebooks;
        const size_t per_codebook = a.shape.entries() * g;
        const double limit = a.codebook_limit();
        double sum = 0;
        for (size_t b = 0; b < a.table_blocks(); b++) {
            const size_t n = std::min(per_block, groups - b * per_block);
            double xmax = 0;
            for (size_t j = b * per_block * g; j < (b * per_block + n) * g; j++)
                xmax = std::max(xmax, std::fabs(double(x[j])));
            for (size_t m = 0; m < m_count; m++) {
                double cmax = 0;
                for (size_t i = 0; i < per_codebook; i++)
                    cmax = std::max(cmax, std::fabs(double(a.codebooks[m * per_codebook + i])));
                const double inputs_and_codebooks =
                    double(g) * xmax * cmax * (1 / 254.0 + 1 / (2 * limit) + 1 / (508 * limit));
                sum += double(n) * inputs_and_codebooks +
                       double(scales[b * m_count + m]) * (0.5 * double(n) + 1);
            }
        }
        return std::fabs(double(a.scales[r])) * sum;
    }

    float* scales;

private:
    const Matrix& m_;
    std::vector<uint8_t> storage_;
    uint8_t* data_;
    size_t bytes_;
};

const Config3 kernel_configs[] = {
    {2, 8, 8},   // the CPU-friendly one
    {1, 8, 8},   // 1 bit per weight
    {1, 16, 8},  // decode layout
    {2, 10, 8},  // decode with two codebooks
    {3, 4, 3},   // 16 entries, groups of 3
    {2, 2, 5},   // 4 entries
    {1, 1, 1},   // 2 entries, one weight per group
};

}  // namespace

TEST_CASE("AQLM packing: round trip, and the packed dequantizer is the reference's", "[aqlm]") {
    for (const Config3& c : kernel_configs)
        for (size_t rows : {size_t(1), size_t(7), size_t(8), size_t(13)})
            for (size_t cols : {size_t(1), size_t(16), size_t(21)}) {
                INFO(c.codebooks << "x" << c.bits << " g" << c.group_size << ", " << rows << " x "
                                 << cols);
                const AqlmMatrix q = random_aqlm(rows, cols, c, rows * 100 + cols);
                Model owner;
                const Matrix m = pack_aqlm(q, owner, "test");
                CHECK(m.type == (c.bits <= 8 ? WeightType::AQLM : WeightType::AQLM_WIDE));
                CHECK(m.rows == rows);
                CHECK(m.cols == cols);
                CHECK(std::string(weight_type_name(m.type)) == (c.bits <= 8 ? "aqlm" : "aqlm_wide"));
                CHECK(m.aqlm().uses_table() == (c.bits <= 8));
                CHECK(m.aqlm().padded_rows() % (c.bits <= 8 ? AqlmPacked::row_block : 1) == 0);
                CHECK(same(unpack_aqlm(m), q));
                std::vector<float> want(cols), got(cols);
                bool equal = true;
                for (size_t r = 0; r < rows; r++) {
                    q.row_to_f32(r, want.data());
                    m.row_to_f32(r, got.data());
                    equal = equal && want == got;
                }
                CHECK(equal);
                // Codes, codebooks (int16 pairs for tables, fp16 to decode) and scales (padded
                // rows included) per product.
                const size_t padded = m.aqlm().padded_rows();
                const size_t codebook_bytes =
                    c.bits <= 8 ? c.codebooks * q.shape.entries() * ((c.group_size + 1) / 2) * 4
                                : q.codebooks.size() * 2;
                CHECK(m.bytes() == padded * q.shape.groups() * c.codebooks * (c.bits <= 8 ? 1 : 2) +
                                       codebook_bytes + padded * 4);
            }
    // 2x8 with codes 128..255 in a padded last group: columns 8 and 9 of 10 (groups of 4 would
    // split them, so g = 4 here).
    AqlmMatrix q = random_aqlm(3, 10, {2, 8, 4}, 5);
    for (size_t i = 0; i < q.codes.size(); i++) q.codes[i] = uint16_t(128 + i * 7 % 128);
    Model owner;
    const Matrix m = pack_aqlm(q, owner, "test");
    std::vector<float> want(10), got(10);
    q.row_to_f32(2, want.data());
    m.row_to_f32(2, got.data());
    CHECK(want == got);
    q.codes[4] = 256;
    CHECK_THROWS_WITH(pack_aqlm(q, owner, "layer x"),
                      Catch::Contains("layer x") && Catch::Contains("code 256 at index 4"));
    CHECK_THROWS_AS(unpack_aqlm(Matrix()), Error);
    // The decode layout holds its codebooks in fp16, as files do: a value that is none is
    // refused, not rounded; infinities and NaN pass as they are.
    AqlmMatrix wide = random_aqlm(2, 8, {1, 16, 8}, 6);
    wide.codebooks[9] = INFINITY;
    wide.codebooks[10] = NAN;
    Model wide_owner;
    const AqlmPacked& packed = pack_aqlm(wide, wide_owner, "test").aqlm();
    CHECK(std::isinf(packed.codebook(0, 1, 1)));
    CHECK(std::isnan(packed.codebook(0, 1, 2)));
    wide.codebooks[12] = 0.1f;
    CHECK(error_of([&] { pack_aqlm(wide, wide_owner, "layer y"); }) ==
          "layer y: AQLM codebook value " + std::to_string(0.1f) + " at index 12 is not an fp16 value");
}

TEST_CASE("every kernel set's AQLM kernels agree with the dequantizer", "[aqlm]") {
    const KernelSet& scalar = scalar_kernels();
    for (const Config3& c : kernel_configs)
        for (size_t rows : {size_t(1), size_t(9), size_t(24), size_t(37)})
            for (size_t cols : {size_t(1), size_t(8), size_t(29), size_t(96)}) {
                const AqlmMatrix q = random_aqlm(rows, cols, c, rows * 1000 + cols + c.bits);
                Model owner;
                const Matrix m = pack_aqlm(q, owner, "test");
                const AqlmPacked& a = m.aqlm();
                const size_t groups = q.shape.groups(), padded_cols = a.padded_cols();
                std::vector<float> x = random_vector(padded_cols, cols);
                if (cols == 29) x[3] = -3e20f;  // a huge input, far from the table's others
                std::fill(x.begin() + std::ptrdiff_t(cols), x.end(), 0.0f);

                // Reference in double, and the magnitude sum that bounds rounding.
                AqlmMatrix magnitudes = q;
                for (float& v : magnitudes.codebooks) v = std::fabs(v);
                for (float& v : magnitudes.scales) v = std::fabs(v);
                std::vector<double> want(rows), bound(rows);
                std::vector<float> w(cols), w_abs(cols);
                const double terms = double(c.group_size + groups * c.codebooks + 2);
                for (size_t r = 0; r < rows; r++) {
                    q.row_to_f32(r, w.data());
                    magnitudes.row_to_f32(r, w_abs.data());
                    double sum = 0, mag = 0;
                    for (size_t j = 0; j < cols; j++) {
                        sum += double(w[j]) * x[j];
                        mag += double(w_abs[j]) * std::fabs(x[j]);
                    }
                    want[r] = sum;
                    bound[r] = 2 * terms * kUnitRoundoff * mag + terms * FLT_MIN;
                }

                // The scalar set's table and its lookups: every set must sum a given table in
                // exactly the same order.
                std::vector<float> scalar_y(rows);
                Table scalar_table(m, 0);
                if (a.uses_table()) {
                    scalar_table.build(scalar, a, x.data());
                    scalar_table.product(scalar, a, scalar_y.data(), 0, rows);
                }
                for (const KernelSet* set : available_kernels()) {
                    INFO("set " << set->name << ", " << c.codebooks << "x" << c.bits << " g"
                                << c.group_size << ", " << rows << " x " << cols);
                    // The whole product, and rows [1, rows - 1) with the rest left alone.
                    const float canary = -7.0f;
                    std::vector<float> y(rows, canary), part(rows, canary);
                    std::vector<double> allowed = bound;
                    const size_t r0 = rows > 2 ? 1 : 0, r1 = rows > 2 ? rows - 1 : rows;
                    if (a.uses_table()) {
                        Table table(m, 99), split(m, -99);
                        table.build(*set, a, x.data());
                        // In two pieces, as the transformer splits it over threads.
                        const size_t blocks = a.table_blocks();
                        split.build(*set, a, x.data(), blocks / 2, blocks);
                        split.build(*set, a, x.data(), 0, blocks / 2);
                        CHECK(table == split);
                        table.product(*set, a, y.data(), 0, rows);
                        table.product(*set, a, part.data(), r0, r1);
                        std::vector<float> same_table(rows);
                        scalar_table.product(*set, a, same_table.data(), 0, rows);
                        CHECK(same_table == scalar_y);
                        CHECK(table == scalar_table);  // integer dot products: no set differs
                        CHECK(y == scalar_y);
                        // Threads split a product by its halves: added and scaled, they are
                        // the product bit for bit.
                        std::vector<float> halves[2] = {std::vector<float>(rows), std::vector<float>(rows)};
                        const auto in = reinterpret_cast<const uint8_t*>(table.data());
                        for (size_t h = 0; h < 2; h++)
                            set->aqlm_half_sums[h](halves[h].data(), 0, m, in, 0, 1, 0, rows);
                        std::vector<float> combined(rows);
                        kernels::aqlm_combine_halves(combined.data(), a.scales, halves[0].data(),
                                                     halves[1].data(), rows);
                        CHECK(combined == y);
                        for (size_t r = 0; r < rows; r++) allowed[r] += table.rounding(a, x.data(), r);
                    } else {
                        const auto decode = set->product_for(WeightType::AQLM_WIDE);
                        const auto in = reinterpret_cast<const uint8_t*>(x.data());
                        decode(y.data(), 0, m, in, 0, 1, 0, rows);
                        decode(part.data(), 0, m, in, 0, 1, r0, r1);
                    }
                    size_t bad = 0;
                    for (size_t r = 0; r < rows; r++) {
                        if (!(std::fabs(y[r] - want[r]) <= allowed[r])) {
                            if (bad++ == 0) FAIL_CHECK("row " << r << ": " << y[r] << " vs " << want[r]);
                        }
                        const bool inside = r >= r0 && r < r1;
                        if (inside ? part[r] != y[r] : part[r] != canary) {
                            if (bad++ == 0) FAIL_CHECK("row range: row " << r << " is " << part[r]);
                        }
                    }
                    CHECK(bad == 0);
                }
            }
}

TEST_CASE("AQLM table layout: several runs and tiles, and any row range", "[aqlm]") {
    // 64 steps per tile (16 KiB of tables), 8 blocks of 64 rows per run. 541 rows are a full run,
    // a short one and a short last block. 2x8: 600 columns are 75 groups, 150 steps: two full
    // tiles and a short one ending in a short table block (3 groups). 2x4: 1100 columns (138
    // groups, the last padded) are 276 steps, four tiles and a short one.
    const std::pair<Config3, size_t> cases[] = {{{2, 8, 8}, 600}, {{2, 4, 8}, 1100}};
    for (const auto& [c, cols] : cases) {
        const size_t rows = 541;
        INFO(c.codebooks << "x" << c.bits << ", " << rows << " x " << cols);
        const AqlmMatrix q = random_aqlm(rows, cols, c, cols + c.bits);
        Model owner;
        const Matrix m = pack_aqlm(q, owner, "test");
        const AqlmPacked& a = m.aqlm();
        REQUIRE(a.padded_rows() > AqlmPacked::run_blocks * AqlmPacked::row_block);
        REQUIRE(a.steps() > 2 * a.tile_steps());
        REQUIRE(a.steps() % a.tile_steps() % a.table_block_steps() != 0);
        CHECK(same(unpack_aqlm(m), q));
        // The layout is a permutation: every code has its own place.
        std::vector<bool> used(a.padded_rows() * a.steps());
        size_t collisions = 0;
        for (size_t r = 0; r < a.padded_rows(); r++)
            for (size_t i = 0; i < q.shape.groups(); i++)
                for (size_t k = 0; k < c.codebooks; k++) {
                    const size_t at = a.code_index(r, i, k);
                    if (at >= used.size() || used[at]) collisions++;
                    else used[at] = true;
                }
        CHECK(collisions == 0);

        std::vector<float> x = random_vector(a.padded_cols(), cols);
        std::fill(x.begin() + std::ptrdiff_t(cols), x.end(), 0.0f);
        const KernelSet& scalar = scalar_kernels();
        Table table(m, 0);
        table.build(scalar, a, x.data());
        std::vector<double> want(rows);
        std::vector<float> w(cols);
        for (size_t r = 0; r < rows; r++) {
            m.row_to_f32(r, w.data());
            double sum = 0;
            for (size_t j = 0; j < cols; j++) sum += double(w[j]) * x[j];
            want[r] = sum;
        }
        // The rounding bound of the test above, loosely; a wrong layout gives unrelated values.
        std::vector<float> whole(rows);
        table.product(scalar, a, whole.data(), 0, rows);
        size_t far = 0;
        for (size_t r = 0; r < rows; r++)
            if (!(std::fabs(whole[r] - want[r]) <=
                  table.rounding(a, x.data(), r) + 1e-4 * (1 + std::fabs(want[r]))))
                far++;
        CHECK(far == 0);
        for (const KernelSet* set : available_kernels()) {
            INFO("set " << set->name);
            // Pieces as the transformer's threads take them (whole blocks) and odd ones, starting
            // inside blocks and runs; each must give exactly the whole product's rows.
            std::vector<float> y(rows, -7.0f);
            const size_t edges[] = {0, 16, 17, 64, 496, 512, 520, 523, 536, rows};
            for (size_t e = 0; e + 1 < std::size(edges); e++)
                table.product(*set, a, y.data(), edges[e], edges[e + 1]);
            CHECK(y == whole);
            // The halves as threads take them (Transformer::multiply), each from a table that
            // holds only its own half's blocks (the rest filled with junk and NaN scales), in the
            // same pieces: added and scaled, the whole product. Both halves end inside a tile.
            const size_t half = kernels::aqlm_half_blocks(a), blocks = a.table_blocks();
            REQUIRE(half * a.table_block_steps() % a.tile_steps() != 0);
            std::vector<float> halves[2] = {std::vector<float>(rows, -7.0f), std::vector<float>(rows, -7.0f)};
            for (size_t h = 0; h < 2; h++) {
                Table own(m, h ? 99 : -99);
                own.build(*set, a, x.data(), h ? half : 0, h ? blocks : half);
                const auto in = reinterpret_cast<const uint8_t*>(own.data());
                for (size_t e = 0; e + 1 < std::size(edges); e++)
                    set->aqlm_half_sums[h](halves[h].data(), 0, m, in, 0, 1, edges[e], edges[e + 1]);
            }
            std::vector<float> combined(rows);
            kernels::aqlm_combine_halves(combined.data(), a.scales, halves[0].data(), halves[1].data(), rows);
            CHECK(combined == whole);
        }
    }
}

TEST_CASE("AQLM tables: int8 entries rounded half to even, NaN inputs as 0, the same in every set",
          "[aqlm]") {
    // Inputs and codebooks that the integer rounding keeps exact: in each group only inputs 0 and
    // 1 are nonzero, x0 = 1 / 127 and x1 = 1 (so x8 = 1 and 127); codebook column 0 holds small
    // integers, column 1 zeros, and column 2 (whose input is 0) one entry L = codebook_limit(),
    // so the codebook's int16 values are its own. Then d[k] = codebook[m][k][0], the largest 254,
    // and entries are d / 2, with ties where d is odd.
    for (const Config3 c : {Config3{2, 8, 8}, Config3{1, 4, 8}, Config3{2, 2, 3}}) {
        INFO(c.codebooks << "x" << c.bits << " g" << c.group_size);
        const size_t rows = 70, cols = 11 * c.group_size;  // 11 groups: table blocks of 8 and 3
        AqlmMatrix q = random_aqlm(rows, cols, c, 3);
        AqlmPacked shape;
        shape.shape = q.shape;
        const int32_t limit = shape.codebook_limit();
        const size_t entries = q.shape.entries(), g = c.group_size;
        std::fill(q.codebooks.begin(), q.codebooks.end(), 0.0f);
        for (size_t m = 0; m < c.codebooks; m++) {
            for (size_t k = 0; k < entries; k++)
                q.codebooks[(m * entries + k) * g] = k == 0 ? 254.0f : float(int(k * 37 % 255) - 127);
            q.codebooks[m * entries * g + 2] = float(limit);
        }
        Model owner;
        const Matrix m = pack_aqlm(q, owner, "test");
        const AqlmPacked& a = m.aqlm();
        std::vector<float> x(a.padded_cols(), 0.0f);
        for (size_t i = 0; i < q.shape.groups(); i++) {
            x[i * g] = 1.0f / 127.0f;
            x[i * g + 1] = 1.0f;
        }
        Table want(m, 0);
        want.build(scalar_kernels(), a, x.data());
        const float scale = (1.0f / 127.0f * 1.0f) * (254.0f / 127.0f);
        for (size_t b = 0; b < a.table_scales(); b++) CHECK(want.scales[b] == scale);
        for (size_t i = 0; i < q.shape.groups(); i++)
            for (size_t cb = 0; cb < c.codebooks; cb++) {
                const int8_t* t = want.data() + (i * c.codebooks + cb) * AqlmPacked::table_entries;
                for (size_t k = 0; k < AqlmPacked::table_entries; k++) {
                    const int expected =
                        k < entries ? int(std::nearbyint(0.5 * q.codebooks[(cb * entries + k) * g])) : 0;
                    if (t[k] != expected)
                        FAIL_CHECK("group " << i << " codebook " << cb << " entry " << k << ": "
                                            << int(t[k]) << ", want " << expected);
                }
            }
        // A NaN input counts as 0 and leaves its block's scale alone: here it meets zeros.
        std::vector<float> with_nan = x;
        with_nan[5 * g + 1] = NAN;
        for (const KernelSet* set : available_kernels()) {
            INFO("set " << set->name);
            Table got(m, 55), nan_table(m, 55);
            got.build(*set, a, x.data());
            CHECK(got == want);
            nan_table.build(*set, a, with_nan.data());
            CHECK(nan_table == want);
        }
        // All-zero input: zero scales, zero tables, zero products.
        const std::vector<float> zero(a.padded_cols(), 0.0f);
        for (const KernelSet* set : available_kernels()) {
            INFO("set " << set->name);
            Table t(m, 55);
            t.build(*set, a, zero.data());
            CHECK(std::all_of(t.scales, t.scales + a.table_scales(), [](float s) { return s == 0.0f; }));
            CHECK(std::all_of(t.data(), t.data() + a.steps() * AqlmPacked::table_entries,
                              [](int8_t v) { return v == 0; }));
            std::vector<float> y(rows, 1.0f);
            t.product(*set, a, y.data(), 0, rows);
            CHECK(std::all_of(y.begin(), y.end(), [](float v) { return v == 0.0f; }));
        }
    }
}

// ---- GGUF -----------------------------------------------------------------------------------

namespace {

// tiny_config (dim 16, hidden 36: ffn_down's rows are 4 columns short of whole groups, its
// gate and up have 36 rows, not a multiple of 8) with AQLM layer matrices of random content.
std::unique_ptr<Model> aqlm_test_model(Config3 c, bool shared_classifier = true) {
    auto model = test::random_test_model(test::tiny_config(), 3, shared_classifier);
    uint64_t seed = 1;
    for (const auto& [name, m] : gguf_layer_matrices(*model))
        *m = pack_aqlm(random_aqlm(m->rows, m->cols, c, seed++), *model, name);
    std::vector<std::string>& pieces = model->vocab.pieces;
    for (int i = 0; i < model->config.vocab_size; i++) pieces.push_back("t" + std::to_string(i));
    pieces[1] = "\n<s>\n";
    pieces[2] = "\n</s>\n";
    model->vocab.scores.assign(pieces.size(), 0.0f);
    return model;
}

using Metadata = std::vector<std::pair<std::string, gguf::Value>>;
using Tensors = std::vector<gguf::WriteTensor>;

// A file parsed and written again after `edit`, its tensor data carried over in host order.
std::string rebuild(const std::string& bytes, const std::function<void(Metadata&, Tensors&)>& edit) {
    const gguf::GgufFile f(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "in");
    Metadata kv;
    for (const gguf::KeyValue& e : f.metadata()) kv.emplace_back(e.key, f.value(e));
    std::deque<std::vector<uint8_t>> storage;
    Tensors tensors;
    for (const gguf::TensorInfo& t : f.tensors()) {
        const size_t width = t.type->block_bytes;
        REQUIRE(t.type->block_values == 1);  // F32, F16, I8, I16: no Q8_0 at dim 16
        std::vector<uint8_t>& data = storage.emplace_back(t.bytes);
        for (size_t i = 0; i < size_t(t.elements); i++) {
            const uint64_t v = read_uint(f.data() + t.file_offset + i * width, width, f.byte_order());
            write_uint(&data[i * width], v, width, host_byte_order());
        }
        tensors.push_back({t.name, std::vector<uint64_t>(t.ne, t.ne + t.n_dims), t.type->id, data.data()});
    }
    edit(kv, tensors);
    return gguf::write_gguf(kv, tensors, ByteOrder::Little);
}

gguf::WriteTensor& tensor_named(Tensors& t, const std::string& name) {
    for (gguf::WriteTensor& w : t)
        if (w.name == name) return w;
    FAIL("no tensor " << name);
    return t.front();
}

void set_key(Metadata& kv, const std::string& key, gguf::Value v) {
    for (auto& [k, value] : kv)
        if (k == key) value = std::move(v);
}

void drop_key(Metadata& kv, const std::string& key) {
    kv.erase(std::remove_if(kv.begin(), kv.end(), [&](const auto& e) { return e.first == key; }),
             kv.end());
}

void drop_tensor(Tensors& t, const std::string& name) {
    t.erase(std::remove_if(t.begin(), t.end(), [&](const auto& e) { return e.name == name; }),
            t.end());
}

std::string load_error(const std::string& bytes) {
    return error_of([&] { load_model(borrow_memory(bytes.data(), bytes.size(), "aqlm.gguf")); });
}

}  // namespace

TEST_CASE("AQLM models round-trip through GGUF in both byte orders", "[aqlm]") {
    // 2x8 (I8 codes, top bit set) and 1x16 g1 (I16 codes up to 65535, a small codebook per value).
    for (const Config3& c : {Config3{2, 8, 8}, Config3{1, 16, 1}}) {
        auto original = aqlm_test_model(c, false);
        GgufWriteOptions o;
        o.matrix_type = WeightType::Q8_0;  // dim 16: embedding and classifier stay F32
        for (bool big_endian : {false, true}) {
            o.big_endian = big_endian;
            std::vector<std::string> fallbacks;
            const std::string bytes = write_gguf_model(*original, o, &fallbacks);
            CHECK(fallbacks == std::vector<std::string>{"token_embd.weight", "output.weight"});
            const gguf::GgufFile f(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "f");
            CHECK(f.value(*f.find("aqlm.codebooks")).as_int() == int64_t(c.codebooks));
            CHECK(f.value(*f.find("aqlm.bits")).as_int() == int64_t(c.bits));
            CHECK(f.value(*f.find("aqlm.group_size")).as_int() == int64_t(c.group_size));
            const gguf::TensorInfo* codes = f.find_tensor("blk.1.ffn_down.weight.codes");
            REQUIRE(codes);
            CHECK(std::string(codes->type->name) == (c.bits <= 8 ? "I8" : "I16"));
            CHECK(codes->shape() == "[" + std::to_string(c.codebooks) + ", " +
                                        std::to_string((36 + c.group_size - 1) / c.group_size) +
                                        ", 16]");
            CHECK(f.find_tensor("blk.1.ffn_down.weight.codebooks")->shape() ==
                  "[" + std::to_string(c.group_size) + ", " +
                      std::to_string(size_t(1) << c.bits) + ", " + std::to_string(c.codebooks) + "]");
            CHECK(std::string(f.find_tensor("blk.0.attn_q.weight.codebooks")->type->name) == "F16");
            CHECK(std::string(f.find_tensor("blk.0.attn_q.weight.scales")->type->name) == "F32");
            CHECK(f.find_tensor("blk.0.attn_q.weight") == nullptr);

            for (bool writable : {false, true}) {
                INFO(c.codebooks << "x" << c.bits << (big_endian ? " big" : " little")
                                 << "-endian, " << (writable ? "writable" : "read-only"));
                auto loaded = writable ? load_model(own_memory(bytes, "a.gguf"))
                                       : load_model(borrow_memory(bytes.data(), bytes.size(), "a.gguf"));
                CHECK(loaded->format == "gguf aqlm " + std::to_string(c.codebooks) + "x" +
                                            std::to_string(c.bits) + " g" +
                                            std::to_string(c.group_size) +
                                            (big_endian ? " big-endian" : ""));
                const auto want = gguf_layer_matrices(*original);
                const auto got = gguf_layer_matrices(*loaded);
                REQUIRE(got.size() == want.size());
                for (size_t i = 0; i < want.size(); i++) {
                    INFO(want[i].first);
                    CHECK(same(unpack_aqlm(*got[i].second), unpack_aqlm(*want[i].second)));
                }
                CHECK(loaded->weights.classifier.type == WeightType::F32);
                CHECK(write_gguf_model(*loaded, o) == bytes);
            }
        }
    }
    // Codebooks that are not all halves are kept exactly, as F32.
    auto model = aqlm_test_model({2, 4, 8});
    AqlmMatrix q = unpack_aqlm(model->weights.layers[0].wq);
    q.codebooks[3] = 1.0f / 3.0f;
    model->weights.layers[0].wq = pack_aqlm(q, *model, "wq");
    const std::string bytes = write_gguf_model(*model, GgufWriteOptions{});
    auto loaded = load_model(borrow_memory(bytes.data(), bytes.size(), "f32.gguf"));
    CHECK(same(unpack_aqlm(loaded->weights.layers[0].wq), q));
    // One configuration per file.
    model->weights.layers[1].wk = pack_aqlm(random_aqlm(8, 16, {1, 8, 8}, 1), *model, "wk");
    CHECK(error_of([&] { write_gguf_model(*model, GgufWriteOptions{}); })
              .find("AQLM matrices of different configurations") != std::string::npos);
}

TEST_CASE("bad AQLM tensors are refused with one-line errors naming the file", "[aqlm]") {
    const std::string good = write_gguf_model(*aqlm_test_model({2, 4, 8}), GgufWriteOptions{});
    REQUIRE(load_error(good) == "no error");
    auto expect = [&](const std::function<void(Metadata&, Tensors&)>& edit, const std::string& problem) {
        const std::string error = load_error(rebuild(good, edit));
        INFO(error);
        CHECK(error.rfind("aqlm.gguf: ", 0) == 0);
        CHECK(error.find(problem) != std::string::npos);
        CHECK(error.find('\n') == std::string::npos);
    };
    const std::string q = "blk.0.attn_q.weight";
    // Stand-in tensor data, more than any edited shape below needs.
    std::vector<uint8_t> bytes8(1024, 3);
    std::vector<uint16_t> bytes16(1024, 3);
    expect([&](Metadata&, Tensors& t) { drop_tensor(t, q + ".codebooks"); },
           "missing tensor '" + q + ".codebooks'");
    expect([&](Metadata&, Tensors& t) { tensor_named(t, q + ".codes").shape = {2, 1, 16}; },
           "tensor '" + q + ".codes' has shape [2, 1, 16], expected [2, 2, 16] (16 columns in groups of 8)");
    expect(
        [&](Metadata&, Tensors& t) {
            tensor_named(t, q + ".codes").shape = {2, 3, 16};
            tensor_named(t, q + ".codes").data = bytes8.data();
        },
        "expected [2, 2, 16]");
    expect([&](Metadata&, Tensors& t) { tensor_named(t, q + ".codebooks").shape = {8, 8, 2}; },
           "tensor '" + q + ".codebooks' has shape [8, 8, 2], expected [8, 16, 2]");
    expect([&](Metadata&, Tensors& t) { tensor_named(t, q + ".scales").shape = {8, 2}; },
           "tensor '" + q + ".scales' has shape [8, 2], expected [16]");
    expect(
        [&](Metadata&, Tensors& t) {
            tensor_named(t, q + ".codes").type = gguf::type_i16;
            tensor_named(t, q + ".codes").data = bytes16.data();
        },
        "tensor '" + q + ".codes' has type I16; 4-bit AQLM codes are stored as I8");
    expect(
        [&](Metadata&, Tensors& t) {
            tensor_named(t, q + ".scales").type = gguf::type_i8;
            tensor_named(t, q + ".scales").data = bytes8.data();
        },
        "tensor '" + q + ".scales' has type I8; AQLM codebooks and scales are F16 or F32");
    // Codes in range for 4-bit codebooks are 0..15; an int8 -1 is 255, not -1.
    for (uint8_t code : {uint8_t(16), uint8_t(0xFF)})
        expect(
            [&](Metadata&, Tensors& t) {
                std::vector<uint8_t>& codes = bytes8;
                codes[5] = code;
                tensor_named(t, q + ".codes").data = codes.data();
            },
            "tensor '" + q + "': AQLM code " + std::to_string(code) + " at index 5 is out of range for 4-bit codebooks");
    expect([](Metadata& kv, Tensors&) { drop_key(kv, "aqlm.bits"); },
           "missing required metadata key 'aqlm.bits'");
    expect([](Metadata& kv, Tensors&) { set_key(kv, "aqlm.bits", gguf::Value::u32(17)); },
           "'aqlm.bits' = 17 is out of range (1..16)");
    expect([](Metadata& kv, Tensors&) { set_key(kv, "aqlm.group_size", gguf::Value::u32(0)); },
           "'aqlm.group_size' = 0 is out of range");
    expect([](Metadata& kv, Tensors&) { set_key(kv, "aqlm.bits", gguf::Value::string("4")); },
           "'aqlm.bits' is a string, expected an integer");
    std::vector<float> plain(16 * 16, 0.5f);
    expect([&](Metadata&, Tensors& t) { t.push_back({q, {16, 16}, gguf::type_f32, plain.data()}); },
           "tensor '" + q + "' is stored both plain and as AQLM");
    expect([&](Metadata&, Tensors& t) { t.push_back({"blk.0.attn_norm.weight.codes", {1}, gguf::type_i8, bytes8.data()}); },
           "unexpected tensor 'blk.0.attn_norm.weight.codes'");
}

// ---- whole models -----------------------------------------------------------------------------

namespace {

std::vector<int> greedy(const Model& model, const KernelSet& kernels, int steps) {
    Transformer run(model, kernels);
    Sampler sampler(model.config.vocab_size, 0.0f, 0.0f, 1);
    std::vector<int> tokens{1};
    for (int pos = 0; pos < steps; pos++) tokens.push_back(sampler.sample(run.forward(tokens.back(), pos)));
    return tokens;
}

}  // namespace

TEST_CASE("a tiny model quantized to AQLM 2x8 runs the same on every kernel set and from its file",
          "[aqlm]") {
    auto model = test::random_test_model(test::tiny_config(), 9);
    const KernelSet& scalar = scalar_kernels();
    AqlmConfig config;
    config.max_iterations = 2;
    std::vector<LayerResult> results;
    quantize_layers_aqlm(*model, collect_input_importance(*model, scalar, 40, 1), config, nullptr,
                         [&](const LayerResult& r) { results.push_back(r); });
    REQUIRE(results.size() == 14);
    CHECK(results[6].name == "blk.0.ffn_up");
    for (const LayerResult& r : results) {
        CHECK(r.relative_error < 0.2);
        CHECK(r.weights > 0);
    }
    for (const auto& [name, m] : gguf_layer_matrices(*model)) CHECK(m->type == WeightType::AQLM);

    const std::vector<int> tokens = greedy(*model, scalar, 24);
    for (const KernelSet* set : available_kernels()) {
        INFO("set " << set->name);
        CHECK(greedy(*model, *set, 24) == tokens);
    }
    // With threads: rows and the table split across the pool, same tokens.
    {
        ThreadPool pool(3);
        Transformer run(*model, scalar, &pool);
        Sampler sampler(model->config.vocab_size, 0.0f, 0.0f, 1);
        int token = 1;
        for (int pos = 0; pos < 24; pos++) {
            token = sampler.sample(run.forward(token, pos));
            CHECK(token == tokens[size_t(pos) + 1]);
        }
    }
    std::vector<std::string>& pieces = model->vocab.pieces;
    for (int i = 0; i < model->config.vocab_size; i++) pieces.push_back("t" + std::to_string(i));
    model->vocab.scores.assign(pieces.size(), 0.0f);
    const std::string bytes = write_gguf_model(*model, GgufWriteOptions{});
    auto loaded = load_model(borrow_memory(bytes.data(), bytes.size(), "tiny.gguf"));
    CHECK(greedy(*loaded, scalar, 24) == tokens);
}

TEST_CASE("random AQLM layers: the asked shape, deterministic for a seed, and they run", "[aqlm]") {
    AqlmConfig config;  // 2x8 g8
    auto random_model = [&](uint64_t seed) {
        auto model = test::random_test_model(test::tiny_config(), 5);
        config.seed = seed;
        size_t calls = 0;
        randomize_layers_aqlm(*model, config, [&](const LayerResult& r) {
            calls++;
            CHECK(r.stored_bytes > 0);
        });
        CHECK(calls == 14);
        return model;
    };
    auto a = random_model(1), b = random_model(1), c = random_model(2);
    const auto ma = gguf_layer_matrices(*a), mb = gguf_layer_matrices(*b), mc = gguf_layer_matrices(*c);
    for (size_t i = 0; i < ma.size(); i++) {
        INFO(ma[i].first);
        REQUIRE(ma[i].second->type == WeightType::AQLM);
        const AqlmShape& s = ma[i].second->aqlm().shape;
        CHECK((s.codebooks == 2 && s.bits == 8 && s.group_size == 8));
        CHECK(same(unpack_aqlm(*ma[i].second), unpack_aqlm(*mb[i].second)));
        CHECK(unpack_aqlm(*ma[i].second).codes != unpack_aqlm(*mc[i].second).codes);
    }
    // They run as their weights say: logits close to those of an fp32 copy of the same weights
    // (through the reference dequantizer), the same for the same seed, others for another seed.
    // Tolerance 0.1 relative RMS: the tables round each input block and each table entry to
    // int8 (up to 1/254 of the block's largest), about 1% per product; over the 14 products of two
    // layers that compounds to 3% here. A wrong code, codebook or scale gives errors of order 1.
    auto logits = [](const Model& m) {
        Transformer run(m, scalar_kernels());
        std::vector<float> out;
        for (int pos = 0; pos < 8; pos++) {
            const float* l = run.forward((pos * 7 + 1) % m.config.vocab_size, pos);
            out.insert(out.end(), l, l + m.config.vocab_size);
        }
        return out;
    };
    auto f32_copy = random_model(1);
    for (const auto& [name, m] : gguf_layer_matrices(*f32_copy)) {
        float* values = static_cast<float*>(f32_copy->allocate(m->rows * m->cols * sizeof(float)));
        for (size_t r = 0; r < m->rows; r++) m->row_to_f32(r, values + r * m->cols);
        *m = weight_matrix(WeightType::F32, values, m->rows, m->cols);
    }
    const std::vector<float> la = logits(*a), want = logits(*f32_copy);
    const size_t vocab = size_t(a->config.vocab_size);
    DivergenceMeter meter;
    for (size_t p = 0; p < 8; p++) meter.add(&want[p * vocab], &la[p * vocab], vocab, 0);
    CHECK(meter.relative_rms() < 0.1);
    CHECK(la == logits(*b));
    CHECK(la != logits(*c));
}

TEST_CASE("stories260K quantized to AQLM 2x8 is closer to the original than round-to-nearest 2-bit",
          "[aqlm][models][slow]") {
    const std::string path = test::model_path("stories260K.bin");
    auto reference = load_model_file(path), aqlm = load_model_file(path), rtn = load_model_file(path);
    const KernelSet& kernels = select_kernels("auto");
    // The initialisation alone (residual k-means): the alternation rounds' joint codebook solves
    // would take minutes under qemu, and the quantizer's own tests cover them.
    AqlmConfig config;
    config.max_iterations = 0;
    ThreadPool pool(2);
    quantize_layers_aqlm(*aqlm, collect_input_importance(*aqlm, kernels, 128, 1), config, &pool);
    quantize_layers_rtn2(*rtn, 8);

    DivergenceMeter aqlm_meter, rtn_meter;
    Transformer ref_run(*reference, kernels), aqlm_run(*aqlm, kernels), rtn_run(*rtn, kernels);
    Sampler sampler(reference->config.vocab_size, 1.0f, 1.0f, 7);
    const size_t n = size_t(reference->config.vocab_size);
    std::vector<float> ref_logits(n), probs(n);
    int token = 1;
    for (int pos = 0; pos < 256; pos++) {
        const float* r = ref_run.forward(token, pos);
        ref_logits.assign(r, r + n);
        probs = ref_logits;
        const int next = sampler.sample(probs.data());
        aqlm_meter.add(ref_logits.data(), aqlm_run.forward(token, pos), n, next);
        rtn_meter.add(ref_logits.data(), rtn_run.forward(token, pos), n, next);
        token = next;
    }
    INFO("KL: AQLM 2x8 " << aqlm_meter.kl_divergence() << ", RTN 2-bit g8 " << rtn_meter.kl_divergence());
    CHECK(aqlm_meter.kl_divergence() < 0.5 * rtn_meter.kl_divergence());
    CHECK(aqlm_meter.top1_agreement() > rtn_meter.top1_agreement());

    // Every kernel set runs the quantized model alike. The AQLM products are the same bit for bit
    // in every set, but attention's dot products and the Q8_0 classifier round in each set's own
    // order, and the int8 steps of the next product can turn such a last-bit difference into one
    // step: so over the same tokens the sets must agree closely, and greedy decoding must give
    // the same first tokens.
    const KernelSet& scalar = scalar_kernels();
    Transformer scalar_run(*aqlm, scalar);
    std::vector<int> tokens{1}, scalar_greedy;
    std::vector<std::vector<float>> scalar_logits;
    Sampler greedy_sampler(reference->config.vocab_size, 0.0f, 0.0f, 1);
    for (int pos = 0; pos < 128; pos++) {
        const float* l = scalar_run.forward(tokens.back(), pos);
        scalar_logits.emplace_back(l, l + n);
        probs.assign(l, l + n);
        tokens.push_back(sampler.sample(probs.data()));
    }
    for (const KernelSet* set : available_kernels()) {
        INFO("set " << set->name);
        DivergenceMeter meter;
        Transformer run(*aqlm, *set);
        for (int pos = 0; pos < 128; pos++)
            meter.add(scalar_logits[size_t(pos)].data(), run.forward(tokens[size_t(pos)], pos), n,
                      tokens[size_t(pos) + 1]);
        INFO("KL against the scalar set " << meter.kl_divergence() << ", top-1 " << meter.top1_agreement());
        CHECK(meter.kl_divergence() < 1e-3);  // against 0.3 for the quantization itself
        CHECK(meter.top1_agreement() >= 0.98);
        CHECK(greedy(*aqlm, *set, 32) == greedy(*aqlm, scalar, 32));
    }
}

// A prompt's columns share one pass over the codes; each must come out as it would alone.
TEST_CASE("AQLM products give every column the single-column result bit for bit", "[aqlm]") {
    for (const Config3& c : {Config3{2, 8, 8}, Config3{1, 8, 8}, Config3{2, 4, 3}}) {
        const size_t rows = 150, cols = 100, columns = 5;
        const AqlmMatrix q = random_aqlm(rows, cols, c, 31);
        Model owner;
        const Matrix m = pack_aqlm(q, owner, "test");
        const size_t stride = kernels::aqlm_input_bytes(m);
        for (const KernelSet* set : available_kernels()) {
            std::vector<uint8_t> storage(stride * columns + 64);
            uint8_t* in = storage.data() + (64 - reinterpret_cast<uintptr_t>(storage.data()) % 64) % 64;
            for (size_t k = 0; k < columns; k++) {
                const std::vector<float> x = random_vector(cols, cols + k);
                set->prepare_for(InputFormat::AqlmTable)(in + k * stride, m, x.data(), 0,
                                                         m.aqlm().table_blocks());
            }
            const auto product = set->product_for(WeightType::AQLM);
            std::vector<float> together(columns * rows), alone(columns * rows);
            product(together.data(), rows, m, in, stride, columns, 64, rows);
            for (size_t k = 0; k < columns; k++)
                product(alone.data() + k * rows, rows, m, in + k * stride, stride, 1, 64, rows);
            INFO("set " << set->name << ", " << c.codebooks << "x" << c.bits);
            CHECK(std::memcmp(together.data() + 64, alone.data() + 64,
                              (columns * rows - 64) * sizeof(float)) == 0);
        }
    }
}

TEST_CASE("AQLM decode products (codes over 8 bits) give every column the single-column result",
          "[aqlm]") {
    // 5 columns: a group of 4 and one alone; an odd input stride; group size 3 takes the reference.
    for (const Config3& c : {Config3{1, 16, 8}, Config3{2, 10, 8}, Config3{1, 9, 3}}) {
        const size_t rows = 70, cols = 100, columns = 5, stride = cols + 3;
        const AqlmMatrix q = random_aqlm(rows, cols, c, 37);
        Model owner;
        const Matrix m = pack_aqlm(q, owner, "test");
        REQUIRE(m.type == WeightType::AQLM_WIDE);
        std::vector<float> x(stride * columns);
        for (size_t k = 0; k < columns; k++) {
            const std::vector<float> column = random_vector(cols, 7 * k + 1);
            std::copy(column.begin(), column.end(), x.begin() + k * stride);
        }
        const uint8_t* in = reinterpret_cast<const uint8_t*>(x.data());
        const size_t in_stride = stride * sizeof(float);
        std::vector<float> reference(columns * rows);
        scalar_kernels().product_for(m.type)(reference.data(), rows, m, in, in_stride, columns, 0, rows);
        for (const KernelSet* set : available_kernels()) {
            const auto product = set->product_for(m.type);
            std::vector<float> together(columns * rows), alone(columns * rows);
            product(together.data(), rows, m, in, in_stride, columns, 16, rows);
            for (size_t k = 0; k < columns; k++)
                product(alone.data() + k * rows, rows, m, in + k * in_stride, in_stride, 1, 16, rows);
            INFO("set " << set->name << ", " << c.codebooks << "x" << c.bits << " g" << c.group_size);
            for (size_t k = 0; k < columns; k++) {
                CHECK(std::memcmp(together.data() + k * rows + 16, alone.data() + k * rows + 16,
                                  (rows - 16) * sizeof(float)) == 0);
                // The sets add a row's 100 products in another order (8-wide chains): rounding.
                for (size_t r = 16; r < rows; r++)
                    CHECK(together[k * rows + r] ==
                          Approx(reference[k * rows + r]).epsilon(1e-4).margin(1e-5));
            }
        }
    }
}

// Prompts: the batch products decode rows to fp32 and run the set's fp32 product, so each result
// is that product of the dequantized row bit for bit, and within 2 * (cols + 2) * u * sum_j |w_j
// x_j| (+ cols * FLT_MIN, AltiVec's flushing) of the exact sum over the dequantized weights w:
// cols products and cols - 1 additions in any order, fused or not (Higham 3.1), twice for margin.
// Against the single-column product of the tables, which is within the table bound at the top of
// the file of the same exact sum, the two bounds add.
TEST_CASE("AQLM batch products are the fp32 product of the dequantized rows", "[aqlm]") {
    const size_t columns = 5;
    for (const Config3& c : kernel_configs)
        for (size_t rows : {size_t(37), size_t(150)})
            for (size_t cols : {size_t(29), size_t(100)}) {
                const AqlmMatrix q = random_aqlm(rows, cols, c, rows * 7 + cols + c.bits);
                Model owner;
                const Matrix m = pack_aqlm(q, owner, "test");
                const AqlmPacked& a = m.aqlm();
                // Columns an odd stride apart, each zero past cols (the tables read whole groups).
                const size_t stride = a.padded_cols() + 3;
                std::vector<float> x(stride * columns, 0.0f);
                for (size_t k = 0; k < columns; k++) {
                    const std::vector<float> column = random_vector(cols, 11 * k + cols);
                    std::copy(column.begin(), column.end(), x.begin() + std::ptrdiff_t(k * stride));
                }
                const uint8_t* in = reinterpret_cast<const uint8_t*>(x.data());
                const size_t in_stride = stride * sizeof(float);
                std::vector<float> dequantized(rows * cols);
                for (size_t r = 0; r < rows; r++) q.row_to_f32(r, dequantized.data() + r * cols);
                // The fp32 matrix with rows 64 bytes apart, as the batch product lays out its
                // tile: AltiVec's fp32 product adds rows off 16 bytes in another order.
                const size_t f32_stride = (cols + 15) / 16 * 16;
                std::vector<float> f32_rows(rows * f32_stride + 16);
                float* f32_data = f32_rows.data() +
                                  (64 - reinterpret_cast<uintptr_t>(f32_rows.data()) % 64) % 64 / sizeof(float);
                for (size_t r = 0; r < rows; r++)
                    std::copy(&dequantized[r * cols], &dequantized[r * cols] + cols, f32_data + r * f32_stride);
                Matrix f32 = weight_matrix(WeightType::F32, f32_data, rows, cols);
                f32.row_stride = f32_stride * sizeof(float);
                std::vector<double> want(columns * rows), bound(columns * rows);
                for (size_t k = 0; k < columns; k++)
                    for (size_t r = 0; r < rows; r++) {
                        double sum = 0, mag = 0;
                        for (size_t j = 0; j < cols; j++) {
                            const double term = double(dequantized[r * cols + j]) * x[k * stride + j];
                            sum += term;
                            mag += std::fabs(term);
                        }
                        want[k * rows + r] = sum;
                        bound[k * rows + r] =
                            2 * double(cols + 2) * kUnitRoundoff * mag + double(cols) * FLT_MIN;
                    }
                const size_t r0 = rows > 64 ? 64 : 0;  // a range past the first rows (row_align)
                for (const KernelSet* set : available_kernels()) {
                    INFO("set " << set->name << ", " << c.codebooks << "x" << c.bits << " g"
                                << c.group_size << ", " << rows << " x " << cols);
                    const ProductFn batch = set->batch_product_for(m.type);
                    REQUIRE(batch);
                    const float canary = -7.0f;
                    std::vector<float> y(columns * rows, canary), fp32(columns * rows, canary);
                    std::vector<float> alone(columns * rows, canary);
                    batch(y.data(), rows, m, in, in_stride, columns, r0, rows);
                    set->product_for(WeightType::F32)(fp32.data(), rows, f32, in, in_stride,
                                                      columns, r0, rows);
                    CHECK(std::memcmp(y.data(), fp32.data(), y.size() * sizeof(float)) == 0);
                    // Column by column: the same bits.
                    for (size_t k = 0; k < columns; k++)
                        batch(alone.data() + k * rows, rows, m, in + k * in_stride, in_stride, 1, r0, rows);
                    CHECK(std::memcmp(y.data(), alone.data(), y.size() * sizeof(float)) == 0);
                    size_t bad = 0;
                    for (size_t k = 0; k < columns; k++) {
                        const float* xk = x.data() + k * stride;
                        std::vector<float> single(rows);
                        Table table(m, 0);
                        if (a.uses_table()) {
                            table.build(*set, a, xk);
                            table.product(*set, a, single.data(), 0, rows);
                        } else {
                            set->product_for(m.type)(single.data(), 0, m, in + k * in_stride, 0, 1, 0, rows);
                        }
                        for (size_t r = 0; r < rows; r++) {
                            const size_t i = k * rows + r;
                            if (r < r0) {
                                bad += y[i] != canary;
                                continue;
                            }
                            const double table_error = a.uses_table() ? table.rounding(a, xk, r) : 0;
                            // The single-column product's own bound (the top of the file).
                            double magnitude = 0;
                            const size_t groups = q.shape.groups(), g = c.group_size;
                            for (size_t j = 0; j < cols; j++) {
                                double code_sum = 0;
                                for (size_t mm = 0; mm < c.codebooks; mm++)
                                    code_sum += std::fabs(double(
                                        q.codebooks[(mm * q.shape.entries() +
                                                     q.codes[(r * groups + j / g) * c.codebooks + mm]) *
                                                        g + j % g]));
                                magnitude += std::fabs(double(q.scales[r])) * code_sum * std::fabs(xk[j]);
                            }
                            const double terms = double(g + groups * c.codebooks + 2);
                            const double single_bound =
                                2 * terms * kUnitRoundoff * magnitude + terms * FLT_MIN + table_error;
                            if (!(std::fabs(y[i] - want[i]) <= bound[i]) ||
                                !(std::fabs(double(y[i]) - single[r]) <= bound[i] + single_bound)) {
                                if (bad++ == 0)
                                    FAIL_CHECK("column " << k << " row " << r << ": " << y[i] << " vs "
                                                         << want[i] << " and " << single[r]);
                            }
                        }
                    }
                    CHECK(bad == 0);
                }
            }
}

// A prompt's batches of AQLM weights read the fp32 input through the batch products: the logits
// of an fp32 copy of the dequantized weights, bit for bit. Token by token reads the int8 tables,
// whose rounding (up to 1/254 of a table block's largest input and of its largest entry, about
// 1% of a product; see the top of the file) compounds over the 14 products of the two layers:
// the logits must agree within 0.1 relative RMS, as the tables must with the fp32 copy in
// "random AQLM layers" above (a wrong code, codebook or scale gives errors of order 1), and the
// greedy continuation of the prompt must be the same tokens. Prompts through the tables (avx512's
// larger 2x8 matrices) must give the token-by-token logits bit for bit.
TEST_CASE("AQLM prompts in batches: the fp32 copy's logits, close to token by token", "[aqlm]") {
    for (const Config3& c : {Config3{2, 8, 8}, Config3{1, 16, 8}}) {
        AqlmConfig config;
        config.codebooks = c.codebooks, config.bits = c.bits, config.group_size = c.group_size;
        auto aqlm = test::random_test_model(test::tiny_config(), 5);
        randomize_layers_aqlm(*aqlm, config);
        auto f32_copy = test::random_test_model(test::tiny_config(), 5);
        randomize_layers_aqlm(*f32_copy, config);
        for (const auto& [name, m] : gguf_layer_matrices(*f32_copy)) {
            float* values = static_cast<float*>(f32_copy->allocate(m->rows * m->cols * sizeof(float)));
            for (size_t r = 0; r < m->rows; r++) m->row_to_f32(r, values + r * m->cols);
            *m = weight_matrix(WeightType::F32, values, m->rows, m->cols);
        }
        const size_t vocab = size_t(aqlm->config.vocab_size), count = 20;
        std::vector<int> tokens;
        for (size_t p = 0; p < count; p++) tokens.push_back(int(p * 7 + 1) % int(vocab));
        auto continuation = [&](Transformer& run, const float* logits) {
            Sampler sampler(int(vocab), 0.0f, 0.0f, 1);
            std::vector<float> l(logits, logits + vocab);
            std::vector<int> out;
            for (int pos = int(count); pos < int(count) + 8; pos++) {
                out.push_back(sampler.sample(l.data()));
                const float* next = run.forward(out.back(), pos);
                l.assign(next, next + vocab);
            }
            return out;
        };
        for (const KernelSet* set : available_kernels()) {
            INFO("set " << set->name << ", " << c.codebooks << "x" << c.bits);
            Transformer batched(*aqlm, *set, nullptr, 0, 24), copy(*f32_copy, *set, nullptr, 0, 24);
            Transformer single(*aqlm, *set, nullptr, 0, 1);
            const float* b = batched.forward(tokens.data(), int(count), 0, Transformer::Logits::all);
            const std::vector<float> all(b, b + count * vocab);
            const float* f = copy.forward(tokens.data(), int(count), 0, Transformer::Logits::all);
            CHECK(std::memcmp(all.data(), f, all.size() * sizeof(float)) == 0);
            // The set as it would run matrices above its batch_weights_below: prompts through the
            // tables, as generation reads them.
            KernelSet tables = *set;
            tables.batch_weights_below[size_t(aqlm->weights.layers[0].wq.type)] = 1;
            Transformer tabled(*aqlm, tables, nullptr, 0, 24);
            const float* t = tabled.forward(tokens.data(), int(count), 0, Transformer::Logits::all);
            const std::vector<float> all_tabled(t, t + count * vocab);
            DivergenceMeter meter;
            const float* s = nullptr;
            for (size_t p = 0; p < count; p++) {
                s = single.forward(tokens[p], int(p));
                meter.add(s, &all[p * vocab], vocab, 0);
                CHECK(std::memcmp(s, &all_tabled[p * vocab], vocab * sizeof(float)) == 0);
            }
            INFO("relative RMS " << meter.relative_rms());
            CHECK(meter.relative_rms() < 0.1);
            CHECK(continuation(batched, &all[(count - 1) * vocab]) == continuation(single, s));
        }
    }
}

namespace {

// A 2x8 model whose matrices are large enough for threads (dim 256 and hidden 512 are 4 and 8
// table blocks), vocabulary 64.
std::unique_ptr<Model> threaded_aqlm_model(int seq_len, unsigned seed) {
    Config c = test::tiny_config();
    c.dim = 256, c.hidden_dim = 512, c.n_heads = 8, c.n_kv_heads = 8, c.vocab_size = 64;
    c.seq_len = seq_len;
    auto model = test::random_test_model(c, seed);
    randomize_layers_aqlm(*model, AqlmConfig{});  // 2x8 g8
    return model;
}

}  // namespace

// Threads split a prompt's products by rows, and an AQLM prompt read through the tables by
// columns (each thread prepares its columns' tables and takes them through every product): a
// model whose matrices are large enough for threads gives one thread's logits bit for bit, on
// every set, in both ways of reading an AQLM prompt. 30 positions in batches of 24 and 6: every
// thread of 3 gets columns, an even number but for the last.
TEST_CASE("AQLM prompts on 3 threads: one thread's logits bit for bit", "[aqlm]") {
    auto model = threaded_aqlm_model(32, 11);
    const size_t vocab = size_t(model->config.vocab_size), count = 30;
    std::vector<int> tokens;
    for (size_t p = 0; p < count; p++) tokens.push_back(int(p * 5 + 3) % int(vocab));
    ThreadPool pool(3);
    for (const KernelSet* set : available_kernels())
        for (bool through_tables : {false, true}) {
            INFO("set " << set->name << (through_tables ? ", through the tables" : ", decoded"));
            KernelSet kernels = *set;
            if (through_tables) kernels.batch_weights_below[size_t(WeightType::AQLM)] = 1;
            Transformer one(*model, kernels, nullptr, 0, 24), three(*model, kernels, &pool, 0, 24);
            REQUIRE(three.threads() == 3);
            const float* l1 = one.forward(tokens.data(), int(count), 0, Transformer::Logits::all);
            const std::vector<float> want(l1, l1 + count * vocab);
            const float* l3 = three.forward(tokens.data(), int(count), 0, Transformer::Logits::all);
            CHECK(std::memcmp(want.data(), l3, want.size() * sizeof(float)) == 0);
        }
}

// Generation splits an AQLM product by halves of its table blocks (one half's tables per team of
// threads, each team's rows shared among its threads) and adds the halves: with 2 threads (a
// thread per half) and 3 (two threads share the first half's rows), token by token, one thread's
// logits bit for bit on every set.
TEST_CASE("AQLM generation on 2 and 3 threads: one thread's logits bit for bit", "[aqlm]") {
    auto model = threaded_aqlm_model(16, 12);
    const size_t vocab = size_t(model->config.vocab_size), count = 12;
    for (size_t n_threads : {size_t(2), size_t(3)}) {
        ThreadPool pool{int(n_threads)};
        for (const KernelSet* set : available_kernels()) {
            INFO("set " << set->name << ", " << n_threads << " threads");
            Transformer one(*model, *set, nullptr, 0, 1), many(*model, *set, &pool, 0, 1);
            REQUIRE(size_t(many.threads()) == n_threads);
            size_t differing = 0;
            for (size_t p = 0; p < count; p++) {
                const int token = int(p * 7 + 2) % int(vocab);
                const float* l1 = one.forward(&token, 1, int(p), Transformer::Logits::last);
                const std::vector<float> want(l1, l1 + vocab);
                const float* ln = many.forward(&token, 1, int(p), Transformer::Logits::last);
                if (std::memcmp(want.data(), ln, vocab * sizeof(float)) != 0) differing++;
            }
            CHECK(differing == 0);
        }
    }
}
