// AVX2 + FMA + F16C kernels (x86-64 since Haswell and Zen). Compiled with those flags in this
// file only and selected at run time, so the rest of the binary still runs on older x86 CPUs.
//
// Against the scalar reference: fp32 products add in another order (8-wide accumulators, fused
// multiply-add), and so do the K-quant products (8-wide accumulators of exact per-block integer
// sums), so they match it to rounding, not bit for bit. Everything else is bit-identical:
// input quantization, axpy, the other int8-block products (exact integer sums per block, then
// the type's float steps in the type's order, 8 rows at a time), the AQLM tables and their
// products; only the AQLM decode kernel adds in another order.
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
#include "x86_common.hpp"

namespace llamaport::kernels {
// Every kernel set uses the same function names, and the one-file build (tools/amalgamate.py)
// puts them all in one translation unit: hence a named namespace. The anonymous one inside keeps
// internal linkage, which lets GCC inline the helpers as freely as in a file of their own.
namespace avx2_impl {
namespace {
using x86::half_at;
using x86::hsum1;  // hsum8's order, so that a row gives the same result alone or in lanes

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

// F16C's conversion rounds to nearest, ties to even, as fp32_to_fp16 does, overflow to infinity
// included; only its NaNs keep the payload, so those become the reference's quiet NaN.
__m128i to_halves(__m256 v) {
    const __m128i h = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m128i sign = _mm_and_si128(h, _mm_set1_epi16(int16_t(0x8000)));
    const __m128i nan = _mm_cmpgt_epi16(_mm_andnot_si128(sign, h), _mm_set1_epi16(0x7C00));
    return _mm_blendv_epi8(h, _mm_or_si128(sign, _mm_set1_epi16(0x7E00)), nan);
}

// The coefficients of axpy_rows: as they are against fp32 rows, rounded to half against halves.
struct Float32Rows : Float32 {
    static float coefficient(float a) { return a; }
};
struct HalfRows : Half {
    static float coefficient(float a) { return x86::round_to_half(a); }
};

// Multiply, then add, both rounded: the same result as the scalar set, bit for bit (products of
// halves widened are exact too). y stays in registers, 32 values at a time, across the rows:
// 110M Q4_0 pp128 with an f16 cache 1015 tok/s, against 969 with a call per row.
template <class E>
void axpy_rows(float* y, const float* a, const uint8_t* x, size_t x_stride, size_t rows, size_t n) {
    const size_t row_bytes = x_stride * E::bytes;
    auto coefficient = [a](size_t r) { return _mm256_set1_ps(E::coefficient(a[r])); };
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256 acc[4];
        #pragma GCC unroll 4
        for (size_t k = 0; k < 4; k++) acc[k] = _mm256_loadu_ps(y + i + 8 * k);
        const uint8_t* xr = x + i * E::bytes;
        for (size_t r = 0; r < rows; r++, xr += row_bytes) {
            const __m256 ar = coefficient(r);
            #pragma GCC unroll 4
            for (size_t k = 0; k < 4; k++)
                acc[k] = _mm256_add_ps(acc[k], _mm256_mul_ps(ar, E::load(xr + 8 * k * E::bytes)));
        }
        #pragma GCC unroll 4
        for (size_t k = 0; k < 4; k++) _mm256_storeu_ps(y + i + 8 * k, acc[k]);
    }
    for (; i < n; i += 8) {
        const size_t m = std::min<size_t>(8, n - i);
        const __m256i mask = tail_mask(m);
        __m256 acc = m == 8 ? _mm256_loadu_ps(y + i) : _mm256_maskload_ps(y + i, mask);
        const uint8_t* xr = x + i * E::bytes;
        for (size_t r = 0; r < rows; r++, xr += row_bytes)
            acc = _mm256_add_ps(acc, _mm256_mul_ps(coefficient(r), m == 8 ? E::load(xr) : E::load_tail(xr, m)));
        if (m == 8)
            _mm256_storeu_ps(y + i, acc);
        else
            _mm256_maskstore_ps(y + i, mask, acc);
    }
}

void axpy_f32(float* y, const float* a, const float* x, size_t x_stride, size_t rows, size_t n) {
    axpy_rows<Float32Rows>(y, a, reinterpret_cast<const uint8_t*>(x), x_stride, rows, n);
}

void axpy_f16(float* y, const float* a, const uint16_t* x, size_t x_stride, size_t rows, size_t n) {
    axpy_rows<HalfRows>(y, a, reinterpret_cast<const uint8_t*>(x), x_stride, rows, n);
}

void to_f16(uint16_t* out, const float* x, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), to_halves(_mm256_loadu_ps(x + i)));
    if (i < n) {
        alignas(16) uint16_t tmp[8];
        _mm_store_si128(reinterpret_cast<__m128i*>(tmp),
                        to_halves(_mm256_maskload_ps(x + i, tail_mask(n - i))));
        std::memcpy(out + i, tmp, (n - i) * 2);
    }
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

// --- int8 blocks (Q8_G, Q8_0) -------------------------------------------------------------------

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
    static __m256 lane_scales(const uint8_t* block, __m256i offsets, size_t) {
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

// The fp16 scales at the start of 8 lanes' blocks (each lane's the low half of a 32-bit word:
// x86 is little-endian), widened exactly.
__m256 gathered_halves(const uint8_t* block, __m256i offsets) {
    const __m256i words = _mm256_and_si256(
        _mm256_i32gather_epi32(reinterpret_cast<const int*>(block), offsets, 1),
        _mm256_set1_epi32(0xFFFF));
    return _mm256_cvtph_ps(
        _mm_packus_epi32(_mm256_castsi256_si128(words), _mm256_extracti128_si256(words, 1)));
}

// The fp16 field at `block` of 8 lanes `stride` apart, widened exactly: generation's scales.
__m256 word_halves(const uint8_t* block, size_t stride) {
    return _mm256_cvtph_ps(x86::lane_words(block, stride));
}

// One fp16 field widened (F16C: exact, as fp16_to_fp32) into all lanes.
__m256 broadcast_half(const uint8_t* p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return _mm256_cvtph_ps(_mm_set1_epi16(int16_t(h)));
}

// Q8_0 in the row layout, for generation (BlockLanes below takes prompts).
struct Q8_0Blocks {
    static constexpr size_t values_offset = 2;
    static size_t block_values(const Matrix&) { return types::q8_0_values; }
    static __m256 lane_scales(const uint8_t* block, __m256i, size_t stride) {
        return word_halves(block, stride);
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
            const __m256 ws = Blocks::lane_scales(w, offsets, w_lane_stride);
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

// --- K-quants (Q2_K ... Q6_K) against Q8_K --------------------------------------------------------

// A K-quant block decoded once for all the input columns: 8 chunks of 32 unsigned values (at
// most 63), the 16 group scales as int16 (the even groups' in the low lane, the odd ones' in the
// high lane, so that one shuffle per chunk k puts scale 2k in the low half of its products and
// 2k + 1 in the high half) and the 16 groups' mins as int16. The chunks' scales are spread as
// the products take them, not kept: 8 vectors more than AVX2's 16 registers hold (1B Q6_K tg on
// one thread 17.0 -> 18.6 tok/s, Q4_K_M 24.2 -> 25.7; 110M pp128 unchanged).
struct KDecoded {
    __m256i u[8], scales, mins;
    float d, dmin;
    __m256i chunk_scale(int k) const {
        return _mm256_shuffle_epi8(scales, _mm256_set1_epi16(int16_t(2 * k | (2 * k + 1) << 8)));
    }
};

// KDecoded::scales from the 16 int8 group scales.
__m256i even_odd_scales(__m128i scales) {
    const __m128i even_odd = _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
    return _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scales, even_odd));
}

// Any K-quant type through its reference unpacking (its scales fit int8, its mins int16).
template <class T>
struct KUnpacked {
    static void decode(const uint8_t* block, KDecoded& out) {
        types::KBlock b;
        types::k_unpack<T>(block, b);
        alignas(16) int8_t scales[16];
        alignas(32) int16_t mins[16];
        for (size_t g = 0; g < 16; g++) {
            scales[g] = int8_t(b.scale[g]);
            mins[g] = int16_t(b.min[g]);
        }
        for (size_t k = 0; k < 8; k++) out.u[k] = load32(b.u + 32 * k);
        out.scales = even_odd_scales(_mm_load_si128(reinterpret_cast<const __m128i*>(scales)));
        out.mins = _mm256_load_si256(reinterpret_cast<const __m256i*>(mins));
        out.d = b.d;
        out.dmin = b.dmin;
    }
};

struct Q6KDecode {
    static void decode(const uint8_t* block, KDecoded& out) {
        const __m256i low4 = _mm256_set1_epi8(0xF);
        #pragma GCC unroll 2
        for (int half = 0; half < 2; half++) {
            const __m256i ql0 = load32(block + types::Q6K::ql + 64 * half);
            const __m256i ql1 = load32(block + types::Q6K::ql + 64 * half + 32);
            const __m256i qh = load32(block + types::Q6K::qh + 32 * half);
            // Bits 2k and 2k + 1 of qh moved to bits 4 and 5 (masked first, so no bit crosses
            // into the neighbouring byte of the 16-bit shifts).
            const __m256i high0 = _mm256_slli_epi16(_mm256_and_si256(qh, _mm256_set1_epi8(0x03)), 4);
            const __m256i high1 = _mm256_slli_epi16(_mm256_and_si256(qh, _mm256_set1_epi8(0x0C)), 2);
            const __m256i high2 = _mm256_and_si256(qh, _mm256_set1_epi8(0x30));
            const __m256i high3 = _mm256_srli_epi16(_mm256_and_si256(qh, _mm256_set1_epi8(char(0xC0))), 2);
            out.u[4 * half] = _mm256_or_si256(_mm256_and_si256(ql0, low4), high0);
            out.u[4 * half + 1] = _mm256_or_si256(_mm256_and_si256(ql1, low4), high1);
            out.u[4 * half + 2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low4), high2);
            out.u[4 * half + 3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low4), high3);
        }
        out.scales = even_odd_scales(_mm_loadu_si128(reinterpret_cast<const __m128i*>(block + types::Q6K::scales)));
        out.mins = _mm256_setzero_si256();
        out.d = half_at(block + types::Q6K::d);
        out.dmin = 0.0f;
    }
};

// Bit pair K of each byte (Q2_K's and Q3_K's low bits).
template <int K>
__m256i bit_pair(__m256i v) {
    return _mm256_and_si256(_mm256_srli_epi16(v, 2 * K), _mm256_set1_epi8(0x03));
}

// Q2_K: each 32-byte half of qs holds 4 chunks in its bit pairs; each scale byte a group's scale
// (low nibble) and min (high nibble). Unpacking the 256 values one by one had left Q2_K
// generation at 0.4x llama.cpp's.
struct Q2KDecode {
    static void decode(const uint8_t* block, KDecoded& out) {
        #pragma GCC unroll 2
        for (int half = 0; half < 2; half++) {
            const __m256i qs = load32(block + types::Q2K::qs + 32 * half);
            out.u[4 * half] = bit_pair<0>(qs);
            out.u[4 * half + 1] = bit_pair<1>(qs);
            out.u[4 * half + 2] = bit_pair<2>(qs);
            out.u[4 * half + 3] = bit_pair<3>(qs);
        }
        const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block + types::Q2K::scales));
        const __m128i low4 = _mm_set1_epi8(0x0F);
        out.scales = even_odd_scales(_mm_and_si128(packed, low4));
        out.mins = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(packed, 4), low4));
        out.d = half_at(block + types::Q2K::d);
        out.dmin = half_at(block + types::Q2K::dmin);
    }
};

// Bit B of each byte moved to bit P (masked first, so no bit crosses into the neighbouring byte
// of the 16-bit shifts).
template <int B, int P>
__m256i bit_to(__m256i v) {
    const __m256i bit = _mm256_and_si256(v, _mm256_set1_epi8(char(1 << B)));
    if constexpr (B <= P)
        return _mm256_slli_epi16(bit, P - B);
    else
        return _mm256_srli_epi16(bit, B - P);
}

// Q5_K: chunks 2c and 2c + 1 are the low and high nibbles of qs[32c..], their fifth bits bits 2c
// and 2c + 1 of qh; the scales and mins are Q4_K's (x86::q4k_scales_mins), each group of 32 two
// of 16 here.
struct Q5KDecode {
    template <int C>
    static void chunks(const uint8_t* block, __m256i qh, KDecoded& out) {
        const __m256i q = load32(block + types::Q5K::qs + 32 * C), low4 = _mm256_set1_epi8(0xF);
        out.u[2 * C] = _mm256_or_si256(_mm256_and_si256(q, low4), bit_to<2 * C, 4>(qh));
        out.u[2 * C + 1] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), low4), bit_to<2 * C + 1, 4>(qh));
    }
    static void decode(const uint8_t* block, KDecoded& out) {
        const __m256i qh = load32(block + types::Q5K::qh);
        chunks<0>(block, qh, out);
        chunks<1>(block, qh, out);
        chunks<2>(block, qh, out);
        chunks<3>(block, qh, out);
        const __m128i scales_mins = _mm256_castsi256_si128(x86::q4k_scales_mins(
            _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(block)))));
        // Even and odd groups of 16 alike: the 8 scales in both lanes.
        out.scales = _mm256_cvtepu8_epi16(_mm_unpacklo_epi64(scales_mins, scales_mins));
        out.mins = _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(scales_mins, scales_mins));
        out.d = half_at(block + types::Q5K::d);
        out.dmin = half_at(block + types::Q5K::dmin);
    }
};

// Q3_K: chunk 4n + k's low bits are bit pair k of qs[32n..] (as Q2_K's), its third bit bit
// 4n + k of hmask.
struct Q3KDecode {
    template <int N>
    static void chunks(const uint8_t* block, __m256i hmask, KDecoded& out) {
        const __m256i qs = load32(block + types::Q3K::qs + 32 * N);
        out.u[4 * N] = _mm256_or_si256(bit_pair<0>(qs), bit_to<4 * N, 2>(hmask));
        out.u[4 * N + 1] = _mm256_or_si256(bit_pair<1>(qs), bit_to<4 * N + 1, 2>(hmask));
        out.u[4 * N + 2] = _mm256_or_si256(bit_pair<2>(qs), bit_to<4 * N + 2, 2>(hmask));
        out.u[4 * N + 3] = _mm256_or_si256(bit_pair<3>(qs), bit_to<4 * N + 3, 2>(hmask));
    }
    static void decode(const uint8_t* block, KDecoded& out) {
        const __m256i hmask = load32(block + types::Q3K::hmask);
        chunks<0>(block, hmask, out);
        chunks<1>(block, hmask, out);
        out.scales = even_odd_scales(x86::q3k_scales(block + types::Q3K::scales));
        out.mins = _mm256_setzero_si256();
        out.d = half_at(block + types::Q3K::d);
        out.dmin = 0.0f;
    }
};

// The integer work of the K-quant lanes (x86::KLanes): maddubs of u <= 63 and x in [-127, 127]
// never saturates, and pairs of (u - offset) * x stay exact in int16 (at most 2 * 32 * 127).
struct KSum {
    using Decoded = KDecoded;
    template <class T>
    static __m256i of(const KDecoded& b, const uint8_t* q) {
        const __m256i offset = _mm256_set1_epi8(int8_t(T::offset));
        __m256i sum = _mm256_setzero_si256();
        #pragma GCC unroll 8
        for (int k = 0; k < 8; k++) {
            const __m256i xk = load32(q + 32 * k);
            __m256i p = _mm256_maddubs_epi16(b.u[k], xk);
            if (T::offset) p = _mm256_sub_epi16(p, _mm256_maddubs_epi16(offset, xk));
            sum = _mm256_add_epi32(sum, _mm256_madd_epi16(p, b.chunk_scale(k)));
        }
        return sum;
    }
};

// Q4_K, 4 striped rows as x86::KLanes, with the blocks' headers unpacked two rows to a vector
// (x86::q4k_scales_mins) and the mins' products for two rows in one vpmaddwd, where each row's
// block took about 30 scalar instructions to unpack (1B Q4_K_M tg on one thread 22.3 -> 24.1 tok/s,
// medians of 3 alternated rounds: the rest of that file, Q6_K, now takes as long). A row's
// float steps stay add_k_block's, so its result is the same in lanes or alone.
struct Q4KLanes {
    static constexpr size_t lanes = 4, columns = 4;
    static constexpr bool striped = true;
    template <size_t N, size_t L = lanes>
    static void rows(float* y, size_t y_lane_stride, size_t y_column_stride, const uint8_t* w,
                     size_t w_lane_stride, const Matrix& m, const uint8_t* x,
                     size_t x_column_stride) {
        constexpr size_t pairs = (L + 1) / 2;
        __m256 acc[L][N];
        __m256 acc_min[pairs][N];  // 128-bit lane: a row's 4 min accumulators
        for (size_t c = 0; c < N; c++) {
            for (size_t l = 0; l < L; l++) acc[l][c] = _mm256_setzero_ps();
            for (size_t p = 0; p < pairs; p++) acc_min[p][c] = _mm256_setzero_ps();
        }
        const __m256i low4 = _mm256_set1_epi8(0xF);
        // The mins as int16; each lane's d in words 0-3, dmin in 4-7.
        const __m256i mins_of = _mm256_broadcastsi128_si256(
            _mm_setr_epi8(8, -1, 9, -1, 10, -1, 11, -1, 12, -1, 13, -1, 14, -1, 15, -1));
        const __m256i d_dmin_of = _mm256_broadcastsi128_si256(
            _mm_setr_epi8(0, 1, 0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3, 2, 3));
        const size_t blocks = m.cols / types::k_values;
        for (size_t i = 0; i < blocks; i++, w += types::Q4K::bytes, x += types::q8_k_bytes) {
            __m256 x_d[N];
            __m256i bsums[N];  // in both lanes
            for (size_t c = 0; c < N; c++) {
                const uint8_t* xb = x + c * x_column_stride;
                x_d[c] = _mm256_set1_ps(types::q8_k_scale(xb));
                bsums[c] = _mm256_broadcastsi128_si256(x86::q8k_pair_bsums(xb));
            }
            __m256i scales[pairs];
            __m256 x_d_d[pairs][N];
            #pragma GCC unroll 2
            for (size_t p = 0; p < pairs; p++) {
                const uint8_t* first = w + 2 * p * w_lane_stride;
                const uint8_t* second = 2 * p + 1 < L ? first + w_lane_stride : first;
                const __m256i headers = _mm256_inserti128_si256(
                    _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(first))),
                    _mm_loadu_si128(reinterpret_cast<const __m128i*>(second)), 1);
                scales[p] = x86::q4k_scales_mins(headers);
                const __m256i halves = _mm256_shuffle_epi8(headers, d_dmin_of);
                const __m256 lane0 = _mm256_cvtph_ps(_mm256_castsi256_si128(halves));
                const __m256 lane1 = _mm256_cvtph_ps(_mm256_extracti128_si256(halves, 1));
                const __m256 d = _mm256_permute2f128_ps(lane0, lane1, 0x20);
                const __m256 dmin = _mm256_permute2f128_ps(lane0, lane1, 0x31);
                const __m256i mins = _mm256_shuffle_epi8(scales[p], mins_of);
                #pragma GCC unroll 4
                for (size_t c = 0; c < N; c++) {
                    x_d_d[p][c] = _mm256_mul_ps(x_d[c], d);
                    acc_min[p][c] = _mm256_fnmadd_ps(_mm256_mul_ps(x_d[c], dmin),
                                                     _mm256_cvtepi32_ps(_mm256_madd_epi16(mins, bsums[c])), acc_min[p][c]);
                }
            }
            #pragma GCC unroll 4
            for (size_t l = 0; l < L; l++) {
                const uint8_t* qs = w + l * w_lane_stride + types::Q4K::qs;
                const __m256i pair = scales[l / 2];
                const __m256i row_scales = l % 2 ? _mm256_permute2x128_si256(pair, pair, 0x11)
                                                 : _mm256_permute2x128_si256(pair, pair, 0x00);
                KDecoded b;  // its mins, d and dmin are the vectors above
                #pragma GCC unroll 4
                for (int k = 0; k < 4; k++) {
                    const __m256i q = load32(qs + 32 * k);
                    b.u[2 * k] = _mm256_and_si256(q, low4);
                    b.u[2 * k + 1] = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
                }
                // A group of 32 is two of 16 with the same scale: the 8 scales as int16 in both lanes.
                b.scales = _mm256_shuffle_epi8(row_scales, _mm256_broadcastsi128_si256(
                                                   _mm_setr_epi8(0, -1, 1, -1, 2, -1, 3, -1, 4, -1, 5, -1, 6, -1, 7, -1)));
                #pragma GCC unroll 4
                for (size_t c = 0; c < N; c++) {
                    const __m256i sums = KSum::of<types::Q4K>(b, x + c * x_column_stride + types::q8_k_values_offset);
                    const __m256 x_d_row = _mm256_permutevar8x32_ps(x_d_d[l / 2][c], _mm256_set1_epi32(int(4 * (l % 2))));
                    acc[l][c] = _mm256_fmadd_ps(x_d_row, _mm256_cvtepi32_ps(sums), acc[l][c]);
                }
            }
        }
        for (size_t c = 0; c < N; c++)
            for (size_t l = 0; l < L; l++) {
                const __m256 mins = acc_min[l / 2][c];
                y[c * y_column_stride + l * y_lane_stride] = x86::k_result<types::Q4K>(
                    acc[l][c], l % 2 ? _mm256_extractf128_ps(mins, 1) : _mm256_castps256_ps128(mins));
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

// --- ggml's Q8_0 and legacy blocks (Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL) -----------------------------

// Blocks of 32 values are multiplied in a transposed layout: vector j holds values 4j..4j+3 of
// each of the 8 lanes' rows (lane l: row l), so one broadcast of the input's bytes 4j..4j+3 and
// one maddubs give every row's partial sums in its own lane, and a block's integer sums for 8
// rows come out as one vector with no horizontal reduction. The transposing costs a few
// shuffles per block, shared by the columns; the 4-bit types also decode their nibbles once per
// 8 rows instead of once per row (Q4_0 prompts 1.25x faster on Zen 3).

// 16 bytes of each of 8 lanes (lane l's at p + l * stride) as 4 vectors: vector k's lane l is
// bytes 4k..4k+3 of lane l's 16.
void transpose_16(const uint8_t* p, size_t stride, __m256i out[4]) {
    __m256i y[4];
    #pragma GCC unroll 4
    for (size_t l = 0; l < 4; l++)
        y[l] = _mm256_inserti128_si256(
            _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + l * stride))),
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + (l + 4) * stride)), 1);
    const __m256i a0 = _mm256_unpacklo_epi32(y[0], y[1]), a1 = _mm256_unpackhi_epi32(y[0], y[1]);
    const __m256i a2 = _mm256_unpacklo_epi32(y[2], y[3]), a3 = _mm256_unpackhi_epi32(y[2], y[3]);
    out[0] = _mm256_unpacklo_epi64(a0, a2);
    out[1] = _mm256_unpackhi_epi64(a0, a2);
    out[2] = _mm256_unpacklo_epi64(a1, a3);
    out[3] = _mm256_unpackhi_epi64(a1, a3);
}

// 16 packed bytes per lane (low nibbles values 0-15, high nibbles 16-31), transposed. Forced
// inline: GCC called it, with t through memory (Q4_0 prompts 2-3% slower).
[[gnu::always_inline]] inline void transposed_nibbles(const uint8_t* p, size_t stride, __m256i t[8]) {
    __m256i packed[4];
    transpose_16(p, stride, packed);
    const __m256i low = _mm256_set1_epi8(0x0F);
    #pragma GCC unroll 4
    for (size_t k = 0; k < 4; k++) {
        t[k] = _mm256_and_si256(packed[k], low);
        t[k + 4] = _mm256_and_si256(_mm256_srli_epi16(packed[k], 4), low);
    }
}

// Adds Q5's fifth bits (each lane's 32-bit word at p, lanes `stride` apart: bit i, value i) to
// transposed nibbles as 0x10: byte b of t[j] is value 4j + b, whose bit is bit 4 (j % 2) + b of
// the word's byte j / 2. The words come by 8 loads rather than a gather, as the scales do (see
// x86::lane_words): on Zen 4, Q5_0 generation 1.04x (1B shape) and 1.03-1.05x (110M), prompts
// unchanged.
void add_fifth_bits(const uint8_t* p, size_t stride, __m256i t[8]) {
    const __m256i words = x86::lane_dwords(p, stride);
    const __m256i dword_base = _mm256_setr_epi32(0, 0x04040404, 0x08080808, 0x0C0C0C0C, 0,
                                                 0x04040404, 0x08080808, 0x0C0C0C0C);
    const __m256i bits[2] = {_mm256_set1_epi32(0x08040201), _mm256_set1_epi32(int(0x80402010u))};
    #pragma GCC unroll 4
    for (size_t m = 0; m < 4; m++) {
        // Every byte of each 32-bit lane a copy of the lane's byte m.
        const __m256i spread =
            _mm256_shuffle_epi8(words, _mm256_add_epi8(dword_base, _mm256_set1_epi8(char(m))));
        #pragma GCC unroll 2
        for (size_t h = 0; h < 2; h++) {
            const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bits[h]), bits[h]);
            t[2 * m + h] = _mm256_or_si256(t[2 * m + h], _mm256_and_si256(set, _mm256_set1_epi8(0x10)));
        }
    }
}

// Each block type's values in the transposed layout, and how its products are summed:
//   signed_values   the values may be negative: maddubs gets |w| and x with w's sign
//   offset          the values are stored as q + offset (0..15 or 0..31). For several columns q
//                   is decoded once per block, and maddubs gets x + 128 (unsigned: x xor 0x80)
//                   and q, its sum corrected by 128 * sum(q) per row, also once per block:
//                   Q4_0 prompts 1.02-1.08x faster than with the per-column correction. For one
//                   column (generation) that per-block work costs more than it saves (1B Q4_0
//                   generation 12% slower), so maddubs gets q + offset and x, corrected by
//                   offset * sum(x).
//   run             how many maddubs results an int16 lane can add before one could overflow:
//                   |pair| <= 2 * max|value| * 127 (inputs are in [-127, 127]), or
//                   2 * offset * 255 with an offset
template <class T>
struct LegacyValues {
    using Type = T;
    using Blocks = types::Blocks32<T>;
    static constexpr size_t block_bytes = T::bytes, input_bytes = Blocks::input_bytes,
                            input_values_offset = Blocks::input_values_offset;
    static constexpr bool has_min = T::has_min;
    static float row(const uint8_t* w, const Matrix& m, const uint8_t* x) {
        return Blocks::row_dot(w, x, m.cols);
    }
};
// 4-bit values: 2 * 15 * 127 = 3810, 8 of them 30480; 2 * 8 * 255 = 4080, 8 of them 32640.
template <class T, int Offset>
struct NibbleValues : LegacyValues<T> {
    static constexpr bool signed_values = false;
    static constexpr int offset = Offset, run = 8;
    static void values(const uint8_t* w, size_t stride, __m256i t[8]) {
        transposed_nibbles(w + T::values_offset, stride, t);
    }
};
using Q4_0Values = NibbleValues<types::Q4_0, 8>;
using Q4_1Values = NibbleValues<types::Q4_1, 0>;
// 5-bit values: 2 * 31 * 127 = 7874, 4 of them 31496; 2 * 16 * 255 = 8160, 4 of them 32640.
template <class T, int Offset>
struct FiveBitValues : LegacyValues<T> {
    static constexpr bool signed_values = false;
    static constexpr int offset = Offset, run = 4;
    static void values(const uint8_t* w, size_t stride, __m256i t[8]) {
        transposed_nibbles(w + T::values_offset, stride, t);
        add_fifth_bits(w + T::bits_offset, stride, t);
    }
};
using Q5_0Values = FiveBitValues<types::Q5_0, 16>;
using Q5_1Values = FiveBitValues<types::Q5_1, 0>;
// Levels up to 127 in magnitude: a maddubs pair can reach 32258, so no run.
struct IQ4_NLValues : LegacyValues<types::IQ4_NL> {
    static constexpr bool signed_values = true;
    static constexpr int offset = 0, run = 1;
    static void values(const uint8_t* w, size_t stride, __m256i t[8]) {
        const __m256i levels = _mm256_broadcastsi128_si256(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(types::iq4_nl_levels)));
        transposed_nibbles(w + Type::values_offset, stride, t);
        #pragma GCC unroll 8
        for (size_t j = 0; j < 8; j++) t[j] = _mm256_shuffle_epi8(levels, t[j]);
    }
};
// Q8_0 (against Q8_0 inputs, in llama.cpp's float step, as the types without a minimum).
struct Q8_0Values {
    static constexpr size_t block_bytes = types::q8_0_bytes, input_bytes = types::q8_0_bytes,
                            input_values_offset = 2;
    static constexpr bool has_min = false, signed_values = true;
    static constexpr int offset = 0, run = 1;
    static void values(const uint8_t* w, size_t stride, __m256i t[8]) {
        transpose_16(w + 2, stride, t);
        transpose_16(w + 18, stride, t + 4);
    }
    static float row(const uint8_t* w, const Matrix& m, const uint8_t* x) {
        return types::q8_0_row_dot(w, x, m.cols);
    }
};

// offset * the sum of 32 int8 inputs, in every lane.
__m256i offset_sum(__m256i x, int offset) {
    __m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), x),
                                  _mm256_set1_epi16(int16_t(offset)));
    s = _mm256_add_epi32(s, _mm256_permute2x128_si256(s, s, 1));
    s = _mm256_add_epi32(s, _mm256_shuffle_epi32(s, 0x4E));
    return _mm256_add_epi32(s, _mm256_shuffle_epi32(s, 0xB1));
}

// G groups of 8 striped lanes of a type of 32-value blocks, for up to 16 input columns: per block
// each group's 8 rows' values transposed once, then per column the exact integer sums of the 8
// rows as one vector, converted, and llama.cpp's float step for the block applied to the 8 rows
// at once. 16 columns share a block's transposing and scale gather: prompts 1.35x faster than 4
// with Q8_0 on Zen 3, 32 no faster. Two groups share each input broadcast (and its flip): 110M
// Q4_0 prompts 1.14x faster. For one column (generation) 16 row streams made 1B Q4_0 generation
// 40% slower than 8: it takes one group. So does Q8_0, whose values and magnitudes of two groups
// do not fit the registers (1B Q8_0 prompts 14% slower with two). Generation stripes the lanes
// over the range, 8 row streams, and reads their scales by word loads (x86::lane_words);
// prompts take neighbouring rows, so that weights read from DRAM come in one stretch, and gather
// the scales once for 16 columns (Striped false).
template <class V, size_t G, bool Striped>
struct BlockLanes {
    static constexpr size_t groups = G, lanes = 8 * groups, columns = 16;
    static constexpr bool striped = Striped;
    template <size_t N>
    static void rows(float* y, size_t y_lane_stride, size_t y_column_stride, const uint8_t* w,
                     size_t w_lane_stride, const Matrix& m, const uint8_t* x,
                     size_t x_column_stride) {
        const size_t blocks = m.cols / types::blocks32_values, group_stride = 8 * w_lane_stride;
        const __m256i offsets = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                                   _mm256_set1_epi32(int(w_lane_stride)));
        const __m256i ones = _mm256_set1_epi16(1);
        constexpr bool flip = V::offset != 0 && N > 1;  // x + 128 against q (see LegacyValues)
        __m256 acc[groups][N];
        for (size_t g = 0; g < groups; g++)
            #pragma GCC unroll 4
            for (size_t c = 0; c < N; c++) acc[g][c] = _mm256_setzero_ps();
        for (size_t b = 0; b < blocks; b++, w += V::block_bytes, x += V::input_bytes) {
            #pragma GCC unroll 16
            for (size_t l = 0; l < lanes; l++) prefetch(w + l * w_lane_stride);
            __m256i t[groups][8], magnitude[groups][8], correction[groups];
            __m256 wd[groups], wm[groups];
            for (size_t g = 0; g < groups; g++) {
                const uint8_t* wg = w + g * group_stride;
                V::values(wg, w_lane_stride, t[g]);
                if constexpr (V::signed_values) {
                    #pragma GCC unroll 8
                    for (size_t j = 0; j < 8; j++) magnitude[g][j] = _mm256_abs_epi8(t[g][j]);
                }
                correction[g] = _mm256_setzero_si256();  // 128 * sum(q) per row
                if constexpr (flip) {
                    __m256i pair_sums = _mm256_setzero_si256();  // at most 8 * 2 * 16
                    #pragma GCC unroll 8
                    for (size_t j = 0; j < 8; j++) {
                        t[g][j] = _mm256_sub_epi8(t[g][j], _mm256_set1_epi8(char(V::offset)));
                        pair_sums = _mm256_add_epi16(pair_sums, _mm256_maddubs_epi16(_mm256_set1_epi8(1), t[g][j]));
                    }
                    correction[g] = _mm256_slli_epi32(_mm256_madd_epi16(pair_sums, ones), 7);
                }
                wd[g] = Striped ? word_halves(wg, w_lane_stride) : gathered_halves(wg, offsets);
                if constexpr (V::has_min)
                    wm[g] = Striped ? word_halves(wg + 2, w_lane_stride) : gathered_halves(wg + 2, offsets);
                else
                    wm[g] = wd[g];
            }
            #pragma GCC unroll 2
            for (size_t c = 0; c < N; c++) {
                const uint8_t* xc = x + c * x_column_stride;
                const uint8_t* xv = xc + V::input_values_offset;
                __m256i isum[groups], run[groups];
                #pragma GCC unroll 2
                for (size_t g = 0; g < groups; g++) isum[g] = run[g] = _mm256_setzero_si256();
                #pragma GCC unroll 8
                for (size_t j = 0; j < 8; j++) {
                    int32_t word;
                    std::memcpy(&word, xv + 4 * j, 4);
                    const __m256i xj = _mm256_set1_epi32(word);
                    const __m256i xf = _mm256_xor_si256(xj, _mm256_set1_epi8(char(0x80)));
                    #pragma GCC unroll 2
                    for (size_t g = 0; g < groups; g++) {
                        const __m256i pairs =
                            V::signed_values ? _mm256_maddubs_epi16(magnitude[g][j], _mm256_sign_epi8(xj, t[g][j]))
                            : flip ? _mm256_maddubs_epi16(xf, t[g][j])
                                   : _mm256_maddubs_epi16(t[g][j], xj);
                        run[g] = _mm256_add_epi16(run[g], pairs);
                        if ((j + 1) % V::run == 0) {
                            isum[g] = _mm256_add_epi32(isum[g], _mm256_madd_epi16(run[g], ones));
                            run[g] = _mm256_setzero_si256();
                        }
                    }
                }
                const __m256 xd = broadcast_half(xc);
                const __m256i x_offset = V::offset != 0 && !flip ? offset_sum(load32(xv), V::offset)
                                                                 : _mm256_setzero_si256();
                #pragma GCC unroll 2
                for (size_t g = 0; g < groups; g++) {
                    const __m256 sums = _mm256_cvtepi32_ps(
                        _mm256_sub_epi32(isum[g], flip ? correction[g] : x_offset));
                    if constexpr (V::has_min) {
                        // acc + ((w_d * x_d) * isum + w_m * x_s)
                        acc[g][c] = _mm256_add_ps(acc[g][c],
                                                  _mm256_add_ps(_mm256_mul_ps(_mm256_mul_ps(wd[g], xd), sums),
                                                                _mm256_mul_ps(wm[g], broadcast_half(xc + 2))));
                    } else {
                        // acc + isum * (w_d * x_d)
                        acc[g][c] = _mm256_add_ps(acc[g][c], _mm256_mul_ps(sums, _mm256_mul_ps(wd[g], xd)));
                    }
                }
            }
        }
        for (size_t g = 0; g < groups; g++)
            #pragma GCC unroll 4
            for (size_t c = 0; c < N; c++) {
                alignas(32) float sums[8];
                _mm256_store_ps(sums, acc[g][c]);
                for (size_t l = 0; l < 8; l++)
                    y[c * y_column_stride + (8 * g + l) * y_lane_stride] = sums[l];
            }
    }
    // The reference's arithmetic, which the lanes reproduce bit for bit.
    static float row(const uint8_t* w, const Matrix& m, const uint8_t* x) { return V::row(w, m, x); }
};

// A legacy type's products: one column (generation) in 8 lanes, more in 16 (see BlockLanes).
template <class V>
void product_blocks(float* y, size_t y_stride, const Matrix& w, const uint8_t* in, size_t in_stride,
                    size_t columns, size_t row_begin, size_t row_end) {
    if (columns == 1)
        lanes_product<BlockLanes<V, 1, true>>(y, y_stride, w, in, in_stride, columns, row_begin, row_end);
    else
        lanes_product<BlockLanes<V, 2, false>>(y, y_stride, w, in, in_stride, columns, row_begin, row_end);
}

// Q8_0: one column (generation) in the row layout, whose per-block reduction costs less than
// transposing the block for a single column (110M and 1B generation about 10% faster); more
// columns transposed. Both sums are exact, so a column's result is the same either way.
void product_q8_0(float* y, size_t y_stride, const Matrix& w, const uint8_t* in, size_t in_stride,
                  size_t columns, size_t row_begin, size_t row_end) {
    if (columns == 1)
        lanes_product<Q8Lanes<Q8_0Blocks, 1>>(y, y_stride, w, in, in_stride, columns, row_begin, row_end);
    else
        lanes_product<BlockLanes<Q8_0Values, 1, false>>(y, y_stride, w, in, in_stride, columns, row_begin, row_end);
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

// A 256-entry table is 16 pieces of 16 bytes, and vpshufb looks a vector of codes up in one
// piece (AVX2's byte shuffle reaches 16 entries; AVX-512's vpermi2b 128, NEON's tbl 64,
// AltiVec's vperm 32). Before a product reads them, each table half's pieces (entries 0-127,
// 128-255) are XOR-ed with the piece before them. The index (c & 0x7F) - 16 j keeps code c's
// low 4 bits and has its top bit set, which makes vpshufb give 0, exactly when piece j lies past
// c's: the XOR of a half's 8 lookups telescopes to c's entry, and a byte blend on c's top bit
// picks the half. On a Zen 4, vpshufb and vpblendvb share two ports: 16 shuffles and 1 blend
// for 32 codes, against 16 and a tree of 15 blends picking each code's piece before.
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
    // A table as looked up: 16 pieces XOR-ed as above.
    struct Pieces {
        __m128i p[16];
    };
    static void encode(Pieces& out, const int8_t* table) {
        for (int half = 0; half < 2; half++) {
            __m128i previous = _mm_setzero_si128();
            for (int j = 0; j < 8; j++) {
                const __m128i piece = _mm_load_si128(reinterpret_cast<const __m128i*>(table + 16 * (8 * half + j)));
                out.p[8 * half + j] = _mm_xor_si128(piece, previous);
                previous = piece;
            }
        }
    }
    // Once per product and column, into this thread's scratch: a table serves every row block.
    static void relay_tables(const int8_t** luts, size_t n, size_t step_begin, size_t step_end) {
        constexpr size_t width = AqlmPacked::table_entries;
        static_assert(sizeof(Pieces) == width, "a table's pieces are the table's size");
        const size_t bytes = step_end * width;
        int8_t* scratch = reinterpret_cast<int8_t*>(aqlm_scratch(n * bytes / sizeof(float)));
        for (size_t c = 0; c < n; c++, scratch += bytes) {
            for (size_t t = step_begin; t < step_end; t++)
                encode(*reinterpret_cast<Pieces*>(scratch + t * width), luts[c] + t * width);
            luts[c] = scratch;
        }
    }
    // The entries at two vectors of codes, each piece loaded once for both.
    static void look_up(const Pieces& t, __m256i c0, __m256i c1, __m256i& v0, __m256i& v1) {
        const __m256i mask = _mm256_set1_epi8(0x7F), sixteen = _mm256_set1_epi8(16);
        __m256i i0 = _mm256_and_si256(c0, mask), i1 = _mm256_and_si256(c1, mask);
        __m256i piece = _mm256_broadcastsi128_si256(t.p[0]);
        __m256i low0 = _mm256_shuffle_epi8(piece, i0), low1 = _mm256_shuffle_epi8(piece, i1);
        piece = _mm256_broadcastsi128_si256(t.p[8]);
        __m256i high0 = _mm256_shuffle_epi8(piece, i0), high1 = _mm256_shuffle_epi8(piece, i1);
        for (int j = 1; j < 8; j++) {
            i0 = _mm256_sub_epi8(i0, sixteen);
            i1 = _mm256_sub_epi8(i1, sixteen);
            piece = _mm256_broadcastsi128_si256(t.p[j]);
            low0 = _mm256_xor_si256(low0, _mm256_shuffle_epi8(piece, i0));
            low1 = _mm256_xor_si256(low1, _mm256_shuffle_epi8(piece, i1));
            piece = _mm256_broadcastsi128_si256(t.p[8 + j]);
            high0 = _mm256_xor_si256(high0, _mm256_shuffle_epi8(piece, i0));
            high1 = _mm256_xor_si256(high1, _mm256_shuffle_epi8(piece, i1));
            // Keeps GCC from regrouping the XORs, which parked 16 shuffles' results on the
            // stack and ran slower than the blends.
            asm("" : "+x"(low0), "+x"(low1), "+x"(high0), "+x"(high1), "+x"(i0), "+x"(i1));
        }
        v0 = _mm256_blendv_epi8(low0, high0, c0);
        v1 = _mm256_blendv_epi8(low1, high1, c1);
    }
    // Steps go in pairs: vpunpck pairs a row's entries of the two steps (within 128-bit lanes)
    // and vpmaddubsw adds them into 16 bits, so of each 32 rows' two sums one holds rows 0-7 and
    // 16-23, the other rows 8-15 and 24-31.
    static void add_table_block(Sums& s, const int8_t* tables, size_t table_stride,
                                const uint8_t* codes, size_t code_stride, size_t steps,
                                float scale) {
        __m256i n[4];
        for (__m256i& v : n) v = _mm256_setzero_si256();
        const __m256i ones = _mm256_set1_epi8(1);
        auto codes_at = [](const uint8_t* p) { return _mm256_load_si256(reinterpret_cast<const __m256i*>(p)); };
        for (size_t t = 0; t < steps; t += 2, tables += 2 * table_stride, codes += 2 * code_stride) {
            _mm_prefetch(reinterpret_cast<const char*>(codes) + 1024, _MM_HINT_T0);
            __m256i a0, a1, b0 = _mm256_setzero_si256(), b1 = _mm256_setzero_si256();
            look_up(*reinterpret_cast<const Pieces*>(tables), codes_at(codes), codes_at(codes + 32), a0, a1);
            if (t + 1 < steps)
                look_up(*reinterpret_cast<const Pieces*>(tables + table_stride), codes_at(codes + code_stride),
                        codes_at(codes + code_stride + 32), b0, b1);
            n[0] = _mm256_add_epi16(n[0], _mm256_maddubs_epi16(ones, _mm256_unpacklo_epi8(a0, b0)));
            n[1] = _mm256_add_epi16(n[1], _mm256_maddubs_epi16(ones, _mm256_unpackhi_epi8(a0, b0)));
            n[2] = _mm256_add_epi16(n[2], _mm256_maddubs_epi16(ones, _mm256_unpacklo_epi8(a1, b1)));
            n[3] = _mm256_add_epi16(n[3], _mm256_maddubs_epi16(ones, _mm256_unpackhi_epi8(a1, b1)));
        }
        const __m256 f = _mm256_set1_ps(scale);
        auto add_rows = [&](__m256& sum, __m128i rows) {
            sum = _mm256_add_ps(sum, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(rows)), f));
        };
        for (size_t h = 0; h < 2; h++) {
            const __m256i a = n[2 * h], b = n[2 * h + 1];
            add_rows(s.v[4 * h], _mm256_castsi256_si128(a));
            add_rows(s.v[4 * h + 1], _mm256_castsi256_si128(b));
            add_rows(s.v[4 * h + 2], _mm256_extracti128_si256(a, 1));
            add_rows(s.v[4 * h + 3], _mm256_extracti128_si256(b, 1));
        }
    }
    static void store(float* out, const Sums& s) {
        for (size_t k = 0; k < vectors; k++) _mm256_store_ps(out + 8 * k, s.v[k]);
    }
};

// A group's 8 weights are one vector (the codebooks' entries summed), one FMA with x. Two chains
// by group parity: the codebook loads miss the caches, the FMAs need not wait in line.
struct AqlmDecode : x86::AqlmGroups {
    struct Acc {
        __m256 even, odd;
    };
    static Acc zero() { return {_mm256_setzero_ps(), _mm256_setzero_ps()}; }
    static Acc fma(Acc acc, Weights w, const float* x, size_t parity) {
        if (parity)
            acc.odd = _mm256_fmadd_ps(w, _mm256_loadu_ps(x), acc.odd);
        else
            acc.even = _mm256_fmadd_ps(w, _mm256_loadu_ps(x), acc.even);
        return acc;
    }
    static float sum(const Acc& acc) { return hsum1(_mm256_add_ps(acc.even, acc.odd)); }
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
    add_aqlm_half_sums<AqlmBlock>(set);
    set.product[size_t(WeightType::AQLM_WIDE)] = aqlm_decode_product<AqlmDecode>;
    set.batch_product[size_t(WeightType::AQLM)] = aqlm_batch_product<AqlmDecode, product_floats<Float32>>;
    set.batch_product[size_t(WeightType::AQLM_WIDE)] = aqlm_batch_product<AqlmDecode, product_floats<Float32>>;
    set.product[size_t(WeightType::Q6_K)] = product_k<types::Q6K, Q6KDecode>;
    set.product[size_t(WeightType::Q4_K)] = lanes_product<Q4KLanes>;
    set.product[size_t(WeightType::Q5_K)] = product_k<types::Q5K, Q5KDecode>;
    set.product[size_t(WeightType::Q3_K)] = product_k<types::Q3K, Q3KDecode>;
    set.product[size_t(WeightType::Q2_K)] = product_k<types::Q2K, Q2KDecode>;
    set.product[size_t(WeightType::Q4_0)] = product_blocks<Q4_0Values>;
    set.product[size_t(WeightType::Q4_1)] = product_blocks<Q4_1Values>;
    set.product[size_t(WeightType::Q5_0)] = product_blocks<Q5_0Values>;
    set.product[size_t(WeightType::Q5_1)] = product_blocks<Q5_1Values>;
    set.product[size_t(WeightType::IQ4_NL)] = product_blocks<IQ4_NLValues>;
    set.prepare[size_t(InputFormat::Q8_G)] = quantize_q8_g_blocks<Q8Values>;
    set.prepare[size_t(InputFormat::Q8_0)] = quantize_q8_0_blocks<Q8Values>;
    set.prepare[size_t(InputFormat::Q8_1)] = quantize_q8_1_blocks<Q8Values>;
    set.prepare[size_t(InputFormat::Q8_K)] = quantize_q8_k_blocks<Q8Values>;
    set.prepare[size_t(InputFormat::AqlmTable)] = aqlm_prepare<AqlmBuild>;
    set.axpy_f32 = axpy_f32;
    set.axpy_f16 = axpy_f16;
    set.to_f16 = to_f16;
    return true;
}

}  // namespace llamaport::kernels

#else  // not compiled for AVX2

bool llamaport::kernels::add_avx2_kernels(KernelSet&) { return false; }

#endif
