// AArch64 Advanced SIMD (NEON) kernels: plain ARMv8.0-A, no dot-product extension, so they run on
// every 64-bit ARM (Cortex-A53 and later, Apple silicon, Graviton).
//
// Against the scalar reference: fp32 products add in another order (several accumulators, fused
// multiply-add), so they match it to rounding, not bit for bit. Everything else is bit-identical:
// input quantization, axpy, the int8-block products (exact integer sums per block, then the
// type's float steps in the type's order, 4 rows at a time), the AQLM tables and their products;
// only the AQLM decode kernel adds in another order.
#include "kernel_sets.hpp"

#if defined(__ARM_NEON) && defined(__aarch64__)
#include <arm_neon.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "aqlm_table.hpp"
#include "k_lanes.hpp"
#include "input_blocks.hpp"
#include "row_driver.hpp"
#include "types/aqlm.hpp"
#include "types/f16.hpp"
#include "types/inputs.hpp"
#include "types/iq4_nl.hpp"
#include "types/q4_0.hpp"
#include "types/q4_1.hpp"
#include "types/q5_0.hpp"
#include "types/q5_1.hpp"

namespace llamaport::kernels {
// Every kernel set uses the same function names, and the one-file build (tools/amalgamate.py)
// puts them all in one translation unit: hence a named namespace. The anonymous one inside keeps
// internal linkage, which lets GCC inline the helpers as freely as in a file of their own.
namespace neon_impl {
namespace {

// --- fp32 ---------------------------------------------------------------------------------------

// How values of a row or an input are read into fp32 lanes: fp32 as they are, IEEE halves and
// bfloat16 widened (exactly).
struct Float32 {
    static constexpr size_t bytes = 4;
    static float32x4_t load4(const uint8_t* p) { return vld1q_f32(reinterpret_cast<const float*>(p)); }
    static float value(const uint8_t* p) { return load_f32(p); }
};
struct Half {
    static constexpr size_t bytes = 2;
    static float32x4_t load4(const uint8_t* p) {
        return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(reinterpret_cast<const uint16_t*>(p))));
    }
    static float value(const uint8_t* p) { return fp16_to_fp32(load_u16(p)); }
};
struct BFloat16 {
    static constexpr size_t bytes = 2;
    static float32x4_t load4(const uint8_t* p) {
        return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(reinterpret_cast<const uint16_t*>(p)), 16));
    }
    static float value(const uint8_t* p) { return bf16_to_fp32(load_u16(p)); }
};

// R rows of element type E (lane r's at w + r * stride bytes) sharing each load of x. Two
// accumulators per row so that 2R independent FMA chains hide the FMA latency even when the
// matrix sits in cache. A row's arithmetic is the same for any R. (Products of halves or
// bfloat16 are exact, so their FMAs round as a multiply-add would.)
template <class E, int R>
void rows_of(float* y, size_t y_lane_stride, const uint8_t* w, size_t stride, size_t cols,
             const uint8_t* x) {
    auto at = [&](int r, size_t j) { return w + r * stride + j * E::bytes; };
    float32x4_t acc0[R], acc1[R];
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++) acc0[r] = acc1[r] = vdupq_n_f32(0.0f);
    size_t j = 0;
    for (; j + 8 <= cols; j += 8) {
        const float32x4_t x0 = E::load4(x + j * E::bytes), x1 = E::load4(x + (j + 4) * E::bytes);
        #pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            acc0[r] = vfmaq_f32(acc0[r], E::load4(at(r, j)), x0);
            acc1[r] = vfmaq_f32(acc1[r], E::load4(at(r, j + 4)), x1);
        }
    }
    if (j + 4 <= cols) {
        const float32x4_t x0 = E::load4(x + j * E::bytes);
        #pragma GCC unroll 8
        for (int r = 0; r < R; r++) acc0[r] = vfmaq_f32(acc0[r], E::load4(at(r, j)), x0);
        j += 4;
    }
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
        float sum = vaddvq_f32(vaddq_f32(acc0[r], acc1[r]));
        for (size_t k = j; k < cols; k++) sum += E::value(at(r, k)) * E::value(x + k * E::bytes);
        y[r * y_lane_stride] = sum;
    }
}

// 4 adjacent rows; several input columns one after another, the rows then coming from the
// caches.
template <class E>
struct FloatLanes {
    static constexpr size_t lanes = 4, columns = 4;
    static constexpr bool striped = false;
    template <size_t N>
    static void rows(float* y, size_t y_lane_stride, size_t y_column_stride, const uint8_t* w,
                     size_t w_lane_stride, const Matrix& m, const uint8_t* x,
                     size_t x_column_stride) {
        for (size_t c = 0; c < N; c++)
            rows_of<E, 4>(y + c * y_column_stride, y_lane_stride, w, w_lane_stride, m.cols,
                          x + c * x_column_stride);
    }
    static float row(const uint8_t* w, const Matrix& m, const uint8_t* x) {
        float y;
        rows_of<E, 1>(&y, 0, w, 0, m.cols, x);
        return y;
    }
};

template <class E>
void product_floats(float* y, size_t y_stride, const Matrix& w, const uint8_t* in,
                    size_t in_stride, size_t columns, size_t row_begin, size_t row_end) {
    lanes_product<FloatLanes<E>>(y, y_stride, w, in, in_stride, columns, row_begin, row_end);
}

// Multiply, then add, both rounded: the same result as the scalar set, bit for bit.
void axpy(float* y, float a, const float* x, size_t n) {
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(y + i, vaddq_f32(vld1q_f32(y + i), vmulq_n_f32(vld1q_f32(x + i), a)));
    for (; i < n; i++) y[i] += a * x[i];
}

// The same with x in IEEE half: each product of two halves is exact, so bit for bit too.
void axpy_f16(float* y, float a, const uint16_t* x, size_t n) {
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const float32x4_t xv = vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(x + i)));
        vst1q_f32(y + i, vaddq_f32(vld1q_f32(y + i), vmulq_n_f32(xv, a)));
    }
    for (; i < n; i++) y[i] += a * fp16_to_fp32(x[i]);
}

// --- input quantization -------------------------------------------------------------------------

// max |x| of n values: FMAXNM ignores a NaN operand, as std::fmax does.
float max_abs(const float* x, size_t n) {
    float32x4_t m = vdupq_n_f32(0.0f);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) m = vmaxnmq_f32(m, vabsq_f32(vld1q_f32(x + i)));
    if (i < n) {  // the last values zero-padded: a zero never raises the maximum
        float tail[4] = {};
        std::memcpy(tail, x + i, (n - i) * sizeof(float));
        m = vmaxnmq_f32(m, vabsq_f32(vld1q_f32(tail)));
    }
    return vmaxnmvq_f32(m);
}

// q[i] = round(clamp(op(x[i], s))) exactly as the reference does it: runq.c divides and rounds
// halves away from zero (FCVTAS, std::round's rule), llama.cpp multiplies and rounds to even
// (FCVTNS).
template <bool Divide>
void quantize_values(int8_t* q, const float* x, size_t n, float s) {
    const float32x4_t sv = vdupq_n_f32(s);
    // clamp_q8_quotient: FMAX/FMIN keep a NaN, which FCVTAS turns into 0.
    const float32x4_t lowest = vdupq_n_f32(-127.0f), highest = vdupq_n_f32(127.0f);
    auto quotients = [&](const float* p) {
        const float32x4_t v = Divide ? vdivq_f32(vld1q_f32(p), sv) : vmulq_f32(vld1q_f32(p), sv);
        const float32x4_t clamped = vminq_f32(vmaxq_f32(v, lowest), highest);
        return Divide ? vcvtaq_s32_f32(clamped) : vcvtnq_s32_f32(clamped);
    };
    auto eight = [&](const float* p) {
        return vqmovn_s16(vcombine_s16(vqmovn_s32(quotients(p)), vqmovn_s32(quotients(p + 4))));
    };
    size_t i = 0;
    for (; i + 8 <= n; i += 8) vst1_s8(q + i, eight(x + i));
    if (i < n) {  // the last values through a zero-padded copy, so nothing past x or q is touched
        float in[8] = {};
        int8_t out[8];
        std::memcpy(in, x + i, (n - i) * sizeof(float));
        vst1_s8(out, eight(in));
        std::memcpy(q + i, out, n - i);
    }
}

// The int8 input quantizers' vector arithmetic (input_blocks.hpp supplies the blocks).
struct Q8Values {
    static float max_abs(const float* x, size_t n) { return neon_impl::max_abs(x, n); }
    template <bool Divide>
    static void quantize(int8_t* q, const float* x, size_t n, float s) {
        quantize_values<Divide>(q, x, n, s);
    }
};

// --- int8 blocks (Q8_G, Q8_0) -----------------------------------------------------------------

// acc + sum w[k]*x[k] over 16 bytes, as 4 int32 partial sums. Two products share an int16 lane
// before the pairwise add: that needs x in [-127, 127] (the input quantizers' range), which
// bounds a lane by 2 * 128 * 127 = 32512. w may be -128.
int32x4_t dot16(int32x4_t acc, int8x16_t w, int8x16_t x) {
    const int16x8_t prod = vmlal_high_s8(vmull_s8(vget_low_s8(w), vget_low_s8(x)), w, x);
    return vpadalq_s16(acc, prod);
}

const int8_t* values(const uint8_t* p) { return reinterpret_cast<const int8_t*>(p); }

// A type of int8 blocks: where a block's values and scale are, and its float steps per block.
struct Q8GBlocks {
    static constexpr size_t values_offset = types::q8_g_scale_bytes;
    static size_t block_values(const Matrix& m) { return m.block_values; }
    static float scale(const uint8_t* block) { return load_f32(block); }
    // runq.c's order: acc + ((float)isum * w_scale) * x_scale.
    static float32x4_t accumulate(float32x4_t acc, float32x4_t isum, float32x4_t ws, float xs) {
        return vaddq_f32(acc, vmulq_n_f32(vmulq_f32(isum, ws), xs));
    }
    static float row(const uint8_t* w, const Matrix& m, const uint8_t* x) {
        return types::q8_g_row_dot(w, x, m.cols, m.block_values);
    }
};

struct Q8_0Blocks {
    static constexpr size_t values_offset = 2;
    static size_t block_values(const Matrix&) { return types::q8_0_values; }
    static float scale(const uint8_t* block) { return types::q8_0_scale(block); }
    // ggml's order: acc + float(isum) * (w_scale * x_scale).
    static float32x4_t accumulate(float32x4_t acc, float32x4_t isum, float32x4_t ws, float xs) {
        return vaddq_f32(acc, vmulq_f32(isum, vmulq_n_f32(ws, xs)));
    }
    static float row(const uint8_t* w, const Matrix& m, const uint8_t* x) {
        return types::q8_0_row_dot(w, x, m.cols);
    }
};

// 4 adjacent rows of a type of int8 blocks whose block is K 16-byte chunks (K = 0: any multiple
// of 16, known at run time), for up to 4 input columns. Per block and column, each row's integer
// sum; the 4 sums in one vector, converted, and the type's float steps applied to the 4 rows at
// once. A block's weights come from memory once for all the columns.
template <class Blocks, int K>
struct Q8Lanes {
    static constexpr size_t lanes = 4, columns = 4;
    static constexpr bool striped = false;
    template <size_t N>
    static void rows(float* y, size_t y_lane_stride, size_t y_column_stride, const uint8_t* w,
                     size_t w_lane_stride, const Matrix& m, const uint8_t* x,
                     size_t x_column_stride) {
        const size_t n = Blocks::block_values(m), chunks = K ? K : n / 16;
        const size_t block_bytes = Blocks::values_offset + n, blocks = m.cols / n;
        float32x4_t acc[N];
        #pragma GCC unroll 4
        for (size_t c = 0; c < N; c++) acc[c] = vdupq_n_f32(0.0f);
        for (size_t b = 0; b < blocks; b++, w += block_bytes, x += block_bytes) {
            float lane_scales[lanes];
            for (size_t l = 0; l < lanes; l++) lane_scales[l] = Blocks::scale(w + l * w_lane_stride);
            const float32x4_t ws = vld1q_f32(lane_scales);
            #pragma GCC unroll 4
            for (size_t c = 0; c < N; c++) {
                const uint8_t* xc = x + c * x_column_stride;
                int32x4_t isum[lanes];
                #pragma GCC unroll 4
                for (size_t l = 0; l < lanes; l++) isum[l] = vdupq_n_s32(0);
                #pragma GCC unroll 4
                for (size_t k = 0; k < chunks; k++) {
                    const int8x16_t xk = vld1q_s8(values(xc + Blocks::values_offset + 16 * k));
                    #pragma GCC unroll 4
                    for (size_t l = 0; l < lanes; l++)
                        isum[l] = dot16(isum[l], vld1q_s8(values(w + l * w_lane_stride +
                                                                 Blocks::values_offset + 16 * k)), xk);
                }
                const int32x4_t sums =
                    vpaddq_s32(vpaddq_s32(isum[0], isum[1]), vpaddq_s32(isum[2], isum[3]));
                acc[c] = Blocks::accumulate(acc[c], vcvtq_f32_s32(sums), ws, Blocks::scale(xc));
            }
        }
        #pragma GCC unroll 4
        for (size_t c = 0; c < N; c++) {
            float out[lanes];
            vst1q_f32(out, acc[c]);
            for (size_t l = 0; l < lanes; l++) y[c * y_column_stride + l * y_lane_stride] = out[l];
        }
    }
    // The reference's arithmetic, which the lanes reproduce bit for bit.
    static float row(const uint8_t* w, const Matrix& m, const uint8_t* x) { return Blocks::row(w, m, x); }
};

void product_q8_0(float* y, size_t y_stride, const Matrix& w, const uint8_t* in, size_t in_stride,
                  size_t columns, size_t row_begin, size_t row_end) {
    lanes_product<Q8Lanes<Q8_0Blocks, 2>>(y, y_stride, w, in, in_stride, columns, row_begin, row_end);
}

// --- K-quants (Q2_K ... Q6_K) against Q8_K (k_lanes.hpp) ------------------------------------------

// The unpacked values are at most 63, so they fit int8 for dot16.
struct KDot {
    static int32_t dot(const types::KBlock& b, const int8_t* q) {
        int32x4_t sum = vdupq_n_s32(0);
        #pragma GCC unroll 16
        for (size_t g = 0; g < types::k_groups; g++) {
            const int8x16_t u = vld1q_s8(values(b.u + 16 * g));
            sum = vmlaq_n_s32(sum, dot16(vdupq_n_s32(0), u, vld1q_s8(q + 16 * g)), b.scale[g]);
        }
        return vaddvq_s32(sum);
    }
};

// The K-quant values' bytes (KVectorValues in k_lanes.hpp).
struct KBytes {
    using V = uint8x16_t;
    template <size_t N>
    static void load(V (&v)[N], const uint8_t* p) {
        for (size_t i = 0; i < N; i++) v[i] = vld1q_u8(p + 16 * i);
    }
    static void store(uint8_t* u, V v) { vst1q_u8(u, v); }
    template <int N>
    static V splat() { return vdupq_n_u8(N); }
    template <int N>
    static V shl(V v) { return vshlq_n_u8(v, N); }
    template <int N>
    static V shr(V v) { return vshrq_n_u8(v, N); }
    static V bit_and(V a, V b) { return vandq_u8(a, b); }
    static V bit_or(V a, V b) { return vorrq_u8(a, b); }
};
template <class T>
using KValues = KVectorValues<KBytes, T>;

// Group sizes of whole 16-byte chunks; the common ones unrolled. Others take the reference.
void product_q8_g(float* y, size_t y_stride, const Matrix& w, const uint8_t* in, size_t in_stride,
                  size_t columns, size_t row_begin, size_t row_end) {
    const size_t g = w.block_values;
    if (g == 32)
        lanes_product<Q8Lanes<Q8GBlocks, 2>>(y, y_stride, w, in, in_stride, columns, row_begin, row_end);
    else if (g == 64)
        lanes_product<Q8Lanes<Q8GBlocks, 4>>(y, y_stride, w, in, in_stride, columns, row_begin, row_end);
    else if (g % 16 == 0)
        lanes_product<Q8Lanes<Q8GBlocks, 0>>(y, y_stride, w, in, in_stride, columns, row_begin, row_end);
    else
        types::q8_g_product(y, y_stride, w, in, in_stride, columns, row_begin, row_end);
}

// --- ggml's legacy blocks (Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL) -------------------------------------
// (Their Q8_1 inputs come from the scalar set's quantizer: a vectorised one tripped GCC 12's
// loop warnings for a small gain.)

// A block's 32 integers q as two int8 vectors: values 0-15 and 16-31.
struct Int8Pair {
    int8x16_t low, high;
};

// 16 packed bytes: the low nibbles are values 0-15, the high ones values 16-31.
Int8Pair nibbles32(const uint8_t* p) {
    const uint8x16_t packed = vld1q_u8(p);
    return {vreinterpretq_s8_u8(vandq_u8(packed, vdupq_n_u8(0x0F))), vreinterpretq_s8_u8(vshrq_n_u8(packed, 4))};
}

// Q5's fifth bits (bit i: value i) as bytes, 0x10 where the bit is set: byte i tests bit i % 8
// of the word's byte i / 8.
Int8Pair fifth_bits32(const uint8_t* p) {
    const uint8x16_t word = vreinterpretq_u8_u32(vdupq_n_u32(types::fifth_bits(p)));
    static const uint8_t low_bytes[16] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};
    static const uint8_t bits[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
    const uint8x16_t select = vld1q_u8(low_bytes), bit = vld1q_u8(bits);
    auto spread = [&](uint8x16_t bytes) {
        return vreinterpretq_s8_u8(vandq_u8(vtstq_u8(vqtbl1q_u8(word, bytes), bit), vdupq_n_u8(0x10)));
    };
    return {spread(select), spread(vaddq_u8(select, vdupq_n_u8(2)))};
}

Int8Pair fifth_bit_values(const uint8_t* block, size_t values_offset, size_t bits_offset) {
    const Int8Pair n = nibbles32(block + values_offset), h = fifth_bits32(block + bits_offset);
    return {vorrq_s8(n.low, h.low), vorrq_s8(n.high, h.high)};
}

Int8Pair minus(Int8Pair v, int8_t k) { return {vsubq_s8(v.low, vdupq_n_s8(k)), vsubq_s8(v.high, vdupq_n_s8(k))}; }

struct Q4_0Values {
    using Type = types::Q4_0;
    static Int8Pair decode(const uint8_t* b) { return minus(nibbles32(b + Type::values_offset), 8); }
};
struct Q4_1Values {
    using Type = types::Q4_1;
    static Int8Pair decode(const uint8_t* b) { return nibbles32(b + Type::values_offset); }
};
struct Q5_0Values {
    using Type = types::Q5_0;
    static Int8Pair decode(const uint8_t* b) {
        return minus(fifth_bit_values(b, Type::values_offset, Type::bits_offset), 16);
    }
};
struct Q5_1Values {
    using Type = types::Q5_1;
    static Int8Pair decode(const uint8_t* b) {
        return fifth_bit_values(b, Type::values_offset, Type::bits_offset);
    }
};
struct IQ4_NLValues {
    using Type = types::IQ4_NL;
    static Int8Pair decode(const uint8_t* b) {
        const int8x16_t levels = vld1q_s8(types::iq4_nl_levels);
        const Int8Pair n = nibbles32(b + Type::values_offset);
        return {vqtbl1q_s8(levels, vreinterpretq_u8_s8(n.low)), vqtbl1q_s8(levels, vreinterpretq_u8_s8(n.high))};
    }
};

// 4 adjacent rows of a legacy block type, for up to 4 input columns: each row's block decoded
// once to int8, then per column the exact integer sums (dot16: the values fit int8, the inputs
// are in [-127, 127]) and llama.cpp's float step for the 4 rows at once.
template <class V>
struct LegacyLanes {
    using Type = typename V::Type;
    using Blocks = types::Blocks32<Type>;
    static constexpr size_t lanes = 4, columns = 4;
    static constexpr bool striped = false;
    template <size_t N>
    static void rows(float* y, size_t y_lane_stride, size_t y_column_stride, const uint8_t* w,
                     size_t w_lane_stride, const Matrix& m, const uint8_t* x,
                     size_t x_column_stride) {
        const size_t blocks = m.cols / types::blocks32_values;
        float32x4_t acc[N];
        #pragma GCC unroll 4
        for (size_t c = 0; c < N; c++) acc[c] = vdupq_n_f32(0.0f);
        for (size_t b = 0; b < blocks; b++, w += Type::bytes, x += Blocks::input_bytes) {
            Int8Pair decoded[lanes];
            float scales[lanes], mins[lanes];
            #pragma GCC unroll 4
            for (size_t l = 0; l < lanes; l++) {
                const uint8_t* block = w + l * w_lane_stride;
                decoded[l] = V::decode(block);
                scales[l] = types::half_at(block);
                mins[l] = Type::has_min ? types::half_at(block + 2) : 0.0f;
            }
            const float32x4_t wd = vld1q_f32(scales), wm = vld1q_f32(mins);
            #pragma GCC unroll 4
            for (size_t c = 0; c < N; c++) {
                const uint8_t* xc = x + c * x_column_stride;
                const int8x16_t x0 = vld1q_s8(values(xc + Blocks::input_values_offset));
                const int8x16_t x1 = vld1q_s8(values(xc + Blocks::input_values_offset + 16));
                int32x4_t isum[lanes];
                #pragma GCC unroll 4
                for (size_t l = 0; l < lanes; l++)
                    isum[l] = dot16(dot16(vdupq_n_s32(0), decoded[l].low, x0), decoded[l].high, x1);
                const float32x4_t sums =
                    vcvtq_f32_s32(vpaddq_s32(vpaddq_s32(isum[0], isum[1]), vpaddq_s32(isum[2], isum[3])));
                const float xd = types::half_at(xc);
                if constexpr (Type::has_min) {
                    // acc + ((w_d * x_d) * isum + w_m * x_s)
                    acc[c] = vaddq_f32(acc[c], vaddq_f32(vmulq_f32(vmulq_n_f32(wd, xd), sums),
                                                         vmulq_n_f32(wm, types::half_at(xc + 2))));
                } else {
                    acc[c] = Q8_0Blocks::accumulate(acc[c], sums, wd, xd);
                }
            }
        }
        #pragma GCC unroll 4
        for (size_t c = 0; c < N; c++) {
            float out[lanes];
            vst1q_f32(out, acc[c]);
            for (size_t l = 0; l < lanes; l++) y[c * y_column_stride + l * y_lane_stride] = out[l];
        }
    }
    // The reference's arithmetic, which the lanes reproduce bit for bit.
    static float row(const uint8_t* w, const Matrix& m, const uint8_t* x) {
        return Blocks::row_dot(w, x, m.cols);
    }
};

// --- AQLM -------------------------------------------------------------------------------------

// V vectors (4 V entries) of one codebook's dot products for one group: a vector of codebook
// values holds 4 entries' int16 pairs; vmlal multiplies them lane by lane with the group's pair,
// and a pairwise add at the end sums each pair. Folds their magnitudes into m.
template <int V>
void dot_vectors(int32_t* out, int32x4_t& m, const int16_t* columns, size_t entries,
                 const int16_t* x16, size_t pairs) {
    int32x4_t lo[V], hi[V];
    #pragma GCC unroll 8
    for (int v = 0; v < V; v++) lo[v] = hi[v] = vdupq_n_s32(0);
    for (size_t p = 0; p < pairs; p++, columns += 2 * entries) {
        const int16x8_t xp = vreinterpretq_s16_s32(vdupq_n_s32(input_pair(x16, p)));
        #pragma GCC unroll 8
        for (int v = 0; v < V; v++) {
            const int16x8_t c = vld1q_s16(columns + 8 * v);
            lo[v] = vmlal_s16(lo[v], vget_low_s16(c), vget_low_s16(xp));
            hi[v] = vmlal_high_s16(hi[v], c, xp);
        }
    }
    #pragma GCC unroll 8
    for (int v = 0; v < V; v++) {
        const int32x4_t d = vpaddq_s32(lo[v], hi[v]);
        vst1q_s32(out + 4 * v, d);
        m = vmaxq_s32(m, vabsq_s32(d));
    }
}

struct AqlmBuild {
    static int32_t dot_entries(int32_t* d, const int16_t* columns, size_t entries,
                               const int16_t* x16, size_t pairs, size_t groups) {
        if (entries % 4 != 0)
            return AqlmReferenceBuild::dot_entries(d, columns, entries, x16, pairs, groups);
        int32x4_t m = vdupq_n_s32(0);
        for (size_t i = 0; i < groups; i++, d += entries, x16 += 2 * pairs) {
            size_t k = 0;
            for (; k + 32 <= entries; k += 32)
                dot_vectors<8>(d + k, m, columns + 2 * k, entries, x16, pairs);
            for (; k < entries; k += 4) dot_vectors<1>(d + k, m, columns + 2 * k, entries, x16, pairs);
        }
        return vmaxvq_s32(m);
    }
    static void quantize(int8_t* q, const int32_t* d, size_t n, float inv) {
        if (n % 16 != 0) return AqlmReferenceBuild::quantize(q, d, n, inv);
        const float32x4_t s = vdupq_n_f32(inv);
        auto ints = [&](size_t k) {  // to nearest, ties to even
            return vcvtnq_s32_f32(vmulq_f32(vcvtq_f32_s32(vld1q_s32(d + k)), s));
        };
        for (size_t k = 0; k < n; k += 16) {
            const int16x8_t a = vcombine_s16(vqmovn_s32(ints(k)), vqmovn_s32(ints(k + 4)));
            const int16x8_t b = vcombine_s16(vqmovn_s32(ints(k + 8)), vqmovn_s32(ints(k + 12)));
            vst1q_s8(q + k, vcombine_s8(vqmovn_s16(a), vqmovn_s16(b)));
        }
    }
};

// A 256-entry table is 16 registers: tbl looks 16 codes up in the first 64 entries (0 for codes
// past them), tbx in each further 64 with the codes shifted down (leaving lanes out of range
// alone). The sums for a table block run in 16-bit lanes (at most 8 * 127).
struct AqlmBlock {
    static constexpr size_t vectors = AqlmPacked::row_block / 4;
    struct Sums {
        float32x4_t v[vectors];
    };
    static Sums no_sums() {
        Sums s;
        for (float32x4_t& v : s.v) v = vdupq_n_f32(0.0f);
        return s;
    }
    static void add_table_block(Sums& s, const int8_t* tables, size_t table_stride,
                                const uint8_t* codes, size_t code_stride, size_t steps,
                                float scale) {
        int16x8_t n[8];
        for (int16x8_t& v : n) v = vdupq_n_s16(0);
        for (size_t t = 0; t < steps; t++, tables += table_stride, codes += code_stride) {
            const int8x16x4_t t0 = vld1q_s8_x4(tables), t1 = vld1q_s8_x4(tables + 64);
            const int8x16x4_t t2 = vld1q_s8_x4(tables + 128), t3 = vld1q_s8_x4(tables + 192);
            #pragma GCC unroll 4
            for (int r = 0; r < 4; r++) {
                const uint8x16_t c = vld1q_u8(codes + 16 * r);
                int8x16_t v = vqtbl4q_s8(t0, c);
                v = vqtbx4q_s8(v, t1, vsubq_u8(c, vdupq_n_u8(64)));
                v = vqtbx4q_s8(v, t2, vsubq_u8(c, vdupq_n_u8(128)));
                v = vqtbx4q_s8(v, t3, vsubq_u8(c, vdupq_n_u8(192)));
                n[2 * r] = vaddw_s8(n[2 * r], vget_low_s8(v));
                n[2 * r + 1] = vaddw_high_s8(n[2 * r + 1], v);
            }
        }
        const float32x4_t f = vdupq_n_f32(scale);
        #pragma GCC unroll 8
        for (int k = 0; k < 8; k++) {
            const float32x4_t lo = vcvtq_f32_s32(vmovl_s16(vget_low_s16(n[k])));
            const float32x4_t hi = vcvtq_f32_s32(vmovl_high_s16(n[k]));
            s.v[2 * k] = vaddq_f32(s.v[2 * k], vmulq_f32(lo, f));
            s.v[2 * k + 1] = vaddq_f32(s.v[2 * k + 1], vmulq_f32(hi, f));
        }
    }
    static void store(float* out, const Sums& s) {
        for (size_t k = 0; k < vectors; k++) vst1q_f32(out + 4 * k, s.v[k]);
    }
};

// A group's 8 weights are two vectors (the codebooks' entries summed), fused into two
// accumulators with x.
struct AqlmDecode {
    struct Weights {
        float32x4_t lo, hi;
    };
    using Acc = Weights;
    static Acc zero() { return {vdupq_n_f32(0.0f), vdupq_n_f32(0.0f)}; }
    template <size_t M = 0, class Code>
    static Weights group(const AqlmPacked& a, const Code* codes, size_t stride) {
        const size_t entries = a.shape.entries();
        auto entry = [&](size_t i) -> Weights {
            if constexpr (aqlm_fp16_codebooks<Code>) {
                const float16x8_t h = vreinterpretq_f16_u16(vld1q_u16(a.codebooks_f16 + i * 8));
                return {vcvt_f32_f16(vget_low_f16(h)), vcvt_high_f32_f16(h)};
            } else {
                return {vld1q_f32(a.codebooks + i * 8), vld1q_f32(a.codebooks + i * 8 + 4)};
            }
        };
        Weights w = entry(codes[0]);
        for (size_t m = 1; m < (M ? M : a.shape.codebooks); m++) {
            const Weights e = entry(m * entries + codes[m * stride]);
            w.lo = vaddq_f32(w.lo, e.lo);
            w.hi = vaddq_f32(w.hi, e.hi);
        }
        return w;
    }
    static Acc fma(Acc acc, const Weights& w, const float* x, size_t) {
        return {vfmaq_f32(acc.lo, w.lo, vld1q_f32(x)), vfmaq_f32(acc.hi, w.hi, vld1q_f32(x + 4))};
    }
    static float sum(const Acc& acc) { return vaddvq_f32(vaddq_f32(acc.lo, acc.hi)); }
    static void store(float* out, const Weights& w, float scale) {
        vst1q_f32(out, vmulq_n_f32(w.lo, scale));
        vst1q_f32(out + 4, vmulq_n_f32(w.hi, scale));
    }
};

}  // namespace
}  // namespace neon_impl

bool add_neon_kernels(KernelSet& set) {
    using namespace neon_impl;
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
    set.product[size_t(WeightType::Q4_0)] = lanes_product<LegacyLanes<Q4_0Values>>;
    set.product[size_t(WeightType::Q4_1)] = lanes_product<LegacyLanes<Q4_1Values>>;
    set.product[size_t(WeightType::Q5_0)] = lanes_product<LegacyLanes<Q5_0Values>>;
    set.product[size_t(WeightType::Q5_1)] = lanes_product<LegacyLanes<Q5_1Values>>;
    set.product[size_t(WeightType::IQ4_NL)] = lanes_product<LegacyLanes<IQ4_NLValues>>;
    add_k_unpacked_products<KDot, KValues, 4>(set);
    set.prepare[size_t(InputFormat::Q8_G)] = quantize_q8_g_blocks<Q8Values>;
    set.prepare[size_t(InputFormat::Q8_0)] = quantize_q8_0_blocks<Q8Values>;
    set.prepare[size_t(InputFormat::Q8_1)] = quantize_q8_1_blocks<Q8Values>;
    set.prepare[size_t(InputFormat::Q8_K)] = quantize_q8_k_blocks<Q8Values>;
    set.prepare[size_t(InputFormat::AqlmTable)] = aqlm_prepare<AqlmBuild>;
    set.axpy_f32 = axpy_rows<axpy>;
    set.axpy_f16 = axpy_half_rows<axpy_f16>;
    return true;
}

}  // namespace llamaport::kernels

#else  // not compiled for AArch64

bool llamaport::kernels::add_neon_kernels(KernelSet&) { return false; }

#endif
