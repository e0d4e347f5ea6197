// AltiVec kernels for the PowerPC G4 (7400/7450 family; also G5): 128-bit vectors, big-endian,
// no VSX. Vector loads and stores (lvx/stvx) ignore the low four address bits, so every stream of
// a misaligned pointer is either peeled to alignment with scalar code or loaded as aligned blocks
// shifted into place.
//
// Against the scalar reference: fp32 products add in another order (several accumulators, fused
// vec_madd), so they match it to rounding, not bit for bit. axpy, the int8-block products (exact
// integer sums per block, then the type's float steps in the type's order, 4 rows at a time), the
// AQLM tables and their products are bit-identical, except that AltiVec arithmetic flushes
// denormal results to zero (the non-Java mode Linux runs it in); the AQLM decode kernel adds in
// another order. The inputs are quantized by the reference code: the FPU divides anyway.
#include "kernel_sets.hpp"

#if defined(__ALTIVEC__)
#include <altivec.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "aqlm_table.hpp"
#include "k_lanes.hpp"
#include "row_driver.hpp"
#include "types/aqlm.hpp"
#include "types/iq4_nl.hpp"
#include "types/q4_0.hpp"
#include "types/q4_1.hpp"
#include "types/q5_0.hpp"
#include "types/q5_1.hpp"
#include "types/q8_0.hpp"
#include "types/q8_g.hpp"

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

// R rows (lane r's `stride` floats after w), written to y[r * y_lane_stride]. A scalar head
// brings w to a 16-byte boundary (the R rows share its alignment: rows are grouped only when a
// row is a whole number of vectors), x follows as a stream. A row's arithmetic depends on U,
// never on R.
template <int R, int U>
void rows_f32(float* y, size_t y_lane_stride, const float* w, size_t stride, const float* x,
              size_t cols) {
    const size_t head = std::min(cols, floats_to_boundary(w));
    const size_t vectors = (cols - head) / 4, tail = head + 4 * vectors;
    vf32 acc[R][U];
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++)
        #pragma GCC unroll 8
        for (int u = 0; u < U; u++) acc[r][u] = vec_splats(0.0f);
    if (vectors > 0) madd_rows<R, U>(acc, w + head, stride, x + head, vectors);
    #pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
        const float* row = w + r * stride;
        float sum = 0.0f;
        for (size_t j = 0; j < head; j++) sum += row[j] * x[j];
        vf32 total = acc[r][0];
        #pragma GCC unroll 8
        for (int u = 1; u < U; u++) total = vec_add(total, acc[r][u]);
        sum += hsum(total);
        for (size_t j = tail; j < cols; j++) sum += row[j] * x[j];
        y[r * y_lane_stride] = sum;
    }
}

const float* floats(const uint8_t* p) { return reinterpret_cast<const float*>(p); }

// Rows that are whole vectors share one alignment: 8 at a time, one chain each (U = 1), and the
// tail in the same arithmetic.
// Several input columns one after another, the rows then coming from the caches.
struct F32Lanes {
    static constexpr size_t lanes = 8, columns = 4;
    static constexpr bool striped = false;
    template <size_t N>
    static void rows(float* y, size_t y_lane_stride, size_t y_column_stride, const uint8_t* w,
                     size_t w_lane_stride, const Matrix& m, const uint8_t* x,
                     size_t x_column_stride) {
        for (size_t c = 0; c < N; c++)
            rows_f32<8, 1>(y + c * y_column_stride, y_lane_stride, floats(w),
                           w_lane_stride / sizeof(float), floats(x + c * x_column_stride), m.cols);
    }
    static float row(const uint8_t* w, const Matrix& m, const uint8_t* x) {
        float y;
        rows_f32<1, 1>(&y, 0, floats(w), 0, floats(x), m.cols);
        return y;
    }
};

// Other rows one at a time, four chains each.
struct F32Row {
    static constexpr size_t lanes = 1, columns = 1;
    static constexpr bool striped = false;
    template <size_t N>
    static void rows(float* y, size_t, size_t, const uint8_t* w, size_t, const Matrix& m,
                     const uint8_t* x, size_t) {
        *y = row(w, m, x);
    }
    static float row(const uint8_t* w, const Matrix& m, const uint8_t* x) {
        float y;
        rows_f32<1, 4>(&y, 0, floats(w), 0, floats(x), m.cols);
        return y;
    }
};

void product_f32(float* y, size_t y_stride, const Matrix& w, const uint8_t* in, size_t in_stride,
                 size_t columns, size_t row_begin, size_t row_end) {
    if (w.row_stride % 16 == 0)
        lanes_product<F32Lanes>(y, y_stride, w, in, in_stride, columns, row_begin, row_end);
    else
        lanes_product<F32Row>(y, y_stride, w, in, in_stride, columns, row_begin, row_end);
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

// --- int8 blocks (Q8_G, Q8_0) -----------------------------------------------------------------

// fp16 to fp32 for a scale: normal halves by moving the fields (a few integer operations, no
// branch taken), the rest through the exact conversion.
float half_to_float(uint16_t h) {
    const uint32_t exponent = h & 0x7C00u;
    if (exponent == 0 || exponent == 0x7C00u) return fp16_to_fp32(h);
    const uint32_t bits = (uint32_t(h & 0x8000u) << 16) | ((uint32_t(h & 0x7FFFu) + 0x1C000u) << 13);
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

// A type of int8 blocks: where a block's values and scale are, and its float steps per block (on
// AltiVec a product rounded once is vec_madd with -0 added).
struct Q8GBlocks {
    static constexpr size_t values_offset = types::q8_g_scale_bytes;
    static size_t block_values(const Matrix& m) { return m.block_values; }
    static float scale(const uint8_t* block) { return load_f32(block); }
    // runq.c's order: acc + ((float)isum * w_scale) * x_scale.
    static vf32 accumulate(vf32 acc, vf32 isum, vf32 ws, vf32 xs) {
        const vf32 zero = negative_zero();
        return vec_add(acc, vec_madd(vec_madd(isum, ws, zero), xs, zero));
    }
    static float row(const uint8_t* w, const Matrix& m, const uint8_t* x) {
        return types::q8_g_row_dot(w, x, m.cols, m.block_values);
    }
};

struct Q8_0Blocks {
    static constexpr size_t values_offset = 2;
    static size_t block_values(const Matrix&) { return types::q8_0_values; }
    static float scale(const uint8_t* block) { return half_to_float(load_u16(block)); }
    // ggml's order: acc + float(isum) * (w_scale * x_scale).
    static vf32 accumulate(vf32 acc, vf32 isum, vf32 ws, vf32 xs) {
        const vf32 zero = negative_zero();
        return vec_add(acc, vec_madd(isum, vec_madd(ws, xs, zero), zero));
    }
    static float row(const uint8_t* w, const Matrix& m, const uint8_t* x) {
        return types::q8_0_row_dot(w, x, m.cols);
    }
};

// [sum(a), sum(b), sum(c), sum(d)], exactly.
vs32 sum4(vs32 a, vs32 b, vs32 c, vs32 d) {
    const vs32 ac = vec_add(vec_mergeh(a, c), vec_mergel(a, c));  // a0+a2 c0+c2 a1+a3 c1+c3
    const vs32 bd = vec_add(vec_mergeh(b, d), vec_mergel(b, d));
    return vec_add(vec_mergeh(ac, bd), vec_mergel(ac, bd));
}

// 4 adjacent rows of a type of int8 blocks whose block is K 16-byte vectors (K = 0: any multiple
// of 16, known at run time), at any alignment, for up to 2 input columns. vec_msum multiplies
// signed by unsigned bytes (4 products summed into each int32 lane), so the weights are biased to
// unsigned, w + 128 = w ^ 0x80, and the bias removed per block: sum x*(w + 128) - 128 * sum x.
// The correction depends on x only: one vec_msum per x vector for all 4 rows, which then start
// from it. Exact for any int8 x and w.
template <class Blocks, int K>
struct Q8Lanes {
    static constexpr size_t lanes = 4, columns = 2;
    static constexpr bool striped = false;
    template <size_t N>
    static void rows(float* y, size_t y_lane_stride, size_t y_column_stride, const uint8_t* w,
                     size_t w_lane_stride, const Matrix& m, const uint8_t* x,
                     size_t x_column_stride) {
        const size_t n = Blocks::block_values(m), vectors = K ? K : n / 16;
        const size_t block_bytes = Blocks::values_offset + n, blocks = m.cols / n;
        const vu8 bias = vec_sl(vec_splat_u8(1), vec_splat_u8(7));  // 0x80 in every byte
        const vs32 zero = vec_splat_s32(0);
        vf32 acc[N];
        for (size_t c = 0; c < N; c++) acc[c] = vec_splats(0.0f);
        alignas(16) float lane_scales[lanes];
        for (size_t b = 0; b < blocks; b++, w += block_bytes, x += block_bytes) {
            for (size_t l = 0; l < lanes; l++) lane_scales[l] = Blocks::scale(w + l * w_lane_stride);
            const vf32 ws = *reinterpret_cast<const vf32*>(lane_scales);
            for (size_t c = 0; c < N; c++) {
                const uint8_t* xb = x + c * x_column_stride;
                Streams<vs8, 1, false> xs(xb + Blocks::values_offset, 0);
                Streams<vs8, 1, false> xc = xs;
                vs32 correction = zero;
                #pragma GCC unroll 4
                for (size_t k = 0; k < vectors; k++, xc.advance())
                    correction = vec_msum(xc.at(0), bias, correction);
                vs32 isum[lanes];
                #pragma GCC unroll 4
                for (size_t l = 0; l < lanes; l++) {
                    Streams<vs8, 1, false> wl(w + l * w_lane_stride + Blocks::values_offset, 0);
                    Streams<vs8, 1, false> xv = xs;
                    isum[l] = vec_sub(zero, correction);
                    #pragma GCC unroll 4
                    for (size_t k = 0; k < vectors; k++, xv.advance(), wl.advance())
                        isum[l] = vec_msum(xv.at(0), vec_xor(reinterpret_cast<vu8>(wl.at(0)), bias),
                                           isum[l]);
                }
                acc[c] = Blocks::accumulate(acc[c], vec_ctf(sum4(isum[0], isum[1], isum[2], isum[3]), 0),
                                            ws, vec_splats(Blocks::scale(xb)));
            }
        }
        for (size_t c = 0; c < N; c++) {
            alignas(16) float out[lanes];
            *reinterpret_cast<vf32*>(out) = acc[c];
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

// Per group of 16, the byte products in int16 (vec_mule + vec_mulo of values <= 63 as signed
// bytes: at most 2 * 63 * 127 per lane), times the group's scale summed into int32 (vec_msum).
// The Q8_K values sit 4 bytes into their block: loaded shifted into place.
struct KDot {
    static int32_t dot(const types::KBlock& b, const int8_t* q) {
        Streams<vs8, 1, false> xs(q, 0);
        vs32 sum = vec_splat_s32(0);
        for (size_t g = 0; g < types::k_groups; g++, xs.advance()) {
            const vs8 u = *reinterpret_cast<const vs8*>(b.u + 16 * g), xv = xs.at(0);
            const vs16 products = vec_add(vec_mule(u, xv), vec_mulo(u, xv));
            sum = vec_msum(products, vec_splats(int16_t(b.scale[g])), sum);
        }
        alignas(16) int32_t lanes[4];
        *reinterpret_cast<vs32*>(lanes) = sum;
        return lanes[0] + lanes[1] + lanes[2] + lanes[3];
    }
};

// The K-quant values' bytes (KVectorValues in k_lanes.hpp). A block's address is any: its bytes
// are loaded as one stream.
struct KBytes {
    using V = vu8;
    template <size_t N>
    static void load(V (&v)[N], const uint8_t* p) {
        Streams<V, 1, false> s(p, 0);
        for (size_t i = 0; i < N; i++, s.advance()) v[i] = s.at(0);
    }
    static void store(uint8_t* u, V v) { *reinterpret_cast<V*>(u) = v; }
    // vec_splat_u8 takes -16..15: 16 is 1 << 4.
    template <int N>
    static V splat() {
        if constexpr (N < 16)
            return vec_splat_u8(N);
        else
            return vec_sl(vec_splat_u8(N / 16), vec_splat_u8(4));
    }
    template <int N>
    static V shl(V v) { return vec_sl(v, vec_splat_u8(N)); }
    template <int N>
    static V shr(V v) { return vec_sr(v, vec_splat_u8(N)); }
    static V bit_and(V a, V b) { return vec_and(a, b); }
    static V bit_or(V a, V b) { return vec_or(a, b); }
};
template <class T>
using KValues = KVectorValues<KBytes, T>;

// Group sizes of whole vectors; the common ones unrolled. Others take the reference.
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

// 16 bytes at any address, read as two aligned blocks shifted into place (Streams).
vu8 load16(const uint8_t* p) { return Streams<vu8, 1, false>(p, 0).at(0); }

// A block's 32 values as unsigned bytes q + bias (values 0-15, then 16-31): the nibbles (with Q5's
// fifth bit) as stored, IQ4_NL's levels plus 128. vec_msum multiplies them by the signed inputs;
// bias * sum(x) is subtracted once per block and column.
struct Unsigned32 {
    vu8 low, high;
};

Unsigned32 nibbles32(const uint8_t* p) {
    const vu8 packed = load16(p), four = vec_splat_u8(4);
    return {vec_and(packed, vec_splat_u8(15)), vec_sr(packed, four)};
}

// Q5's fifth bits (bit i: value i) added as 0x10. Splatted, the host-order word puts bits 0-7 in
// byte 3 of each 4 (big-endian), bits 24-31 in byte 0: byte i tests bit i % 8 of byte 3 - i / 8.
Unsigned32 with_fifth_bits(Unsigned32 n, const uint8_t* p) {
    const vu8 word = reinterpret_cast<vu8>(vec_splats(types::fifth_bits(p)));
    const vu8 low_bytes = {3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2};
    const vu8 high_bytes = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0};
    const vu8 bit = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
    const vu8 sixteen = vec_sl(vec_splat_u8(1), vec_splat_u8(4));
    auto spread = [&](vu8 select) {
        const vu8 bytes = vec_perm(word, word, select);
        return vec_and(reinterpret_cast<vu8>(vec_cmpeq(vec_and(bytes, bit), bit)), sixteen);
    };
    return {vec_or(n.low, spread(low_bytes)), vec_or(n.high, spread(high_bytes))};
}

struct Q4_0Values {
    using Type = types::Q4_0;
    static constexpr unsigned bias = 8;
    static Unsigned32 decode(const uint8_t* b) { return nibbles32(b + Type::values_offset); }
};
struct Q4_1Values {
    using Type = types::Q4_1;
    static constexpr unsigned bias = 0;
    static Unsigned32 decode(const uint8_t* b) { return nibbles32(b + Type::values_offset); }
};
struct Q5_0Values {
    using Type = types::Q5_0;
    static constexpr unsigned bias = 16;
    static Unsigned32 decode(const uint8_t* b) {
        return with_fifth_bits(nibbles32(b + Type::values_offset), b + Type::bits_offset);
    }
};
struct Q5_1Values {
    using Type = types::Q5_1;
    static constexpr unsigned bias = 0;
    static Unsigned32 decode(const uint8_t* b) {
        return with_fifth_bits(nibbles32(b + Type::values_offset), b + Type::bits_offset);
    }
};
struct IQ4_NLValues {
    using Type = types::IQ4_NL;
    static constexpr unsigned bias = 128;
    static Unsigned32 decode(const uint8_t* b) {
        const vu8 levels = vec_xor(load16(reinterpret_cast<const uint8_t*>(types::iq4_nl_levels)),
                                   vec_sl(vec_splat_u8(1), vec_splat_u8(7)));  // + 128
        const Unsigned32 n = nibbles32(b + Type::values_offset);
        return {vec_perm(levels, levels, n.low), vec_perm(levels, levels, n.high)};
    }
};

// 4 adjacent rows of a legacy block type at any alignment, for up to 2 input columns: each row's
// block decoded once, then per column the exact integer sums (vec_msum, as Q8Lanes) and llama.cpp's
// float step for the 4 rows at once.
template <class V>
struct LegacyLanes {
    using Type = typename V::Type;
    using Blocks = types::Blocks32<Type>;
    static constexpr size_t lanes = 4, columns = 2;
    static constexpr bool striped = false;
    template <size_t N>
    static void rows(float* y, size_t y_lane_stride, size_t y_column_stride, const uint8_t* w,
                     size_t w_lane_stride, const Matrix& m, const uint8_t* x,
                     size_t x_column_stride) {
        const size_t blocks = m.cols / types::blocks32_values;
        const vs32 zero = vec_splat_s32(0);
        const vu8 bias = vec_splats(static_cast<unsigned char>(V::bias));
        const vf32 negative = negative_zero();
        vf32 acc[N];
        for (size_t c = 0; c < N; c++) acc[c] = vec_splats(0.0f);
        alignas(16) float scales[lanes], mins[lanes];
        for (size_t b = 0; b < blocks; b++, w += Type::bytes, x += Blocks::input_bytes) {
            Unsigned32 values[lanes];
            for (size_t l = 0; l < lanes; l++) {
                const uint8_t* block = w + l * w_lane_stride;
                values[l] = V::decode(block);
                scales[l] = half_to_float(load_u16(block));
                if (Type::has_min) mins[l] = half_to_float(load_u16(block + 2));
            }
            const vf32 wd = *reinterpret_cast<const vf32*>(scales);
            for (size_t c = 0; c < N; c++) {
                const uint8_t* xc = x + c * x_column_stride;
                Streams<vs8, 1, false> xs(xc + Blocks::input_values_offset, 0);
                const vs8 x0 = xs.at(0);
                xs.advance();
                const vs8 x1 = xs.at(0);
                vs32 start = zero;
                if (V::bias) start = vec_sub(zero, vec_msum(x1, bias, vec_msum(x0, bias, zero)));
                vs32 isum[lanes];
                #pragma GCC unroll 4
                for (size_t l = 0; l < lanes; l++)
                    isum[l] = vec_msum(x1, values[l].high, vec_msum(x0, values[l].low, start));
                const vf32 sums = vec_ctf(sum4(isum[0], isum[1], isum[2], isum[3]), 0);
                const vf32 xd = vec_splats(half_to_float(load_u16(xc)));
                if constexpr (Type::has_min) {
                    // acc + ((w_d * x_d) * isum + w_m * x_s), each product rounded once
                    const vf32 wm = *reinterpret_cast<const vf32*>(mins);
                    const vf32 xsum = vec_splats(half_to_float(load_u16(xc + 2)));
                    acc[c] = vec_add(acc[c], vec_add(vec_madd(vec_madd(wd, xd, negative), sums, negative),
                                                     vec_madd(wm, xsum, negative)));
                } else {
                    acc[c] = Q8_0Blocks::accumulate(acc[c], sums, wd, xd);
                }
            }
        }
        for (size_t c = 0; c < N; c++) {
            alignas(16) float out[lanes];
            *reinterpret_cast<vf32*>(out) = acc[c];
            for (size_t l = 0; l < lanes; l++) y[c * y_column_stride + l * y_lane_stride] = out[l];
        }
    }
    // The reference's arithmetic, which the lanes reproduce bit for bit.
    static float row(const uint8_t* w, const Matrix& m, const uint8_t* x) {
        return Blocks::row_dot(w, x, m.cols);
    }
};

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
    static void store(float* out, const Sums& s) {
        vf32* o = reinterpret_cast<vf32*>(out);
        for (size_t k = 0; k < vectors; k++) o[k] = s.v[k];
    }
};

// A group's 8 weights are two aligned vectors (the codebooks' entries summed: the table layout's
// fp32 entries lie 32 bytes apart in 64-byte aligned memory, the decode layout's halves are
// converted one by one), fused into two accumulators with x, read at any alignment.
struct AqlmDecode {
    struct Weights {
        vf32 lo, hi;
    };
    using Acc = Weights;
    static Acc zero() { return {vec_splats(0.0f), vec_splats(0.0f)}; }
    template <size_t M = 0, class Code>
    static Weights group(const AqlmPacked& a, const Code* codes, size_t stride) {
        const size_t entries = a.shape.entries();
        auto entry = [&](size_t i) -> Weights {
            if constexpr (aqlm_fp16_codebooks<Code>) {  // AltiVec has no fp16 conversion
                alignas(16) float v[8];
                for (size_t j = 0; j < 8; j++) v[j] = half_to_float(a.codebooks_f16[i * 8 + j]);
                return {vec_ld(0, v), vec_ld(16, v)};
            } else {
                const vf32* e = reinterpret_cast<const vf32*>(a.codebooks) + i * 2;
                return {e[0], e[1]};
            }
        };
        Weights w = entry(codes[0]);
        for (size_t m = 1; m < (M ? M : a.shape.codebooks); m++) {
            const Weights e = entry(m * entries + codes[m * stride]);
            w.lo = vec_add(w.lo, e.lo);
            w.hi = vec_add(w.hi, e.hi);
        }
        return w;
    }
    static Acc fma(Acc acc, const Weights& w, const float* x, size_t) {
        Streams<vf32, 1, false> xs(x, 0);
        acc.lo = vec_madd(w.lo, xs.at(0), acc.lo);
        xs.advance();
        acc.hi = vec_madd(w.hi, xs.at(0), acc.hi);
        return acc;
    }
    static float sum(const Acc& acc) { return hsum(vec_add(acc.lo, acc.hi)); }
    // vec_madd with -0 added is the plain multiply AltiVec lacks.
    static void store(float* out, const Weights& w, float scale) {
        const vf32 s = vec_splats(scale), zero = negative_zero();
        vf32* o = reinterpret_cast<vf32*>(out);
        o[0] = vec_madd(s, w.lo, zero);
        o[1] = vec_madd(s, w.hi, zero);
    }
};

}  // namespace
}  // namespace altivec_impl

bool add_altivec_kernels(KernelSet& set) {
    using namespace altivec_impl;
    set.product[size_t(WeightType::F32)] = product_f32;
    set.product[size_t(WeightType::Q8_G)] = product_q8_g;
    set.product[size_t(WeightType::Q8_0)] = product_q8_0;
    set.product[size_t(WeightType::AQLM)] = aqlm_product<AqlmBlock>;
    add_aqlm_half_sums<AqlmBlock>(set);
    set.product[size_t(WeightType::AQLM_WIDE)] = aqlm_decode_product<AqlmDecode>;
    set.batch_product[size_t(WeightType::AQLM)] = aqlm_batch_product<AqlmDecode, product_f32>;
    set.batch_product[size_t(WeightType::AQLM_WIDE)] = aqlm_batch_product<AqlmDecode, product_f32>;
    set.product[size_t(WeightType::Q4_0)] = lanes_product<LegacyLanes<Q4_0Values>>;
    set.product[size_t(WeightType::Q4_1)] = lanes_product<LegacyLanes<Q4_1Values>>;
    set.product[size_t(WeightType::Q5_0)] = lanes_product<LegacyLanes<Q5_0Values>>;
    set.product[size_t(WeightType::Q5_1)] = lanes_product<LegacyLanes<Q5_1Values>>;
    set.product[size_t(WeightType::IQ4_NL)] = lanes_product<LegacyLanes<IQ4_NLValues>>;
    add_k_unpacked_products<KDot, KValues, 2>(set);
    set.prepare[size_t(InputFormat::AqlmTable)] = aqlm_prepare<AqlmBuild>;
    set.axpy_f32 = axpy_rows<axpy>;
    return true;
}

}  // namespace llamaport::kernels

#else  // not compiled for AltiVec

bool llamaport::kernels::add_altivec_kernels(KernelSet&) { return false; }

#endif
