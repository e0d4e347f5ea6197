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
#include "types/aqlm.hpp"
#include "x86_intrinsics.hpp"

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

}  // namespace
}  // namespace avx512_impl

// Only the AQLM table entries; the rest comes from avx2 (kernel_sets.def).
bool add_avx512_kernels(KernelSet& set) {
    using namespace avx512_impl;
    set.prepare[size_t(InputFormat::AqlmTable)] = aqlm_prepare<AqlmBuild>;
    set.product[size_t(WeightType::AQLM)] = aqlm_product<AqlmBlock>;
    return true;
}

}  // namespace llamaport::kernels

#else  // not compiled for AVX-512 VBMI

bool llamaport::kernels::add_avx512_kernels(KernelSet&) { return false; }

#endif
