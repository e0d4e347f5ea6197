// AVX2 + FMA kernels (x86-64 since Haswell). Compiled with -mavx2 -mfma in this file only and
// selected at run time, so the rest of the binary still runs on older x86 CPUs.
//
// Differences from the scalar reference: matvec_f32 and matvec_q8 add in a different
// order (several accumulators, fused multiply-add; matvec_q8 also multiplies the two scales
// first), so they match it to rounding, not bit for bit.
// quantize_q8 and axpy_f32 give bit-identical results, and so do the AQLM tables and their
// products (integer sums); the AQLM decode kernel adds in a different order.
#include <algorithm>
#include <cstring>

#include "aqlm_table.hpp"
#include "kernel_sets.hpp"
#include "llamaport/aqlm.hpp"
#include "x86_intrinsics.hpp"

namespace llamaport::kernels {
// Every kernel set uses the same function names, and the one-file build (tools/amalgamate.py)
// puts them all in one translation unit: hence a named namespace. The anonymous one inside keeps
// internal linkage, which lets GCC inline the helpers as freely as in a file of their own.
namespace avx2_impl {
namespace {

// The first n (< 8) lanes set, for masked loads and stores of a tail.
__m256i tail_mask(size_t n) {
    static const int32_t bits[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bits + 8 - n));
}

float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

int32_t hsum(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
    return _mm_cvtsi128_si32(s);
}

float hmax(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

// --- fp32 ---------------------------------------------------------------------------------------

// Rows are read in 8 lanes, each a linear walk through its own run of consecutive rows, so that
// the hardware L2 streamer sees 8 long streams. Blocks of adjacent rows, one stream per row that
// ends after a few hundred bytes, left it idle: on a Sapphire Rapids Xeon this took a 110M
// model's products from about 75% (fp32) and 60% (Q8_0) to about 95% of the single-core read
// bandwidth.
constexpr size_t lanes = 8;

// Hints the line 1 KiB ahead of p in its lane (running on into the lane's next row), on top of
// the streamer: 5-10% faster than the streamer alone; 4 KiB ahead or a hint to L2 only was
// slower, a non-temporal one far slower.
void prefetch(const void* p) { _mm_prefetch(static_cast<const char*>(p) + 1024, _MM_HINT_T0); }

// [sum(v[0]), ..., sum(v[7])]
__m256 hsum8(const __m256* v) {
    const __m256 h0 = _mm256_hadd_ps(_mm256_hadd_ps(v[0], v[1]), _mm256_hadd_ps(v[2], v[3]));
    const __m256 h1 = _mm256_hadd_ps(_mm256_hadd_ps(v[4], v[5]), _mm256_hadd_ps(v[6], v[7]));
    return _mm256_add_ps(_mm256_permute2f128_ps(h0, h1, 0x21), _mm256_blend_ps(h0, h1, 0xF0));
}

// L lanes, `run` rows each, lane l's rows starting run * l rows after w: y[l * run + i] for i in
// [0, run). One accumulator per lane, two FMAs into it per step: L = 8 chains hide the latency.
template <size_t L>
void lanes_f32(float* y, const float* w, const float* x, size_t cols, size_t run) {
    const size_t stride = run * cols;
    for (size_t i = 0; i < run; i++, w += cols, y++) {
        __m256 acc[L];
        #pragma GCC unroll 8
        for (size_t l = 0; l < L; l++) acc[l] = _mm256_setzero_ps();
        size_t j = 0;
        for (; j + 16 <= cols; j += 16) {
            const __m256 x0 = _mm256_loadu_ps(x + j), x1 = _mm256_loadu_ps(x + j + 8);
            #pragma GCC unroll 8
            for (size_t l = 0; l < L; l++) {
                const float* p = w + l * stride + j;
                acc[l] = _mm256_fmadd_ps(_mm256_loadu_ps(p), x0, acc[l]);
                acc[l] = _mm256_fmadd_ps(_mm256_loadu_ps(p + 8), x1, acc[l]);
                prefetch(p);
            }
        }
        for (; j < cols; j += 8) {
            // Masked loads read nothing past the end of the row.
            const __m256i mask = tail_mask(std::min<size_t>(8, cols - j));
            const __m256 x0 = _mm256_maskload_ps(x + j, mask);
            #pragma GCC unroll 8
            for (size_t l = 0; l < L; l++)
                acc[l] = _mm256_fmadd_ps(_mm256_maskload_ps(w + l * stride + j, mask), x0, acc[l]);
        }
        if constexpr (L == lanes) {
            alignas(32) float sums[L];
            _mm256_store_ps(sums, hsum8(acc));
            for (size_t l = 0; l < L; l++) y[l * run] = sums[l];
        } else {
            for (size_t l = 0; l < L; l++) y[l * run] = hsum(acc[l]);
        }
    }
}

void matvec_f32(float* y, const float* w, const float* x, size_t cols, size_t row_begin,
                size_t row_end) {
    const size_t run = (row_end - row_begin) / lanes, rest = row_begin + lanes * run;
    lanes_f32<lanes>(y + row_begin, w + row_begin * cols, x, cols, run);
    lanes_f32<1>(y + rest, w + rest * cols, x, cols, row_end - rest);
}

// Multiply, then add, both rounded: the same result as the scalar set, bit for bit.
void axpy(float* y, float a, const float* x, size_t n) {
    const __m256 av = _mm256_set1_ps(a);
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(y + i),
                                              _mm256_mul_ps(av, _mm256_loadu_ps(x + i))));
    if (i < n) {
        const __m256i mask = tail_mask(n - i);
        _mm256_maskstore_ps(y + i, mask,
                            _mm256_add_ps(_mm256_maskload_ps(y + i, mask),
                                          _mm256_mul_ps(av, _mm256_maskload_ps(x + i, mask))));
    }
}

// --- Q8_0 ---------------------------------------------------------------------------------------

// std::round (halves away from zero) on values that fit an int32; there is no such rounding mode.
// v - trunc(v) is exact, so the comparison with 0.5 is too.
// clamp_q8_quotient of 8 lanes: the ordered self-compare zeroes NaN lanes, then min/max clamp.
__m256 clamp_q8_quotients(__m256 v) {
    v = _mm256_and_ps(v, _mm256_cmp_ps(v, v, _CMP_ORD_Q));
    return _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(-127.0f)), _mm256_set1_ps(127.0f));
}

__m256 round_half_away(__m256 v) {
    const __m256 sign_bit = _mm256_set1_ps(-0.0f);
    const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 frac = _mm256_andnot_ps(sign_bit, _mm256_sub_ps(v, t));
    const __m256 away = _mm256_or_ps(_mm256_and_ps(v, sign_bit), _mm256_set1_ps(1.0f));
    return _mm256_add_ps(
        t, _mm256_and_ps(_mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ), away));
}

// Stores the first n (<= 8) of 8 integral floats in [-127, 127] as int8.
void store_q8(int8_t* q, __m256 v, size_t n) {
    const __m256i i32 = _mm256_cvtps_epi32(v);
    const __m128i i16 =
        _mm_packs_epi32(_mm256_castsi256_si128(i32), _mm256_extracti128_si256(i32, 1));
    const __m128i i8 = _mm_packs_epi16(i16, i16);
    if (n == 8) {
        _mm_storel_epi64(reinterpret_cast<__m128i*>(q), i8);
    } else {
        alignas(16) int8_t tmp[16];
        _mm_store_si128(reinterpret_cast<__m128i*>(tmp), i8);
        std::memcpy(q, tmp, n);
    }
}

// Divides by the scale (as the scalar set does, not multiplying by a reciprocal) so that q is
// identical.
void quantize_q8(int8_t* q, float* scales, const float* x, size_t n, size_t group_size) {
    const __m256 sign_bit = _mm256_set1_ps(-0.0f);
    for (size_t start = 0, g = 0; start < n; start += group_size, g++) {
        const size_t len = n - start < group_size ? n - start : group_size;
        const float* xg = x + start;
        // max(|x|, m) keeps m when x is NaN, as std::fmax does.
        __m256 m = _mm256_setzero_ps();
        size_t i = 0;
        for (; i + 8 <= len; i += 8)
            m = _mm256_max_ps(_mm256_andnot_ps(sign_bit, _mm256_loadu_ps(xg + i)), m);
        if (i < len)
            m = _mm256_max_ps(
                _mm256_andnot_ps(sign_bit, _mm256_maskload_ps(xg + i, tail_mask(len - i))), m);
        const float scale = hmax(m) / 127.0f;
        scales[g] = scale;
        if (scale == 0.0f) {
            std::memset(q + start, 0, len);
            continue;
        }
        const __m256 s = _mm256_set1_ps(scale);
        for (i = 0; i + 8 <= len; i += 8)
            store_q8(q + start + i,
                     round_half_away(clamp_q8_quotients(_mm256_div_ps(_mm256_loadu_ps(xg + i), s))), 8);
        if (i < len)
            store_q8(q + start + i,
                     round_half_away(clamp_q8_quotients(
                         _mm256_div_ps(_mm256_maskload_ps(xg + i, tail_mask(len - i)), s))),
                     len - i);
    }
}

// sum w[k]*x[k] over 32 bytes, as 8 int32 partial sums. maddubs multiplies unsigned by signed
// bytes, so it gets |w| and x with w's sign. Needs x in [-127, 127] (quantize_q8's range): -(-128)
// does not fit a byte. w may be -128 (|w| = 128 as unsigned). A pair sum is at most
// 2 * 128 * 127 = 32512, so maddubs never saturates.
__m256i dot32(__m256i w, __m256i x) {
    const __m256i prod16 = _mm256_maddubs_epi16(_mm256_abs_epi8(w), _mm256_sign_epi8(x, w));
    return _mm256_madd_epi16(prod16, _mm256_set1_epi16(1));
}

int32_t dot_i8(const int8_t* w, const int8_t* x, size_t n) {
    __m256i acc = _mm256_setzero_si256();
    size_t j = 0;
    for (; j + 32 <= n; j += 32)
        acc = _mm256_add_epi32(acc,
                               dot32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + j)),
                                     _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + j))));
    int32_t sum = hsum(acc);
    for (; j < n; j++) sum += int32_t(w[j]) * int32_t(x[j]);
    return sum;
}

// Any group size, one row: integer dot per group, then scaled as the scalar set does.
float row_q8_generic(const int8_t* w, const float* ws, const int8_t* x, const float* xs,
                     size_t cols, size_t group_size, size_t first_group) {
    float sum = 0.0f;
    for (size_t g = first_group, start = g * group_size; start < cols; g++, start += group_size) {
        const size_t len = cols - start < group_size ? cols - start : group_size;
        sum += float(dot_i8(w + start, x + start, len)) * ws[g] * xs[g];
    }
    return sum;
}

// [sum(v[0]), ..., sum(v[7])]
__m256i hsum8(const __m256i* v) {
    const __m256i h0 =
        _mm256_hadd_epi32(_mm256_hadd_epi32(v[0], v[1]), _mm256_hadd_epi32(v[2], v[3]));
    const __m256i h1 =
        _mm256_hadd_epi32(_mm256_hadd_epi32(v[4], v[5]), _mm256_hadd_epi32(v[6], v[7]));
    return _mm256_add_epi32(_mm256_permute2x128_si256(h0, h1, 0x21),
                            _mm256_blend_epi32(h0, h1, 0xF0));
}

// group_size a multiple of 32, in lanes as matvec_f32 (rows y[l * run + i]); whole groups here,
// the last short group (if any) by row_q8_generic. Each group's 8 integer sums are reduced to
// one vector, converted and scaled together: one FMA per group instead of one per row. C is the
// number of 32-byte chunks per group when known at compile time (the common group sizes), so
// that a group's loop unrolls; 0 for any other.
template <int C>
void lanes_q8(float* y, const int8_t* w, const float* ws, const int8_t* x, const float* xs,
              size_t cols, size_t group_size, size_t run) {
    const size_t groups = groups_per_row(cols, group_size), full = cols / group_size;
    const size_t chunks = C ? C : group_size / 32, stride = run * cols;
    auto load = [](const int8_t* p) {
        return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    };
    // Lane l's scale of group g is ws[l * run * groups + g]: gathered, int32 offsets (checked by
    // matvec_q8).
    const __m256i scale_index = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                                   _mm256_set1_epi32(int(run * groups)));
    for (size_t i = 0; i < run; i++, w += cols, ws += groups, y++) {
        // The lanes' scales are 8 more streams, slow ones the streamer does not keep ahead of: a
        // hint 256 bytes ahead in each, once per row, made this 4-5% faster.
        #pragma GCC unroll 8
        for (size_t l = 0; l < lanes; l++)
            _mm_prefetch(reinterpret_cast<const char*>(ws + l * run * groups) + 256, _MM_HINT_T0);
        __m256 acc = _mm256_setzero_ps();
        for (size_t g = 0, j = 0; g < full; g++) {
            __m256i isum[lanes];
            const __m256i x0 = load(x + j);
            #pragma GCC unroll 8
            for (size_t l = 0; l < lanes; l++) {
                isum[l] = dot32(load(w + l * stride + j), x0);
                if (C != 1 || g % 2 == 0) prefetch(w + l * stride + j);  // once per 64 bytes
            }
            j += 32;
            #pragma GCC unroll 4
            for (size_t c = 1; c < chunks; c++, j += 32) {
                const __m256i xv = load(x + j);
                #pragma GCC unroll 8
                for (size_t l = 0; l < lanes; l++) {
                    isum[l] = _mm256_add_epi32(isum[l], dot32(load(w + l * stride + j), xv));
                    if (c % 2 == 0) prefetch(w + l * stride + j);
                }
            }
            const __m256 scale = _mm256_mul_ps(_mm256_i32gather_ps(ws + g, scale_index, 4),
                                               _mm256_set1_ps(xs[g]));
            acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(hsum8(isum)), scale, acc);
        }
        alignas(32) float sums[lanes];
        _mm256_store_ps(sums, acc);
        for (size_t l = 0; l < lanes; l++)
            y[l * run] = sums[l] + row_q8_generic(w + l * stride, ws + l * run * groups, x, xs,
                                                  cols, group_size, full);
    }
}

void matvec_q8(float* y, const int8_t* wq, const float* ws, const int8_t* xq, const float* xs,
               size_t cols, size_t group_size, size_t row_begin, size_t row_end) {
    const size_t groups = groups_per_row(cols, group_size);
    const size_t run = (row_end - row_begin) / lanes;
    size_t r = row_begin;
    if (group_size % 32 == 0 && run * groups * (lanes - 1) <= INT32_MAX) {
        float* yr = y + r;
        const int8_t* wr = wq + r * cols;
        const float* sr = ws + r * groups;
        if (group_size == 32)
            lanes_q8<1>(yr, wr, sr, xq, xs, cols, group_size, run);
        else if (group_size == 64)
            lanes_q8<2>(yr, wr, sr, xq, xs, cols, group_size, run);
        else
            lanes_q8<0>(yr, wr, sr, xq, xs, cols, group_size, run);
        r += lanes * run;
    }
    for (; r < row_end; r++)
        y[r] = row_q8_generic(wq + r * cols, ws + r * groups, xq, xs, cols, group_size, 0);
}

// --- AQLM -------------------------------------------------------------------------------------

int32_t hmax(__m256i v) {
    __m128i m = _mm_max_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    m = _mm_max_epi32(m, _mm_unpackhi_epi64(m, m));
    m = _mm_max_epi32(m, _mm_shuffle_epi32(m, 1));
    return _mm_cvtsi128_si32(m);
}

// V vectors (8 V entries) of one codebook's dot products for one group: a vector of codebook
// values holds 8 entries' int16 pairs, which vpmaddwd multiplies by the group's pair and sums.
// Folds their magnitudes into m.
template <int V>
void dot_vectors(int32_t* out, __m256i& m, const int16_t* columns, size_t entries,
                 const int16_t* x16, size_t pairs) {
    __m256i acc[V];
    #pragma GCC unroll 8
    for (int v = 0; v < V; v++) acc[v] = _mm256_setzero_si256();
    for (size_t p = 0; p < pairs; p++, columns += 2 * entries) {
        const __m256i xp = _mm256_set1_epi32(input_pair(x16, p));
        #pragma GCC unroll 8
        for (int v = 0; v < V; v++)
            acc[v] = _mm256_add_epi32(acc[v], _mm256_madd_epi16(_mm256_loadu_si256(
                         reinterpret_cast<const __m256i*>(columns + 16 * v)), xp));
    }
    #pragma GCC unroll 8
    for (int v = 0; v < V; v++) {
        _mm256_store_si256(reinterpret_cast<__m256i*>(out + 8 * v), acc[v]);
        m = _mm256_max_epi32(m, _mm256_abs_epi32(acc[v]));
    }
}

struct AqlmBuild {
    static int32_t dot_entries(int32_t* d, const int16_t* columns, size_t entries,
                               const int16_t* x16, size_t pairs, size_t groups) {
        if (entries % 8 != 0)
            return AqlmReferenceBuild::dot_entries(d, columns, entries, x16, pairs, groups);
        __m256i m = _mm256_setzero_si256();
        for (size_t i = 0; i < groups; i++, d += entries, x16 += 2 * pairs) {
            size_t k = 0;
            for (; k + 64 <= entries; k += 64)
                dot_vectors<8>(d + k, m, columns + 2 * k, entries, x16, pairs);
            for (; k < entries; k += 8) dot_vectors<1>(d + k, m, columns + 2 * k, entries, x16, pairs);
        }
        return hmax(m);
    }
    static void quantize(int8_t* q, const int32_t* d, size_t n, float inv) {
        if (n % 32 != 0) return AqlmReferenceBuild::quantize(q, d, n, inv);
        const __m256 s = _mm256_set1_ps(inv);
        auto ints = [&](size_t k) {  // the default rounding: to nearest, ties to even
            const __m256i v = _mm256_load_si256(reinterpret_cast<const __m256i*>(d + k));
            return _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_cvtepi32_ps(v), s));
        };
        for (size_t k = 0; k < n; k += 32) {
            const __m256i i16 = _mm256_packs_epi32(ints(k), ints(k + 8));
            const __m256i i16b = _mm256_packs_epi32(ints(k + 16), ints(k + 24));
            // The packs work within 128-bit lanes: put the 32-bit groups back in order.
            const __m256i i8 = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(i16, i16b),
                                                           _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + k), i8);
        }
    }
};

void aqlm_build_table(int8_t* lut, float* lut_scales, const AqlmPacked& a, const float* x,
                      size_t block_begin, size_t block_end) {
    aqlm_build_table_blocks<AqlmBuild>(lut, lut_scales, a, x, block_begin, block_end);
}

// Eight gathers per step, 8 rows each: a 32-bit word from the table at each code (the table's
// slack covers the last one), of which the low byte is the entry.
struct AqlmBlock {
    static constexpr size_t vectors = AqlmPacked::row_block / 8;
    struct Sums {
        __m256 v[vectors];
    };
    static Sums no_sums() {
        Sums s;
        for (__m256& v : s.v) v = _mm256_setzero_ps();
        return s;
    }
    static void add_table_block(Sums& s, const int8_t* tables, size_t table_stride,
                                const uint8_t* codes, size_t code_stride, size_t steps,
                                float scale) {
        __m256i n[vectors];
        for (__m256i& v : n) v = _mm256_setzero_si256();
        for (size_t t = 0; t < steps; t++, tables += table_stride, codes += code_stride) {
            _mm_prefetch(reinterpret_cast<const char*>(codes) + 2048, _MM_HINT_T0);  // as AVX-512's
            const int* words = reinterpret_cast<const int*>(tables);
            #pragma GCC unroll 8
            for (size_t k = 0; k < vectors; k++) {
                const __m256i index = _mm256_cvtepu8_epi32(
                    _mm_loadl_epi64(reinterpret_cast<const __m128i*>(codes + 8 * k)));
                const __m256i w = _mm256_i32gather_epi32(words, index, 1);
                n[k] = _mm256_add_epi32(n[k], _mm256_srai_epi32(_mm256_slli_epi32(w, 24), 24));
            }
        }
        const __m256 f = _mm256_set1_ps(scale);
        #pragma GCC unroll 8
        for (size_t k = 0; k < vectors; k++)
            s.v[k] = _mm256_add_ps(s.v[k], _mm256_mul_ps(_mm256_cvtepi32_ps(n[k]), f));
    }
    static void finish(float* out, const Sums& s, const float* scales) {
        for (size_t k = 0; k < vectors; k++)
            _mm256_store_ps(out + 8 * k, _mm256_mul_ps(_mm256_load_ps(scales + 8 * k), s.v[k]));
    }
};

void aqlm_matvec_table(float* y, const AqlmPacked& a, const int8_t* lut, const float* lut_scales,
                       size_t row_begin, size_t row_end) {
    aqlm_table_product<AqlmBlock>(y, a, lut, lut_scales, row_begin, row_end);
}

// Groups of 8: each group's weights are one vector (the codebooks' entries summed), one FMA with
// x. Other group sizes take the scalar set's loops.
void aqlm_matvec_decode(float* y, const AqlmPacked& a, const float* x, size_t row_begin,
                        size_t row_end) {
    if (a.shape.group_size != 8) return scalar.aqlm_matvec_decode(y, a, x, row_begin, row_end);
    const size_t m_count = a.shape.codebooks, groups = a.shape.groups();
    const size_t entries = a.shape.entries();
    for (size_t r = row_begin; r < row_end; r++) {
        const uint16_t* codes = a.codes16 + r * groups * m_count;
        __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
        for (size_t i = 0; i < groups; i++, codes += m_count) {
            __m256 w = _mm256_loadu_ps(a.codebooks + size_t(codes[0]) * 8);
            for (size_t m = 1; m < m_count; m++)
                w = _mm256_add_ps(w, _mm256_loadu_ps(a.codebooks + (m * entries + codes[m]) * 8));
            // Two chains: the codebook loads miss the caches, the FMAs need not wait in line.
            if (i % 2)
                acc1 = _mm256_fmadd_ps(w, _mm256_loadu_ps(x + i * 8), acc1);
            else
                acc0 = _mm256_fmadd_ps(w, _mm256_loadu_ps(x + i * 8), acc0);
        }
        y[r] = a.scales[r] * hsum(_mm256_add_ps(acc0, acc1));
    }
}

}  // namespace
}  // namespace avx2_impl

const KernelSet avx2 = {"avx2", avx2_impl::matvec_f32, avx2_impl::quantize_q8,
                        avx2_impl::matvec_q8, avx2_impl::axpy,
                        avx2_impl::aqlm_build_table, avx2_impl::aqlm_matvec_table,
                        avx2_impl::aqlm_matvec_decode};

}  // namespace llamaport::kernels
