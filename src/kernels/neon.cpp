// AArch64 Advanced SIMD (NEON) kernels: plain ARMv8.0-A, no dot-product extension, so they run on
// every 64-bit ARM (Cortex-A53 and later, Apple silicon, Graviton).
//
// Differences from the scalar reference: matvec_f32 and matvec_q8 add in a different
// order (several accumulators, fused multiply-add), so they match it to rounding, not bit for bit.
// quantize_q8 and axpy_f32 give bit-identical results, and so do the AQLM tables and their
// products (integer sums); the AQLM decode kernel adds in a different order.
#include <arm_neon.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "aqlm_table.hpp"
#include "kernel_sets.hpp"
#include "llamaport/aqlm.hpp"

namespace llamaport::kernels {
// Every kernel set uses the same function names, and the one-file build (tools/amalgamate.py)
// puts them all in one translation unit: hence a named namespace. The anonymous one inside keeps
// internal linkage, which lets GCC inline the helpers as freely as in a file of their own.
namespace neon_impl {
namespace {

// --- fp32 ---------------------------------------------------------------------------------------

// R rows sharing each load of x. Two accumulators per row so that 2R independent FMA chains hide
// the FMA latency even when the matrix sits in cache.
template <int R>
void rows_f32(float* y, const float* w, const float* x, size_t cols) {
    float32x4_t acc0[R], acc1[R];
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++) acc0[r] = acc1[r] = vdupq_n_f32(0.0f);
    size_t j = 0;
    for (; j + 8 <= cols; j += 8) {
        const float32x4_t x0 = vld1q_f32(x + j), x1 = vld1q_f32(x + j + 4);
        #pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            acc0[r] = vfmaq_f32(acc0[r], vld1q_f32(w + r * cols + j), x0);
            acc1[r] = vfmaq_f32(acc1[r], vld1q_f32(w + r * cols + j + 4), x1);
        }
    }
    if (j + 4 <= cols) {
        const float32x4_t x0 = vld1q_f32(x + j);
        #pragma GCC unroll 8
        for (int r = 0; r < R; r++) acc0[r] = vfmaq_f32(acc0[r], vld1q_f32(w + r * cols + j), x0);
        j += 4;
    }
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
        float sum = vaddvq_f32(vaddq_f32(acc0[r], acc1[r]));
        for (size_t k = j; k < cols; k++) sum += w[r * cols + k] * x[k];
        y[r] = sum;
    }
}

void matvec_f32(float* y, const float* w, const float* x, size_t cols, size_t row_begin,
                size_t row_end) {
    size_t r = row_begin;
    for (; r + 4 <= row_end; r += 4) rows_f32<4>(y + r, w + r * cols, x, cols);
    for (; r < row_end; r++) rows_f32<1>(y + r, w + r * cols, x, cols);
}

// Multiply, then add, both rounded: the same result as the scalar set, bit for bit.
void axpy(float* y, float a, const float* x, size_t n) {
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(y + i, vaddq_f32(vld1q_f32(y + i), vmulq_n_f32(vld1q_f32(x + i), a)));
    for (; i < n; i++) y[i] += a * x[i];
}

// --- Q8_0 ---------------------------------------------------------------------------------------

// Divides by the scale (as the scalar set does, not multiplying by a reciprocal) and rounds halves
// away from zero (FCVTAS, std::round's rule), so q is identical.
void quantize_q8(int8_t* q, float* scales, const float* x, size_t n, size_t group_size) {
    for (size_t start = 0, g = 0; start < n; start += group_size, g++) {
        const size_t len = n - start < group_size ? n - start : group_size;
        const float* xg = x + start;
        // FMAXNM ignores a NaN operand, as std::fmax does.
        float32x4_t m = vdupq_n_f32(0.0f);
        size_t i = 0;
        for (; i + 4 <= len; i += 4) m = vmaxnmq_f32(m, vabsq_f32(vld1q_f32(xg + i)));
        float max_abs = vmaxnmvq_f32(m);
        for (; i < len; i++) max_abs = std::fmax(max_abs, std::fabs(xg[i]));
        const float scale = max_abs / 127.0f;
        scales[g] = scale;
        if (scale == 0.0f) {
            std::memset(q + start, 0, len);
            continue;
        }
        const float32x4_t s = vdupq_n_f32(scale);
        // clamp_q8_quotient: FMAX/FMIN keep a NaN, which FCVTAS turns into 0.
        const float32x4_t lowest = vdupq_n_f32(-127.0f), highest = vdupq_n_f32(127.0f);
        auto quotients = [&](const float* p) {
            return vcvtaq_s32_f32(vminq_f32(vmaxq_f32(vdivq_f32(vld1q_f32(p), s), lowest), highest));
        };
        for (i = 0; i + 8 <= len; i += 8) {
            const int32x4_t lo = quotients(xg + i), hi = quotients(xg + i + 4);
            vst1_s8(q + start + i, vqmovn_s16(vcombine_s16(vqmovn_s32(lo), vqmovn_s32(hi))));
        }
        for (; i < len; i++)
            q[start + i] = static_cast<int8_t>(std::round(clamp_q8_quotient(xg[i] / scale)));
    }
}

// acc + sum w[k]*x[k] over 16 bytes, as 4 int32 partial sums. Two products share an int16 lane
// before the pairwise add: that needs x in [-127, 127] (quantize_q8's range), which bounds a lane
// by 2 * 128 * 127 = 32512. w may be -128.
int32x4_t dot16(int32x4_t acc, int8x16_t w, int8x16_t x) {
    const int16x8_t prod = vmlal_high_s8(vmull_s8(vget_low_s8(w), vget_low_s8(x)), w, x);
    return vpadalq_s16(acc, prod);
}

int32_t dot_i8(const int8_t* w, const int8_t* x, size_t n) {
    int32x4_t acc = vdupq_n_s32(0);
    size_t j = 0;
    for (; j + 16 <= n; j += 16) acc = dot16(acc, vld1q_s8(w + j), vld1q_s8(x + j));
    int32_t sum = vaddvq_s32(acc);
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

// group_size a multiple of 16: R rows share each load of x; whole groups here, the last short
// group (if any) by row_q8_generic. C is the number of 16-byte chunks per group when known at
// compile time (the common group sizes), so that a group's loop unrolls; 0 for any other.
template <int R, int C>
void rows_q8(float* y, const int8_t* w, const float* ws, const int8_t* x, const float* xs,
             size_t cols, size_t group_size) {
    const size_t groups = groups_per_row(cols, group_size), full = cols / group_size;
    const size_t chunks = C ? C : group_size / 16;
    float32x4_t acc[R];
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++) acc[r] = vdupq_n_f32(0.0f);
    for (size_t g = 0, j = 0; g < full; g++) {
        int32x4_t isum[R];
        #pragma GCC unroll 8
        for (int r = 0; r < R; r++) isum[r] = vdupq_n_s32(0);
        #pragma GCC unroll 4
        for (size_t c = 0; c < chunks; c++, j += 16) {
            const int8x16_t xv = vld1q_s8(x + j);
            #pragma GCC unroll 8
            for (int r = 0; r < R; r++) isum[r] = dot16(isum[r], vld1q_s8(w + r * cols + j), xv);
        }
        #pragma GCC unroll 8
        for (int r = 0; r < R; r++)
            acc[r] =
                vfmaq_n_f32(acc[r], vmulq_n_f32(vcvtq_f32_s32(isum[r]), ws[r * groups + g]), xs[g]);
    }
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++)
        y[r] = vaddvq_f32(acc[r]) +
               row_q8_generic(w + r * cols, ws + r * groups, x, xs, cols, group_size, full);
}

template <int C>
void matvec_q8_chunks(float* y, const int8_t* wq, const float* ws, const int8_t* xq,
                      const float* xs, size_t cols, size_t group_size, size_t row_begin,
                      size_t row_end) {
    const size_t groups = groups_per_row(cols, group_size);
    size_t r = row_begin;
    for (; r + 4 <= row_end; r += 4)
        rows_q8<4, C>(y + r, wq + r * cols, ws + r * groups, xq, xs, cols, group_size);
    for (; r < row_end; r++)
        rows_q8<1, 0>(y + r, wq + r * cols, ws + r * groups, xq, xs, cols, group_size);
}

void matvec_q8(float* y, const int8_t* wq, const float* ws, const int8_t* xq, const float* xs,
               size_t cols, size_t group_size, size_t row_begin, size_t row_end) {
    if (group_size == 32) {
        matvec_q8_chunks<2>(y, wq, ws, xq, xs, cols, group_size, row_begin, row_end);
    } else if (group_size == 64) {
        matvec_q8_chunks<4>(y, wq, ws, xq, xs, cols, group_size, row_begin, row_end);
    } else if (group_size % 16 == 0) {
        matvec_q8_chunks<0>(y, wq, ws, xq, xs, cols, group_size, row_begin, row_end);
    } else {
        const size_t groups = groups_per_row(cols, group_size);
        for (size_t r = row_begin; r < row_end; r++)
            y[r] = row_q8_generic(wq + r * cols, ws + r * groups, xq, xs, cols, group_size, 0);
    }
}

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

void aqlm_build_table(int8_t* lut, float* lut_scales, const AqlmPacked& a, const float* x,
                      size_t block_begin, size_t block_end) {
    aqlm_build_table_blocks<AqlmBuild>(lut, lut_scales, a, x, block_begin, block_end);
}

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
    static void finish(float* out, const Sums& s, const float* scales) {
        for (size_t k = 0; k < vectors; k++)
            vst1q_f32(out + 4 * k, vmulq_f32(vld1q_f32(scales + 4 * k), s.v[k]));
    }
};

void aqlm_matvec_table(float* y, const AqlmPacked& a, const int8_t* lut, const float* lut_scales,
                       size_t row_begin, size_t row_end) {
    aqlm_table_product<AqlmBlock>(y, a, lut, lut_scales, row_begin, row_end);
}

// Groups of 8: each group's weights are two vectors (the codebooks' entries summed), fused into
// two accumulators with x. Other group sizes take the scalar set's loops.
void aqlm_matvec_decode(float* y, const AqlmPacked& a, const float* x, size_t row_begin,
                        size_t row_end) {
    if (a.shape.group_size != 8) return scalar.aqlm_matvec_decode(y, a, x, row_begin, row_end);
    const size_t m_count = a.shape.codebooks, groups = a.shape.groups();
    const size_t entries = a.shape.entries();
    for (size_t r = row_begin; r < row_end; r++) {
        const uint16_t* codes = a.codes16 + r * groups * m_count;
        float32x4_t acc0 = vdupq_n_f32(0.0f), acc1 = vdupq_n_f32(0.0f);
        for (size_t i = 0; i < groups; i++, codes += m_count) {
            const float* entry = a.codebooks + size_t(codes[0]) * 8;
            float32x4_t w0 = vld1q_f32(entry), w1 = vld1q_f32(entry + 4);
            for (size_t m = 1; m < m_count; m++) {
                entry = a.codebooks + (m * entries + codes[m]) * 8;
                w0 = vaddq_f32(w0, vld1q_f32(entry));
                w1 = vaddq_f32(w1, vld1q_f32(entry + 4));
            }
            acc0 = vfmaq_f32(acc0, w0, vld1q_f32(x + i * 8));
            acc1 = vfmaq_f32(acc1, w1, vld1q_f32(x + i * 8 + 4));
        }
        y[r] = a.scales[r] * vaddvq_f32(vaddq_f32(acc0, acc1));
    }
}

}  // namespace
}  // namespace neon_impl

const KernelSet neon = {"neon", neon_impl::matvec_f32, neon_impl::quantize_q8,
                        neon_impl::matvec_q8, neon_impl::axpy,
                        neon_impl::aqlm_build_table, neon_impl::aqlm_matvec_table,
                        neon_impl::aqlm_matvec_decode};

}  // namespace llamaport::kernels
