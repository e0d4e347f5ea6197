// Every kernel set this CPU runs, checked against the scalar set (the oracle) on random and
// adversarial data: every length 1..300 and a few model-sized ones, start pointers off by one
// element, zeros and magnitudes from 1e-30 to 1e30, negative-only data, extreme int8 values,
// halfway cases of the rounding, partial row ranges, and buffers that end exactly at an
// inaccessible page (SIMD loads must not read past the last element).
//
// Tolerances, with u = 2^-24 (float unit roundoff):
// - quantize_q8, axpy_f32: bit-identical. Both divide (or multiply, then add) exactly as the
//   scalar set does; nothing is reordered.
// - matvec_f32: |simd - scalar| <= 2 * n * u * sum|w*x|. Any summation order of n
//   products, fused or not, is within gamma_n ~ n * u * sum|w*x| of the exact result (Higham,
//   "Accuracy and Stability of Numerical Algorithms", 3.1), so two orders are within twice that.
//   For n <= 2048 this is <= 2.5e-4 relative, and tighter than 1e-5 * sqrt(n) for n <= 7000.
// - matvec_q8: the integer group sums are exact in every set; only the G per-group float terms
//   (int * scale * scale) are rounded and summed in a different order, plus int -> float
//   conversion, lane reductions and the tail: |simd - scalar| <= 2 * (G + 10) * u *
//   sum_j |wq_j * xq_j| * ws * xs. For G <= 74 groups this is below 1e-5 of that sum.
// - Every comparison also allows n * FLT_MIN: AltiVec flushes denormal results to zero (the
//   VSCR non-Java mode Linux sets), an error below FLT_MIN per operation.
// matvec_q8's weights are any int8; its x is in [-127, 127], the range quantize_q8 produces, which
// the AVX2 and NEON kernels rely on (see dot32 / dot16 there).
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
#include <vector>

#include "llamaport/error.hpp"
#include "llamaport/kernels.hpp"

#if defined(__unix__) || defined(__APPLE__)
#include <sys/mman.h>
#include <unistd.h>
#define LLAMAPORT_TEST_GUARD_PAGES 1
#endif

namespace {

using llamaport::KernelSet;

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
// (172 is stories260K's hidden_dim).
std::vector<size_t> lengths() {
    std::vector<size_t> out;
    for (size_t n = 1; n <= 300; n++) out.push_back(n);
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

// --- matvec_f32 ------------------------------------------------------------------------------

// rows x cols, rows [row_begin, row_end) computed; y elsewhere must stay untouched.
std::string check_matvec_f32(const KernelSet& set, const std::vector<float>& w,
                             const std::vector<float>& x, size_t rows, size_t cols,
                             size_t row_begin, size_t row_end, size_t w_offset, size_t x_offset,
                             size_t y_offset) {
    const float canary = -12345.5f;
    Buffer<float> wb(w, w_offset), xb(x, x_offset), yb(std::vector<float>(rows, canary), y_offset);
    std::vector<float> want(rows, canary);
    oracle().matvec_f32(want.data(), w.data(), x.data(), cols, row_begin, row_end);
    set.matvec_f32(yb.data(), wb.data(), xb.data(), cols, row_begin, row_end);
    std::vector<double> tolerance(rows, 0.0);
    for (size_t r = row_begin; r < row_end; r++) {
        double sum_abs = 0.0;
        for (size_t j = 0; j < cols; j++) sum_abs += std::fabs(double(w[r * cols + j]) * x[j]);
        tolerance[r] = 2.0 * cols * kUnitRoundoff * sum_abs + cols * double(FLT_MIN);
    }
    return compare(yb.values(), want, tolerance);
}

TEST_CASE("matvec_f32 matches the scalar kernels", "[kernels]") {
    std::mt19937 rng(20240501);
    for (const KernelSet* set : sets_under_test()) {
        for (Data kind : all_data) {
            for (size_t cols : lengths()) {
                const size_t rows = 9;  // two blocks of 4 and a single row
                const auto w = random_floats(rng, rows * cols, kind);
                const auto x = random_floats(rng, cols, partner(kind));
                for (size_t offset = 0; offset < 4; offset++) {
                    // Offsets: all aligned, w / x / y each one float off.
                    const size_t wo = offset == 1, xo = offset == 2, yo = offset == 3;
                    const size_t begin = offset, end = rows - (offset & 1);
                    INFO("set " << set->name << ", " << name(kind) << ", cols " << cols
                                << ", rows [" << begin << "," << end << "), offsets w " << wo
                                << " x " << xo << " y " << yo);
                    CHECK(check_matvec_f32(*set, w, x, rows, cols, begin, end, wo, xo, yo) == "");
                }
            }
        }
    }
}

TEST_CASE("matvec_f32 with an empty row range writes nothing", "[kernels]") {
    for (const KernelSet* set : sets_under_test()) {
        INFO("set " << set->name);
        std::vector<float> w(8 * 5, 1.0f), x(5, 1.0f);
        CHECK(check_matvec_f32(*set, w, x, 8, 5, 3, 3, 0, 0, 0) == "");
    }
}

// --- axpy_f32 -----------------------------------------------------------------------------------

std::string check_axpy(const KernelSet& set, const std::vector<float>& y0, float a,
                       const std::vector<float>& x, size_t y_offset, size_t x_offset) {
    const size_t n = x.size();
    std::vector<float> want = y0;
    oracle().axpy_f32(want.data(), a, x.data(), n);
    Buffer<float> xb(x, x_offset), yb(y0, y_offset);
    set.axpy_f32(yb.data(), a, xb.data(), n);
    return compare(yb.values(), want, std::vector<double>(n, double(FLT_MIN)));
}

TEST_CASE("axpy_f32 matches the scalar kernels bit for bit", "[kernels]") {
    std::mt19937 rng(11);
    std::uniform_real_distribution<float> coefficient(-2.0f, 2.0f);
    for (const KernelSet* set : sets_under_test()) {
        for (Data kind : all_data) {
            for (size_t n : lengths()) {
                const auto x = random_floats(rng, n, kind);
                const auto y0 = random_floats(rng, n, partner(kind));
                // |a| <= 2 keeps a * x finite.
                const float a = kind == Data::zeros ? 0.5f : coefficient(rng);
                for (size_t offset = 0; offset < 3; offset++) {
                    INFO("set " << set->name << ", " << name(kind) << ", n " << n
                                << ", offset case " << offset);
                    CHECK(check_axpy(*set, y0, a, x, offset == 1, offset == 2) == "");
                }
            }
        }
    }
}

// --- quantize_q8 --------------------------------------------------------------------------------

std::string check_quantize(const KernelSet& set, const std::vector<float>& x, size_t group_size,
                           size_t x_offset, size_t q_offset) {
    const size_t n = x.size(), groups = llamaport::groups_per_row(n, group_size);
    std::vector<int8_t> want_q(n, 99);
    std::vector<float> want_s(groups, -1.0f);
    oracle().quantize_q8(want_q.data(), want_s.data(), x.data(), n, group_size);
    Buffer<float> xb(x, x_offset), sb(std::vector<float>(groups, -1.0f), x_offset);
    Buffer<int8_t> qb(std::vector<int8_t>(n, 99), q_offset);
    set.quantize_q8(qb.data(), sb.data(), xb.data(), n, group_size);
    const auto got_q = qb.values();
    const auto got_s = sb.values();
    for (size_t g = 0; g < groups; g++)
        if (std::memcmp(&got_s[g], &want_s[g], sizeof(float)) != 0) {
            std::ostringstream out;
            out.precision(9);
            out << "scale " << g << ": got " << got_s[g] << ", scalar " << want_s[g];
            return out.str();
        }
    for (size_t i = 0; i < n; i++)
        if (got_q[i] != want_q[i]) {
            std::ostringstream out;
            out.precision(9);
            out << "q[" << i << "] (x = " << x[i] << "): got " << int(got_q[i]) << ", scalar "
                << int(want_q[i]);
            return out.str();
        }
    return "";
}

TEST_CASE("quantize_q8 matches the scalar kernels exactly", "[kernels]") {
    std::mt19937 rng(3);
    for (const KernelSet* set : sets_under_test()) {
        for (Data kind : all_data) {
            for (size_t n : lengths()) {
                const auto x = random_floats(rng, n, kind);
                for (size_t group_size :
                     {size_t(1), size_t(7), size_t(16), size_t(32), size_t(33), size_t(64), n}) {
                    for (size_t offset = 0; offset < 3; offset++) {
                        INFO("set " << set->name << ", " << name(kind) << ", n " << n << ", group "
                                    << group_size << ", offset case " << offset);
                        CHECK(check_quantize(*set, x, group_size, offset == 1, offset == 2) == "");
                    }
                }
            }
        }
    }
}

TEST_CASE("quantize_q8 rounds halves away from zero like the scalar kernels", "[kernels]") {
    // With max |x| = 127 the scale is exactly 1, so x / scale lands on every k + 0.5, and on
    // the floats just either side of it.
    std::vector<float> x;
    for (int k = -127; k < 127; k++) {
        const float half = float(k) + 0.5f;
        x.push_back(half);
        x.push_back(std::nextafter(half, -1000.0f));
        x.push_back(std::nextafter(half, 1000.0f));
    }
    x.push_back(127.0f);
    x.push_back(-127.0f);
    x.push_back(-0.0f);
    for (const KernelSet* set : sets_under_test()) {
        for (size_t group_size : {size_t(32), size_t(64), x.size()}) {
            INFO("set " << set->name << ", group " << group_size);
            // Every group needs its own +-127 to keep the scale at 1.
            std::vector<float> grouped;
            for (size_t start = 0; start < x.size(); start += group_size - 1) {
                grouped.push_back(start % 2 ? 127.0f : -127.0f);
                for (size_t i = start; i < std::min(x.size(), start + group_size - 1); i++)
                    grouped.push_back(x[i]);
            }
            CHECK(check_quantize(*set, grouped, group_size, 0, 0) == "");
        }
    }
}

TEST_CASE("quantize_q8 keeps bad activations in range, as the scalar kernels do", "[kernels]") {
    // What a corrupt model can feed it: NaN and infinities (NaN becomes 0, infinities +-127),
    // and groups of denormals, whose scale is too coarse to keep x / scale within +-127.
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const float inf = std::numeric_limits<float>::infinity();
    const float denormal = std::numeric_limits<float>::denorm_min();
    std::mt19937 rng(11);
    std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
    for (size_t n : {size_t(1), size_t(7), size_t(32), size_t(40), size_t(64), size_t(100)}) {
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
            std::vector<int8_t> q(n);
            std::vector<float> scales(n);
            oracle().quantize_q8(q.data(), scales.data(), x.data(), n, 32);
            for (size_t i = 0; i < n; i++) {
                INFO("pattern " << pattern << ", x[" << i << "] = " << x[i]);
                CHECK(q[i] != -128);  // int8's range is otherwise the one wanted
                if (std::isnan(x[i])) CHECK(q[i] == 0);
            }
            for (const KernelSet* set : sets_under_test()) {
                INFO("set " << set->name << ", n " << n << ", pattern " << pattern);
                CHECK(check_quantize(*set, x, 32, 0, 0) == "");
                CHECK(check_quantize(*set, x, 32, 1, 3) == "");
            }
        }
    }
}

// --- matvec_q8 ----------------------------------------------------------------------------------

struct Q8Case {
    size_t rows, cols, group_size;
    std::vector<int8_t> wq, xq;
    std::vector<float> ws, xs;
};

Q8Case random_q8(std::mt19937& rng, size_t rows, size_t cols, size_t group_size, int pattern) {
    const size_t groups = llamaport::groups_per_row(cols, group_size);
    Q8Case c{rows, cols, group_size, {}, {}, {}, {}};
    std::uniform_real_distribution<float> scale(1e-4f, 1.0f);
    switch (pattern) {
        case 0:  // random: weights use the whole int8 range, x quantize_q8's [-127, 127]
            c.wq = random_q(rng, rows * cols, -128, 127);
            c.xq = random_q(rng, cols, -127, 127);
            break;
        case 1:  // extremes: every product +-128 * 127, the largest pair sums
            c.wq = random_q(rng, rows * cols, -128, -128);
            for (size_t i = 0; i < c.wq.size(); i += 3) c.wq[i] = 127;
            c.xq = random_q(rng, cols, -127, -127);
            for (size_t i = 0; i < c.xq.size(); i += 2) c.xq[i] = 127;
            break;
        default:  // negative only
            c.wq = random_q(rng, rows * cols, -128, -1);
            c.xq = random_q(rng, cols, -127, -1);
            break;
    }
    c.ws.resize(rows * groups);
    c.xs.resize(groups);
    for (float& s : c.ws) s = pattern == 1 ? 1e15f * scale(rng) : scale(rng);
    for (float& s : c.xs) s = scale(rng);
    return c;
}

std::string check_matvec_q8(const KernelSet& set, const Q8Case& c, size_t row_begin, size_t row_end,
                            size_t w_offset, size_t x_offset) {
    const float canary = -12345.5f;
    const size_t groups = llamaport::groups_per_row(c.cols, c.group_size);
    std::vector<float> want(c.rows, canary);
    oracle().matvec_q8(want.data(), c.wq.data(), c.ws.data(), c.xq.data(), c.xs.data(), c.cols,
                       c.group_size, row_begin, row_end);
    Buffer<int8_t> wqb(c.wq, w_offset), xqb(c.xq, x_offset);
    // Scales and y are off by one float when the weights are off by one byte.
    Buffer<float> wsb(c.ws, w_offset), xsb(c.xs, x_offset),
        yb(std::vector<float>(c.rows, canary), w_offset);
    set.matvec_q8(yb.data(), wqb.data(), wsb.data(), xqb.data(), xsb.data(), c.cols, c.group_size,
                  row_begin, row_end);
    std::vector<double> tolerance(c.rows, 0.0);
    for (size_t r = row_begin; r < row_end; r++) {
        double sum_abs = 0.0;
        for (size_t j = 0; j < c.cols; j++) {
            const size_t g = j / c.group_size;
            sum_abs +=
                std::fabs(double(c.wq[r * c.cols + j]) * c.xq[j] * c.ws[r * groups + g] * c.xs[g]);
        }
        tolerance[r] = 2.0 * (groups + 10) * kUnitRoundoff * sum_abs + c.cols * double(FLT_MIN);
    }
    return compare(yb.values(), want, tolerance);
}

TEST_CASE("matvec_q8 matches the scalar kernels", "[kernels]") {
    std::mt19937 rng(99);
    for (const KernelSet* set : sets_under_test()) {
        for (size_t cols : lengths()) {
            // The usual group sizes on every length; odd ones (generic paths) on fewer.
            std::vector<size_t> group_sizes = {32, 64};
            if (cols % 7 == 0 || cols > 300)
                for (size_t gs : {size_t(1), size_t(7), size_t(16), size_t(17), size_t(48),
                                  size_t(96), size_t(256), cols})
                    group_sizes.push_back(gs);
            for (size_t group_size : group_sizes) {
                for (int pattern = 0; pattern < 3; pattern++) {
                    const Q8Case c = random_q8(rng, 9, cols, group_size, pattern);
                    for (size_t offset = 0; offset < 3; offset++) {
                        // Offsets: aligned, weights one byte (and their scales one float) off,
                        // x likewise.
                        const size_t begin = offset, end = 9 - (offset & 1);
                        INFO("set " << set->name << ", cols " << cols << ", group " << group_size
                                    << ", pattern " << pattern << ", rows [" << begin << "," << end
                                    << "), offset case " << offset);
                        CHECK(check_matvec_q8(*set, c, begin, end, offset == 1, offset == 2) == "");
                    }
                }
            }
        }
    }
}

TEST_CASE("matvec_q8 on quantize_q8 output matches the scalar kernels", "[kernels]") {
    std::mt19937 rng(5);
    for (const KernelSet* set : sets_under_test()) {
        for (size_t cols : {size_t(64), size_t(172), size_t(288), size_t(768)}) {
            for (size_t group_size : {size_t(32), size_t(64)}) {
                const size_t rows = 13, groups = llamaport::groups_per_row(cols, group_size);
                Q8Case c{rows,
                         cols,
                         group_size,
                         std::vector<int8_t>(rows * cols),
                         std::vector<int8_t>(cols),
                         std::vector<float>(rows * groups),
                         std::vector<float>(groups)};
                for (size_t r = 0; r < rows; r++) {
                    const auto w = random_floats(rng, cols, Data::unit);
                    oracle().quantize_q8(&c.wq[r * cols], &c.ws[r * groups], w.data(), cols,
                                         group_size);
                }
                const auto x = random_floats(rng, cols, Data::wide);
                oracle().quantize_q8(c.xq.data(), c.xs.data(), x.data(), cols, group_size);
                INFO("set " << set->name << ", cols " << cols << ", group " << group_size);
                CHECK(check_matvec_q8(*set, c, 0, rows, 0, 0) == "");
            }
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
            CHECK(check_matvec_f32(*set, w, x, rows, n, 0, rows, end, end, end) == "");
            CHECK(check_axpy(*set, y, 0.75f, x, end, end) == "");
            for (size_t group_size : {size_t(5), size_t(16), size_t(32), size_t(64)}) {
                INFO("group " << group_size);
                CHECK(check_quantize(*set, x, group_size, end, end) == "");
                const Q8Case c = random_q8(rng, rows, n, group_size, 0);
                CHECK(check_matvec_q8(*set, c, 0, rows, end, end) == "");
            }
        }
    }
}
#endif

// --- selection ----------------------------------------------------------------------------------

TEST_CASE("every kernel set compiled in fills every entry", "[kernels]") {
    for (const KernelSet* set : llamaport::compiled_kernels()) {
        INFO("set " << (set->name ? set->name : "(null)"));
        CHECK(set->name != nullptr);
        CHECK(set->matvec_f32 != nullptr);
        CHECK(set->quantize_q8 != nullptr);
        CHECK(set->matvec_q8 != nullptr);
        CHECK(set->axpy_f32 != nullptr);
        CHECK(set->aqlm_build_table != nullptr);
        CHECK(set->aqlm_matvec_table != nullptr);
        CHECK(set->aqlm_matvec_decode != nullptr);
    }
}

TEST_CASE("select_kernels picks sets by name and refuses unknown or unavailable ones",
          "[kernels]") {
    const auto available = sets_under_test();
    REQUIRE(!available.empty());
    CHECK(available.front() == &llamaport::scalar_kernels());
    CHECK(&llamaport::select_kernels("scalar") == &llamaport::scalar_kernels());

    // "auto" takes the best set the CPU runs: a SIMD one whenever there is one.
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
    for (const char* known : {"avx2", "avx512", "neon", "altivec"}) {
        const bool runs = std::any_of(available.begin(), available.end(), [&](const KernelSet* s) {
            return std::string(s->name) == known;
        });
        if (runs) continue;
        INFO("kernel " << known);
        CHECK_THROWS_AS(llamaport::select_kernels(known), llamaport::Error);
        CHECK_THROWS_WITH(llamaport::select_kernels(known),
                          Catch::Contains(std::string("'") + known + "'") &&
                              Catch::Contains("available: scalar"));
    }
}

}  // namespace
