// AVX2 + FMA + F16C kernels (x86-64 since Haswell and Zen). Compiled with those flags in this
// file only and selected at run time, so the rest of the binary still runs on older x86 CPUs.
//
// Against the scalar reference: fp32 products add in another order (8-wide accumulators, fused
// multiply-add), so they match it to rounding, not bit for bit. Everything else is bit-identical:
// input quantization, axpy, the int8-block products (exact integer sums per block, then the
// type's float steps in the type's order, 8 rows at a time), the AQLM tables and their products;
// only the AQLM decode kernel adds in another order.
#include "kernel_sets.hpp"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <algorithm>
#include <cstring>

#include "aqlm_table.hpp"
#include "input_blocks.hpp"
#include "row_driver.hpp"
#include "types/aqlm.hpp"
#include "types/inputs.hpp"
#include "types/q2_k.hpp"
#include "types/q3_k.hpp"
#include "types/q4_k.hpp"
#include "types/q5_k.hpp"
#include "types/q6_k.hpp"
#include "types/iq4_nl.hpp"
#include "types/q4_0.hpp"
#include "types/q4_1.hpp"
#include "types/q5_0.hpp"
#include "types/q5_1.hpp"
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

float hmax(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

// [sum(v[0]), ..., sum(v[7])], each ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)).
__m256 hsum8(const __m256* v) {
    const __m256 h0 = _mm256_hadd_ps(_mm256_hadd_ps(v[0], v[1]), _mm256_hadd_ps(v[2], v[3]));
    const __m256 h1 = _mm256_hadd_ps(_mm256_hadd_ps(v[4], v[5]), _mm256_hadd_ps(v[6], v[7]));
    return _mm256_add_ps(_mm256_permute2f128_ps(h0, h1, 0x21), _mm256_blend_ps(h0, h1, 0xF0));
}

// The sum of v in hsum8's order, so that a row gives the same result alone or in lanes.
float hsum1(__m256 v) {
    const __m256 h = _mm256_hadd_ps(v, v);
    const __m256 q = _mm256_hadd_ps(h, h);
    return _mm_cvtss_f32(_mm_add_ss(_mm256_extractf128_ps(q, 1), _mm256_castps256_ps128(q)));
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

// --- fp32 ---------------------------------------------------------------------------------------

// Hints the line 1 KiB ahead of p in its lane (running on into the lane's next row), on top of
// the L2 streamer: 5-10% faster than the streamer alone; 4 KiB ahead or a hint to L2 only was
// slower, a non-temporal one far slower.
void prefetch(const void* p) { _mm_prefetch(static_cast<const char*>(p) + 1024, _MM_HINT_T0); }

// How 8 values of a row or an input are read into fp32 lanes: fp32 as they are, IEEE halves and
// bfloat16 widened (exactly). load_tail reads n < 8 values and nothing past them.
struct Float32 {
    static constexpr size_t bytes = 4;
    static __m256 load(const uint8_t* p) { return _mm256_loadu_ps(reinterpret_cast<const float*>(p)); }
    static __m256 load_tail(const uint8_t* p, size_t n) {
        return _mm256_maskload_ps(reinterpret_cast<const float*>(p), tail_mask(n));
    }
};
struct Half {
    static constexpr size_t bytes = 2;
    static __m256 widen(__m128i h) { return _mm256_cvtph_ps(h); }
    static __m256 load(const uint8_t* p) {
        return widen(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    }
    static __m256 load_tail(const uint8_t* p, size_t n) {
        alignas(16) uint16_t tmp[8] = {};
        std::memcpy(tmp, p, n * 2);
        return widen(_mm_load_si128(reinterpret_cast<const __m128i*>(tmp)));
    }
};
struct BFloat16 : Half {
    static __m256 widen(__m128i h) {
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    }
    static __m256 load(const uint8_t* p) {
        return widen(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    }
    static __m256 load_tail(const uint8_t* p, size_t n) {
        alignas(16) uint16_t tmp[8] = {};
        std::memcpy(tmp, p, n * 2);
        return widen(_mm_load_si128(reinterpret_cast<const __m128i*>(tmp)));
    }
};

// L rows of element type E, lane l's at w + l * stride bytes, against x (the same type). One
// accumulator per row, two FMAs into it per 16 values: with L = 8 the chains hide the latency.
// (Products of halves or bfloat16 are exact, so their FMAs round as a multiply-add would.)
// Reading the rows in 8 striped lanes, each a linear walk through its own run of rows, took a
// Sapphire Rapids Xeon's 110M products from about 75% to about 95% of the single-core read
// bandwidth: the streamer follows 8 long streams.
template <class E, size_t L>
void rows_of(float* y, size_t y_lane_stride, const uint8_t* w, size_t stride, size_t cols,
             const uint8_t* x) {
    __m256 acc[L];
    #pragma GCC unroll 8
    for (size_t l = 0; l < L; l++) acc[l] = _mm256_setzero_ps();
    size_t j = 0;
    for (; j + 16 <= cols; j += 16) {
        const __m256 x0 = E::load(x + j * E::bytes), x1 = E::load(x + (j + 8) * E::bytes);
        #pragma GCC unroll 8
        for (size_t l = 0; l < L; l++) {
            const uint8_t* p = w + l * stride + j * E::bytes;
            acc[l] = _mm256_fmadd_ps(E::load(p), x0, acc[l]);
            acc[l] = _mm256_fmadd_ps(E::load(p + 8 * E::bytes), x1, acc[l]);
            prefetch(p);
        }
    }
    for (; j < cols; j += 8) {
        // The last values read nothing past the end of the row.
        const size_t n = std::min<size_t>(8, cols - j);
        const __m256 x0 = n == 8 ? E::load(x + j * E::bytes) : E::load_tail(x + j * E::bytes, n);
        #pragma GCC unroll 8
        for (size_t l = 0; l < L; l++) {
            const uint8_t* p = w + l * stride + j * E::bytes;
            acc[l] = _mm256_fmadd_ps(n == 8 ? E::load(p) : E::load_tail(p, n), x0, acc[l]);
        }
    }
    if constexpr (L == 8) {
        alignas(32) float sums[L];
        _mm256_store_ps(sums, hsum8(acc));
        for (size_t l = 0; l < L; l++) y[l * y_lane_stride] = sums[l];
    } else {
        for (size_t l = 0; l < L; l++) y[l * y_lane_stride] = hsum1(acc[l]);
    }
}

// One input column: 8 striped lanes, each streaming its own run of rows.
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

// Several input columns (a prompt): 4 rows by N columns of accumulators, each row's 8 values
// loaded once for the N columns. Every (row, column) accumulates exactly as rows_of does (one
// 8-wide chain over j, the last values zero-padded, summed in hsum8's order), so a batch gives
// every column the single-column result bit for bit.
template <class E>
struct FloatTiles {
    static constexpr size_t lanes = 4, columns = 3;
    static constexpr bool striped = false;
    template <size_t N>
    static void rows(float* y, size_t y_lane_stride, size_t y_column_stride, const uint8_t* w,
                     size_t w_lane_stride, const Matrix& m, const uint8_t* x,
                     size_t x_column_stride) {
        const size_t cols = m.cols;
        __m256 acc[lanes][N];
        #pragma GCC unroll 4
        for (size_t l = 0; l < lanes; l++)
            #pragma GCC unroll 4
            for (size_t c = 0; c < N; c++) acc[l][c] = _mm256_setzero_ps();
        auto step = [&](size_t j, auto load) {
            __m256 xv[N];
            #pragma GCC unroll 4
            for (size_t c = 0; c < N; c++) xv[c] = load(x + c * x_column_stride + j * E::bytes);
            #pragma GCC unroll 4
            for (size_t l = 0; l < lanes; l++) {
                const __m256 wv = load(w + l * w_lane_stride + j * E::bytes);
                #pragma GCC unroll 4
                for (size_t c = 0; c < N; c++) acc[l][c] = _mm256_fmadd_ps(wv, xv[c], acc[l][c]);
            }
        };
        size_t j = 0;
        for (; j + 8 <= cols; j += 8) step(j, [](const uint8_t* p) { return E::load(p); });
        if (j < cols)
            step(j, [n = cols - j](const uint8_t* p) { return E::load_tail(p, n); });
        for (size_t l = 0; l < lanes; l++)
            for (size_t c = 0; c < N; c++) y[c * y_column_stride + l * y_lane_stride] = hsum1(acc[l][c]);
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

// The same with x in IEEE half: each product of two halves is exact, so bit for bit too.
void axpy_f16(float* y, float a, const uint16_t* x, size_t n) {
    const __m256 av = _mm256_set1_ps(a);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 xv = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i)));
        _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(y + i), _mm256_mul_ps(av, xv)));
    }
    for (; i < n; i++) y[i] += a * fp16_to_fp32(x[i]);
}

// --- input quantization -------------------------------------------------------------------------

// clamp_q8_quotient of 8 lanes: the ordered self-compare zeroes NaN lanes, then min/max clamp.
__m256 clamp_q8_quotients(__m256 v) {
    v = _mm256_and_ps(v, _mm256_cmp_ps(v, v, _CMP_ORD_Q));
    return _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(-127.0f)), _mm256_set1_ps(127.0f));
}

// std::round (halves away from zero) on values that fit an int32; there is no such rounding mode.
// v - trunc(v) is exact, so the comparison with 0.5 is too.
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

// max |x| of n values, NaN left out: max(|x|, m) keeps m when x is NaN, as std::fmax does.
float max_abs(const float* x, size_t n) {
    const __m256 sign_bit = _mm256_set1_ps(-0.0f);
    __m256 m = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) m = _mm256_max_ps(_mm256_andnot_ps(sign_bit, _mm256_loadu_ps(x + i)), m);
    if (i < n)
        m = _mm256_max_ps(_mm256_andnot_ps(sign_bit, _mm256_maskload_ps(x + i, tail_mask(n - i))), m);
    return hmax(m);
}

// q[i] = round(clamp(op(x[i], s))) for n values, exactly as the reference does it: runq.c
// divides and rounds halves away from zero, llama.cpp multiplies and rounds to even.
template <bool Divide>
void quantize_values(int8_t* q, const float* x, size_t n, float s) {
    const __m256 sv = _mm256_set1_ps(s);
    auto quotients = [&](__m256 v) {
        if (Divide) return round_half_away(clamp_q8_quotients(_mm256_div_ps(v, sv)));
        return _mm256_round_ps(clamp_q8_quotients(_mm256_mul_ps(v, sv)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    };
    size_t i = 0;
    for (; i + 8 <= n; i += 8) store_q8(q + i, quotients(_mm256_loadu_ps(x + i)), 8);
    if (i < n) store_q8(q + i, quotients(_mm256_maskload_ps(x + i, tail_mask(n - i))), n - i);
}

// The int8 input quantizers' vector arithmetic (input_blocks.hpp supplies the blocks).
struct Q8Values {
    static float max_abs(const float* x, size_t n) { return avx2_impl::max_abs(x, n); }
    template <bool Divide>
    static void quantize(int8_t* q, const float* x, size_t n, float s) {
        quantize_values<Divide>(q, x, n, s);
    }
};

// --- int8 blocks (Q8_G, Q8_0) -----------------------------------------------------------------

// sum w[k]*x[k] over 32 bytes, as 8 int32 partial sums. maddubs multiplies unsigned by signed
// bytes, so it gets |w| and x with w's sign. Needs x in [-127, 127] (the input quantizers'
// range): -(-128) does not fit a byte. w may be -128 (|w| = 128 as unsigned). A pair sum is at
// most 2 * 128 * 127 = 32512, so maddubs never saturates.
__m256i dot32(__m256i w, __m256i x) {
    const __m256i prod16 = _mm256_maddubs_epi16(_mm256_abs_epi8(w), _mm256_sign_epi8(x, w));
    return _mm256_madd_epi16(prod16, _mm256_set1_epi16(1));
}

__m256i load32(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

// A type of int8 blocks: where a block's values and scale are, and its float steps per block.
struct Q8GBlocks {
    static constexpr size_t values_offset = types::q8_g_scale_bytes;
    static size_t block_values(const Matrix& m) { return m.block_values; }
    static __m256 lane_scales(const uint8_t* block, __m256i offsets) {
        return _mm256_i32gather_ps(reinterpret_cast<const float*>(block), offsets, 1);
    }
    static float input_scale(const uint8_t* block) { return load_f32(block); }
    // runq.c's order: acc + ((float)isum * w_scale) * x_scale.
    static __m256 accumulate(__m256 acc, __m256 isum, __m256 ws, float xs) {
        return _mm256_add_ps(acc, _mm256_mul_ps(_mm256_mul_ps(isum, ws), _mm256_set1_ps(xs)));
    }
    static float row(const uint8_t* w, const Matrix& m, const uint8_t* x) {
        return types::q8_g_row_dot(w, x, m.cols, m.block_values);
    }
};

struct Q8_0Blocks {
    static constexpr size_t values_offset = 2;
    static size_t block_values(const Matrix&) { return types::q8_0_values; }
    // Each lane's fp16 scale is the low half of a 32-bit word (x86 is little-endian).
    static __m256 lane_scales(const uint8_t* block, __m256i offsets) {
        const __m256i words = _mm256_and_si256(
            _mm256_i32gather_epi32(reinterpret_cast<const int*>(block), offsets, 1),
            _mm256_set1_epi32(0xFFFF));
        return _mm256_cvtph_ps(
            _mm_packus_epi32(_mm256_castsi256_si128(words), _mm256_extracti128_si256(words, 1)));
    }
    static float input_scale(const uint8_t* block) { return types::q8_0_scale(block); }
    // ggml's order: acc + float(isum) * (w_scale * x_scale).
    static __m256 accumulate(__m256 acc, __m256 isum, __m256 ws, float xs) {
        return _mm256_add_ps(acc, _mm256_mul_ps(isum, _mm256_mul_ps(ws, _mm256_set1_ps(xs))));
    }
    static float row(const uint8_t* w, const Matrix& m, const uint8_t* x) {
        return types::q8_0_row_dot(w, x, m.cols);
    }
};

// 8 striped lanes of a type of int8 blocks whose block is K 32-byte chunks (K = 0: any multiple
// of 32, known at run time), for up to 4 input columns. Per block and column, each lane's
// integer sum; the 8 sums reduced into one vector, converted, and the type's float steps applied
// to all 8 rows at once. A block's weights come from memory once for all the columns.
template <class Blocks, int K>
struct Q8Lanes {
    static constexpr size_t lanes = 8, columns = 4;
    static constexpr bool striped = true;
    template <size_t N>
    static void rows(float* y, size_t y_lane_stride, size_t y_column_stride, const uint8_t* w,
                     size_t w_lane_stride, const Matrix& m, const uint8_t* x,
                     size_t x_column_stride) {
        const size_t values = Blocks::block_values(m), chunks = K ? K : values / 32;
        const size_t block_bytes = Blocks::values_offset + values, blocks = m.cols / values;
        const __m256i offsets = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                                   _mm256_set1_epi32(int(w_lane_stride)));
        __m256 acc[N];
        #pragma GCC unroll 4
        for (size_t c = 0; c < N; c++) acc[c] = _mm256_setzero_ps();
        for (size_t b = 0; b < blocks; b++, w += block_bytes, x += block_bytes) {
            const uint8_t* wv = w + Blocks::values_offset;
            #pragma GCC unroll 8
            for (size_t l = 0; l < lanes; l++) prefetch(wv + l * w_lane_stride);
            const __m256 ws = Blocks::lane_scales(w, offsets);
            #pragma GCC unroll 4
            for (size_t c = 0; c < N; c++) {
                const uint8_t* xv = x + c * x_column_stride + Blocks::values_offset;
                __m256i isum[lanes];
                const __m256i x0 = load32(xv);
                #pragma GCC unroll 8
                for (size_t l = 0; l < lanes; l++) isum[l] = dot32(load32(wv + l * w_lane_stride), x0);
                #pragma GCC unroll 4
                for (size_t k = 1; k < chunks; k++) {
                    const __m256i xk = load32(xv + 32 * k);
                    #pragma GCC unroll 8
                    for (size_t l = 0; l < lanes; l++)
                        isum[l] = _mm256_add_epi32(isum[l], dot32(load32(wv + l * w_lane_stride + 32 * k), xk));
                }
                acc[c] = Blocks::accumulate(acc[c], _mm256_cvtepi32_ps(hsum8(isum)), ws,
                                            Blocks::input_scale(x + c * x_column_stride));
            }
        }
        #pragma GCC unroll 4
        for (size_t c = 0; c < N; c++) {
            alignas(32) float sums[lanes];
            _mm256_store_ps(sums, acc[c]);
            for (size_t l = 0; l < lanes; l++) y[c * y_column_stride + l * y_lane_stride] = sums[l];
        }
    }
    // The reference's arithmetic, which the lanes reproduce bit for bit.
    static float row(const uint8_t* w, const Matrix& m, const uint8_t* x) { return Blocks::row(w, m, x); }
};


void product_q8_0(float* y, size_t y_stride, const Matrix& w, const uint8_t* in, size_t in_stride,
                  size_t columns, size_t row_begin, size_t row_end) {
    lanes_product<Q8Lanes<Q8_0Blocks, 1>>(y, y_stride, w, in, in_stride, columns, row_begin, row_end);
}

// --- K-quants (Q2_K ... Q6_K) against Q8_K --------------------------------------------------------

// A K-quant block decoded once for all the input columns: 8 chunks of 32 unsigned values (at
// most 63), chunk k's two group scales as int16 (8 lanes each), the 16 groups' mins as int16 and
// (for the types with an offset) their scales.
struct KDecoded {
    __m256i u[8], chunk_scale[8], scales, mins;
    float d, dmin;
};

// chunk_scale from the 16 scales as int16: chunk k takes int32 lane k (scales 2k and 2k + 1)
// into every lane, then scale 2k into the low half and 2k + 1 into the high half.
void spread_scales(KDecoded& out) {
    const __m256i pick = _mm256_setr_epi8(0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1,
                                          2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3);
    #pragma GCC unroll 8
    for (int k = 0; k < 8; k++)
        out.chunk_scale[k] = _mm256_shuffle_epi8(
            _mm256_permutevar8x32_epi32(out.scales, _mm256_set1_epi32(k)), pick);
}

// Any K-quant type through its reference unpacking.
template <class T>
struct KUnpacked {
    static void decode(const uint8_t* block, KDecoded& out) {
        types::KBlock b;
        T::unpack(block, b);
        alignas(32) int16_t scales[16], mins[16];
        for (size_t g = 0; g < 16; g++) {
            scales[g] = int16_t(b.scale[g]);
            mins[g] = int16_t(b.min[g]);
        }
        for (size_t k = 0; k < 8; k++) out.u[k] = load32(b.u + 32 * k);
        out.scales = _mm256_load_si256(reinterpret_cast<const __m256i*>(scales));
        out.mins = _mm256_load_si256(reinterpret_cast<const __m256i*>(mins));
        spread_scales(out);
        out.d = b.d;
        out.dmin = b.dmin;
    }
};

// The 6-bit scales and mins from their 12 bytes with word operations (k_scale_min's rules, 4 bytes
// at a time; x86 is little-endian): bytes 0-7 the groups' scales, 8-15 their mins.
__m128i q4k_scale_mins(const uint8_t* p) {
    uint32_t a[3];
    std::memcpy(a, p, 12);
    const uint32_t low6 = 0x3F3F3F3F, low4 = 0x0F0F0F0F, low2 = 0x03030303;
    return _mm_setr_epi32(int(a[0] & low6), int((a[2] & low4) | ((a[0] >> 6) & low2) << 4),
                          int(a[1] & low6), int(((a[2] >> 4) & low4) | ((a[1] >> 6) & low2) << 4));
}

struct Q4KDecode {
    static void decode(const uint8_t* block, KDecoded& out) {
        const __m256i low4 = _mm256_set1_epi8(0xF);
        const __m128i scale_mins = q4k_scale_mins(block + types::Q4K::scales);
        const __m128i scales = _mm_cvtepu8_epi16(scale_mins);
        #pragma GCC unroll 4
        for (int c = 0; c < 4; c++) {
            const __m256i q = load32(block + types::Q4K::qs + 32 * c);
            out.u[2 * c] = _mm256_and_si256(q, low4);
            out.u[2 * c + 1] = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
        }
        // A chunk of 32 is one group: its scale in every lane.
        #pragma GCC unroll 8
        for (int k = 0; k < 8; k++)
            out.chunk_scale[k] = _mm256_broadcastsi128_si256(
                _mm_shuffle_epi8(scales, _mm_set1_epi16(int16_t(2 * k | (2 * k + 1) << 8))));
        out.mins = _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(scale_mins, scale_mins));
        out.d = fp16_to_fp32(load_u16(block + types::Q4K::d));
        out.dmin = fp16_to_fp32(load_u16(block + types::Q4K::dmin));
    }
};

struct Q6KDecode {
    static void decode(const uint8_t* block, KDecoded& out) {
        const __m256i low4 = _mm256_set1_epi8(0xF), low2 = _mm256_set1_epi8(3);
        #pragma GCC unroll 2
        for (int half = 0; half < 2; half++) {
            const __m256i ql0 = load32(block + types::Q6K::ql + 64 * half);
            const __m256i ql1 = load32(block + types::Q6K::ql + 64 * half + 32);
            const __m256i qh = load32(block + types::Q6K::qh + 32 * half);
            auto high = [&](int k) {
                return _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * k), low2), 4);
            };
            out.u[4 * half] = _mm256_or_si256(_mm256_and_si256(ql0, low4), high(0));
            out.u[4 * half + 1] = _mm256_or_si256(_mm256_and_si256(ql1, low4), high(1));
            out.u[4 * half + 2] =
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low4), high(2));
            out.u[4 * half + 3] =
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low4), high(3));
        }
        out.scales = _mm256_cvtepi8_epi16(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(block + types::Q6K::scales)));
        out.mins = _mm256_setzero_si256();
        spread_scales(out);
        out.d = fp16_to_fp32(load_u16(block + types::Q6K::d));
        out.dmin = 0.0f;
    }
};

int32_t hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

// 4 adjacent rows, for up to 4 input columns: each block decoded once, then per column the exact
// integer sums (maddubs of u <= 63 and x in [-127, 127] never saturates) and the reference's
// float steps (KAccumulator), so every result is the scalar set's bit for bit. The rows are
// independent chains: 4 of them keep more loads and float steps in flight than one.
template <class T, class Decode>
struct KLanes {
    static constexpr size_t lanes = 4, columns = 4;
    static constexpr bool striped = false;
    template <size_t N, size_t L = lanes>
    static void rows(float* y, size_t y_lane_stride, size_t y_column_stride, const uint8_t* w,
                     size_t w_lane_stride, const Matrix& m, const uint8_t* x,
                     size_t x_column_stride) {
        types::KAccumulator acc[L][N];
        KDecoded b;
        const size_t blocks = m.cols / types::k_values;
        for (size_t i = 0; i < blocks; i++, w += T::bytes, x += types::q8_k_bytes) {
            #pragma GCC unroll 4
            for (size_t l = 0; l < L; l++) {
                prefetch(w + l * w_lane_stride);
                Decode::decode(w + l * w_lane_stride, b);
                #pragma GCC unroll 4
                for (size_t c = 0; c < N; c++) {
                    const uint8_t* xb = x + c * x_column_stride;
                    const uint8_t* q = xb + types::q8_k_values_offset;
                    __m256i sum = _mm256_setzero_si256();
                    #pragma GCC unroll 8
                    for (int k = 0; k < 8; k++) {
                        const __m256i p = _mm256_maddubs_epi16(b.u[k], load32(q + 32 * k));
                        sum = _mm256_add_epi32(sum, _mm256_madd_epi16(p, b.chunk_scale[k]));
                    }
                    const __m256i bsums = load32(xb + types::q8_k_bsums_offset);
                    int32_t isum = hsum_epi32(sum), msum = 0;
                    if (T::offset) isum -= T::offset * hsum_epi32(_mm256_madd_epi16(b.scales, bsums));
                    if (T::has_min) msum = hsum_epi32(_mm256_madd_epi16(b.mins, bsums));
                    acc[l][c].add(types::q8_k_scale(xb), b.d, b.dmin, isum, msum);
                }
            }
        }
        for (size_t l = 0; l < L; l++)
            for (size_t c = 0; c < N; c++) y[c * y_column_stride + l * y_lane_stride] = acc[l][c].result();
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
    lanes_product<KLanes<T, Decode>>(y, y_stride, w, in, in_stride, columns, row_begin, row_end);
}

// Group sizes of whole 32-byte chunks; the common ones unrolled. Others take the reference.
void product_q8_g(float* y, size_t y_stride, const Matrix& w, const uint8_t* in, size_t in_stride,
                  size_t columns, size_t row_begin, size_t row_end) {
    const size_t g = w.block_values;
    if (g == 32)
        lanes_product<Q8Lanes<Q8GBlocks, 1>>(y, y_stride, w, in, in_stride, columns, row_begin, row_end);
    else if (g == 64)
        lanes_product<Q8Lanes<Q8GBlocks, 2>>(y, y_stride, w, in, in_stride, columns, row_begin, row_end);
    else if (g % 32 == 0)
        lanes_product<Q8Lanes<Q8GBlocks, 0>>(y, y_stride, w, in, in_stride, columns, row_begin, row_end);
    else
        types::q8_g_product(y, y_stride, w, in, in_stride, columns, row_begin, row_end);
}

// --- ggml's legacy blocks (Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL) -------------------------------------

// Q8_1 inputs: Q8_0's values and scale, then s = d * sum(q) (types/inputs.hpp).
// 16 packed bytes as 32 bytes in value order: the low nibbles (values 0-15), then the high ones.
__m256i nibbles32(const uint8_t* p) {
    const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i low = _mm_set1_epi8(0x0F);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(packed, 4), low), _mm_and_si128(packed, low));
}

// Q5's fifth bits (bit i: value i) as 32 bytes, 0x10 where the bit is set: byte i takes the
// word's byte i / 8 and tests bit i % 8 of it.
__m256i fifth_bits32(const uint8_t* p) {
    const __m256i spread = _mm256_shuffle_epi8(
        _mm256_set1_epi32(int(types::fifth_bits(p))),
        _mm256_setr_epi64x(0, 0x0101010101010101, 0x0202020202020202, 0x0303030303030303));
    const __m256i bit = _mm256_set1_epi64x(int64_t(0x8040201008040201));
    return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit), _mm256_set1_epi8(0x10));
}

// Each type's 32 integers q as int8 lanes, in value order.
struct Q4_0Values {
    using Type = types::Q4_0;
    static __m256i decode(const uint8_t* b) {
        return _mm256_sub_epi8(nibbles32(b + Type::values_offset), _mm256_set1_epi8(8));
    }
};
struct Q4_1Values {
    using Type = types::Q4_1;
    static __m256i decode(const uint8_t* b) { return nibbles32(b + Type::values_offset); }
};
struct Q5_0Values {
    using Type = types::Q5_0;
    static __m256i decode(const uint8_t* b) {
        return _mm256_sub_epi8(_mm256_or_si256(nibbles32(b + Type::values_offset),
                                               fifth_bits32(b + Type::bits_offset)),
                               _mm256_set1_epi8(16));
    }
};
struct Q5_1Values {
    using Type = types::Q5_1;
    static __m256i decode(const uint8_t* b) {
        return _mm256_or_si256(nibbles32(b + Type::values_offset), fifth_bits32(b + Type::bits_offset));
    }
};
struct IQ4_NLValues {
    using Type = types::IQ4_NL;
    static __m256i decode(const uint8_t* b) {
        const __m256i levels = _mm256_broadcastsi128_si256(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(types::iq4_nl_levels)));
        return _mm256_shuffle_epi8(levels, nibbles32(b + Type::values_offset));
    }
};

// 8 striped lanes of a legacy block type, for up to 4 input columns: each lane's block decoded
// once to int8, then per column the exact integer sums (dot32: the values fit int8, the inputs
// are in [-127, 127]), reduced into one vector and given llama.cpp's float step for 8 rows at once.
template <class V>
struct LegacyLanes {
    using Type = typename V::Type;
    using Blocks = types::Blocks32<Type>;
    static constexpr size_t lanes = 8, columns = 4;
    static constexpr bool striped = true;
    template <size_t N>
    static void rows(float* y, size_t y_lane_stride, size_t y_column_stride, const uint8_t* w,
                     size_t w_lane_stride, const Matrix& m, const uint8_t* x,
                     size_t x_column_stride) {
        const size_t blocks = m.cols / types::blocks32_values;
        const __m256i offsets = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                                   _mm256_set1_epi32(int(w_lane_stride)));
        __m256 acc[N];
        #pragma GCC unroll 4
        for (size_t c = 0; c < N; c++) acc[c] = _mm256_setzero_ps();
        for (size_t b = 0; b < blocks; b++, w += Type::bytes, x += Blocks::input_bytes) {
            __m256i values[lanes];
            #pragma GCC unroll 8
            for (size_t l = 0; l < lanes; l++) {
                prefetch(w + l * w_lane_stride);
                values[l] = V::decode(w + l * w_lane_stride);
            }
            const __m256 wd = Q8_0Blocks::lane_scales(w, offsets);
            const __m256 wm = Type::has_min ? Q8_0Blocks::lane_scales(w + 2, offsets) : wd;
            #pragma GCC unroll 4
            for (size_t c = 0; c < N; c++) {
                const uint8_t* xc = x + c * x_column_stride;
                const __m256i xv = load32(xc + Blocks::input_values_offset);
                __m256i isum[lanes];
                #pragma GCC unroll 8
                for (size_t l = 0; l < lanes; l++) isum[l] = dot32(values[l], xv);
                const __m256 sums = _mm256_cvtepi32_ps(hsum8(isum));
                const __m256 xd = _mm256_set1_ps(types::half_at(xc));
                if constexpr (Type::has_min) {
                    // acc + ((w_d * x_d) * isum + w_m * x_s)
                    const __m256 xs = _mm256_set1_ps(types::half_at(xc + 2));
                    acc[c] = _mm256_add_ps(acc[c], _mm256_add_ps(_mm256_mul_ps(_mm256_mul_ps(wd, xd), sums),
                                                                 _mm256_mul_ps(wm, xs)));
                } else {
                    acc[c] = Q8_0Blocks::accumulate(acc[c], sums, wd, types::half_at(xc));
                }
            }
        }
        #pragma GCC unroll 4
        for (size_t c = 0; c < N; c++) {
            alignas(32) float sums[lanes];
            _mm256_store_ps(sums, acc[c]);
            for (size_t l = 0; l < lanes; l++) y[c * y_column_stride + l * y_lane_stride] = sums[l];
        }
    }
    // The reference's arithmetic, which the lanes reproduce bit for bit.
    static float row(const uint8_t* w, const Matrix& m, const uint8_t* x) {
        return Blocks::row_dot(w, x, m.cols);
    }
};

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

// A group's 8 weights are one vector (the codebooks' entries summed), one FMA with x. Two chains
// by group parity: the codebook loads miss the caches, the FMAs need not wait in line.
struct AqlmDecode {
    using Weights = __m256;
    struct Acc {
        __m256 even, odd;
    };
    static Acc zero() { return {_mm256_setzero_ps(), _mm256_setzero_ps()}; }
    template <size_t M = 0, class Code>
    static Weights group(const AqlmPacked& a, const Code* codes, size_t stride) {
        const size_t entries = a.shape.entries();
        __m256 w = _mm256_loadu_ps(a.codebooks + size_t(codes[0]) * 8);
        for (size_t m = 1; m < (M ? M : a.shape.codebooks); m++)
            w = _mm256_add_ps(w, _mm256_loadu_ps(a.codebooks + (m * entries + codes[m * stride]) * 8));
        return w;
    }
    static Acc fma(Acc acc, Weights w, const float* x, size_t i) {
        if (i % 2)
            acc.odd = _mm256_fmadd_ps(w, _mm256_loadu_ps(x), acc.odd);
        else
            acc.even = _mm256_fmadd_ps(w, _mm256_loadu_ps(x), acc.even);
        return acc;
    }
    static float sum(const Acc& acc) { return hsum1(_mm256_add_ps(acc.even, acc.odd)); }
    static void store(float* out, Weights w, float scale) {
        _mm256_store_ps(out, _mm256_mul_ps(_mm256_set1_ps(scale), w));
    }
};

}  // namespace
}  // namespace avx2_impl

bool add_avx2_kernels(KernelSet& set) {
    using namespace avx2_impl;
    set.product[size_t(WeightType::F32)] = product_floats<Float32>;
    set.product[size_t(WeightType::F16)] = product_floats<Half>;
    set.product[size_t(WeightType::BF16)] = product_floats<BFloat16>;
    set.product[size_t(WeightType::Q8_G)] = product_q8_g;
    set.product[size_t(WeightType::Q8_0)] = product_q8_0;
    set.product[size_t(WeightType::AQLM)] = aqlm_product<AqlmBlock>;
    set.product[size_t(WeightType::AQLM_WIDE)] = aqlm_decode_product<AqlmDecode>;
    set.batch_product[size_t(WeightType::AQLM)] = aqlm_batch_product<AqlmDecode, product_floats<Float32>>;
    set.batch_product[size_t(WeightType::AQLM_WIDE)] = aqlm_batch_product<AqlmDecode, product_floats<Float32>>;
    set.product[size_t(WeightType::Q6_K)] = product_k<types::Q6K, Q6KDecode>;
    set.product[size_t(WeightType::Q4_K)] = product_k<types::Q4K, Q4KDecode>;
    set.product[size_t(WeightType::Q5_K)] = product_k<types::Q5K>;
    set.product[size_t(WeightType::Q3_K)] = product_k<types::Q3K>;
    set.product[size_t(WeightType::Q2_K)] = product_k<types::Q2K>;
    set.product[size_t(WeightType::Q4_0)] = lanes_product<LegacyLanes<Q4_0Values>>;
    set.product[size_t(WeightType::Q4_1)] = lanes_product<LegacyLanes<Q4_1Values>>;
    set.product[size_t(WeightType::Q5_0)] = lanes_product<LegacyLanes<Q5_0Values>>;
    set.product[size_t(WeightType::Q5_1)] = lanes_product<LegacyLanes<Q5_1Values>>;
    set.product[size_t(WeightType::IQ4_NL)] = lanes_product<LegacyLanes<IQ4_NLValues>>;
    set.prepare[size_t(InputFormat::Q8_G)] = quantize_q8_g_blocks<Q8Values>;
    set.prepare[size_t(InputFormat::Q8_0)] = quantize_q8_0_blocks<Q8Values>;
    set.prepare[size_t(InputFormat::Q8_1)] = quantize_q8_1_blocks<Q8Values>;
    set.prepare[size_t(InputFormat::AqlmTable)] = aqlm_prepare<AqlmBuild>;
    set.axpy_f32 = axpy;
    set.axpy_f16 = axpy_f16;
    return true;
}

}  // namespace llamaport::kernels

#else  // not compiled for AVX2

bool llamaport::kernels::add_avx2_kernels(KernelSet&) { return false; }

#endif
