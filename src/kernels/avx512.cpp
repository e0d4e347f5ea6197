// AVX-512 kernels (x86-64 with AVX-512 F, BW and VBMI: Intel since Ice Lake, AMD since Zen 4).
// Compiled with those flags in this file only and selected at run time. They change one thing:
// the AQLM table product, where VBMI's two-register byte permute (vpermi2b) looks up 64 rows'
// int8 table entries in one instruction, against one AVX2 gather per 8 rows; the table build
// uses 16-wide fused multiply-adds. Every other entry is the AVX2 set's.
//
// Differences from the scalar reference: as the AVX2 set's, and the AQLM tables' dot products
// are fused (rounding differs); for a given table the product is bit-identical.
#include <algorithm>

#include "aqlm_table.hpp"
#include "kernel_sets.hpp"
#include "llamaport/aqlm.hpp"
#include "x86_intrinsics.hpp"

namespace llamaport::kernels {
// A named namespace for the one-file build, as in the other sets.
namespace avx512_impl {
namespace {

// Running maxima of |d|, four side by side so that the max instructions do not wait in one chain.
using Maxima = __m512[4];

// V vectors (16 V entries) of one codebook's dot products for one group, j in order; folds their
// magnitudes into m (max(|d|, m) keeps m where d is NaN, as std::fmax does).
template <int V>
void dot_entry_vectors(float* d, Maxima& m, const float* columns, size_t entries, const float* x,
                       size_t g) {
    __m512 acc[V];
    #pragma GCC unroll 16
    for (int v = 0; v < V; v++) acc[v] = _mm512_setzero_ps();
    for (size_t j = 0; j < g; j++, columns += entries) {
        const __m512 xj = _mm512_set1_ps(x[j]);
        #pragma GCC unroll 16
        for (int v = 0; v < V; v++)
            acc[v] = _mm512_fmadd_ps(xj, _mm512_loadu_ps(columns + 16 * v), acc[v]);
    }
    #pragma GCC unroll 16
    for (int v = 0; v < V; v++) {
        _mm512_store_ps(d + 16 * v, acc[v]);
        m[v % 4] = _mm512_max_ps(_mm512_abs_ps(acc[v]), m[v % 4]);
    }
}

struct AqlmBuild {
    static float dot_entries(float* d, const float* columns, size_t entries, const float* x,
                             size_t g, size_t groups) {
        if (entries % 16 != 0)
            return aqlm_reference::dot_entries(d, columns, entries, x, g, groups);
        // 16 vectors: 16 chains of FMAs, enough to hide their latency on two units.
        Maxima m = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                    _mm512_setzero_ps()};
        for (size_t i = 0; i < groups; i++, d += entries, x += g) {
            size_t k = 0;
            for (; k + 256 <= entries; k += 256)
                dot_entry_vectors<16>(d + k, m, columns + k, entries, x, g);
            for (; k < entries; k += 16) dot_entry_vectors<1>(d + k, m, columns + k, entries, x, g);
        }
        return _mm512_reduce_max_ps(_mm512_max_ps(_mm512_max_ps(m[0], m[1]), _mm512_max_ps(m[2], m[3])));
    }
    static void quantize(int8_t* q, const float* d, size_t n, float inv) {
        if (n % 16 != 0) return aqlm_reference::quantize(q, d, n, inv);
        const __m512 s = _mm512_set1_ps(inv), hi = _mm512_set1_ps(127.0f);
        const __m512 lo = _mm512_set1_ps(-127.0f);
        for (size_t k = 0; k < n; k += 16) {
            __m512 v = _mm512_mul_ps(_mm512_load_ps(d + k), s);
            v = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, v, _CMP_ORD_Q), v);  // NaN to 0
            v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
            // The default rounding: to nearest, ties to even.
            _mm_storeu_si128(reinterpret_cast<__m128i*>(q + k),
                             _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(v)));
        }
    }
};

void aqlm_build_table(int8_t* lut, float* lut_scales, const AqlmPacked& a, const float* x,
                      size_t block_begin, size_t block_end) {
    aqlm_build_table_blocks<AqlmBuild>(lut, lut_scales, a, x, block_begin, block_end);
}

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

void aqlm_matvec_table(float* y, const AqlmPacked& a, const int8_t* lut, const float* lut_scales,
                       size_t row_begin, size_t row_end) {
    aqlm_table_product<AqlmBlock>(y, a, lut, lut_scales, row_begin, row_end);
}

}  // namespace
}  // namespace avx512_impl

// The AVX2 set's entries are read when the program starts, before main: that set is constant-
// initialised, so it is already filled in.
const KernelSet avx512 = {"avx512",         avx2.matvec_f32,
                          avx2.quantize_q8, avx2.matvec_q8,
                          avx2.dot_f32,     avx2.axpy_f32,
                          avx512_impl::aqlm_build_table, avx512_impl::aqlm_matvec_table,
                          avx2.aqlm_matvec_decode};

}  // namespace llamaport::kernels
