// Internal: what the x86 sets share (avx2.cpp, avx512.cpp): the K-quant products' 6-bit scale
// unpacking, where their min terms are added and the float sums in the order both use, and the
// AQLM decode of a group. Internal linkage: each set's file compiles these with its own flags,
// and one built for AVX-512 must never be the copy an AVX2-only CPU runs. Empty without AVX2:
// the one-file build brings every header in on every architecture.
#pragma once

#include <cstring>

#include "llamaport/aqlm.hpp"
#include "llamaport/weights.hpp"
#include "loader/fp16.hpp"
#include "types/k_quants.hpp"
#include "types/q2_k.hpp"
#include "types/q5_k.hpp"
#include "x86_intrinsics.hpp"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
namespace llamaport::kernels::x86 {
namespace {

// The sum of 8 lanes, ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)).
inline float hsum1(__m256 v) {
    const __m256 h = _mm256_hadd_ps(v, v);
    const __m256 q = _mm256_hadd_ps(h, h);
    return _mm_cvtss_f32(_mm_add_ss(_mm256_extractf128_ps(q, 1), _mm256_castps256_ps128(q)));
}

// The sum of 4 lanes, (r0 + r2) + (r1 + r3).
inline float hsum4(__m128 r) {
    r = _mm_add_ps(r, _mm_movehl_ps(r, r));
    return _mm_cvtss_f32(_mm_add_ss(r, _mm_movehdup_ps(r)));
}

// fp16 to fp32 by F16C: the reference's conversion for every half but NaNs, which stay NaNs.
inline float half_at(const uint8_t* p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

// Lane l's field of type T at block + l * stride.
template <class T>
inline T lane_field(const uint8_t* block, size_t stride, size_t lane) {
    T v;
    std::memcpy(&v, block + lane * stride, sizeof v);
    return v;
}

// The 16-bit field at `block` of 8 lanes `stride` apart, by word loads: generation's legacy
// block scales, where a gather cost as much as the rest of the block step on Zen 4 (1B Q4_0
// generation 29.2 -> 32.0 tok/s on avx512, 25.7 -> 28.1 on avx2; Q8_0 on avx2 17.2 -> 19.0).
// Prompts keep the gather, which a block step shares among 16 or 64 columns.
inline __m128i lane_words(const uint8_t* block, size_t stride) {
    auto word = [&](size_t lane) { return lane_field<int16_t>(block, stride, lane); };
    return _mm_setr_epi16(word(0), word(1), word(2), word(3), word(4), word(5), word(6), word(7));
}

// The 32-bit field the same way: generation's Q5 fifth bits.
inline __m256i lane_dwords(const uint8_t* block, size_t stride) {
    auto dword = [&](size_t lane) { return lane_field<int32_t>(block, stride, lane); };
    return _mm256_setr_epi32(dword(0), dword(1), dword(2), dword(3), dword(4), dword(5), dword(6), dword(7));
}

// a rounded to half and widened back as fp16_to_fp32(fp32_to_fp16(a)) does: F16C rounds to
// nearest, ties to even, overflow to infinity included; only a NaN takes the reference's path.
inline float round_to_half(float a) {
    if (a != a) return fp16_to_fp32(fp32_to_fp16(a));
    return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtps_ph(_mm_set_ss(a), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)));
}

// Q4_K's scales and mins for two rows, each 128-bit lane a block's first 16 bytes (d, dmin and
// the 12 packed bytes), by shuffles instead of scalar code per row: each lane's bytes 0-7 the 8
// scales, 8-15 the 8 mins (types::Q4K's rule: the low 6 bits of packed bytes 0-7, or for scales
// and mins 4-7 the nibbles of bytes 8-11 with the top 2 bits of bytes 0-7 above them).
inline __m256i q4k_scales_mins(__m256i headers) {
    const __m256i low_parts = _mm256_broadcastsi128_si256(
        _mm_setr_epi8(4, 5, 6, 7, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15));
    const __m256i high_parts = _mm256_broadcastsi128_si256(
        _mm_setr_epi8(-1, -1, -1, -1, 4, 5, 6, 7, -1, -1, -1, -1, 8, 9, 10, 11));
    // Mins 4-7 take their bytes' high nibbles: shifted down by 4 (words 6 and 7).
    const __m256i shifts = _mm256_setr_epi32(0, 0, 0, 4, 0, 0, 0, 4);
    const __m256i masks = _mm256_broadcastsi128_si256(_mm_setr_epi8(
        0x3F, 0x3F, 0x3F, 0x3F, 0x0F, 0x0F, 0x0F, 0x0F, 0x3F, 0x3F, 0x3F, 0x3F, 0x0F, 0x0F, 0x0F, 0x0F));
    const __m256i low = _mm256_and_si256(
        _mm256_srlv_epi32(_mm256_shuffle_epi8(headers, low_parts), shifts), masks);
    // Bits 6-7 to bits 4-5 (a word's shift: what comes from the byte above is masked off).
    const __m256i high = _mm256_and_si256(
        _mm256_srli_epi16(_mm256_shuffle_epi8(headers, high_parts), 2), _mm256_set1_epi8(0x30));
    return _mm256_or_si256(low, high);
}

// Q3_K's 16 signed 6-bit scales: low nibbles from bytes 0-7 (groups 0-7 the low, 8-15 the high
// nibbles), top bit pairs from bytes 8-11 (groups 4q..4q + 3 the pair at bits 2q), minus 32.
inline __m128i q3k_scales(const uint8_t* s) {
    const __m128i low4 = _mm_set1_epi8(0xF), bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(s));
    const __m128i low = _mm_unpacklo_epi64(_mm_and_si128(bytes, low4), _mm_and_si128(_mm_srli_epi16(bytes, 4), low4));
    int32_t high_bytes;
    std::memcpy(&high_bytes, s + 8, 4);
    const __m128i pairs = _mm_srlv_epi32(_mm_set1_epi32(high_bytes), _mm_setr_epi32(0, 2, 4, 6));
    const __m128i high = _mm_slli_epi16(_mm_and_si128(pairs, _mm_set1_epi8(0x03)), 4);
    return _mm_sub_epi8(_mm_or_si128(low, high), _mm_set1_epi8(32));
}

// A Q8_K block's sum of each 32 values (its 16-value sums added in pairs) as 8 int16: what
// Q4_K's 8 mins multiply.
inline __m128i q8k_pair_bsums(const uint8_t* xb) {
    const __m256i sums = _mm256_madd_epi16(
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb + types::q8_k_bsums_offset)), _mm256_set1_epi16(1));
    return _mm_packs_epi32(_mm256_castsi256_si128(sums), _mm256_extracti128_si256(sums, 1));
}

// Where llama.cpp's AVX2 products add a type's min terms x_d * dmin * min * bsum (lanes of
// min * bsum per 32 values): Q4_K in a 4-lane accumulator of its own (a lane per 64 values),
// Q5_K in a scalar one (the block's whole int sum), Q2_K into the main accumulator before the
// block's scale terms.
enum class Mins { none, apart4, apart1, first };
template <class T>
constexpr Mins mins_of = T::has_min ? Mins::apart4 : Mins::none;
template <>
constexpr Mins mins_of<types::Q5K> = Mins::apart1;
template <>
constexpr Mins mins_of<types::Q2K> = Mins::first;

// A K-quant block's part of a row's product for one input column, given its exact int32 lane
// sums of scale * (u - offset) * x (8 lanes of 32 values each) and min * bsum (mins, 8 lanes),
// added as llama.cpp's AVX2 products add them: the sums times x_d * d by one FMA into acc, the
// min terms where mins_of says by one FMA.
template <class T>
inline void add_k_block(__m256& acc, __m128& acc_min, __m256i sums, __m256i mins, float x_scale,
                        float d, float dmin) {
    constexpr Mins mins_at = mins_of<T>;
    const __m256 x_d = _mm256_set1_ps(x_scale);
    const __m256 x_dmin = _mm256_mul_ps(x_d, _mm256_set1_ps(dmin));
    if constexpr (mins_at == Mins::first) acc = _mm256_fnmadd_ps(x_dmin, _mm256_cvtepi32_ps(mins), acc);
    acc = _mm256_fmadd_ps(_mm256_mul_ps(x_d, _mm256_set1_ps(d)), _mm256_cvtepi32_ps(sums), acc);
    if constexpr (mins_at == Mins::apart4 || mins_at == Mins::apart1) {
        __m128i mins4 = _mm_hadd_epi32(_mm256_castsi256_si128(mins), _mm256_extracti128_si256(mins, 1));
        if constexpr (mins_at == Mins::apart1) mins4 = _mm_hadd_epi32(_mm_hadd_epi32(mins4, mins4), mins4);
        acc_min = mins_at == Mins::apart1
                      ? _mm_fnmadd_ss(_mm256_castps256_ps128(x_dmin), _mm_cvtepi32_ps(mins4), acc_min)
                      : _mm_fnmadd_ps(_mm256_castps256_ps128(x_dmin), _mm_cvtepi32_ps(mins4), acc_min);
    }
}

// A row's product from add_k_block's accumulators: the 8 lanes in hsum1's order, then the mins.
template <class T>
inline float k_result(__m256 acc, __m128 acc_min) {
    constexpr Mins mins_at = mins_of<T>;
    const float sum = hsum1(acc);
    return mins_at == Mins::apart4   ? sum + hsum4(acc_min)
           : mins_at == Mins::apart1 ? sum + _mm_cvtss_f32(acc_min)
                                     : sum;
}

// K-quant products, the same in both x86 sets but for a block's integer work: 4 striped lanes
// (4 runs of consecutive rows, so 4 streams the hardware prefetcher follows: 1B Q4_K_M tg 1.4x
// one row at a time, which had one stream; no software hints, which measured slower on Zen 3;
// on Zen 4, 8 lanes were slower), for up to 4 input columns, each block decoded once. Per row and
// column, block by block as llama.cpp's AVX2 products add: an 8-lane fp32 accumulator takes the
// exact int32 lane sums of scale * (u - offset) * x (a lane's sum stays below 2^24, so converting
// it is exact) times x_d * d by one FMA, and the min terms go where mins_of says by one FMA; each
// accumulator is summed once at the end (the 8 lanes in hsum1's order). So results agree with the
// scalar set to rounding (bounded in tests/test_kquants.cpp), and a (row, column) gets the same
// steps whether its row is in lanes or alone and its column in a group or alone. A set supplies
//   Decode::decode(const uint8_t* block, Sum::Decoded& out)   a block in registers, with its
//                                                             mins (16 int16), d and dmin
//   Sum::of<T>(const Sum::Decoded& b, const uint8_t* q)       those lane sums against the Q8_K
//                                                             values q: 8 lanes of 32 values
template <class T, class Decode, class Sum>
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
        const size_t blocks = m.cols / types::k_values;
        for (size_t i = 0; i < blocks; i++, w += T::bytes, x += types::q8_k_bytes) {
            #pragma GCC unroll 4
            for (size_t l = 0; l < L; l++) {
                typename Sum::Decoded b;
                Decode::decode(w + l * w_lane_stride, b);
                #pragma GCC unroll 4
                for (size_t c = 0; c < N; c++) {
                    const uint8_t* xb = x + c * x_column_stride;
                    const __m256i bsums = _mm256_loadu_si256(
                        reinterpret_cast<const __m256i*>(xb + types::q8_k_bsums_offset));
                    add_k_block<T>(acc[l][c], acc_min[l][c],
                                   Sum::template of<T>(b, xb + types::q8_k_values_offset),
                                   _mm256_madd_epi16(b.mins, bsums), types::q8_k_scale(xb), b.d, b.dmin);
                }
            }
        }
        for (size_t l = 0; l < L; l++)
            for (size_t c = 0; c < N; c++)
                y[c * y_column_stride + l * y_lane_stride] = k_result<T>(acc[l][c], acc_min[l][c]);
    }
    static float row(const uint8_t* w, const Matrix& m, const uint8_t* x) {
        float y;
        rows<1, 1>(&y, 0, 0, w, 0, m, x, 0);
        return y;
    }
};

// An AQLM group's 8 weights as one vector (the codebooks' entries added in order), and stored
// scaled: the decode kernels' and the batch products' group decode (aqlm_table.hpp).
struct AqlmGroups {
    using Weights = __m256;
    template <size_t M = 0, class Code>
    static Weights group(const AqlmPacked& a, const Code* codes, size_t stride) {
        const size_t entries = a.shape.entries();
        auto entry = [&](size_t i) {
            if constexpr (aqlm_fp16_codebooks<Code>)
                return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a.codebooks_f16 + i * 8)));
            else
                return _mm256_loadu_ps(a.codebooks + i * 8);
        };
        __m256 w = entry(codes[0]);
        for (size_t m = 1; m < (M ? M : a.shape.codebooks); m++)
            w = _mm256_add_ps(w, entry(m * entries + codes[m * stride]));
        return w;
    }
    static void store(float* out, Weights w, float scale) {
        _mm256_store_ps(out, _mm256_mul_ps(_mm256_set1_ps(scale), w));
    }
};

}  // namespace
}  // namespace llamaport::kernels::x86

#endif
