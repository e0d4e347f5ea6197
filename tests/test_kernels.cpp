// Every kernel set this CPU runs, checked on random and adversarial data (every length 1..300
// and a few model-sized ones, start pointers off by one element, zeros and magnitudes from 1e-30
// to 1e30, negative-only data, extreme int8 values, halfway cases of the rounding, partial row
// ranges, several input columns, buffers that end exactly at an inaccessible page) against two
// oracles: the scalar set (the weight-type table's reference kernels) where a set promises its
// results bit for bit, and, for every set including the scalar one, an independent sum in double
// precision over the reference dequantizer's values, so that the suite can fail on a host that
// runs nothing but the scalar set.
//
// Tolerances, with u = 2^-24 (float unit roundoff):
// - input preparation (quantization), axpy_f32, and the products of int8-block types (Q8_G,
//   Q8_0): bit-identical to the scalar set. Each block's integer sum is exact and its float steps
//   run in the type's order in every set; quantizers divide or multiply exactly as the reference.
// - fp32 products against the scalar set: |simd - scalar| <= 2 * n * u * sum|w*x|. Any summation
//   order of n products, fused or not, is within gamma_n ~ n * u * sum|w*x| of the exact result
//   (Higham, "Accuracy and Stability of Numerical Algorithms", 3.1), so two orders are within
//   twice that. For n <= 2048 this is <= 2.5e-4 relative.
// - Any product against the double-precision sum of dequantized values: the same gamma bound,
//   with n the number of rounded float steps: cols for fp32, 2 * (blocks + 10) for int8 blocks,
//   whose per-block terms isum * ws * xs are bounded by sum |w_j * x_j| of the block.
// - Every comparison also allows n * FLT_MIN: AltiVec flushes denormal results to zero (the
//   VSCR non-Java mode Linux sets), an error below FLT_MIN per operation.
// The int8 inputs stay in [-127, 127], the range the quantizers produce, which the AVX2 and NEON
// kernels rely on (see dot32 / dot16 there); weights may be any int8.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <new>
#include <random>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels/kernel_sets.hpp"
#include "llamaport/error.hpp"
#include "llamaport/kernels.hpp"
#include "loader/fp16.hpp"
#include "types/f16.hpp"
#include "types/types.hpp"
#include "test_support.hpp"

#if defined(__unix__) || defined(__APPLE__)
#include <sys/mman.h>
#include <unistd.h>
#define LLAMAPORT_TEST_GUARD_PAGES 1
#endif

namespace {

using llamaport::InputFormat;
using llamaport::KernelSet;
using llamaport::Matrix;
using llamaport::WeightType;
using llamaport::test::use_subset;

constexpr double kUnitRoundoff = 1.0 / (1 << 24);

// Where a test buffer starts: `offset` elements past a 64-byte boundary, or (kAtPageEnd) so that
// its last element is the last byte before an inaccessible page.
constexpr size_t kAtPageEnd = SIZE_MAX;

// A copy of `values` placed as asked. Either way nothing follows the last element: AddressSanitizer
// sees a heap read past the end, and at a page end any read past it faults, even under qemu-user
// where there is no sanitizer (that is what catches an AltiVec load of one block too many).
template <typename T>
class Buffer {
public:
    Buffer(const std::vector<T>& values, size_t offset) : n_(values.size()) {
#ifdef LLAMAPORT_TEST_GUARD_PAGES
        if (offset == kAtPageEnd) {
            const size_t page = size_t(sysconf(_SC_PAGESIZE)), bytes = n_ * sizeof(T);
            const size_t data_pages = (bytes + page - 1) / page * page;
            map_size_ = data_pages + page;
            void* map = mmap(nullptr, map_size_, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            REQUIRE(map != MAP_FAILED);
            map_ = static_cast<unsigned char*>(map);
            REQUIRE(mprotect(map_ + data_pages, page, PROT_NONE) == 0);
            data_ = reinterpret_cast<T*>(map_ + data_pages - bytes);
        }
#endif
        if (!map_) {
            if (offset == kAtPageEnd) offset = 0;
            heap_ =
                static_cast<T*>(::operator new((n_ + offset) * sizeof(T), std::align_val_t(64)));
            data_ = heap_ + offset;
        }
        std::copy(values.begin(), values.end(), data_);
    }
    ~Buffer() {
#ifdef LLAMAPORT_TEST_GUARD_PAGES
        if (map_) munmap(map_, map_size_);
#endif
        if (heap_) ::operator delete(heap_, std::align_val_t(64));
    }
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;

    T* data() { return data_; }
    std::vector<T> values() const { return std::vector<T>(data_, data_ + n_); }

private:
    size_t n_;
    T* data_ = nullptr;
    T* heap_ = nullptr;
    unsigned char* map_ = nullptr;
    size_t map_size_ = 0;
};

// Lengths: every one up to 300 (odd, prime, each residue mod 4, 8, 16, 32) and model-sized ones
// (172 is stories260K's hidden_dim). The emulated subset takes every one up to 100 (each residue
// of the widest unrolling, 64, at least once) and the edges around the larger powers of two.
std::vector<size_t> lengths() {
    std::vector<size_t> out;
    for (size_t n = 1; n <= (use_subset ? 100 : 300); n++) out.push_back(n);
    if (use_subset)
        for (size_t n : {127, 128, 129, 172, 255, 256, 257, 300}) out.push_back(n);
    for (size_t n : {511, 512, 768, 1024, 2048}) out.push_back(n);
    return out;
}

enum class Data { unit, negative, zeros, sparse, large, huge, tiny, wide };
// The kinds each test draws its first operand from; the second comes from partner(kind).
const Data all_data[] = {Data::unit,  Data::negative, Data::zeros, Data::sparse,
                         Data::large, Data::huge,     Data::wide};

const char* name(Data d) {
    switch (d) {
        case Data::unit: return "uniform [-1,1]";
        case Data::negative: return "negative only";
        case Data::zeros: return "all zero";
        case Data::sparse: return "mostly zero";
        case Data::large: return "|x| in 1e4..1e17";
        case Data::huge: return "|x| in 1e4..1e30 (times |x| in 1e-30..1e-4)";
        case Data::tiny: return "|x| in 1e-30..1e-4";
        case Data::wide: return "|x| in 1e-15..1e15";
    }
    return "?";
}

// The other operand of a product: products and their sums stay finite (1e17 * 1e17 * 2048 and
// 1e30 * 1e-4 are far below FLT_MAX), and all-zero data meets nonzero data.
Data partner(Data kind) {
    if (kind == Data::zeros) return Data::unit;
    return kind == Data::huge ? Data::tiny : kind;
}

std::vector<float> random_floats(std::mt19937& rng, size_t n, Data kind) {
    std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
    std::uniform_real_distribution<float> exponent(0.0f, 1.0f);
    auto magnitude = [&](float lo, float hi) {
        return std::pow(10.0f, lo + (hi - lo) * exponent(rng));
    };
    std::vector<float> v(n);
    for (float& x : v) {
        const float sign = unit(rng) < 0 ? -1.0f : 1.0f;
        switch (kind) {
            case Data::unit: x = unit(rng); break;
            case Data::negative: x = -std::fabs(unit(rng)) - 1e-3f; break;
            case Data::zeros: x = 0.0f; break;
            case Data::sparse: x = exponent(rng) < 0.9f ? 0.0f : unit(rng); break;
            case Data::large: x = sign * magnitude(4, 17); break;
            case Data::huge: x = sign * magnitude(4, 30); break;
            case Data::tiny: x = sign * magnitude(-30, -4); break;
            case Data::wide: x = sign * magnitude(-15, 15); break;
        }
    }
    return v;
}

std::vector<int8_t> random_q(std::mt19937& rng, size_t n, int lo, int hi) {
    std::uniform_int_distribution<int> dist(lo, hi);
    std::vector<int8_t> v(n);
    for (int8_t& q : v) q = static_cast<int8_t>(dist(rng));
    return v;
}

// The first difference beyond the tolerance, or "" when there is none.
std::string compare(const std::vector<float>& got, const std::vector<float>& want,
                    const std::vector<double>& tolerance) {
    for (size_t i = 0; i < want.size(); i++) {
        const double diff = std::fabs(double(got[i]) - double(want[i]));
        if (!(diff <= tolerance[i]) && !(got[i] == want[i])) {
            std::ostringstream out;
            out.precision(9);
            out << "element " << i << ": got " << got[i] << ", scalar " << want[i] << ", tolerance "
                << tolerance[i];
            return out.str();
        }
    }
    return "";
}

std::vector<const KernelSet*> sets_under_test() { return llamaport::available_kernels(); }

const KernelSet& oracle() { return llamaport::scalar_kernels(); }

// A product's output: `columns` columns of `rows` floats, canaries outside [row_begin, row_end).
constexpr float kCanary = -12345.5f;

// y (columns x rows) = w times each column of `in` (prepared inputs `in_stride` bytes apart),
// rows [begin, end), computed by `product`.
std::vector<float> run_product(llamaport::ProductFn product, const Matrix& w, const uint8_t* in,
                               size_t in_stride, size_t columns, size_t begin, size_t end,
                               size_t y_offset = 0) {
    Buffer<float> y(std::vector<float>(columns * w.rows, kCanary), y_offset);
    product(y.data(), w.rows, w, in, in_stride, columns, begin, end);
    return y.values();
}

// The exact product of row r's dequantized values and x, with sum |w_j * x_j|.
struct Exact {
    double value = 0, magnitude = 0;
};
Exact exact_dot(const Matrix& w, size_t r, const std::vector<float>& x) {
    std::vector<float> row(w.cols);
    w.row_to_f32(r, row.data());
    Exact e;
    for (size_t j = 0; j < w.cols; j++) {
        e.value += double(row[j]) * double(x[j]);
        e.magnitude += std::fabs(double(row[j]) * double(x[j]));
    }
    return e;
}

// Checks y against the double-precision products of the dequantized weights with each column of
// xs (dequantized inputs), allowing `steps` rounded float steps, and the canaries.
std::string check_exact(const std::vector<float>& y, const Matrix& w,
                        const std::vector<std::vector<float>>& xs, size_t begin, size_t end,
                        double steps) {
    std::vector<float> want(y.size(), kCanary);
    std::vector<double> tolerance(y.size(), 0.0);
    for (size_t c = 0; c < xs.size(); c++)
        for (size_t r = begin; r < end; r++) {
            const Exact e = exact_dot(w, r, xs[c]);
            want[c * w.rows + r] = float(e.value);
            // One more unit for rounding the exact value to float.
            tolerance[c * w.rows + r] = (2.0 * steps + 1.0) * kUnitRoundoff * e.magnitude +
                                        double(w.cols) * double(FLT_MIN);
        }
    return compare(y, want, tolerance);
}

// --- products of float types (F32, F16, BF16) ---------------------------------------------------

// Values as a float type stores them (F16 and BF16 rounded to nearest even), and back.
size_t element_bytes(WeightType t) { return t == WeightType::F32 ? 4 : 2; }
std::vector<uint8_t> encode(WeightType t, const std::vector<float>& v) {
    std::vector<uint8_t> out(v.size() * element_bytes(t));
    for (size_t i = 0; i < v.size(); i++) {
        if (t == WeightType::F32) {
            std::memcpy(&out[4 * i], &v[i], 4);
        } else {
            const uint16_t h = t == WeightType::F16 ? llamaport::fp32_to_fp16(v[i])
                                                    : llamaport::fp32_to_bf16(v[i]);
            std::memcpy(&out[2 * i], &h, 2);
        }
    }
    return out;
}
std::vector<float> decoded(WeightType t, const std::vector<float>& v) {
    const auto bytes = encode(t, v);
    std::vector<float> out(v.size());
    llamaport::weight_matrix(t, bytes.data(), 1, v.size()).row_to_f32(0, out.data());
    return out;
}

const WeightType float_types[] = {WeightType::F32, WeightType::F16, WeightType::BF16};

// Data a float type holds without overflow: halves top out at 65504.
bool representable(WeightType t, Data kind) {
    return t != WeightType::F16 || (kind != Data::large && kind != Data::huge && kind != Data::wide);
}

// rows x cols, rows [row_begin, row_end) of `columns` input columns (x: columns x cols); y
// elsewhere stays untouched. Offsets are in elements.
std::string check_floats(const KernelSet& set, WeightType t, const std::vector<float>& w,
                         const std::vector<float>& x, size_t rows, size_t cols, size_t columns,
                         size_t row_begin, size_t row_end, size_t w_offset, size_t x_offset,
                         size_t y_offset) {
    const size_t e = element_bytes(t);
    auto bytes = [e](size_t offset) { return offset == kAtPageEnd ? offset : offset * e; };
    Buffer<uint8_t> wb(encode(t, w), bytes(w_offset)), xb(encode(t, x), bytes(x_offset));
    const Matrix m = llamaport::weight_matrix(t, wb.data(), rows, cols);
    const size_t stride = cols * e;
    const auto got = run_product(set.product_for(t), m, xb.data(), stride, columns, row_begin,
                                 row_end, y_offset);
    const auto want = run_product(oracle().product_for(t), m, xb.data(), stride, columns,
                                  row_begin, row_end);
    std::vector<double> tolerance(want.size(), 0.0);
    std::vector<std::vector<float>> xs;
    const auto x_values = decoded(t, x);
    for (size_t c = 0; c < columns; c++) {
        xs.emplace_back(x_values.begin() + std::ptrdiff_t(c * cols),
                        x_values.begin() + std::ptrdiff_t((c + 1) * cols));
        for (size_t r = row_begin; r < row_end; r++)
            tolerance[c * rows + r] = 2.0 * double(cols) * kUnitRoundoff *
                                          exact_dot(m, r, xs.back()).magnitude +
                                      double(cols) * double(FLT_MIN);
    }
    const std::string against_scalar = compare(got, want, tolerance);
    if (!against_scalar.empty()) return "against the scalar set: " + against_scalar;
    const std::string against_exact = check_exact(got, m, xs, row_begin, row_end, double(cols));
    return against_exact.empty() ? "" : "against the exact product: " + against_exact;
}

std::string check_f32(const KernelSet& set, const std::vector<float>& w,
                      const std::vector<float>& x, size_t rows, size_t cols, size_t columns,
                      size_t row_begin, size_t row_end, size_t w_offset, size_t x_offset,
                      size_t y_offset) {
    return check_floats(set, WeightType::F32, w, x, rows, cols, columns, row_begin, row_end,
                        w_offset, x_offset, y_offset);
}

Matrix f32_matrix(const Buffer<float>& data, size_t rows, size_t cols) {
    return llamaport::weight_matrix(WeightType::F32, const_cast<Buffer<float>&>(data).data(), rows,
                                    cols);
}

TEST_CASE("float-type products match the scalar set and the exact product", "[kernels]") {
    std::mt19937 rng(20240501);
    for (const KernelSet* set : sets_under_test())
        for (WeightType t : float_types)
            for (Data kind : all_data) {
                if (!representable(t, kind) || !representable(t, partner(kind))) continue;
                for (size_t cols : lengths()) {
                    const size_t rows = 19;  // two lanes of 8 and a tail
                    const auto w = random_floats(rng, rows * cols, kind);
                    const auto x = random_floats(rng, 2 * cols, partner(kind));
                    for (size_t offset = 0; offset < 4; offset++) {
                        // Offsets: all aligned, w / x / y each one element off.
                        const size_t wo = offset == 1, xo = offset == 2, yo = offset == 3;
                        const size_t begin = offset, end = rows - (offset & 1);
                        const size_t columns = 1 + offset % 2;
                        INFO("set " << set->name << ", " << llamaport::weight_type_name(t) << ", "
                                    << name(kind) << ", cols " << cols << ", rows [" << begin << ","
                                    << end << "), columns " << columns << ", offsets w " << wo
                                    << " x " << xo << " y " << yo);
                        CHECK(check_floats(*set, t, w, x, rows, cols, columns, begin, end, wo, xo,
                                           yo) == "");
                    }
                }
            }
}

TEST_CASE("a product with an empty row range writes nothing", "[kernels]") {
    for (const KernelSet* set : sets_under_test()) {
        INFO("set " << set->name);
        std::vector<float> w(8 * 5, 1.0f), x(5, 1.0f);
        CHECK(check_f32(*set, w, x, 8, 5, 1, 3, 3, 0, 0, 0) == "");
    }
}

// Threads split the rows at any multiple of the type's row alignment: a row's result must not
// depend on where the split falls, or the tokens would depend on the thread count.
TEST_CASE("fp32 products give every row the same result whatever the row range", "[kernels]") {
    std::mt19937 rng(8);
    for (const KernelSet* set : sets_under_test())
        for (size_t cols : {size_t(7), size_t(64), size_t(100), size_t(768)}) {
            const size_t rows = 77;
            const auto w = random_floats(rng, rows * cols, Data::unit);
            const auto x = random_floats(rng, cols, Data::unit);
            Buffer<float> wb(w, 0), xb(x, 0);
            const Matrix m = f32_matrix(wb, rows, cols);
            const auto in = reinterpret_cast<const uint8_t*>(xb.data());
            const auto whole = run_product(set->product_for(WeightType::F32), m, in, 0, 1, 0, rows);
            std::vector<float> pieces(rows, kCanary);
            for (size_t begin = 0, step = 3; begin < rows; begin += step, step += 5) {
                const size_t end = std::min(rows, begin + step);
                set->product_for(WeightType::F32)(pieces.data(), rows, m, in, 0, 1, begin, end);
            }
            INFO("set " << set->name << ", cols " << cols);
            CHECK(std::memcmp(whole.data(), pieces.data(), rows * sizeof(float)) == 0);
        }
}

// A prompt's columns go through the products together; each must come out as it would alone.
TEST_CASE("fp32 products give every column the single-column result bit for bit", "[kernels]") {
    std::mt19937 rng(9);
    for (const KernelSet* set : sets_under_test())
        for (size_t cols : {size_t(5), size_t(64), size_t(100), size_t(300)})
            for (size_t columns : {size_t(2), size_t(3), size_t(7)}) {
                const size_t rows = 37;
                const auto w = random_floats(rng, rows * cols, Data::unit);
                const auto x = random_floats(rng, columns * cols, Data::wide);
                Buffer<float> wb(w, 0), xb(x, 0);
                const Matrix m = f32_matrix(wb, rows, cols);
                const auto in = reinterpret_cast<const uint8_t*>(xb.data());
                const size_t stride = cols * sizeof(float);
                const auto product = set->product_for(WeightType::F32);
                const auto batch = run_product(product, m, in, stride, columns, 1, rows);
                std::vector<float> alone(batch.size(), kCanary);
                for (size_t c = 0; c < columns; c++)
                    product(alone.data() + c * rows, rows, m, in + c * stride, stride, 1, 1, rows);
                INFO("set " << set->name << ", cols " << cols << ", columns " << columns);
                CHECK(std::memcmp(batch.data(), alone.data(), batch.size() * sizeof(float)) == 0);
            }
}

// --- axpy_f32, axpy_f16 -------------------------------------------------------------------------

float widened(float v) { return v; }
float widened(uint16_t h) { return llamaport::fp16_to_fp32(h); }
float coefficient(float a, float) { return a; }
float coefficient(float a, uint16_t) { return llamaport::fp16_to_fp32(llamaport::fp32_to_fp16(a)); }

// y += a[r] * row r of x (rows of n values, x_stride apart), row after row, each product and sum
// rounded (-ffp-contract=off: two roundings), a[r] rounded to half against halves. The last row
// ends the buffer.
template <class X>
std::string check_axpy(const KernelSet& set, const std::vector<float>& y0, const std::vector<float>& a,
                       const std::vector<X>& x, size_t x_stride, size_t y_offset, size_t x_offset) {
    const size_t n = y0.size(), rows = a.size();
    std::vector<float> want(y0);
    for (size_t r = 0; r < rows; r++)
        for (size_t i = 0; i < n; i++) want[i] += coefficient(a[r], X()) * widened(x[r * x_stride + i]);
    Buffer<X> xb(x, x_offset);
    Buffer<float> yb(y0, y_offset);
    if constexpr (std::is_same_v<X, float>)
        set.axpy_f32(yb.data(), a.data(), xb.data(), x_stride, rows, n);
    else
        set.axpy_f16(yb.data(), a.data(), xb.data(), x_stride, rows, n);
    return compare(yb.values(), want, std::vector<double>(n, double(FLT_MIN)));
}

TEST_CASE("axpy_f32 and axpy_f16 multiply, then add, each rounded, row after row, in every set",
          "[kernels]") {
    std::mt19937 rng(11);
    std::uniform_real_distribution<float> unit(-2.0f, 2.0f);
    for (const KernelSet* set : sets_under_test()) {
        for (Data kind : all_data) {
            for (size_t n : lengths()) {
                // One row; a few, 3 values apart; as many as a head's keys.
                for (size_t rows : {size_t(1), size_t(3), size_t(64)}) {
                    if (rows == 64 && n > 140) continue;
                    const size_t stride = rows == 3 ? n + 3 : n;
                    const auto x = random_floats(rng, (rows - 1) * stride + n, kind);
                    std::vector<uint16_t> x16(x.size());
                    // Within the half range (infinities would make NaNs of the sums).
                    for (size_t i = 0; i < x.size(); i++)
                        x16[i] = llamaport::fp32_to_fp16(std::clamp(x[i], -60000.0f, 60000.0f));
                    const auto y0 = random_floats(rng, n, partner(kind));
                    // |a| <= 2 keeps a * x finite; some coefficients are ties between halves.
                    std::vector<float> a(rows, 0.5f);
                    if (kind != Data::zeros)
                        for (float& v : a) v = rng() % 4 ? unit(rng) : 1.0f + 1.0f / 2048;
                    for (size_t offset = 0; offset < 3; offset++) {
                        INFO("set " << set->name << ", " << name(kind) << ", n " << n << ", rows "
                                    << rows << ", offset case " << offset);
                        CHECK(check_axpy(*set, y0, a, x, stride, offset == 1, offset == 2) == "");
                        CHECK(check_axpy(*set, y0, a, x16, stride, offset == 1, offset == 2) == "");
                    }
                }
            }
        }
    }
}

// --- to_f16 -------------------------------------------------------------------------------------

TEST_CASE("to_f16 converts as fp32_to_fp16 does, bit for bit, in every set", "[kernels]") {
    std::mt19937 rng(12);
    // The edges of the half range and its rounding: the largest half and the first value that
    // rounds to infinity, ties either side of a half, subnormal halves and values below them,
    // infinities and NaNs with payloads of both signs.
    const float nan_payload = [] {
        const uint32_t bits = 0x7FC12345u;
        float f;
        std::memcpy(&f, &bits, 4);
        return f;
    }();
    const std::vector<float> edges = {65504.0f, 65519.99f, 65520.0f, -65520.0f, 1e9f,
                                      1.0f + 1.0f / 2048, 1.0f + 3.0f / 2048, 6.1035156e-05f,
                                      6.0e-08f, 2.9e-08f, 3.0e-08f, 1e-30f, -0.0f, 0.0f,
                                      std::numeric_limits<float>::infinity(),
                                      -std::numeric_limits<float>::infinity(), nan_payload,
                                      -nan_payload, std::numeric_limits<float>::quiet_NaN()};
    for (const KernelSet* set : sets_under_test())
        for (Data kind : all_data)
            for (size_t n : lengths()) {
                auto x = random_floats(rng, n, kind);
                for (size_t i = 0; i < n; i++)
                    if (rng() % 4 == 0) x[i] = edges[rng() % edges.size()];
                std::vector<uint16_t> want(n + 1, 0xABCD), got(n + 1, 0xABCD);
                oracle().to_f16(want.data(), x.data(), n);
                set->to_f16(got.data(), x.data(), n);
                INFO("set " << set->name << ", " << name(kind) << ", n " << n);
                CHECK(got == want);  // the last element: nothing written past n
            }
}

// --- input quantization -------------------------------------------------------------------------

// The int8 input formats and the weight type whose rows have the same layout (so a prepared
// column reads back through that type's dequantizer). Q8_G's group size is the matrix's.
struct Int8Format {
    InputFormat format;
    WeightType layout;
    size_t block;  // values per block; 0: the case's group size
};
const Int8Format int8_formats[] = {{InputFormat::Q8_G, WeightType::Q8_G, 0},
                                   {InputFormat::Q8_0, WeightType::Q8_0, 32}};

// A one-row view of the input layout: what prepare() reads the group size and length from.
Matrix input_view(const Int8Format& f, const void* data, size_t cols, size_t group) {
    return llamaport::weight_matrix(f.layout, data, 1, cols, f.block ? 0 : group);
}

// The blocks of x as runq.c (Q8_G: scale max|x| / 127, q = round(x / scale), halves away from
// zero) or llama.cpp's x86 backend (Q8_0: fp16 scale max|x| / 127, q = x * (127 / max|x|) to
// nearest, ties to even) quantize them, written out here apart from the library's reference, so
// that the suite checks the quantizers on a host that runs only the scalar set. NaN is 0 and
// quotients are clamped to +-127, as the library defines them for bad activations.
std::vector<uint8_t> quantized_independently(const Int8Format& f, const std::vector<float>& x,
                                             size_t group) {
    const size_t block = f.block ? f.block : group, header = f.format == InputFormat::Q8_0 ? 2 : 4;
    std::vector<uint8_t> out;
    for (size_t start = 0; start < x.size(); start += block) {
        float most = 0.0f;
        for (size_t i = start; i < start + block; i++)
            if (std::fabs(x[i]) > most) most = std::fabs(x[i]);
        const float scale = most / 127.0f;
        uint8_t head[4];
        if (header == 2) {
            const uint16_t h = llamaport::fp32_to_fp16(scale);
            std::memcpy(head, &h, 2);
        } else {
            std::memcpy(head, &scale, 4);
        }
        out.insert(out.end(), head, head + header);
        const float inverse = most != 0.0f ? 127.0f / most : 0.0f;
        for (size_t i = start; i < start + block; i++) {
            const float quotient = header == 4 ? (scale != 0.0f ? x[i] / scale : 0.0f) : x[i] * inverse;
            const float clamped = std::max(-127.0f, std::min(127.0f, quotient));
            const float q = std::isnan(quotient) ? 0.0f
                            : header == 4       ? std::round(clamped)
                                                : std::nearbyint(clamped);
            out.push_back(uint8_t(int8_t(q)));
        }
    }
    return out;
}

// Prepares x with `set` and with the reference; the bytes must be equal, and equal to the
// independent quantizer's.
std::string check_prepare(const KernelSet& set, const Int8Format& f, const std::vector<float>& x,
                          size_t group, size_t x_offset, size_t out_offset) {
    const size_t cols = x.size();
    const Matrix shape = input_view(f, nullptr, cols, group);
    const auto& info = llamaport::input_info(f.format);
    const size_t bytes = info.column_bytes(shape), parts = info.parts(shape);
    std::vector<uint8_t> want(bytes, 0xA5);
    oracle().prepare_for(f.format)(want.data(), shape, x.data(), 0, parts);
    if (want != quantized_independently(f, x, group)) return "the reference quantizer differs from runq.c's / llama.cpp's rule";
    Buffer<float> xb(x, x_offset);
    Buffer<uint8_t> out(std::vector<uint8_t>(bytes, 0xA5), out_offset);
    // In two pieces, as threads would.
    set.prepare_for(f.format)(out.data(), shape, xb.data(), 0, parts / 2);
    set.prepare_for(f.format)(out.data(), shape, xb.data(), parts / 2, parts);
    const auto got = out.values();
    for (size_t i = 0; i < bytes; i++)
        if (got[i] != want[i]) {
            std::ostringstream s;
            s << "byte " << i << " of " << bytes << ": got " << int(got[i]) << ", scalar "
              << int(want[i]);
            return s.str();
        }
    return "";
}

std::vector<size_t> group_sizes_for(const Int8Format& f, size_t n) {
    if (f.block) return n % f.block == 0 ? std::vector<size_t>{f.block} : std::vector<size_t>{};
    std::vector<size_t> out;
    for (size_t g : {size_t(1), size_t(7), size_t(16), size_t(32), size_t(64), n})
        if (n % g == 0 && std::find(out.begin(), out.end(), g) == out.end()) out.push_back(g);
    return out;
}

TEST_CASE("input quantization matches the reference exactly in every set", "[kernels]") {
    std::mt19937 rng(3);
    for (const KernelSet* set : sets_under_test())
        for (const Int8Format& f : int8_formats)
            for (Data kind : all_data)
                for (size_t n : lengths())
                    for (size_t group : group_sizes_for(f, n))
                        for (size_t offset = 0; offset < 3; offset++) {
                            const auto x = random_floats(rng, n, kind);
                            INFO("set " << set->name << ", " << llamaport::input_info(f.format).name
                                        << ", " << name(kind) << ", n " << n << ", group "
                                        << group << ", offset case " << offset);
                            CHECK(check_prepare(*set, f, x, group, offset == 1, offset == 2) == "");
                        }
}

// The quantized values of x as the reference prepares them, read back as floats.
std::vector<float> prepared_values(const Int8Format& f, const std::vector<uint8_t>& bytes,
                                   size_t cols, size_t group) {
    std::vector<float> out(cols);
    input_view(f, bytes.data(), cols, group).row_to_f32(0, out.data());
    return out;
}

std::vector<uint8_t> prepare_reference(const Int8Format& f, const std::vector<float>& x,
                                       size_t group) {
    const Matrix shape = input_view(f, nullptr, x.size(), group);
    const auto& info = llamaport::input_info(f.format);
    std::vector<uint8_t> out(info.column_bytes(shape));
    info.reference(out.data(), shape, x.data(), 0, info.parts(shape));
    return out;
}

TEST_CASE("input quantization rounds halves as runq.c (away from zero) and llama.cpp (to even)",
          "[kernels]") {
    // With max |x| = 127 the scale is exactly 1, so x / scale (or x * 127 / max) lands on every
    // k + 0.5, and on the floats just either side of it.
    std::vector<float> x;
    for (int k = -127; k < 127; k++) {
        const float half = float(k) + 0.5f;
        x.push_back(half);
        x.push_back(std::nextafter(half, -1000.0f));
        x.push_back(std::nextafter(half, 1000.0f));
    }
    for (const Int8Format& f : int8_formats) {
        const size_t group = 32;
        // Every group needs its own +-127 to keep the scale at 1.
        std::vector<float> grouped;
        for (size_t start = 0; start < x.size(); start += group - 1) {
            grouped.push_back(start % 2 ? 127.0f : -127.0f);
            for (size_t i = start; i < std::min(x.size(), start + group - 1); i++)
                grouped.push_back(x[i]);
        }
        while (grouped.size() % group) grouped.push_back(0.0f);
        const auto q = prepared_values(f, prepare_reference(f, grouped, group), grouped.size(), group);
        for (size_t i = 0; i < grouped.size(); i++) {
            INFO(llamaport::input_info(f.format).name << ": x = " << grouped[i]);
            CHECK(q[i] == (f.format == InputFormat::Q8_G ? std::round(grouped[i])
                                                         : std::nearbyint(grouped[i])));
        }
        for (const KernelSet* set : sets_under_test()) {
            INFO("set " << set->name << ", " << llamaport::input_info(f.format).name);
            CHECK(check_prepare(*set, f, grouped, group, 0, 0) == "");
        }
    }
}

TEST_CASE("input quantization keeps bad activations in range in every set", "[kernels]") {
    // What a corrupt model can feed it: NaN and infinities (NaN becomes 0, infinities +-127),
    // and groups of denormals, whose scale is too coarse to keep x / scale within +-127.
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const float inf = std::numeric_limits<float>::infinity();
    const float denormal = std::numeric_limits<float>::denorm_min();
    std::mt19937 rng(11);
    std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
    for (const Int8Format& f : int8_formats)
        for (size_t n : {size_t(32), size_t(64), size_t(96)})
            for (int pattern = 0; pattern < 5; pattern++) {
                std::vector<float> x(n);
                for (size_t i = 0; i < n; i++) {
                    switch (pattern) {
                        case 0: x[i] = i % 3 == 0 ? nan : unit(rng); break;
                        case 1: x[i] = i % 5 == 1 ? (i % 2 ? inf : -inf) : unit(rng); break;
                        case 2: x[i] = denormal * float(int(rng() % 301) - 150); break;
                        case 3: x[i] = i % 2 ? nan : denormal * float(int(rng() % 9) - 4); break;
                        default: x[i] = i % 4 == 0 ? -inf : nan; break;
                    }
                }
                const size_t group = 32;
                const auto bytes = prepare_reference(f, x, group);
                const size_t block_bytes = bytes.size() / (n / group), header = block_bytes - group;
                for (size_t i = 0; i < n; i++) {
                    const int8_t q = int8_t(bytes[i / group * block_bytes + header + i % group]);
                    INFO(llamaport::input_info(f.format).name << ", pattern " << pattern << ", x["
                                                              << i << "] = " << x[i]);
                    CHECK(q != -128);  // int8's range is otherwise the one wanted
                    if (std::isnan(x[i])) CHECK(q == 0);
                }
                for (const KernelSet* set : sets_under_test()) {
                    INFO("set " << set->name << ", n " << n << ", pattern " << pattern);
                    CHECK(check_prepare(*set, f, x, group, 0, 0) == "");
                    CHECK(check_prepare(*set, f, x, group, 1, 3) == "");
                }
            }
}

// --- products of int8-block types ----------------------------------------------------------------

// Random rows of an int8-block type: scales in [1e-4, 1) (pattern 1: large ones, so sums reach
// 1e15 magnitudes), values over the whole int8 range (pattern 1: the extremes; 2: negative only).
std::vector<uint8_t> random_blocks(std::mt19937& rng, const Int8Format& f, size_t rows,
                                   size_t cols, size_t group, int pattern) {
    const Matrix shape = input_view(f, nullptr, cols, group);
    const size_t block = f.block ? f.block : group, header = shape.row_stride / (cols / block) - block;
    std::vector<uint8_t> out(rows * shape.row_stride);
    std::uniform_real_distribution<float> scale(1e-4f, 1.0f);
    const auto values = random_q(rng, rows * cols, -128, pattern == 2 ? -1 : 127);
    for (size_t r = 0; r < rows; r++)
        for (size_t b = 0; b < cols / block; b++) {
            uint8_t* p = out.data() + r * shape.row_stride + b * (header + block);
            const float s = pattern == 1 ? (f.format == InputFormat::Q8_0 ? 6e4f : 1e15f) * scale(rng)
                                         : scale(rng);
            if (header == 2) {
                const uint16_t h = llamaport::fp32_to_fp16(s);
                std::memcpy(p, &h, 2);
            } else {
                std::memcpy(p, &s, 4);
            }
            for (size_t j = 0; j < block; j++) {
                int8_t v = values[r * cols + b * block + j];
                if (pattern == 1) v = (j % 3 == 0) ? 127 : -128;
                p[header + j] = uint8_t(v);
            }
        }
    return out;
}

std::string check_int8_product(const KernelSet& set, const Int8Format& f, size_t rows, size_t cols,
                               size_t group, size_t columns, int pattern, std::mt19937& rng,
                               size_t begin, size_t end, size_t w_offset, size_t x_offset) {
    const auto weights = random_blocks(rng, f, rows, cols, group, pattern);
    Buffer<uint8_t> wb(weights, w_offset);
    const Matrix m = llamaport::weight_matrix(f.layout, wb.data(), rows, cols, f.block ? 0 : group);
    std::vector<uint8_t> inputs;
    std::vector<std::vector<float>> xs;
    for (size_t c = 0; c < columns; c++) {
        // Pattern 1: inputs of every magnitude where the scale is fp32; Q8_0's fp16 scale holds
        // up to 65504, so its inputs stay below 1e6.
        auto x = random_floats(rng, cols, pattern == 1 && f.block == 0 ? Data::wide : Data::unit);
        if (pattern == 1 && f.block) for (float& v : x) v *= 1e6f;
        const auto bytes = prepare_reference(f, x, group);
        inputs.insert(inputs.end(), bytes.begin(), bytes.end());
        xs.push_back(prepared_values(f, bytes, cols, group));
    }
    Buffer<uint8_t> xb(inputs, x_offset);
    const size_t stride = inputs.size() / columns;
    const auto got = run_product(set.product_for(f.layout), m, xb.data(), stride, columns, begin, end);
    const auto want = run_product(oracle().product_for(f.layout), m, xb.data(), stride, columns, begin, end);
    for (size_t i = 0; i < got.size(); i++)
        if (std::memcmp(&got[i], &want[i], sizeof(float)) != 0 &&
            !(std::fabs(double(got[i]) - double(want[i])) <= double(cols) * double(FLT_MIN))) {
            std::ostringstream s;
            s.precision(9);
            s << "column " << i / rows << ", row " << i % rows << ": got " << got[i]
              << ", scalar " << want[i] << " (bit for bit promised)";
            return s.str();
        }
    const std::string exact = check_exact(got, m, xs, begin, end, double(cols / (f.block ? f.block : group) + 10));
    return exact.empty() ? "" : "against the exact product: " + exact;
}

TEST_CASE("int8-block products match the scalar set bit for bit and the exact product",
          "[kernels]") {
    std::mt19937 rng(99);
    for (const KernelSet* set : sets_under_test())
        for (const Int8Format& f : int8_formats)
            for (size_t cols : lengths())
                for (size_t group : group_sizes_for(f, cols)) {
                    if (group == 1 && cols > 64) continue;  // slow and no different
                    for (int pattern = 0; pattern < 3; pattern++)
                        for (size_t offset = 0; offset < 3; offset++) {
                            // Offsets: aligned, weights one byte off, inputs one byte off.
                            const size_t rows = 21, begin = offset, end = rows - (offset & 1);
                            // Columns: 19 once, past the widest group of columns a set takes (16).
                            const size_t columns =
                                pattern == 2 && offset == 0 ? 19 : 1 + (cols + offset) % 3;
                            INFO("set " << set->name << ", "
                                        << llamaport::weight_type_name(f.layout) << ", cols "
                                        << cols << ", group " << group << ", pattern " << pattern
                                        << ", rows [" << begin << "," << end << "), columns "
                                        << columns << ", offset case " << offset);
                            CHECK(check_int8_product(*set, f, rows, cols, group, columns, pattern,
                                                     rng, begin, end, offset == 1, offset == 2) == "");
                        }
                }
}

// --- buffers that end at an inaccessible page --------------------------------------------------

#ifdef LLAMAPORT_TEST_GUARD_PAGES
TEST_CASE("kernels read and write nothing past the end of their buffers", "[kernels]") {
    // Every buffer ends where an inaccessible page begins; n runs through every start alignment.
    const size_t end = kAtPageEnd;
    std::mt19937 rng(17);
    for (const KernelSet* set : sets_under_test()) {
        for (size_t n = 1; n <= 80; n++) {
            INFO("set " << set->name << ", n " << n);
            const size_t rows = 5;
            const auto w = random_floats(rng, rows * n, Data::unit);
            const auto x = random_floats(rng, n, Data::unit);
            const auto y = random_floats(rng, n, Data::unit);
            for (WeightType t : float_types)
                CHECK(check_floats(*set, t, w, x, rows, n, 1, 0, rows, end, end, end) == "");
            CHECK(check_axpy(*set, y, {0.75f, -1.5f}, random_floats(rng, 2 * n, Data::unit), n, end, end) == "");
            for (const Int8Format& f : int8_formats)
                for (size_t group : group_sizes_for(f, n)) {
                    INFO(llamaport::input_info(f.format).name << ", group " << group);
                    CHECK(check_prepare(*set, f, x, group, end, end) == "");
                    CHECK(check_int8_product(*set, f, rows, n, group, 1, 0, rng, 0, rows, end, end) == "");
                }
        }
    }
}
#endif

// --- selection and composition -----------------------------------------------------------------

TEST_CASE("every kernel set compiled in fills every entry", "[kernels]") {
    for (const KernelSet* set : llamaport::compiled_kernels()) {
        INFO("set " << (set->name ? set->name : "(null)"));
        CHECK(set->name != nullptr);
        for (size_t t = 0; t < llamaport::weight_type_count; t++) {
            INFO("weight type " << llamaport::weight_type_name(WeightType(t)));
            CHECK(set->product[t] != nullptr);
        }
        for (size_t f = 0; f < llamaport::input_format_count; f++) {
            INFO("input format " << llamaport::input_info(InputFormat(f)).name);
            CHECK((set->prepare[f] != nullptr) == (llamaport::input_info(InputFormat(f)).reference != nullptr));
        }
        CHECK(set->axpy_f32 != nullptr);
        CHECK(set->to_f16 != nullptr);
    }
}

// What each set's file provides on its own, and what it falls back to (kernel_sets.def).
struct OwnEntries {
    const char* name;
    const char* fallback;
    KernelSet own;
    bool compiled;
};
std::vector<OwnEntries> own_entries() {
    std::vector<OwnEntries> out;
#define KERNEL_SET(name, fallback, processors, flags, cpu_check)                           \
    {                                                                                      \
        OwnEntries e{#name, #fallback, KernelSet{}, false};                               \
        e.compiled = llamaport::kernels::add_##name##_kernels(e.own);                      \
        out.push_back(e);                                                                  \
    }
#include "kernels/kernel_sets.def"
#undef KERNEL_SET
    return out;
}

const KernelSet* compiled_set(const std::string& name) {
    for (const KernelSet* s : llamaport::compiled_kernels())
        if (name == s->name) return s;
    return nullptr;
}

TEST_CASE("a set takes every entry it lacks from its fallback, and no others", "[kernels]") {
    for (const OwnEntries& e : own_entries()) {
        const KernelSet* set = compiled_set(e.name);
        CHECK((set != nullptr) == e.compiled);
        if (!set || std::string(e.fallback) == "none") continue;
        const KernelSet* fallback = compiled_set(e.fallback);
        REQUIRE(fallback != nullptr);  // a set's fallback is compiled wherever it is
        INFO("set " << e.name << " falls back to " << e.fallback);
        for (size_t t = 0; t < llamaport::weight_type_count; t++) {
            INFO("weight type " << llamaport::weight_type_name(WeightType(t)));
            CHECK(set->product[t] == (e.own.product[t] ? e.own.product[t] : fallback->product[t]));
        }
        for (size_t f = 0; f < llamaport::input_format_count; f++)
            CHECK(set->prepare[f] == (e.own.prepare[f] ? e.own.prepare[f] : fallback->prepare[f]));
        CHECK(set->axpy_f32 == (e.own.axpy_f32 ? e.own.axpy_f32 : fallback->axpy_f32));
        CHECK(set->axpy_f16 == (e.own.axpy_f16 ? e.own.axpy_f16 : fallback->axpy_f16));
        CHECK(set->to_f16 == (e.own.to_f16 ? e.own.to_f16 : fallback->to_f16));
    }
}

TEST_CASE("the scalar set is the weight-type table's reference", "[kernels]") {
    for (size_t t = 0; t < llamaport::weight_type_count; t++)
        CHECK(oracle().product[t] == llamaport::type_info(WeightType(t)).product);
    for (size_t f = 0; f < llamaport::input_format_count; f++)
        CHECK(oracle().prepare[f] == llamaport::input_info(InputFormat(f)).reference);
}

TEST_CASE("select_kernels picks sets by name and refuses unknown or unavailable ones",
          "[kernels]") {
    const auto available = sets_under_test();
    REQUIRE(!available.empty());
    CHECK(available.front() == &llamaport::scalar_kernels());
    CHECK(&llamaport::select_kernels("scalar") == &llamaport::scalar_kernels());

    // "auto" takes the best set the CPU runs: a SIMD one whenever there is one.
    // Where only the scalar set runs, comparing sets with the scalar one checks nothing: the
    // exact products and the independent quantizer above are what can fail here.
    if (available.size() == 1)
        WARN("only the scalar kernel set runs on this host: no SIMD set is compared with it");
    const KernelSet& best = llamaport::select_kernels("auto");
    CHECK(std::find(available.begin(), available.end(), &best) != available.end());
    if (available.size() > 1) CHECK(&best != &llamaport::scalar_kernels());

    for (const KernelSet* set : available) CHECK(&llamaport::select_kernels(set->name) == set);

    CHECK_THROWS_AS(llamaport::select_kernels("nonsense"), llamaport::Error);
    CHECK_THROWS_WITH(llamaport::select_kernels("nonsense"),
                      Catch::Contains("unknown kernel 'nonsense'") && Catch::Contains("auto"));
    CHECK_THROWS_AS(llamaport::select_kernels(""), llamaport::Error);
    CHECK_THROWS_AS(llamaport::select_kernels("AVX2"), llamaport::Error);

    // Each known set this CPU cannot run (altivec on x86, avx2 on a G4...) is refused by name,
    // and the message lists what is available instead.
    for (const std::string& known : llamaport::kernel_set_names()) {
        const bool runs = std::any_of(available.begin(), available.end(),
                                      [&](const KernelSet* s) { return known == s->name; });
        if (runs) continue;
        INFO("kernel " << known);
        CHECK_THROWS_AS(llamaport::select_kernels(known), llamaport::Error);
        CHECK_THROWS_WITH(llamaport::select_kernels(known),
                          Catch::Contains("'" + known + "'") && Catch::Contains("available: scalar"));
    }
}

}  // namespace
