// AVX-512 kernels (x86-64 with AVX-512 F, BW, VL, VBMI and VNNI: Intel since Ice Lake, AMD since
// Zen 4).
// Compiled with those flags in this file only and selected at run time. They change one thing:
// the AQLM table kernels, where VBMI's two-register byte permute (vpermi2b) looks up 64 rows'
// int8 table entries in one instruction, against one AVX2 gather per 8 rows, and the table's
// int16 dot products run 16 entries wide. Every other entry falls back to the AVX2 set.
//
// Against the scalar reference: the AQLM tables and products are bit-identical (integer sums).
#include "kernel_sets.hpp"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512VBMI__) && \
    defined(__AVX512VNNI__) && defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <algorithm>

#include "aqlm_table.hpp"
#include "kernel_sets.hpp"
#include "row_driver.hpp"
#include "types/aqlm.hpp"
#include "types/q2_k.hpp"
#include "types/q3_k.hpp"
#include "types/q4_k.hpp"
#include "types/q5_k.hpp"
#include "types/q6_k.hpp"
#include "x86_intrinsics.hpp"
#include "x86_k_quants.hpp"

namespace llamaport::kernels {
// A named namespace for the one-file build, as in the other sets.
namespace avx512_impl {
namespace {

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
        T::unpack(block, b);
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

struct Q4KDecode {
    static void decode(const uint8_t* block, KDecoded& out) {
        // Chunks 2k and 2k + 1 are the low and high nibbles of 32 bytes: vector k.
        #pragma GCC unroll 4
        for (int k = 0; k < 4; k++) out.u[k] = nibble_halves(block + types::Q4K::qs + 32 * k);
        // A group of 32 is two of 16 with the same scale.
        const __m128i scale_mins = x86::q4k_scale_mins(block + types::Q4K::scales);
        spread_scales(_mm256_cvtepu8_epi16(_mm_unpacklo_epi8(scale_mins, scale_mins)), out);
        out.mins = _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(scale_mins, scale_mins));
        out.d = x86::half_at(block + types::Q4K::d);
        out.dmin = x86::half_at(block + types::Q4K::dmin);
    }
};

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
            out.u[2 * half] = _mm512_or_si512(_mm512_and_si512(ql, low4),
                                              _mm512_sllv_epi16(_mm512_and_si512(qh, mask01), left01));
            out.u[2 * half + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), low4),
                                                  _mm512_srlv_epi16(_mm512_and_si512(qh, mask23), right23));
        }
        spread_scales(_mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(block + types::Q6K::scales))), out);
        out.mins = _mm256_setzero_si256();
        out.d = x86::half_at(block + types::Q6K::d);
        out.dmin = 0.0f;
    }
};

// AVX2's K-quant lanes (4 striped runs of rows, up to 4 columns, each block decoded once) with
// the integer work 64 values wide and VNNI's vpdpwssd adding the scaled pairs: half the
// instructions per block. The 16 int32 lane sums fold exactly into 8 lanes of 32 values each, as
// AVX2's, and go through the same float steps (x86::add_k_block): so the results keep AVX2's
// bound against the scalar set (tests/test_kquants.cpp), and a (row, column) gets the same steps
// in lanes or alone, in a group of columns or alone.
template <class T, class Decode>
struct KLanes {
    static constexpr size_t lanes = 4, columns = 4;
    static constexpr bool striped = true;
    template <size_t N, size_t L = lanes>
    static void rows(float* y, size_t y_lane_stride, size_t y_column_stride, const uint8_t* w,
                     size_t w_lane_stride, const Matrix& m, const uint8_t* x,
                     size_t x_column_stride) {
        __m256 acc[L][N];
        __m128 acc_min[L][N];
        for (size_t l = 0; l < L; l++)
            for (size_t c = 0; c < N; c++) {
                acc[l][c] = _mm256_setzero_ps();
                acc_min[l][c] = _mm_setzero_ps();
            }
        const __m512i offset = _mm512_set1_epi8(int8_t(T::offset));
        const size_t blocks = m.cols / types::k_values;
        for (size_t i = 0; i < blocks; i++, w += T::bytes, x += types::q8_k_bytes) {
            #pragma GCC unroll 4
            for (size_t l = 0; l < L; l++) {
                KDecoded b;
                Decode::decode(w + l * w_lane_stride, b);
                #pragma GCC unroll 4
                for (size_t c = 0; c < N; c++) {
                    const uint8_t* xb = x + c * x_column_stride;
                    const uint8_t* q = xb + types::q8_k_values_offset;
                    __m512i sum = _mm512_setzero_si512();
                    #pragma GCC unroll 4
                    for (int k = 0; k < 4; k++) {
                        const __m512i xk = load64(q + 64 * k);
                        __m512i p = _mm512_maddubs_epi16(b.u[k], xk);
                        // Pairs of (u - offset) * x, exact in int16 (at most 2 * 32 * 127).
                        if (T::offset) p = _mm512_sub_epi16(p, _mm512_maddubs_epi16(offset, xk));
                        sum = _mm512_dpwssd_epi32(sum, p, b.scale[k]);
                    }
                    const __m256i sum8 = _mm256_add_epi32(_mm512_castsi512_si256(sum),
                                                          _mm512_extracti64x4_epi64(sum, 1));
                    const __m256i bsums = _mm256_loadu_si256(
                        reinterpret_cast<const __m256i*>(xb + types::q8_k_bsums_offset));
                    x86::add_k_block<T>(acc[l][c], acc_min[l][c], sum8, _mm256_madd_epi16(b.mins, bsums),
                                        types::q8_k_scale(xb), b.d, b.dmin);
                }
            }
        }
        for (size_t l = 0; l < L; l++)
            for (size_t c = 0; c < N; c++)
                y[c * y_column_stride + l * y_lane_stride] = x86::k_result<T>(acc[l][c], acc_min[l][c]);
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

}  // namespace
}  // namespace avx512_impl

// The entries this set has; the rest comes from avx2 (kernel_sets.def).
bool add_avx512_kernels(KernelSet& set) {
    using namespace avx512_impl;
    set.prepare[size_t(InputFormat::AqlmTable)] = aqlm_prepare<AqlmBuild>;
    set.product[size_t(WeightType::AQLM)] = aqlm_product<AqlmBlock>;
    set.product[size_t(WeightType::Q6_K)] = product_k<types::Q6K, Q6KDecode>;
    set.product[size_t(WeightType::Q4_K)] = product_k<types::Q4K, Q4KDecode>;
    set.product[size_t(WeightType::Q5_K)] = product_k<types::Q5K>;
    set.product[size_t(WeightType::Q3_K)] = product_k<types::Q3K>;
    set.product[size_t(WeightType::Q2_K)] = product_k<types::Q2K>;
    return true;
}

}  // namespace llamaport::kernels

#else  // not compiled for AVX-512 VBMI

bool llamaport::kernels::add_avx512_kernels(KernelSet&) { return false; }

#endif
