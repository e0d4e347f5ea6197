// AVX-512 kernels (x86-64 with AVX-512 F, BW, VL, VBMI and VNNI: Intel since Ice Lake, AMD since
// Zen 4).
// Compiled with those flags in this file only and selected at run time. They change two things:
// - the fp32 products (F32, F16, BF16, and the fp32 part of the AQLM batch products), 16 floats
//   a vector, and for prompts a tile of 24 accumulators where AVX2's 16 registers hold 12;
// - the AQLM table kernels, where VBMI's two-register byte permute (vpermi2b) looks up 64 rows'
//   int8 table entries in one instruction, against one AVX2 gather per 8 rows, and the table's
//   int16 dot products run 16 entries wide.
// Every other entry falls back to the AVX2 set.
//
// Against the scalar reference: fp32 products add in another order (16-wide accumulators, fused
// multiply-add), so they match it to rounding, not bit for bit; the AQLM tables and table
// products are bit-identical (integer sums).
#include "kernel_sets.hpp"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512VBMI__) && \
    defined(__AVX512VNNI__) && defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <algorithm>

#include "aqlm_table.hpp"
#include "kernel_sets.hpp"
#include "row_driver.hpp"
#include "types/aqlm.hpp"
#include "x86_intrinsics.hpp"

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
template <class E>
struct FloatTiles {
    static constexpr size_t lanes = 6, columns = 4;
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
        lanes_product<FloatLanes<E>>(y, y_stride, w, in, in_stride, columns, row_begin, row_end);
    else
        lanes_product<FloatTiles<E>>(y, y_stride, w, in, in_stride, columns, row_begin, row_end);
}

// --- AQLM ---------------------------------------------------------------------------------------

// V vectors (16 V entries) of one codebook's dot products for one group: a vector of codebook
// values holds 16 entries' int16 pairs, which vpmaddwd multiplies by the group's pair and sums.
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
            acc[v] = _mm512_add_epi32(acc[v], _mm512_madd_epi16(_mm512_loadu_si512(columns + 32 * v), xp));
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
// 16-bit lanes (at most 8 * 127), widened to float once per table block.
struct AqlmBlock {
    struct Sums {
        __m512 v[4];
    };
    static Sums no_sums() {
        return {{_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()}};
    }
    static void add_table_block(Sums& s, const int8_t* tables, size_t table_stride,
                                const uint8_t* codes, size_t code_stride, size_t steps,
                                float scale) {
        __m512i n0 = _mm512_setzero_si512(), n1 = _mm512_setzero_si512();  // rows 0-31, 32-63
        for (size_t t = 0; t < steps; t++, tables += table_stride, codes += code_stride) {
            const __m512i* table = reinterpret_cast<const __m512i*>(tables);
            // The codes stream from memory, one line per step; a hint 2 KiB ahead (32 steps)
            // took 110M 2x8 tokens from about 200 to 230 per second, 4 KiB gained no more.
            _mm_prefetch(reinterpret_cast<const char*>(codes) + 2048, _MM_HINT_T0);
            const __m512i c = _mm512_load_si512(codes);
            const __m512i low = _mm512_permutex2var_epi8(table[0], c, table[1]);
            const __m512i high = _mm512_permutex2var_epi8(table[2], c, table[3]);
            const __m512i v = _mm512_mask_blend_epi8(_mm512_movepi8_mask(c), low, high);
            n0 = _mm512_add_epi16(n0, _mm512_cvtepi8_epi16(_mm512_castsi512_si256(v)));
            n1 = _mm512_add_epi16(n1, _mm512_cvtepi8_epi16(_mm512_extracti64x4_epi64(v, 1)));
        }
        const __m512 f = _mm512_set1_ps(scale);
        const __m256i halves[4] = {_mm512_castsi512_si256(n0), _mm512_extracti64x4_epi64(n0, 1),
                                   _mm512_castsi512_si256(n1), _mm512_extracti64x4_epi64(n1, 1)};
        #pragma GCC unroll 4
        for (int k = 0; k < 4; k++) {
            const __m512 n = _mm512_cvtepi32_ps(_mm512_cvtepi16_epi32(halves[k]));
            s.v[k] = _mm512_add_ps(s.v[k], _mm512_mul_ps(n, f));
        }
    }
    static void finish(float* out, const Sums& s, const float* scales) {
        for (int k = 0; k < 4; k++)
            _mm512_store_ps(out + 16 * k, _mm512_mul_ps(_mm512_load_ps(scales + 16 * k), s.v[k]));
    }
};

// The AQLM batch products' decode (aqlm_table.hpp: group and store), as AVX2's: a group's 8
// weights are one vector, the codebooks' entries added in order.
struct AqlmDecode {
    using Weights = __m256;
    template <size_t M = 0, class Code>
    static Weights group(const AqlmPacked& a, const Code* codes, size_t stride) {
        const size_t entries = a.shape.entries();
        __m256 w = _mm256_loadu_ps(a.codebooks + size_t(codes[0]) * 8);
        for (size_t m = 1; m < (M ? M : a.shape.codebooks); m++)
            w = _mm256_add_ps(w, _mm256_loadu_ps(a.codebooks + (m * entries + codes[m * stride]) * 8));
        return w;
    }
    static void store(float* out, Weights w, float scale) {
        _mm256_store_ps(out, _mm256_mul_ps(_mm256_set1_ps(scale), w));
    }
};

}  // namespace
}  // namespace avx512_impl

// The fp32 products and the AQLM table entries; the rest comes from avx2 (kernel_sets.def).
bool add_avx512_kernels(KernelSet& set) {
    using namespace avx512_impl;
    set.prepare[size_t(InputFormat::AqlmTable)] = aqlm_prepare<AqlmBuild>;
    set.product[size_t(WeightType::AQLM)] = aqlm_product<AqlmBlock>;
    set.product[size_t(WeightType::F32)] = product_floats<Float32>;
    set.product[size_t(WeightType::F16)] = product_floats<Half>;
    set.product[size_t(WeightType::BF16)] = product_floats<BFloat16>;
    set.batch_product[size_t(WeightType::AQLM)] = aqlm_batch_product<AqlmDecode, product_floats<Float32>>;
    set.batch_product[size_t(WeightType::AQLM_WIDE)] = aqlm_batch_product<AqlmDecode, product_floats<Float32>>;
    return true;
}

}  // namespace llamaport::kernels

#else  // not compiled for AVX-512 VBMI

bool llamaport::kernels::add_avx512_kernels(KernelSet&) { return false; }

#endif
