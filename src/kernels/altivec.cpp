// AltiVec kernels for the PowerPC G4 (7400/7450 family; also G5): 128-bit vectors, big-endian,
// no VSX. Vector loads and stores (lvx/stvx) ignore the low four address bits, so every stream of
// a misaligned pointer is either peeled to alignment with scalar code or loaded as aligned blocks
// shifted into place.
//
// Differences from the scalar reference: matvec_f32 and matvec_q8 add in a different
// order (several accumulators, fused vec_madd), so they match it to rounding, not bit for bit.
// quantize_q8 and axpy_f32 give bit-identical results, except that AltiVec arithmetic flushes
// denormal results to zero (the non-Java mode Linux runs it in). The AQLM tables and their
// products are bit-identical too (integer sums), but for denormal results; the AQLM decode kernel
// adds in a different order.
#include <altivec.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "aqlm_table.hpp"
#include "kernel_sets.hpp"
#include "llamaport/aqlm.hpp"

namespace llamaport::kernels {
// Every kernel set uses the same function names, and the one-file build (tools/amalgamate.py)
// puts them all in one translation unit: hence a named namespace. The anonymous one inside keeps
// internal linkage, which lets GCC inline the helpers as freely as in a file of their own.
namespace altivec_impl {
namespace {

using vf32 = __vector float;
using vs32 = __vector signed int;
using vu32 = __vector unsigned int;
using vs8 = __vector signed char;
using vs16 = __vector signed short;
using vu8 = __vector unsigned char;

bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

// Floats before p reaches a 16-byte boundary (p itself 4-byte aligned, as any float is).
size_t floats_to_boundary(const float* p) {
    return ((16 - (reinterpret_cast<uintptr_t>(p) & 15)) & 15) / 4;
}

vf32 negative_zero() {
    const vu32 all_ones = vec_splat_u32(-1);
    return reinterpret_cast<vf32>(vec_sl(all_ones, all_ones));  // shift by 31: the sign bit only
}

// The aligned 16-byte block holding address p. Loads go through vector pointers (lvx) rather than
// vec_ld, which GCC 12 compiles into needless stack spills in unrolled loops.
template <typename V>
V block_at(const void* p) {
    return *reinterpret_cast<const V*>(reinterpret_cast<uintptr_t>(p) & ~uintptr_t(15));
}

// R streams of vectors, `stride` bytes apart, sharing one alignment: each at(r) returns stream r's
// next 16 bytes, then advance() moves all R on.
template <typename V, int R, bool Aligned>
class Streams;

// Known 16-byte aligned: one load per vector.
template <typename V, int R>
class Streams<V, R, true> {
public:
    Streams(const void* p, size_t stride) : p_(static_cast<const char*>(p)), stride_(stride) {}
    V at(int r) { return *reinterpret_cast<const V*>(p_ + r * stride_); }
    void advance() { p_ += 16; }

private:
    const char* p_;
    size_t stride_;
};

// Any alignment: each vector is shifted into place from two aligned blocks with vec_perm, the
// second block carried to the next vector, so still one load per vector (plus the vec_perm). The
// second block is the one holding the vector's last byte (p + 15), never a block past the data, so
// it cannot fault at the end of a mapping; the mask lvsl(p + 15) + 1 makes the same code take the
// second block whole when p is aligned.
template <typename V, int R>
class Streams<V, R, false> {
public:
    Streams(const void* p, size_t stride)
        : p_(static_cast<const char*>(p)), stride_(stride),
          shift_(vec_add(vec_lvsl(15, static_cast<const unsigned char*>(p)), vec_splat_u8(1))) {
        #pragma GCC unroll 8
        for (int r = 0; r < R; r++) prev_[r] = block_at<V>(p_ + r * stride_);
    }
    V at(int r) {
        const V next = block_at<V>(p_ + r * stride_ + 15);
        const V v = vec_perm(prev_[r], next, shift_);
        prev_[r] = next;
        return v;
    }
    void advance() { p_ += 16; }

private:
    const char* p_;
    size_t stride_;
    vu8 shift_;
    V prev_[R];
};

// n (1..4) floats from any 4-aligned p; lanes from n on are undefined. Loads only the blocks
// holding p[0] and p[n - 1].
vf32 load_floats(const float* p, size_t n) {
    return vec_perm(block_at<vf32>(p), block_at<vf32>(p + n - 1), vec_lvsl(0, p));
}

float hsum(vf32 v) {
    v = vec_add(v, vec_sld(v, v, 8));
    v = vec_add(v, vec_sld(v, v, 4));
    float out;
    vec_ste(v, 0, &out);  // every lane holds the sum
    return out;
}

// --- fp32 ---------------------------------------------------------------------------------------

// `vectors` vectors of R rows (aligned, `stride` floats apart) against x, U vectors per row in
// flight: vec_madd has a 4-cycle latency on the 7450, so R * U >= 4 independent chains keep the
// vector FPU busy. Each x vector is loaded (and shifted) once for all R rows.
template <int R, int U>
void madd_rows(vf32 (&acc)[R][U], const float* w, size_t stride, const float* x, size_t vectors) {
    Streams<vf32, R, true> ws(w, stride * sizeof(float));
    Streams<vf32, 1, false> xs(x, 0);
    for (size_t n = vectors / U; n > 0; n--)
        #pragma GCC unroll 8
        for (int u = 0; u < U; u++) {
            const vf32 xv = xs.at(0);
            #pragma GCC unroll 8
            for (int r = 0; r < R; r++) acc[r][u] = vec_madd(ws.at(r), xv, acc[r][u]);
            xs.advance();
            ws.advance();
        }
    for (size_t n = vectors % U; n > 0; n--) {
        const vf32 xv = xs.at(0);
        #pragma GCC unroll 8
        for (int r = 0; r < R; r++) acc[r][0] = vec_madd(ws.at(r), xv, acc[r][0]);
        xs.advance();
        ws.advance();
    }
}

// R rows of y. A scalar head brings w to a 16-byte boundary (the R rows share its alignment: the
// caller groups rows only when a row is a whole number of vectors), x follows as a stream.
template <int R, int U>
void rows_f32(float* y, const float* w, const float* x, size_t cols) {
    const size_t head = std::min(cols, floats_to_boundary(w));
    const size_t vectors = (cols - head) / 4, tail = head + 4 * vectors;
    vf32 acc[R][U];
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++)
        #pragma GCC unroll 8
        for (int u = 0; u < U; u++) acc[r][u] = vec_splats(0.0f);
    if (vectors > 0) madd_rows<R, U>(acc, w + head, cols, x + head, vectors);
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
        const float* row = w + r * cols;
        float sum = 0.0f;
        for (size_t j = 0; j < head; j++) sum += row[j] * x[j];
        vf32 total = acc[r][0];
        #pragma GCC unroll 8
        for (int u = 1; u < U; u++) total = vec_add(total, acc[r][u]);
        sum += hsum(total);
        for (size_t j = tail; j < cols; j++) sum += row[j] * x[j];
        y[r] = sum;
    }
}

void matvec_f32(float* y, const float* w, const float* x, size_t cols, size_t row_begin,
                size_t row_end) {
    size_t r = row_begin;
    if (cols % 4 == 0)
        for (; r + 8 <= row_end; r += 8) rows_f32<8, 1>(y + r, w + r * cols, x, cols);
    for (; r < row_end; r++) rows_f32<1, 4>(y + r, w + r * cols, x, cols);
}

void axpy_vectors(float* y, vf32 a, const float* x, size_t vectors) {
    const vf32 zero = negative_zero();  // a * x + -0 is a * x exactly, signed zeros included
    Streams<vf32, 1, false> xs(x, 0);
    vf32* yv = reinterpret_cast<vf32*>(y);
    for (size_t i = 0; i < vectors; i++, xs.advance())
        yv[i] = vec_add(yv[i], vec_madd(a, xs.at(0), zero));
}

// Multiply, then add, each rounded (there is no plain vector multiply; vec_madd with -0 is one):
// the same result as the scalar set. y is peeled to alignment because it is stored.
void axpy(float* y, float a, const float* x, size_t n) {
    const size_t head = std::min(n, floats_to_boundary(y));
    const size_t vectors = (n - head) / 4;
    for (size_t i = 0; i < head; i++) y[i] += a * x[i];
    if (vectors > 0) axpy_vectors(y + head, vec_splats(a), x + head, vectors);
    for (size_t i = head + 4 * vectors; i < n; i++) y[i] += a * x[i];
}

// --- Q8_0 ---------------------------------------------------------------------------------------

// max |x| over n floats, NaN ignored as std::fmax does. Compared as integers (sign bit cleared),
// which orders non-NaN floats exactly, denormals included; vec_max would flush those to zero.
// Magnitudes above infinity's bits are NaNs and count as 0.
float max_abs(const float* x, size_t n) {
    const uint32_t magnitude = 0x7fffffff, infinity = 0x7f800000;
    const size_t head = std::min(n, floats_to_boundary(x));
    uint32_t max_bits = 0;
    auto scalar_max = [&](size_t i) {
        uint32_t bits;
        std::memcpy(&bits, &x[i], 4);
        bits &= magnitude;
        if (bits <= infinity) max_bits = std::max(max_bits, bits);
    };
    size_t i = 0;
    for (; i < head; i++) scalar_max(i);
    const vs32 mask = vec_splats(int32_t(magnitude)), inf = vec_splats(int32_t(infinity));
    vs32 m = vec_splat_s32(0);
    for (; i + 4 <= n; i += 4) {
        const vs32 bits = vec_and(reinterpret_cast<vs32>(block_at<vf32>(x + i)), mask);
        m = vec_max(m, vec_andc(bits, reinterpret_cast<vs32>(vec_cmpgt(bits, inf))));
    }
    m = vec_max(m, vec_sld(m, m, 8));
    m = vec_max(m, vec_sld(m, m, 4));
    int32_t vector_max;
    vec_ste(m, 0, &vector_max);
    max_bits = std::max(max_bits, uint32_t(vector_max));
    for (; i < n; i++) scalar_max(i);
    float out;
    std::memcpy(&out, &max_bits, 4);
    return out;
}

// std::round (halves away from zero) to int32: v - trunc(v) is exact, so the comparison with 0.5
// is too.
vs32 round_half_away(vf32 v) {
    const vf32 one = vec_ctf(vec_splat_s32(1), 0), half = vec_ctf(vec_splat_s32(1), 1);
    const vf32 t = vec_trunc(v);
    const vf32 away = vec_or(vec_and(v, negative_zero()), one);  // +-1 with v's sign
    const vf32 round_up = reinterpret_cast<vf32>(vec_cmpge(vec_abs(vec_sub(v, t)), half));
    return vec_cts(vec_add(t, vec_and(away, round_up)), 0);
}

// AltiVec has only a reciprocal estimate, so the FPU divides (exactly as the scalar set does) and
// the vector unit rounds, converts and narrows 16 values at a time.
void quantize_q8(int8_t* q, float* scales, const float* x, size_t n, size_t group_size) {
    for (size_t start = 0, g = 0; start < n; start += group_size, g++) {
        const size_t len = n - start < group_size ? n - start : group_size;
        const float* xg = x + start;
        const float scale = max_abs(xg, len) / 127.0f;
        scales[g] = scale;
        if (scale == 0.0f) {
            std::memset(q + start, 0, len);
            continue;
        }
        for (size_t i = 0; i < len; i += 16) {
            const size_t m = std::min<size_t>(16, len - i);
            vf32 v[4] = {};
            float* quotients = reinterpret_cast<float*>(v);
            for (size_t k = 0; k < m; k++) quotients[k] = clamp_q8_quotient(xg[i + k] / scale);
            const vs32 i0 = round_half_away(v[0]), i1 = round_half_away(v[1]);
            const vs32 i2 = round_half_away(v[2]), i3 = round_half_away(v[3]);
            const vs8 packed = vec_packs(vec_packs(i0, i1), vec_packs(i2, i3));
            std::memcpy(q + start + i, &packed, m);
        }
    }
}

int32_t dot_i8(const int8_t* w, const int8_t* x, size_t n) {
    int32_t sum = 0;
    for (size_t j = 0; j < n; j++) sum += int32_t(w[j]) * int32_t(x[j]);
    return sum;
}

// Any group size, one row, in scalar code: the fallback for group sizes that are not whole
// vectors and for a row's last, short group.
float row_q8_generic(const int8_t* w, const float* ws, const int8_t* x, const float* xs,
                     size_t cols, size_t group_size, size_t first_group) {
    float sum = 0.0f;
    for (size_t g = first_group, start = g * group_size; start < cols; g++, start += group_size) {
        const size_t len = cols - start < group_size ? cols - start : group_size;
        sum += float(dot_i8(w + start, x + start, len)) * ws[g] * xs[g];
    }
    return sum;
}

// Whole groups (group_size a multiple of 16) of R rows sharing one alignment; each x vector is
// loaded once for all R. vec_msum multiplies signed by unsigned bytes (4 products summed into
// each int32 lane), so the weights are biased to unsigned, w + 128 = w ^ 0x80, and the bias
// removed per group: sum x*(w + 128) - 128 * sum x. The correction depends on x only: one
// vec_msum per x vector for all R rows, which then start from it. Exact for any int8 x and w.
// C is the number of vectors per group when known at compile time (the common group sizes), so
// that a group's loops unroll; 0 for any other multiple of 16. x may have any alignment: the
// shift it may need is shared by the R rows.
template <int R, int C, bool WAligned>
void rows_q8(float* y, const int8_t* w, const float* ws, const int8_t* x, const float* xs,
             size_t cols, size_t group_size) {
    const size_t groups = groups_per_row(cols, group_size), full = cols / group_size;
    const size_t vectors = C ? C : group_size / 16;
    const vu8 bias = vec_sl(vec_splat_u8(1), vec_splat_u8(7));  // 0x80 in every byte
    const vs32 zero = vec_splat_s32(0);
    // vec_perm masks: lane 0 of a vector in every lane, and the step to the next lane.
    const vu8 lane0 = {0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3}, next_lane = vec_splat_u8(4);
    Streams<vs8, R, WAligned> wv(w, cols);
    Streams<vs8, 1, false> xv(x, 0);
    vf32 acc[R];
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++) acc[r] = vec_splats(0.0f);

    for (size_t g = 0; g < full; g += 4) {
        const size_t n = std::min<size_t>(4, full - g);
        // ws * xs for these (up to) four groups, one per lane.
        const vf32 xscale = load_floats(xs + g, n);
        vf32 scale[R];
        #pragma GCC unroll 8
        for (int r = 0; r < R; r++)
            scale[r] = vec_madd(load_floats(ws + r * groups + g, n), xscale, negative_zero());
        vu8 lane = lane0;
        #pragma GCC unroll 1  // unrolled (-O3), GCC 12 spills the scales and isums
        for (size_t k = 0; k < n; k++, lane = vec_add(lane, next_lane)) {
            Streams<vs8, 1, false> xc = xv;
            vs32 correction = zero;
            #pragma GCC unroll 4
            for (size_t c = 0; c < vectors; c++, xc.advance())
                correction = vec_msum(xc.at(0), bias, correction);
            vs32 isum[R];
            #pragma GCC unroll 8
            for (int r = 0; r < R; r++) isum[r] = vec_sub(zero, correction);
            #pragma GCC unroll 4
            for (size_t c = 0; c < vectors; c++, xv.advance(), wv.advance()) {
                const vs8 x16 = xv.at(0);
                #pragma GCC unroll 8
                for (int r = 0; r < R; r++)
                    isum[r] =
                        vec_msum(x16, vec_xor(reinterpret_cast<vu8>(wv.at(r)), bias), isum[r]);
            }
            #pragma GCC unroll 8
            for (int r = 0; r < R; r++)
                acc[r] = vec_madd(vec_ctf(isum[r], 0), vec_perm(scale[r], scale[r], lane), acc[r]);
        }
    }
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++)
        y[r] = hsum(acc[r]) +
               row_q8_generic(w + r * cols, ws + r * groups, x, xs, cols, group_size, full);
}

template <int R, int C>
void rows_q8(float* y, const int8_t* w, const float* ws, const int8_t* x, const float* xs,
             size_t cols, size_t group_size) {
    if (aligned16(w))
        rows_q8<R, C, true>(y, w, ws, x, xs, cols, group_size);
    else
        rows_q8<R, C, false>(y, w, ws, x, xs, cols, group_size);
}

// Four rows at a time when rows are whole vectors (then they share one alignment).
template <int C>
void matvec_q8_vectors(float* y, const int8_t* wq, const float* ws, const int8_t* xq,
                       const float* xs, size_t cols, size_t group_size, size_t row_begin,
                       size_t row_end) {
    const size_t groups = groups_per_row(cols, group_size);
    size_t r = row_begin;
    if (cols % 16 == 0)
        for (; r + 4 <= row_end; r += 4)
            rows_q8<4, C>(y + r, wq + r * cols, ws + r * groups, xq, xs, cols, group_size);
    for (; r < row_end; r++)
        rows_q8<1, 0>(y + r, wq + r * cols, ws + r * groups, xq, xs, cols, group_size);
}

void matvec_q8(float* y, const int8_t* wq, const float* ws, const int8_t* xq, const float* xs,
               size_t cols, size_t group_size, size_t row_begin, size_t row_end) {
    if (group_size % 16 != 0 || cols < group_size) {
        const size_t groups = groups_per_row(cols, group_size);
        for (size_t r = row_begin; r < row_end; r++)
            y[r] = row_q8_generic(wq + r * cols, ws + r * groups, xq, xs, cols, group_size, 0);
    } else if (group_size == 32) {
        matvec_q8_vectors<2>(y, wq, ws, xq, xs, cols, group_size, row_begin, row_end);
    } else if (group_size == 64) {
        matvec_q8_vectors<4>(y, wq, ws, xq, xs, cols, group_size, row_begin, row_end);
    } else {
        matvec_q8_vectors<0>(y, wq, ws, xq, xs, cols, group_size, row_begin, row_end);
    }
}

// --- AQLM -------------------------------------------------------------------------------------

// V vectors (4 V entries) of one codebook's dot products for G groups: a vector of codebook values
// holds 4 entries' int16 pairs, which vec_msum (vmsumshm) multiplies by a group's pair and sums
// into each entry's word. Each codebook vector is loaded once for all G groups (the 7450 has one
// load/store unit). xp holds the groups' input pairs splatted, xp[i * pairs + p]. Folds the
// magnitudes into m. columns and out are 16-byte aligned (64-byte aligned model memory and
// table buffer; entries is a multiple of 4).
template <int G, int V>
void dot_vectors(int32_t* out, vs32& m, const int16_t* columns, size_t entries,
                 const vs16* xp, size_t pairs) {
    vs32 acc[G][V];
    #pragma GCC unroll 4
    for (int i = 0; i < G; i++)
        #pragma GCC unroll 8
        for (int v = 0; v < V; v++) acc[i][v] = vec_splat_s32(0);
    for (size_t p = 0; p < pairs; p++, columns += 2 * entries) {
        const vs16* c = reinterpret_cast<const vs16*>(columns);
        #pragma GCC unroll 8
        for (int v = 0; v < V; v++) {
            const vs16 cv = c[v];
            #pragma GCC unroll 4
            for (int i = 0; i < G; i++) acc[i][v] = vec_msum(cv, xp[i * pairs + p], acc[i][v]);
        }
    }
    #pragma GCC unroll 4
    for (int i = 0; i < G; i++) {
        vs32* o = reinterpret_cast<vs32*>(out + i * entries);
        #pragma GCC unroll 8
        for (int v = 0; v < V; v++) {
            o[v] = acc[i][v];
            m = vec_max(m, vec_abs(acc[i][v]));
        }
    }
}

// G groups' entries, V vectors at a time.
template <int G, int V>
void dot_groups(int32_t* d, vs32& m, const int16_t* columns, size_t entries, const vs16* xp,
                size_t pairs) {
    size_t k = 0;
    for (; k + 4 * V <= entries; k += 4 * V)
        dot_vectors<G, V>(d + k, m, columns + 2 * k, entries, xp, pairs);
    for (; k < entries; k += 4) dot_vectors<G, 1>(d + k, m, columns + 2 * k, entries, xp, pairs);
}

struct AqlmBuild {
    static int32_t dot_entries(int32_t* d, const int16_t* columns, size_t entries,
                               const int16_t* x16, size_t pairs, size_t groups) {
        constexpr size_t max_pairs = 8;  // splats kept for two whole groups (AQLM uses 4)
        if (entries % 4 != 0 || pairs > max_pairs)
            return AqlmReferenceBuild::dot_entries(d, columns, entries, x16, pairs, groups);
        // A splat goes through memory on AltiVec: once per group and pair, not per entry block.
        vs16 xp[2 * max_pairs];
        auto splat_pairs = [&](size_t first, size_t count) {
            for (size_t i = 0; i < count; i++)
                for (size_t p = 0; p < pairs; p++)
                    xp[i * pairs + p] = reinterpret_cast<vs16>(
                        vec_splats(input_pair(x16 + (first + i) * 2 * pairs, p)));
        };
        vs32 m = vec_splat_s32(0);
        size_t i = 0;
        for (; i + 2 <= groups; i += 2) {  // two groups per codebook load
            splat_pairs(i, 2);
            dot_groups<2, 4>(d + i * entries, m, columns, entries, xp, pairs);
        }
        if (i < groups) {
            splat_pairs(i, 1);
            dot_groups<1, 8>(d + i * entries, m, columns, entries, xp, pairs);
        }
        m = vec_max(m, vec_sld(m, m, 8));
        m = vec_max(m, vec_sld(m, m, 4));
        int32_t most;
        vec_ste(m, 0, &most);  // every lane holds the maximum
        return most;
    }
    // q and d are 16-byte aligned (the table and its buffer are 64-byte aligned, n a multiple of
    // 16 when vectorised). |d| <= amax keeps every quotient within +-127. Rounding adds and
    // subtracts 1.5 * 2^23, which AltiVec rounds to nearest, ties to even.
    static void quantize(int8_t* q, const int32_t* d, size_t n, float inv) {
        if (n % 16 != 0) return AqlmReferenceBuild::quantize(q, d, n, inv);
        const vf32 s = vec_splats(inv), shift = vec_splats(12582912.0f), zero = negative_zero();
        const vs32* in = reinterpret_cast<const vs32*>(d);
        auto ints = [&](size_t v) {
            const vf32 x = vec_madd(vec_ctf(in[v], 0), s, zero);  // a product, rounded once
            return vec_cts(vec_sub(vec_add(x, shift), shift), 0);
        };
        for (size_t k = 0; k < n; k += 16) {
            const size_t v = k / 4;
            const auto a = vec_packs(ints(v), ints(v + 1)), b = vec_packs(ints(v + 2), ints(v + 3));
            *reinterpret_cast<vs8*>(q + k) = vec_packs(a, b);
        }
    }
};

void aqlm_build_table(int8_t* lut, float* lut_scales, const AqlmPacked& a, const float* x,
                      size_t block_begin, size_t block_end) {
    aqlm_build_table_blocks<AqlmBuild>(lut, lut_scales, a, x, block_begin, block_end);
}

// A 256-entry table is 16 registers. vec_perm looks 16 codes up in a pair of them (32 entries) by
// the codes' low 5 bits; bits 5, 6 and 7 then select among the 8 pairs' results. The sums for a
// table block run in 16-bit lanes (at most 8 * 127). Element order is memory order (big-endian),
// so unpacking the high half gives a block's first rows.
struct AqlmBlock {
    static constexpr size_t vectors = AqlmPacked::row_block / 4;
    struct Sums {
        vf32 v[vectors];
    };
    static Sums no_sums() {
        Sums s;
        for (vf32& v : s.v) v = vec_splats(0.0f);
        return s;
    }
    // The tree of selections is written out pair by pair, so that few results are live at once.
    static vs8 lookup(const vs8* table, vu8 c) {
        const vs8 zero = vec_splat_s8(0);
        const vu8 one = vec_splat_u8(1), two = vec_splat_u8(2);
        const auto bit7 = vec_cmplt(reinterpret_cast<vs8>(c), zero);
        const auto bit6 = vec_cmplt(reinterpret_cast<vs8>(vec_sl(c, one)), zero);
        const auto bit5 = vec_cmplt(reinterpret_cast<vs8>(vec_sl(c, two)), zero);
        auto quarter = [&](int q) {  // entries 64q .. 64q + 63
            const vs8 a = vec_perm(table[4 * q], table[4 * q + 1], c);
            const vs8 b = vec_perm(table[4 * q + 2], table[4 * q + 3], c);
            return vec_sel(a, b, bit5);
        };
        const vs8 low = vec_sel(quarter(0), quarter(1), bit6);
        const vs8 high = vec_sel(quarter(2), quarter(3), bit6);
        return vec_sel(low, high, bit7);
    }
    static void add_table_block(Sums& s, const int8_t* tables, size_t table_stride,
                                const uint8_t* codes, size_t code_stride, size_t steps,
                                float scale) {
        vs16 n[8];
        for (vs16& v : n) v = vec_splat_s16(0);
        for (size_t t = 0; t < steps; t++, tables += table_stride, codes += code_stride) {
            const vs8* table = reinterpret_cast<const vs8*>(tables);
            const vu8* c = reinterpret_cast<const vu8*>(codes);
            #pragma GCC unroll 4
            for (int r = 0; r < 4; r++) {
                const vs8 v = lookup(table, c[r]);
                n[2 * r] = vec_add(n[2 * r], vec_unpackh(v));
                n[2 * r + 1] = vec_add(n[2 * r + 1], vec_unpackl(v));
            }
        }
        const vf32 f = vec_splats(scale), zero = negative_zero();
        #pragma GCC unroll 8
        for (int k = 0; k < 8; k++) {
            const vf32 first = vec_ctf(vec_unpackh(n[k]), 0), second = vec_ctf(vec_unpackl(n[k]), 0);
            s.v[2 * k] = vec_add(s.v[2 * k], vec_madd(first, f, zero));
            s.v[2 * k + 1] = vec_add(s.v[2 * k + 1], vec_madd(second, f, zero));
        }
    }
    static void finish(float* out, const Sums& s, const float* scales) {
        const vf32* sc = reinterpret_cast<const vf32*>(scales);
        vf32* o = reinterpret_cast<vf32*>(out);
        for (size_t k = 0; k < vectors; k++) o[k] = vec_madd(sc[k], s.v[k], negative_zero());
    }
};

void aqlm_matvec_table(float* y, const AqlmPacked& a, const int8_t* lut, const float* lut_scales,
                       size_t row_begin, size_t row_end) {
    aqlm_table_product<AqlmBlock>(y, a, lut, lut_scales, row_begin, row_end);
}

// Groups of 8: each group's weights are two aligned vectors (the codebooks' entries summed; an
// entry is 32 bytes into 64-byte aligned memory), fused into two accumulators with x, which
// streams at any alignment. Other group sizes take the scalar set's loops.
void aqlm_matvec_decode(float* y, const AqlmPacked& a, const float* x, size_t row_begin,
                        size_t row_end) {
    if (a.shape.group_size != 8) return scalar.aqlm_matvec_decode(y, a, x, row_begin, row_end);
    const size_t m_count = a.shape.codebooks, groups = a.shape.groups();
    const size_t entries = a.shape.entries();
    const vf32* codebooks = reinterpret_cast<const vf32*>(a.codebooks);
    for (size_t r = row_begin; r < row_end; r++) {
        const uint16_t* codes = a.codes16 + r * groups * m_count;
        Streams<vf32, 1, false> xs(x, 0);
        vf32 acc0 = vec_splats(0.0f), acc1 = vec_splats(0.0f);
        for (size_t i = 0; i < groups; i++, codes += m_count) {
            const vf32* entry = codebooks + size_t(codes[0]) * 2;
            vf32 w0 = entry[0], w1 = entry[1];
            for (size_t m = 1; m < m_count; m++) {
                entry = codebooks + (m * entries + codes[m]) * 2;
                w0 = vec_add(w0, entry[0]);
                w1 = vec_add(w1, entry[1]);
            }
            acc0 = vec_madd(w0, xs.at(0), acc0);
            xs.advance();
            acc1 = vec_madd(w1, xs.at(0), acc1);
            xs.advance();
        }
        y[r] = a.scales[r] * hsum(vec_add(acc0, acc1));
    }
}

}  // namespace
}  // namespace altivec_impl

const KernelSet altivec = {"altivec", altivec_impl::matvec_f32, altivec_impl::quantize_q8,
                           altivec_impl::matvec_q8, altivec_impl::axpy,
                           altivec_impl::aqlm_build_table, altivec_impl::aqlm_matvec_table,
                           altivec_impl::aqlm_matvec_decode};

}  // namespace llamaport::kernels
