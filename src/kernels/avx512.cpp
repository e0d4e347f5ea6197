// AVX-512 kernels (x86-64 with AVX-512 F, BW, VL, VBMI and VNNI: Intel since Ice Lake, AMD since
// Zen 4).
// Compiled with those flags in this file only and selected at run time. Every entry is its own
// but the input quantizers, the to_f16 conversion, Q8_G and AQLM 1x16's decode (from avx2):
// - the fp32 products (F32, F16, BF16, and the fp32 part of the AQLM batch products), 16 floats
//   a vector, and for prompts a tile of 24 accumulators where AVX2's 16 registers hold 12;
// - the int8-block products (Q8_0, the legacy types, the K-quants) 64 values a vector, with
//   VNNI's vpdpbusd and vpdpwssd summing byte and word products into dwords in one step;
// - the AQLM table kernels, where VBMI's two-register byte permute (vpermi2b) looks up 64 rows'
//   int8 table entries in one instruction, against one AVX2 gather per 8 rows, and the table's
//   int16 dot products run 16 entries wide;
// - attention's axpy rows, 16 values wide.
//
// Against the scalar reference: fp32 products add in another order (16-wide accumulators, fused
// multiply-add), and so do the K-quant products (AVX2's order: tests/test_kquants.cpp), so they
// match it to rounding, not bit for bit; the other int8-block products, the axpy rows, the AQLM
// tables and table products are bit-identical (exact integer sums, then the reference's float
// steps).
#include "kernel_sets.hpp"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512VBMI__) && \
    defined(__AVX512VNNI__) && defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <algorithm>
#include <cstring>

#include "aqlm_table.hpp"
#include "kernel_sets.hpp"
#include "row_driver.hpp"
#include "types/aqlm.hpp"
#include "types/blocks32.hpp"
#include "types/iq4_nl.hpp"
#include "types/q4_0.hpp"
#include "types/q4_1.hpp"
#include "types/q5_0.hpp"
#include "types/q5_1.hpp"
#include "types/q2_k.hpp"
#include "types/q3_k.hpp"
#include "types/q4_k.hpp"
#include "types/q5_k.hpp"
#include "types/q6_k.hpp"
#include "x86_intrinsics.hpp"
#include "x86_common.hpp"

namespace llamaport::kernels {
// A named namespace for the one-file build, as in the other sets.
namespace avx512_impl {
namespace {

// --- fp32 ---------------------------------------------------------------------------------------

// The first n (< 16) lanes, for masked loads of a row's last values.
__mmask16 first_lanes(size_t n) { return __mmask16((1u << n) - 1); }

// The sum of v's 16 lanes, lane i added to i + 8, then to i + 4, i + 2, i + 1: one order for
// every path, so that a row's result does not depend on the path that computed it.
float hsum16(__m512 v) {
    const __m256 upper = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
    const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), upper);
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    return _mm_cvtss_f32(_mm_add_ss(q, _mm_movehdup_ps(q)));
}

// How 16 values of a row or an input are read into fp32 lanes: fp32 as they are, IEEE halves and
// bfloat16 widened (exactly). load_tail reads n < 16 values, zero-padded, and nothing past them.
struct Float32 {
    static constexpr size_t bytes = 4;
    static __m512 load(const uint8_t* p) { return _mm512_loadu_ps(p); }
    static __m512 load_tail(const uint8_t* p, size_t n) {
        return _mm512_maskz_loadu_ps(first_lanes(n), p);
    }
};
struct Half {
    static constexpr size_t bytes = 2;
    static __m512 load(const uint8_t* p) {
        return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    }
    static __m512 load_tail(const uint8_t* p, size_t n) {
        return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(first_lanes(n), p));
    }
};
struct BFloat16 {
    static constexpr size_t bytes = 2;
    static __m512 widen(__m256i h) {
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }
    static __m512 load(const uint8_t* p) {
        return widen(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    }
    static __m512 load_tail(const uint8_t* p, size_t n) {
        return widen(_mm256_maskz_loadu_epi16(first_lanes(n), p));
    }
};

// L rows of element type E, lane l's at w + l * stride bytes, against x (the same type). One
// 16-wide accumulator per row, a chain over j; with L = 8 the chains hide the FMA latency.
// (Products of halves or bfloat16 are exact, so their FMAs round as a multiply-add would.)
// Unlike AVX2's, no prefetch hints: on a Zen 5 EPYC, the products of generation ran without
// them about 20% faster at 15M and 15% faster at 110M F16 (110M F32 the same).
template <class E, size_t L>
void rows_of(float* y, size_t y_lane_stride, const uint8_t* w, size_t stride, size_t cols,
             const uint8_t* x) {
    __m512 acc[L];
    #pragma GCC unroll 8
    for (size_t l = 0; l < L; l++) acc[l] = _mm512_setzero_ps();
    size_t j = 0;
    for (; j + 16 <= cols; j += 16) {
        const __m512 xv = E::load(x + j * E::bytes);
        #pragma GCC unroll 8
        for (size_t l = 0; l < L; l++)
            acc[l] = _mm512_fmadd_ps(E::load(w + l * stride + j * E::bytes), xv, acc[l]);
    }
    if (j < cols) {
        const __m512 xv = E::load_tail(x + j * E::bytes, cols - j);
        #pragma GCC unroll 8
        for (size_t l = 0; l < L; l++)
            acc[l] = _mm512_fmadd_ps(E::load_tail(w + l * stride + j * E::bytes, cols - j), xv, acc[l]);
    }
    for (size_t l = 0; l < L; l++) y[l * y_lane_stride] = hsum16(acc[l]);
}

// One input column: 8 striped lanes, each streaming its own run of rows (as AVX2's).
template <class E>
struct FloatLanes {
    static constexpr size_t lanes = 8, columns = 1;
    static constexpr bool striped = true;
    template <size_t N>
    static void rows(float* y, size_t y_lane_stride, size_t, const uint8_t* w,
                     size_t w_lane_stride, const Matrix& m, const uint8_t* x, size_t) {
        rows_of<E, 8>(y, y_lane_stride, w, w_lane_stride, m.cols, x);
    }
    static float row(const uint8_t* w, const Matrix& m, const uint8_t* x) {
        float y;
        rows_of<E, 1>(&y, 0, w, 0, m.cols, x);
        return y;
    }
};

// Several input columns (a prompt): 6 rows by N columns of accumulators, each row's 16 values
// loaded once for the N columns. Every (row, column) accumulates exactly as rows_of does (one
// 16-wide chain over j, the last values zero-padded, summed by hsum16), so a batch gives every
// column the single-column result bit for bit. Of the tiles that fit the 32 registers, 6 x 4 ran
// the 110M layer's products (64 columns) at 1.68x AVX2's 4 x 3, 5 x 5 at 1.66x, 4 x 6 at 1.55x,
// 8 x 2 at 1.48x; at 8 x 3 or 7 x 3 GCC folds each row's load into its 3 FMAs (0.84x).
template <class E, size_t L = 6>
struct FloatTiles {
    static constexpr size_t lanes = L, columns = 4;
    static constexpr bool striped = false;
    template <size_t N>
    static void rows(float* y, size_t y_lane_stride, size_t y_column_stride, const uint8_t* w,
                     size_t w_lane_stride, const Matrix& m, const uint8_t* x,
                     size_t x_column_stride) {
        const size_t cols = m.cols;
        __m512 acc[lanes][N];
        #pragma GCC unroll 8
        for (size_t l = 0; l < lanes; l++)
            #pragma GCC unroll 8
            for (size_t c = 0; c < N; c++) acc[l][c] = _mm512_setzero_ps();
        auto step = [&](size_t j, auto load) {
            __m512 xv[N];
            #pragma GCC unroll 8
            for (size_t c = 0; c < N; c++) xv[c] = load(x + c * x_column_stride + j * E::bytes);
            #pragma GCC unroll 8
            for (size_t l = 0; l < lanes; l++) {
                const __m512 wv = load(w + l * w_lane_stride + j * E::bytes);
                #pragma GCC unroll 8
                for (size_t c = 0; c < N; c++) acc[l][c] = _mm512_fmadd_ps(wv, xv[c], acc[l][c]);
            }
        };
        size_t j = 0;
        for (; j + 16 <= cols; j += 16) step(j, [](const uint8_t* p) { return E::load(p); });
        if (j < cols)
            step(j, [n = cols - j](const uint8_t* p) { return E::load_tail(p, n); });
        for (size_t l = 0; l < lanes; l++)
            for (size_t c = 0; c < N; c++) y[c * y_column_stride + l * y_lane_stride] = hsum16(acc[l][c]);
    }
    static float row(const uint8_t* w, const Matrix& m, const uint8_t* x) {
        return FloatLanes<E>::row(w, m, x);
    }
};

template <class E>
void product_floats(float* y, size_t y_stride, const Matrix& w, const uint8_t* in,
                    size_t in_stride, size_t columns, size_t row_begin, size_t row_end) {
    if (columns == 1)
        return lanes_product<FloatLanes<E>>(y, y_stride, w, in, in_stride, columns, row_begin, row_end);
    // The rows left over from the 6-row tiles go through a 4-row tile and 1-row tiles, not one
    // column at a time: an AQLM batch tile of 8B holds 16 rows, of its down projection 4
    // (Llama-3.1-8B 2x8 pp16 on 1 thread: 2.7 tok/s with them left to row(), 3.4 with 1-row
    // tiles, 5.0 with the 4-row one; AVX2's 4-row tiles 3.9).
    const size_t six = row_begin + (row_end - row_begin) / 6 * 6;
    const size_t four = six + (row_end - six) / 4 * 4;
    lanes_product<FloatTiles<E>>(y, y_stride, w, in, in_stride, columns, row_begin, six);
    lanes_product<FloatTiles<E, 4>>(y, y_stride, w, in, in_stride, columns, six, four);
    lanes_product<FloatTiles<E, 1>>(y, y_stride, w, in, in_stride, columns, four, row_end);
}

// --- AQLM ---------------------------------------------------------------------------------------

// V vectors (16 V entries) of one codebook's dot products for one group: a vector of codebook
// values holds 16 entries' int16 pairs, which VNNI's vpdpwssd multiplies by the group's pair and
// adds in one step.
// Folds their magnitudes into m.
template <int V>
void dot_vectors(int32_t* out, __m512i& m, const int16_t* columns, size_t entries,
                 const int16_t* x16, size_t pairs) {
    __m512i acc[V];
    #pragma GCC unroll 16
    for (int v = 0; v < V; v++) acc[v] = _mm512_setzero_si512();
    for (size_t p = 0; p < pairs; p++, columns += 2 * entries) {
        const __m512i xp = _mm512_set1_epi32(input_pair(x16, p));
        #pragma GCC unroll 16
        for (int v = 0; v < V; v++)
            acc[v] = _mm512_dpwssd_epi32(acc[v], _mm512_loadu_si512(columns + 32 * v), xp);
    }
    #pragma GCC unroll 16
    for (int v = 0; v < V; v++) {
        _mm512_store_si512(out + 16 * v, acc[v]);
        m = _mm512_max_epi32(m, _mm512_abs_epi32(acc[v]));
    }
}

struct AqlmBuild {
    static int32_t dot_entries(int32_t* d, const int16_t* columns, size_t entries,
                               const int16_t* x16, size_t pairs, size_t groups) {
        if (entries % 16 != 0)
            return AqlmReferenceBuild::dot_entries(d, columns, entries, x16, pairs, groups);
        __m512i m = _mm512_setzero_si512();
        for (size_t i = 0; i < groups; i++, d += entries, x16 += 2 * pairs) {
            size_t k = 0;
            for (; k + 128 <= entries; k += 128)
                dot_vectors<8>(d + k, m, columns + 2 * k, entries, x16, pairs);
            for (; k < entries; k += 16)
                dot_vectors<1>(d + k, m, columns + 2 * k, entries, x16, pairs);
        }
        return _mm512_reduce_max_epi32(m);
    }
    static void quantize(int8_t* q, const int32_t* d, size_t n, float inv) {
        if (n % 16 != 0) return AqlmReferenceBuild::quantize(q, d, n, inv);
        const __m512 s = _mm512_set1_ps(inv);
        for (size_t k = 0; k < n; k += 16) {
            // The default rounding: to nearest, ties to even.
            const __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_load_si512(d + k)), s);
            _mm_storeu_si128(reinterpret_cast<__m128i*>(q + k),
                             _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(v)));
        }
    }
};

// The 64 rows of a block are one vector of codes. A 256-entry table is four vectors: vpermi2b
// looks up entries 0..127 from the first two by the codes' low 7 bits, and 128..255 from the
// other two; the codes' top bits pick between them. The block's sums for the table block run in
// 16-bit lanes (at most 8 * 127), widened to float once per table block. Four blocks at a time,
// each step's table loaded once for them: their codes are four streams from memory, which one
// core reads faster than one (Llama-3.1-8B 2x8 on a Zen 4 EPYC: 1.03-1.07x with the L2 hints
// below, 1.2x when they went to L1; eight: no faster).
struct AqlmBlock {
    struct Sums {
        __m512 v[4];
    };
    static Sums no_sums() {
        return {{_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()}};
    }
    static constexpr size_t blocks_at_once = 4;
    static void add_table_blocks(Sums* s, size_t count, const int8_t* tables, size_t table_stride,
                                 const uint8_t* codes, size_t code_stride, size_t block_stride,
                                 size_t steps, float scale) {
        switch (count) {
            case 1: return add<1>(s, tables, table_stride, codes, code_stride, block_stride, steps, scale);
            case 2: return add<2>(s, tables, table_stride, codes, code_stride, block_stride, steps, scale);
            case 3: return add<3>(s, tables, table_stride, codes, code_stride, block_stride, steps, scale);
            default: return add<4>(s, tables, table_stride, codes, code_stride, block_stride, steps, scale);
        }
    }
    static void store(float* out, const Sums& s) {
        for (int k = 0; k < 4; k++) _mm512_store_ps(out + 16 * k, s.v[k]);
    }

private:
    template <size_t R>
    static void add(Sums* s, const int8_t* tables, size_t table_stride, const uint8_t* codes,
                    size_t code_stride, size_t block_stride, size_t steps, float scale) {
        __m512i n[R][2];  // rows 0-31, 32-63 of each block
        #pragma GCC unroll 4
        for (size_t k = 0; k < R; k++) n[k][0] = n[k][1] = _mm512_setzero_si512();
        // A hint for each block's line R blocks ahead, into L2: hints into L1 wait on L1's few
        // miss buffers (Llama-3.1-8B 2x8 on a Zen 4 EPYC: 5.3 tok/s with T0 hints, 8.1-8.4 with
        // T1). Without hints it runs at 0.8x; twice the distance is as fast. (One block at a
        // time, a T0 hint 8 KiB ahead took it from 6.9 to 9.4 tokens per second; 2, 4, 6, 12,
        // 16 and 32 KiB: 6.9, 7.8, 8.5, 8.0, 6.6, 6.0.)
        const size_t ahead = R * block_stride;
        for (size_t t = 0; t < steps; t++, tables += table_stride, codes += code_stride) {
            const __m512i* table = reinterpret_cast<const __m512i*>(tables);
            const __m512i t0 = _mm512_load_si512(table), t1 = _mm512_load_si512(table + 1);
            const __m512i t2 = _mm512_load_si512(table + 2), t3 = _mm512_load_si512(table + 3);
            #pragma GCC unroll 4
            for (size_t k = 0; k < R; k++) {
                const uint8_t* block_codes = codes + k * block_stride;
                _mm_prefetch(reinterpret_cast<const char*>(block_codes) + ahead, _MM_HINT_T1);
                const __m512i c = _mm512_load_si512(block_codes);
                const __m512i low = _mm512_permutex2var_epi8(t0, c, t1);
                const __m512i high = _mm512_permutex2var_epi8(t2, c, t3);
                const __m512i v = _mm512_mask_blend_epi8(_mm512_movepi8_mask(c), low, high);
                n[k][0] = _mm512_add_epi16(n[k][0], _mm512_cvtepi8_epi16(_mm512_castsi512_si256(v)));
                n[k][1] = _mm512_add_epi16(n[k][1], _mm512_cvtepi8_epi16(_mm512_extracti64x4_epi64(v, 1)));
            }
        }
        const __m512 f = _mm512_set1_ps(scale);
        #pragma GCC unroll 4
        for (size_t k = 0; k < R; k++) {
            const __m256i halves[4] = {_mm512_castsi512_si256(n[k][0]), _mm512_extracti64x4_epi64(n[k][0], 1),
                                       _mm512_castsi512_si256(n[k][1]), _mm512_extracti64x4_epi64(n[k][1], 1)};
            #pragma GCC unroll 4
            for (int h = 0; h < 4; h++) {
                const __m512 sum = _mm512_cvtepi32_ps(_mm512_cvtepi16_epi32(halves[h]));
                s[k].v[h] = _mm512_add_ps(s[k].v[h], _mm512_mul_ps(sum, f));
            }
        }
    }
};

// --- attention's axpy -------------------------------------------------------------------------

// AVX2's axpy_rows 16 values wide, y in registers 64 values at a time across the rows, the tails
// masked (no reads past a row). Multiply, then add, each rounded: bit for bit the scalar set's.
// The coefficients as they are against fp32 rows, rounded to half against halves.
struct Float32Rows : Float32 {
    static float coefficient(float a) { return a; }
};
struct HalfRows : Half {
    static float coefficient(float a) { return x86::round_to_half(a); }
};

template <class E>
void axpy_rows(float* y, const float* a, const uint8_t* x, size_t x_stride, size_t rows, size_t n) {
    const size_t row_bytes = x_stride * E::bytes;
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __m512 acc[4];
        #pragma GCC unroll 4
        for (size_t k = 0; k < 4; k++) acc[k] = _mm512_loadu_ps(y + i + 16 * k);
        const uint8_t* xr = x + i * E::bytes;
        for (size_t r = 0; r < rows; r++, xr += row_bytes) {
            const __m512 ar = _mm512_set1_ps(E::coefficient(a[r]));
            #pragma GCC unroll 4
            for (size_t k = 0; k < 4; k++)
                acc[k] = _mm512_add_ps(acc[k], _mm512_mul_ps(ar, E::load(xr + 16 * k * E::bytes)));
        }
        #pragma GCC unroll 4
        for (size_t k = 0; k < 4; k++) _mm512_storeu_ps(y + i + 16 * k, acc[k]);
    }
    for (; i < n; i += 16) {
        const size_t m = std::min<size_t>(16, n - i);
        const __mmask16 mask = m == 16 ? __mmask16(0xFFFF) : first_lanes(m);
        __m512 acc = _mm512_maskz_loadu_ps(mask, y + i);
        const uint8_t* xr = x + i * E::bytes;
        for (size_t r = 0; r < rows; r++, xr += row_bytes)
            acc = _mm512_add_ps(acc, _mm512_mul_ps(_mm512_set1_ps(E::coefficient(a[r])), E::load_tail(xr, m)));
        _mm512_mask_storeu_ps(y + i, mask, acc);
    }
}

void axpy_f32(float* y, const float* a, const float* x, size_t x_stride, size_t rows, size_t n) {
    axpy_rows<Float32Rows>(y, a, reinterpret_cast<const uint8_t*>(x), x_stride, rows, n);
}

void axpy_f16(float* y, const float* a, const uint16_t* x, size_t x_stride, size_t rows, size_t n) {
    axpy_rows<HalfRows>(y, a, reinterpret_cast<const uint8_t*>(x), x_stride, rows, n);
}

// --- K-quants (Q2_K ... Q6_K) against Q8_K ----------------------------------------------------

__m512i load64(const uint8_t* p) { return _mm512_loadu_si512(p); }

// A K-quant block decoded once for all the input columns: 4 vectors of 64 unsigned values (at
// most 63), each 16-value group's scale in the int16 lanes of its products, and the 16 groups'
// mins as int16.
struct KDecoded {
    __m512i u[4], scale[4];
    __m256i mins;
    float d, dmin;
};

// scale from the 16 groups' scales as int16: vector k holds values 64k..64k+63, so its 128-bit
// lane j (8 pair products) takes group 4k + j.
void spread_scales(__m256i group_scales, KDecoded& out) {
    const __m512i scales = _mm512_castsi256_si512(group_scales);
    #pragma GCC unroll 4
    for (int k = 0; k < 4; k++) {
        const __m512i index = _mm512_add_epi16(
            _mm512_set1_epi16(int16_t(4 * k)),
            _mm512_srli_epi16(_mm512_set_epi16(31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16,
                                               15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                              3));
        out.scale[k] = _mm512_permutexvar_epi16(index, scales);
    }
}

// Any K-quant type through its reference unpacking.
template <class T>
struct KUnpacked {
    static void decode(const uint8_t* block, KDecoded& out) {
        alignas(64) types::KBlock b;
        types::k_unpack<T>(block, b);
        for (size_t k = 0; k < 4; k++) out.u[k] = load64(b.u + 64 * k);
        spread_scales(_mm512_cvtepi32_epi16(_mm512_loadu_si512(b.scale)), out);
        out.mins = _mm512_cvtepi32_epi16(_mm512_loadu_si512(b.min));
        out.d = b.d;
        out.dmin = b.dmin;
    }
};

// 32 bytes in both halves, the high half shifted right by 4 bits (16-bit lanes): with a mask,
// the low nibbles then the high ones.
__m512i nibble_halves(const uint8_t* p) {
    const __m512i shifts = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(4), 1);
    return _mm512_and_si512(_mm512_srlv_epi16(_mm512_broadcast_i64x4(_mm256_loadu_si256(
                                reinterpret_cast<const __m256i*>(p))), shifts),
                            _mm512_set1_epi8(0x0F));
}

struct Q6KDecode {
    static void decode(const uint8_t* block, KDecoded& out) {
        const __m512i low4 = _mm512_set1_epi8(0x0F);
        // Per half of the block, 64 bytes of low bits hold chunks 0 and 1 (low nibbles) and 2
        // and 3 (high nibbles); the same 32 bytes of high bits hold their bits 4-5 in bit pairs
        // 0, 1, 2 and 3. Each pair is masked, then moved to bits 4-5 by a shift per 256-bit half
        // (no bit crosses into the neighbouring byte of the 16-bit shifts).
        const __m512i mask01 = _mm512_inserti64x4(_mm512_set1_epi8(0x03), _mm256_set1_epi8(0x0C), 1);
        const __m512i mask23 = _mm512_inserti64x4(_mm512_set1_epi8(0x30), _mm256_set1_epi8(char(0xC0)), 1);
        const __m512i left01 = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1);
        const __m512i right23 = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1);
        #pragma GCC unroll 2
        for (int half = 0; half < 2; half++) {
            const __m512i ql = load64(block + types::Q6K::ql + 64 * half);
            const __m512i qh = _mm512_broadcast_i64x4(
                _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + types::Q6K::qh + 32 * half)));
            // (low bits & low4) | high bits, one vpternlogd each.
            out.u[2 * half] = _mm512_ternarylogic_epi32(
                ql, low4, _mm512_sllv_epi16(_mm512_and_si512(qh, mask01), left01), 0xEA);
            out.u[2 * half + 1] = _mm512_ternarylogic_epi32(
                _mm512_srli_epi16(ql, 4), low4, _mm512_srlv_epi16(_mm512_and_si512(qh, mask23), right23), 0xEA);
        }
        spread_scales(_mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(block + types::Q6K::scales))), out);
        out.mins = _mm256_setzero_si256();
        out.d = x86::half_at(block + types::Q6K::d);
        out.dmin = 0.0f;
    }
};

// 32 bytes in both halves, bit pair K in the low half and K + 1 in the high one, each in bits
// 0-1 (a shift per 256-bit half): two chunks of Q2_K's or Q3_K's low bits.
template <int K>
__m512i bit_pair_halves(__m512i qs) {
    const __m512i shifts = _mm512_inserti64x4(_mm512_set1_epi16(2 * K), _mm256_set1_epi16(2 * K + 2), 1);
    return _mm512_and_si512(_mm512_srlv_epi16(qs, shifts), _mm512_set1_epi8(0x03));
}

// Q2_K: each 32-byte half of qs holds 4 chunks in its bit pairs, two chunks to a vector; each
// scale byte a group's scale (low nibble) and min (high).
struct Q2KDecode {
    static void decode(const uint8_t* block, KDecoded& out) {
        #pragma GCC unroll 2
        for (int half = 0; half < 2; half++) {
            const __m512i qs = _mm512_broadcast_i64x4(
                _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + types::Q2K::qs + 32 * half)));
            out.u[2 * half] = bit_pair_halves<0>(qs);
            out.u[2 * half + 1] = bit_pair_halves<2>(qs);
        }
        const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block + types::Q2K::scales));
        const __m128i low4 = _mm_set1_epi8(0x0F);
        spread_scales(_mm256_cvtepu8_epi16(_mm_and_si128(packed, low4)), out);
        out.mins = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(packed, 4), low4));
        out.d = x86::half_at(block + types::Q2K::d);
        out.dmin = x86::half_at(block + types::Q2K::dmin);
    }
};

// Q5_K: nibble_halves gives chunks 2k and 2k + 1 of vector k; their fifth bits (bits 2k and
// 2k + 1 of qh, a half each) add 16 where set. The scales and mins are Q4_K's
// (x86::q4k_scales_mins), each group of 32 two of 16 here.
struct Q5KDecode {
    static void decode(const uint8_t* block, KDecoded& out) {
        const __m512i qh = _mm512_broadcast_i64x4(
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + types::Q5K::qh)));
        #pragma GCC unroll 4
        for (int k = 0; k < 4; k++) {
            const __m512i bits = _mm512_inserti64x4(_mm512_set1_epi8(char(1 << 2 * k)), _mm256_set1_epi8(char(2 << 2 * k)), 1);
            const __m512i nibbles = nibble_halves(block + types::Q5K::qs + 32 * k);
            out.u[k] = _mm512_mask_add_epi8(nibbles, _mm512_test_epi8_mask(qh, bits), nibbles, _mm512_set1_epi8(16));
        }
        const __m128i scales_mins = _mm256_castsi256_si128(x86::q4k_scales_mins(
            _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(block)))));
        spread_scales(_mm256_cvtepu8_epi16(_mm_unpacklo_epi8(scales_mins, scales_mins)), out);
        out.mins = _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(scales_mins, scales_mins));
        out.d = x86::half_at(block + types::Q5K::d);
        out.dmin = x86::half_at(block + types::Q5K::dmin);
    }
};

// Q3_K: chunk 4n + k's low bits are bit pair k of qs[32n..] (shifted out as Q2_K's), its third
// bit bit 4n + k of hmask, which adds 4 where set.
struct Q3KDecode {
    static void decode(const uint8_t* block, KDecoded& out) {
        const __m512i four = _mm512_set1_epi8(4);
        const __m512i hmask = _mm512_broadcast_i64x4(
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + types::Q3K::hmask)));
        #pragma GCC unroll 2
        for (int half = 0; half < 2; half++) {
            const __m512i qs = _mm512_broadcast_i64x4(
                _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + types::Q3K::qs + 32 * half)));
            const int bit = 4 * half;
            const __m512i bits01 = _mm512_inserti64x4(_mm512_set1_epi8(char(1 << bit)), _mm256_set1_epi8(char(2 << bit)), 1);
            const __m512i bits23 = _mm512_inserti64x4(_mm512_set1_epi8(char(4 << bit)), _mm256_set1_epi8(char(8 << bit)), 1);
            const __m512i low01 = bit_pair_halves<0>(qs), low23 = bit_pair_halves<2>(qs);
            out.u[2 * half] = _mm512_mask_add_epi8(low01, _mm512_test_epi8_mask(hmask, bits01), low01, four);
            out.u[2 * half + 1] = _mm512_mask_add_epi8(low23, _mm512_test_epi8_mask(hmask, bits23), low23, four);
        }
        spread_scales(_mm256_cvtepi8_epi16(x86::q3k_scales(block + types::Q3K::scales)), out);
        out.mins = _mm256_setzero_si256();
        out.d = x86::half_at(block + types::Q3K::d);
        out.dmin = 0.0f;
    }
};

// The integer work of the K-quant lanes (x86::KLanes) 64 values wide, VNNI's vpdpwssd adding
// the scaled pairs: half AVX2's instructions per block. The 16 dword sums fold exactly into 8
// lanes of 32 values each, as AVX2's, so the float steps and their bound stay AVX2's.
struct KSum {
    using Decoded = KDecoded;
    template <class T>
    static __m256i of(const KDecoded& b, const uint8_t* q) {
        const __m512i offset = _mm512_set1_epi8(int8_t(T::offset));
        __m512i sum = _mm512_setzero_si512();
        #pragma GCC unroll 4
        for (int k = 0; k < 4; k++) {
            const __m512i xk = load64(q + 64 * k);
            __m512i p = _mm512_maddubs_epi16(b.u[k], xk);
            // Pairs of (u - offset) * x, exact in int16 (at most 2 * 32 * 127).
            if (T::offset) p = _mm512_sub_epi16(p, _mm512_maddubs_epi16(offset, xk));
            sum = _mm512_dpwssd_epi32(sum, p, b.scale[k]);
        }
        return _mm256_add_epi32(_mm512_castsi512_si256(sum), _mm512_extracti64x4_epi64(sum, 1));
    }
};

// Q4_K, 4 striped rows as x86::KLanes, with each block's header (d, dmin and the 12 bytes of
// 6-bit scales and mins: its first 16 bytes) unpacked for the 4 rows together by shuffles
// (x86::q4k_scales_mins) into one vector, a 128-bit lane per row, and the mins' products for
// the 4 rows in one vpmaddwd: a row's block then takes about 35 instructions where the shared path's scalar unpacking took about 95 (1B
// Q4_K_M tg on one thread 34.7 -> 38.5 tok/s, 69% -> 87% of the ceiling, medians of 7 rounds;
// 110M tg 1.14x, pp128 1.04-1.08x). A row's float steps stay add_k_block's, so its result is
// the same in lanes or alone, and matches AVX2's.
struct Q4KLanes {
    static constexpr size_t lanes = 4, columns = 4;
    static constexpr bool striped = true;

    template <size_t N, size_t L = lanes>
    static void rows(float* y, size_t y_lane_stride, size_t y_column_stride, const uint8_t* w,
                     size_t w_lane_stride, const Matrix& m, const uint8_t* x,
                     size_t x_column_stride) {
        __m256 acc[L][N];
        __m512 acc_min[N];  // 128-bit lane l: row l's 4 min accumulators
        for (size_t c = 0; c < N; c++) {
            for (size_t l = 0; l < L; l++) acc[l][c] = _mm256_setzero_ps();
            acc_min[c] = _mm512_setzero_ps();
        }
        // vpshufb controls: vector k's 128-bit lane j takes scale 2k + j / 2 (its 16 values are
        // in group (64k + 16j) / 32) as int16; the mins as int16.
        __m512i scale_of[4];
        for (int k = 0; k < 4; k++) {
            const char a = char(2 * k), b = char(2 * k + 1);
            scale_of[k] = _mm512_set_epi8(-1, b, -1, b, -1, b, -1, b, -1, b, -1, b, -1, b, -1, b,
                                          -1, b, -1, b, -1, b, -1, b, -1, b, -1, b, -1, b, -1, b,
                                          -1, a, -1, a, -1, a, -1, a, -1, a, -1, a, -1, a, -1, a,
                                          -1, a, -1, a, -1, a, -1, a, -1, a, -1, a, -1, a, -1, a);
        }
        const __m512i mins_of = _mm512_broadcast_i32x4(
            _mm_setr_epi8(8, -1, 9, -1, 10, -1, 11, -1, 12, -1, 13, -1, 14, -1, 15, -1));
        // Words 0-15: lane l's d in words 4l..4l+3; 16-31 its dmin.
        const __m512i d_dmin_of = _mm512_set_epi16(25, 25, 25, 25, 17, 17, 17, 17, 9, 9, 9, 9, 1, 1, 1, 1,
                                                   24, 24, 24, 24, 16, 16, 16, 16, 8, 8, 8, 8, 0, 0, 0, 0);
        const size_t blocks = m.cols / types::k_values;
        for (size_t i = 0; i < blocks; i++, w += types::Q4K::bytes, x += types::q8_k_bytes) {
            auto header_of = [&](size_t l) {
                return _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + (l < L ? l : 0) * w_lane_stride));
            };
            const __m256i headers01 = _mm256_inserti128_si256(_mm256_castsi128_si256(header_of(0)), header_of(1), 1);
            const __m256i headers23 = _mm256_inserti128_si256(_mm256_castsi128_si256(header_of(2)), header_of(3), 1);
            const __m512i header = _mm512_inserti64x4(_mm512_castsi256_si512(headers01), headers23, 1);
            const __m512i scales = _mm512_inserti64x4(_mm512_castsi256_si512(x86::q4k_scales_mins(headers01)),
                                                      x86::q4k_scales_mins(headers23), 1);
            const __m512i mins = _mm512_shuffle_epi8(scales, mins_of);
            const __m512i halves = _mm512_permutexvar_epi16(d_dmin_of, header);
            const __m512 d = _mm512_cvtph_ps(_mm512_castsi512_si256(halves));
            const __m512 dmin = _mm512_cvtph_ps(_mm512_extracti64x4_epi64(halves, 1));
            __m512 x_d_d[N];
            for (size_t c = 0; c < N; c++) {
                const uint8_t* xb = x + c * x_column_stride;
                const __m512 x_d = _mm512_set1_ps(types::q8_k_scale(xb));
                x_d_d[c] = _mm512_mul_ps(x_d, d);
                const __m512i bsums = _mm512_broadcast_i32x4(x86::q8k_pair_bsums(xb));
                acc_min[c] = _mm512_fnmadd_ps(_mm512_mul_ps(x_d, dmin),
                                              _mm512_cvtepi32_ps(_mm512_madd_epi16(mins, bsums)), acc_min[c]);
            }
            #pragma GCC unroll 4
            for (size_t l = 0; l < L; l++) {
                const uint8_t* qs = w + l * w_lane_stride + types::Q4K::qs;
                const int64_t lo = int64_t(2 * l), hi = lo + 1;
                const __m512i row_scales = _mm512_permutexvar_epi64(_mm512_set_epi64(hi, lo, hi, lo, hi, lo, hi, lo), scales);
                KDecoded b;  // its mins, d and dmin are the vectors above
                #pragma GCC unroll 4
                for (int k = 0; k < 4; k++) {
                    // Chunks 2k and 2k + 1 are the low and high nibbles of 32 bytes: vector k.
                    b.u[k] = nibble_halves(qs + 32 * k);
                    b.scale[k] = _mm512_shuffle_epi8(row_scales, scale_of[k]);
                }
                #pragma GCC unroll 4
                for (size_t c = 0; c < N; c++) {
                    const __m256i sums = KSum::of<types::Q4K>(b, x + c * x_column_stride + types::q8_k_values_offset);
                    const __m256 x_d_row = _mm512_castps512_ps256(
                        _mm512_permutexvar_ps(_mm512_set1_epi32(int(4 * l)), x_d_d[c]));
                    acc[l][c] = _mm256_fmadd_ps(x_d_row, _mm256_cvtepi32_ps(sums), acc[l][c]);
                }
            }
        }
        for (size_t c = 0; c < N; c++) {
            alignas(64) float mins[16];
            _mm512_store_ps(mins, acc_min[c]);
            for (size_t l = 0; l < L; l++)
                y[c * y_column_stride + l * y_lane_stride] =
                    x86::k_result<types::Q4K>(acc[l][c], _mm_load_ps(mins + 4 * l));
        }
    }
    static float row(const uint8_t* w, const Matrix& m, const uint8_t* x) {
        float y;
        rows<1, 1>(&y, 0, 0, w, 0, m, x, 0);
        return y;
    }
};

template <class T, class Decode = KUnpacked<T>>
void product_k(float* y, size_t y_stride, const Matrix& w, const uint8_t* in, size_t in_stride,
               size_t columns, size_t row_begin, size_t row_end) {
    lanes_product<x86::KLanes<T, Decode, KSum>>(y, y_stride, w, in, in_stride, columns, row_begin, row_end);
}

// --- ggml's Q8_0 and legacy blocks (Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL) ---------------------------

// As AVX2's transposed layout (each lane one row, a block's integer sums for 8 rows in one vector
// with no horizontal sums), with two consecutive blocks in a vector: dwords 0-7 the 8 lanes' rows
// in block b, dwords 8-15 in block b + 1. Transposing, decoding and the dot products then cover
// twice the values per instruction while the rows stay 8 streams (16 measured slower for
// generation on AVX2). VNNI's vpdpbusd sums 4 byte products into a dword in one step, never
// saturating, so no int16 runs.

// The line 2 KiB ahead in a lane, on top of the L2 streamer: 1B Q4_0 generation 27 -> 30 tok/s
// against 1 KiB (AVX2's), 22-24 at 4 KiB, 26 with no hints (which cost 110M Q4_0 12%).
void prefetch(const void* p) { _mm_prefetch(static_cast<const char*>(p) + 2048, _MM_HINT_T0); }

// 16 bytes of each of 8 lanes' rows (lane l's at p + l * stride) in two blocks (the second
// `next` bytes further) as 4 vectors: vector k's dword l holds bytes 4k..4k+3 of lane l's first
// block, dword 8 + l of its second.
void transpose_pairs(const uint8_t* p, size_t stride, size_t next, __m512i out[4]) {
    auto load16 = [](const uint8_t* q) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(q)); };
    __m512i y[4];
    #pragma GCC unroll 4
    for (size_t l = 0; l < 4; l++) {
        const uint8_t* a = p + l * stride;
        const uint8_t* b = p + (l + 4) * stride;
        __m512i v = _mm512_castsi128_si512(load16(a));
        v = _mm512_inserti32x4(v, load16(b), 1);
        v = _mm512_inserti32x4(v, load16(a + next), 2);
        y[l] = _mm512_inserti32x4(v, load16(b + next), 3);
    }
    const __m512i a0 = _mm512_unpacklo_epi32(y[0], y[1]), a1 = _mm512_unpackhi_epi32(y[0], y[1]);
    const __m512i a2 = _mm512_unpacklo_epi32(y[2], y[3]), a3 = _mm512_unpackhi_epi32(y[2], y[3]);
    out[0] = _mm512_unpacklo_epi64(a0, a2);
    out[1] = _mm512_unpackhi_epi64(a0, a2);
    out[2] = _mm512_unpacklo_epi64(a1, a3);
    out[3] = _mm512_unpackhi_epi64(a1, a3);
}

// 16 packed bytes per lane and block (low nibbles values 0-15, high nibbles 16-31), transposed.
// Forced inline, as AVX2's: GCC called it, with t through memory.
[[gnu::always_inline]] inline void transposed_nibbles(const uint8_t* p, size_t stride, size_t next, __m512i t[8]) {
    __m512i packed[4];
    transpose_pairs(p, stride, next, packed);
    const __m512i low = _mm512_set1_epi8(0x0F);
    #pragma GCC unroll 4
    for (size_t k = 0; k < 4; k++) {
        t[k] = _mm512_and_si512(packed[k], low);
        t[k + 4] = _mm512_and_si512(_mm512_srli_epi16(packed[k], 4), low);
    }
}

// Each block type's values, transposed, as vpdpbusd takes them; words(p) reads the 32-bit
// field at p of every lane (Q5's fifth bits): by word loads in generation (1B Q5_0 tg on one
// thread 17.9 -> 22.2 tok/s, 110M 1.14x, medians of 3 alternated rounds against the gather),
// by a gather in prompts, where one serves 64 columns (word loads there: pp 0.95x).
//   flipped   the values are signed (after taking away the stored offset): vpdpbusd multiplies
//             the unsigned x + 128 (x xor 0x80) by them, and each lane's sum is corrected by
//             128 * the sum of its values, once per block for all the columns. Otherwise the
//             values are unsigned and multiply x as it is.
template <class T>
struct PairValues {
    using Blocks = types::Blocks32<T>;
    static constexpr size_t block_bytes = T::bytes, input_bytes = Blocks::input_bytes,
                            input_values_offset = Blocks::input_values_offset;
    static constexpr bool has_min = T::has_min;
    static float row(const uint8_t* w, const Matrix& m, const uint8_t* x) {
        return Blocks::row_dot(w, x, m.cols);
    }
};
struct Q4_0Pairs : PairValues<types::Q4_0> {
    static constexpr bool flipped = true;
    template <class Words>
    static void values(const uint8_t* w, size_t stride, size_t next, Words, __m512i t[8]) {
        transposed_nibbles(w + types::Q4_0::values_offset, stride, next, t);
        #pragma GCC unroll 8
        for (size_t j = 0; j < 8; j++) t[j] = _mm512_sub_epi8(t[j], _mm512_set1_epi8(8));
    }
};
struct Q4_1Pairs : PairValues<types::Q4_1> {
    static constexpr bool flipped = false;
    template <class Words>
    static void values(const uint8_t* w, size_t stride, size_t next, Words, __m512i t[8]) {
        transposed_nibbles(w + types::Q4_1::values_offset, stride, next, t);
    }
};
struct IQ4_NLPairs : PairValues<types::IQ4_NL> {
    static constexpr bool flipped = true;
    template <class Words>
    static void values(const uint8_t* w, size_t stride, size_t next, Words, __m512i t[8]) {
        const __m512i levels = _mm512_broadcast_i32x4(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(types::iq4_nl_levels)));
        transposed_nibbles(w + types::IQ4_NL::values_offset, stride, next, t);
        #pragma GCC unroll 8
        for (size_t j = 0; j < 8; j++) t[j] = _mm512_shuffle_epi8(levels, t[j]);
    }
};
// Q5's fifth bits (each lane's 32-bit word: bit i, value i) added to transposed nibbles as
// 0x10: byte b of t[j]'s lane is value 4j + b, so VBMI's multishift picks bit 4j + b of the
// lane's word into byte b (32 bits further for the odd lane of each 64-bit pair).
void add_fifth_bits(__m512i words, __m512i t[8]) {
    #pragma GCC unroll 8
    for (int j = 0; j < 8; j++) {
        const int b = 4 * j;
        const __m512i control = _mm512_set1_epi64(int64_t(
            uint64_t(b) | uint64_t(b + 1) << 8 | uint64_t(b + 2) << 16 | uint64_t(b + 3) << 24 |
            uint64_t(b + 32) << 32 | uint64_t(b + 33) << 40 | uint64_t(b + 34) << 48 |
            uint64_t(b + 35) << 56));
        const __mmask64 set = _mm512_test_epi8_mask(_mm512_multishift_epi64_epi8(control, words),
                                                    _mm512_set1_epi8(1));
        t[j] = _mm512_mask_add_epi8(t[j], set, t[j], _mm512_set1_epi8(0x10));  // bit 4 is clear
    }
}
struct Q5_0Pairs : PairValues<types::Q5_0> {
    static constexpr bool flipped = true;
    template <class Words>
    static void values(const uint8_t* w, size_t stride, size_t next, Words words, __m512i t[8]) {
        transposed_nibbles(w + types::Q5_0::values_offset, stride, next, t);
        add_fifth_bits(words(w + types::Q5_0::bits_offset), t);
        #pragma GCC unroll 8
        for (size_t j = 0; j < 8; j++) t[j] = _mm512_sub_epi8(t[j], _mm512_set1_epi8(16));
    }
};
struct Q5_1Pairs : PairValues<types::Q5_1> {
    static constexpr bool flipped = false;
    template <class Words>
    static void values(const uint8_t* w, size_t stride, size_t next, Words words, __m512i t[8]) {
        transposed_nibbles(w + types::Q5_1::values_offset, stride, next, t);
        add_fifth_bits(words(w + types::Q5_1::bits_offset), t);
    }
};
struct Q8_0Pairs {
    static constexpr size_t block_bytes = types::q8_0_bytes, input_bytes = types::q8_0_bytes,
                            input_values_offset = 2;
    static constexpr bool has_min = false, flipped = true;
    template <class Words>
    static void values(const uint8_t* w, size_t stride, size_t next, Words, __m512i t[8]) {
        transpose_pairs(w + 2, stride, next, t);
        transpose_pairs(w + 18, stride, next, t + 4);
    }
    static float row(const uint8_t* w, const Matrix& m, const uint8_t* x) {
        return types::q8_0_row_dot(w, x, m.cols);
    }
};

// For flipped values, 128 * the sum of each lane's values; else 0.
template <class V>
__m512i flipped_correction(const __m512i t[8]) {
    __m512i sum = _mm512_setzero_si512();
    if constexpr (V::flipped) {
        #pragma GCC unroll 8
        for (size_t j = 0; j < 8; j++) sum = _mm512_dpbusd_epi32(sum, _mm512_set1_epi8(1), t[j]);
    }
    return _mm512_slli_epi32(sum, 7);
}

// Adds a block's byte products for 16 lanes: vpdpbusd takes the unsigned operand first.
template <class V>
__m512i add_dots(__m512i isum, __m512i xj, __m512i t) {
    return V::flipped ? _mm512_dpbusd_epi32(isum, xj, t) : _mm512_dpbusd_epi32(isum, t, xj);
}

// llama.cpp's float step for a block in 16 lanes, from its exact integer sums: isum * (w_d * x_d),
// or with a minimum (w_d * x_d) * isum + w_m * x_s.
template <class V>
__m512 block_step(__m512i isum, __m512i correction, __m512 wd, __m512 wm, __m512 xd, __m512 xs) {
    const __m512 sums = _mm512_cvtepi32_ps(_mm512_sub_epi32(isum, correction));
    if constexpr (V::has_min)
        return _mm512_add_ps(_mm512_mul_ps(_mm512_mul_ps(wd, xd), sums), _mm512_mul_ps(wm, xs));
    return _mm512_mul_ps(sums, _mm512_mul_ps(wd, xd));
}

// The fp16 fields at 16 offsets from block (a lane's block each; x86 is little-endian: the low
// half of each gathered word), widened exactly: prompts, where a block step serves 64 columns.
__m512 gathered_halves(const uint8_t* block, __m512i offsets) {
    const __m512i words = _mm512_i32gather_epi32(offsets, block, 1);
    return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(words));
}

// The fp16 field at `block` of 8 lanes `stride` apart (floats 0-7) and `next` bytes further
// (8-15), widened exactly: generation's scales.
__m512 word_halves(const uint8_t* block, size_t stride, size_t next) {
    return _mm512_cvtph_ps(_mm256_inserti128_si256(
        _mm256_castsi128_si256(x86::lane_words(block, stride)), x86::lane_words(block + next, stride), 1));
}

// An input column's fp16 field of blocks b (dwords 0-7) and b + 1 (8-15).
__m512 pair_broadcast(const uint8_t* x, size_t next) {
    uint16_t h0, h1;
    std::memcpy(&h0, x, 2);
    std::memcpy(&h1, x + next, 2);
    return _mm512_cvtph_ps(_mm256_inserti128_si256(_mm256_castsi128_si256(_mm_set1_epi16(int16_t(h0))),
                                                   _mm_set1_epi16(int16_t(h1)), 1));
}

// 8 striped lanes for one input column (generation; prompts take BlockLanes), two blocks at a
// step (the last one alone when their count is odd: its second half computed again, and
// dropped). Per step the values are transposed once; then the exact integer sums for 16 (row,
// block) pairs in one vector, and llama.cpp's float step for both blocks in 16 lanes, added to
// the 8 rows' accumulator block b first, then b + 1: the scalar set's order, so results are bit
// for bit the reference's, in lanes or alone.
template <class V>
struct BlockPairs {
    static constexpr size_t lanes = 8, columns = 1;
    static constexpr bool striped = true;
    template <size_t N>
    static void rows(float* y, size_t y_lane_stride, size_t, const uint8_t* w,
                     size_t w_lane_stride, const Matrix& m, const uint8_t* x, size_t) {
        const size_t blocks = m.cols / types::blocks32_values;
        __m256 acc = _mm256_setzero_ps();
        for (size_t b = 0; b < blocks; b += 2, w += 2 * V::block_bytes, x += 2 * V::input_bytes) {
            const bool pair = b + 1 < blocks;
            const size_t w_next = pair ? V::block_bytes : 0, x_next = pair ? V::input_bytes : 0;
            #pragma GCC unroll 8
            for (size_t l = 0; l < 8; l++) prefetch(w + l * w_lane_stride);
            __m512i t[8];
            V::values(w, w_lane_stride, w_next, [&](const uint8_t* p) {
                return _mm512_inserti64x4(_mm512_castsi256_si512(x86::lane_dwords(p, w_lane_stride)),
                                          x86::lane_dwords(p + w_next, w_lane_stride), 1);
            }, t);
            const __m512i correction = flipped_correction<V>(t);
            const __m512 wd = word_halves(w, w_lane_stride, w_next);
            const __m512 wm = V::has_min ? word_halves(w + 2, w_lane_stride, w_next) : wd;
            __m512i xx = _mm512_inserti64x4(
                _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + V::input_values_offset))),
                _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + x_next + V::input_values_offset)), 1);
            if constexpr (V::flipped) xx = _mm512_xor_si512(xx, _mm512_set1_epi8(char(0x80)));
            __m512i isum = _mm512_setzero_si512();
            #pragma GCC unroll 8
            for (size_t j = 0; j < 8; j++) {
                // Bytes 4j..4j+3 of block b's 32 values in dwords 0-7, of block b + 1's in 8-15.
                const __m512i xj = _mm512_permutexvar_epi32(
                    _mm512_inserti64x4(_mm512_set1_epi32(int(j)), _mm256_set1_epi32(int(j + 8)), 1), xx);
                isum = add_dots<V>(isum, xj, t[j]);
            }
            const __m512 xd = pair_broadcast(x, x_next);
            const __m512 xs = V::has_min ? pair_broadcast(x + 2, x_next) : xd;
            const __m512 step = block_step<V>(isum, correction, wd, wm, xd, xs);
            acc = _mm256_add_ps(acc, _mm512_castps512_ps256(step));
            if (pair) acc = _mm256_add_ps(acc, _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(step), 1)));
        }
        alignas(32) float sums[8];
        _mm256_store_ps(sums, acc);
        for (size_t l = 0; l < 8; l++) y[l * y_lane_stride] = sums[l];
    }
    // The reference's arithmetic, which the lanes reproduce bit for bit.
    static float row(const uint8_t* w, const Matrix& m, const uint8_t* x) { return V::row(w, m, x); }
};

// Prompts: G groups of 16 lanes, one block at a step, for up to 64 input columns. The
// transposing above with `next` 8 rows down puts 16 rows of one block in a vector, so each
// column's 4 input bytes are one broadcast from memory (no permute) and the float step covers
// 16 rows whole. Two groups share each broadcast: 110M Q4_0 pp128 822 tok/s on pairs of blocks,
// 846 on one group of 16 rows, 871 on two. A whole batch of 64 columns per transposing, rather
// than 16: 1B Q4_0 pp64 98 -> 140 tok/s. The accumulators live in memory either way, so the
// column count is a run-time one (one body, not 64). The lanes are neighbouring rows, not
// striped over the range as for generation: weights read from DRAM then come in one stretch (1B
// Q4_0 pp64 on 1 thread 135 -> 180 tok/s, Q8_0 116 -> 155; 110M, whose weights the caches
// hold, 1-4% slower). Bit for bit the reference's, as above.
template <class V, size_t G>
struct BlockLanes {
    static constexpr size_t groups = G, lanes = 16 * groups, columns = 64;
    static constexpr bool striped = false;
    template <size_t N>
    static void rows(float* y, size_t y_lane_stride, size_t y_column_stride, const uint8_t* w,
                     size_t w_lane_stride, const Matrix& m, const uint8_t* x,
                     size_t x_column_stride) {
        column_rows(N, y, y_lane_stride, y_column_stride, w, w_lane_stride, m, x, x_column_stride);
    }
    [[gnu::noinline]] static void column_rows(size_t n, float* y, size_t y_lane_stride,
                                              size_t y_column_stride, const uint8_t* w,
                                              size_t w_lane_stride, const Matrix& m,
                                              const uint8_t* x, size_t x_column_stride) {
        const size_t blocks = m.cols / types::blocks32_values, group_stride = 16 * w_lane_stride;
        const __m512i offsets = _mm512_mullo_epi32(
            _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
            _mm512_set1_epi32(int(w_lane_stride)));
        __m512 acc[groups][columns];
        for (size_t g = 0; g < groups; g++)
            for (size_t c = 0; c < n; c++) acc[g][c] = _mm512_setzero_ps();
        for (size_t b = 0; b < blocks; b++, w += V::block_bytes, x += V::input_bytes) {
            __m512i t[groups][8], correction[groups];
            __m512 wd[groups], wm[groups];
            for (size_t g = 0; g < groups; g++) {
                const uint8_t* wg = w + g * group_stride;
                #pragma GCC unroll 16
                for (size_t l = 0; l < 16; l++) prefetch(wg + l * w_lane_stride);
                V::values(wg, w_lane_stride, 8 * w_lane_stride,
                          [&](const uint8_t* p) { return _mm512_i32gather_epi32(offsets, p, 1); }, t[g]);
                correction[g] = flipped_correction<V>(t[g]);
                wd[g] = gathered_halves(wg, offsets);
                wm[g] = V::has_min ? gathered_halves(wg + 2, offsets) : wd[g];
            }
            #pragma GCC unroll 2
            for (size_t c = 0; c < n; c++) {
                const uint8_t* xc = x + c * x_column_stride;
                const uint8_t* xv = xc + V::input_values_offset;
                __m512i isum[groups];
                #pragma GCC unroll 2
                for (size_t g = 0; g < groups; g++) isum[g] = _mm512_setzero_si512();
                #pragma GCC unroll 8
                for (size_t j = 0; j < 8; j++) {
                    int32_t word;
                    std::memcpy(&word, xv + 4 * j, 4);
                    __m512i xj = _mm512_set1_epi32(word);  // a broadcast from memory
                    if constexpr (V::flipped) xj = _mm512_xor_si512(xj, _mm512_set1_epi8(char(0x80)));
                    #pragma GCC unroll 2
                    for (size_t g = 0; g < groups; g++) isum[g] = add_dots<V>(isum[g], xj, t[g][j]);
                }
                const __m512 xd = _mm512_set1_ps(x86::half_at(xc));
                const __m512 xs = V::has_min ? _mm512_set1_ps(x86::half_at(xc + 2)) : xd;
                #pragma GCC unroll 2
                for (size_t g = 0; g < groups; g++)  // acc + the step
                    acc[g][c] = _mm512_add_ps(acc[g][c], block_step<V>(isum[g], correction[g], wd[g], wm[g], xd, xs));
            }
        }
        for (size_t g = 0; g < groups; g++)
            #pragma GCC unroll 4
            for (size_t c = 0; c < n; c++) {
                alignas(64) float sums[16];
                _mm512_store_ps(sums, acc[g][c]);
                for (size_t l = 0; l < 16; l++)
                    y[c * y_column_stride + (16 * g + l) * y_lane_stride] = sums[l];
            }
    }
    static float row(const uint8_t* w, const Matrix& m, const uint8_t* x) { return V::row(w, m, x); }
};

// One column (generation) on pairs of blocks in 8 row streams; more on 16 rows of a block, two
// groups at a time, then one: a thread's 144 rows of 15M left 16 to row() one column at a time,
// and 15M Q8_0 pp128 on 2 threads ran slower than on 1.
template <class V>
void product_pairs(float* y, size_t y_stride, const Matrix& w, const uint8_t* in, size_t in_stride,
                   size_t columns, size_t row_begin, size_t row_end) {
    if (columns == 1)
        return lanes_product<BlockPairs<V>>(y, y_stride, w, in, in_stride, columns, row_begin, row_end);
    const size_t pairs_end = row_begin + (row_end - row_begin) / 32 * 32;
    lanes_product<BlockLanes<V, 2>>(y, y_stride, w, in, in_stride, columns, row_begin, pairs_end);
    lanes_product<BlockLanes<V, 1>>(y, y_stride, w, in, in_stride, columns, pairs_end, row_end);
}


}  // namespace
}  // namespace avx512_impl

// The entries this set has; the rest comes from avx2 (kernel_sets.def).
bool add_avx512_kernels(KernelSet& set) {
    using namespace avx512_impl;
    set.prepare[size_t(InputFormat::AqlmTable)] = aqlm_prepare<AqlmBuild>;
    set.product[size_t(WeightType::AQLM)] = aqlm_product<AqlmBlock>;
    add_aqlm_half_sums<AqlmBlock>(set);
    set.product[size_t(WeightType::F32)] = product_floats<Float32>;
    set.product[size_t(WeightType::F16)] = product_floats<Half>;
    set.product[size_t(WeightType::BF16)] = product_floats<BFloat16>;
    set.batch_product[size_t(WeightType::AQLM)] = aqlm_batch_product<x86::AqlmGroups, product_floats<Float32>>;
    // Prompts on matrices of 4M weights and more take the tables, not rows decoded to fp32
    // (every matrix of 1B and 8B but 1B's 2048 x 512 ones; none of 110M's, the largest 1.6M).
    // 1 thread / 2 threads, pp tok/s, decoding everywhere -> tables everywhere: 8B pp16 4.7 ->
    // 13.5 / 9.7 -> 21.9, 1B pp128 44.6 -> 82.9 / 85.5 -> 133; but 110M pp128 696 -> 656 / 1231
    // -> 758, its 64 columns' tables (3 MiB a matrix) read by both threads from L3.
    set.batch_weights_below[size_t(WeightType::AQLM)] = size_t(1) << 22;
    set.batch_product[size_t(WeightType::AQLM_WIDE)] = aqlm_batch_product<x86::AqlmGroups, product_floats<Float32>>;
    set.axpy_f32 = axpy_f32;
    set.axpy_f16 = axpy_f16;
    set.product[size_t(WeightType::Q6_K)] = product_k<types::Q6K, Q6KDecode>;
    set.product[size_t(WeightType::Q4_K)] = lanes_product<Q4KLanes>;
    set.product[size_t(WeightType::Q5_K)] = product_k<types::Q5K, Q5KDecode>;
    set.product[size_t(WeightType::Q3_K)] = product_k<types::Q3K, Q3KDecode>;
    set.product[size_t(WeightType::Q2_K)] = product_k<types::Q2K, Q2KDecode>;
    set.product[size_t(WeightType::Q8_0)] = product_pairs<Q8_0Pairs>;
    set.product[size_t(WeightType::Q4_0)] = product_pairs<Q4_0Pairs>;
    set.product[size_t(WeightType::Q4_1)] = product_pairs<Q4_1Pairs>;
    set.product[size_t(WeightType::Q5_0)] = product_pairs<Q5_0Pairs>;
    set.product[size_t(WeightType::Q5_1)] = product_pairs<Q5_1Pairs>;
    set.product[size_t(WeightType::IQ4_NL)] = product_pairs<IQ4_NLPairs>;
    return true;
}

}  // namespace llamaport::kernels

#else  // not compiled for AVX-512 VBMI

bool llamaport::kernels::add_avx512_kernels(KernelSet&) { return false; }

#endif
