// What ggml's K-quant weight types (Q2_K ... Q6_K, one header each) share: 256-value blocks, the
// Q8_K input their products read, and one unpacked form of a block that the reference dequantizer
// and product work on. Unpacked, every K-quant block is 256 unsigned values u, a value `offset`
// subtracted from each, an integer scale and min per 16 values and two fp16 factors d and dmin:
//   value = (d * scale) * (u - offset) - dmin * min          (no min term for Q3_K and Q6_K)
// which is ggml's dequantize_row_q*_K step for step, so it is bit-exact with it. Products follow
// ggml_vec_dot_q*_K_q8_K: per block the exact integer sums
//   isum = sum_g scale_g * (sum_{i in g} u_i * x_i - offset * bsum_g),  msum = sum_g min_g * bsum_g
// (bsum_g: the Q8_K input's sum of its 16 values in group g), then in fp32
//   acc += (x_d * d) * isum,  acc_min += (x_d * dmin) * msum,  result = acc - acc_min,
// block after block (llama.cpp keeps the mins apart the same way; its lanes add the block sums in
// another order, so it agrees to rounding). The NEON and AltiVec sets follow these steps bit for
// bit; the AVX2 set adds in llama.cpp's way (src/kernels/avx2.cpp), agreeing to rounding.
#pragma once

#include "loader/fp16.hpp"
#include "types/inputs.hpp"

namespace llamaport::types {

constexpr size_t k_values = 256, k_groups = k_values / 16;

inline size_t k_blocks(const Matrix& w) { return w.cols / k_values; }

// --- Q8_K, ggml's block_q8_K: {float d, int8 q[256], int16 bsums[16]}, in host order (it lives
// only in memory). As llama.cpp's x86 CPU backend makes it (quantize_row_q8_K there is the
// reference quantize_row_q8_K_ref): m = the first value of largest magnitude, q = x * (-127 / m)
// rounded to nearest, ties to even, d = 1 / (-127 / m); a block of zeros gets d = 0.

constexpr size_t q8_k_values_offset = 4, q8_k_bsums_offset = 4 + k_values,
                 q8_k_bytes = q8_k_bsums_offset + 2 * k_groups;

inline size_t q8_k_input_bytes(const Matrix& w) { return k_blocks(w) * q8_k_bytes; }

inline const int8_t* q8_k_values_of(const uint8_t* block) {
    return reinterpret_cast<const int8_t*>(block + q8_k_values_offset);
}
inline int16_t q8_k_bsum(const uint8_t* block, size_t g) {
    int16_t v;
    std::memcpy(&v, block + q8_k_bsums_offset + 2 * g, 2);
    return v;
}

// A Q8_K block's multiplier for its values, -127 / the first value of largest magnitude amax
// (llama.cpp's x86 rule: the sign goes with it), 0 for a block of zeros; its scale d = 1 / that.
inline float q8_k_iscale(const float* xb, float amax) {
    if (amax == 0.0f) return 0.0f;
    size_t j = 0;
    while (j + 1 < k_values && std::fabs(xb[j]) != amax) j++;
    return -127.0f / xb[j];
}

// The block's d and each 16 values' sum, given its values.
inline void q8_k_finish_block(uint8_t* block, float iscale) {
    const float d = iscale != 0.0f ? 1.0f / iscale : 0.0f;
    std::memcpy(block, &d, sizeof d);
    const int8_t* q = q8_k_values_of(block);
    for (size_t g = 0; g < k_groups; g++) {
        int16_t sum = 0;
        for (size_t j = 0; j < 16; j++) sum = int16_t(sum + q[16 * g + j]);
        std::memcpy(block + q8_k_bsums_offset + 2 * g, &sum, 2);
    }
}

inline void q8_k_quantize_blocks(uint8_t* out, const Matrix&, const float* x, size_t begin,
                                 size_t end) {
    for (size_t i = begin; i < end; i++) {
        uint8_t* block = out + i * q8_k_bytes;
        const float* xb = x + i * k_values;
        const float iscale = q8_k_iscale(xb, max_abs(xb, k_values));  // NaNs passed over, as in ggml
        int8_t* q = reinterpret_cast<int8_t*>(block + q8_k_values_offset);
        for (size_t j = 0; j < k_values; j++)
            q[j] = int8_t(nearest_even(clamp_q8_quotient(xb[j] * iscale)));
        q8_k_finish_block(block, iscale);
    }
}

// --- The unpacked block.

struct KBlock {
    uint8_t u[k_values];
    int32_t scale[k_groups], min[k_groups];
    float d, dmin;  // dmin 0 for the types without mins
};

// Q4_K's and Q5_K's 6-bit scale and min of each group of 32, packed in 12 bytes (ggml's
// get_scale_min_k4): groups j < 4 in the low 6 bits of bytes j and j + 4; groups j >= 4 take
// their low 4 bits from byte j + 4 (scale low nibble, min high nibble) and their top 2 bits from
// the top bits of bytes j - 4 (scale) and j (min). Each applies to both groups of 16 within.
inline void k_unpack_scale_mins(const uint8_t* s, KBlock& out) {
    for (size_t j = 0; j < 8; j++) {
        const int scale = j < 4 ? s[j] & 63 : (s[j + 4] & 0xF) | (s[j - 4] >> 6) << 4;
        const int min = j < 4 ? s[j + 4] & 63 : (s[j + 4] >> 4) | (s[j] >> 6) << 4;
        out.scale[2 * j] = out.scale[2 * j + 1] = scale;
        out.min[2 * j] = out.min[2 * j + 1] = min;
    }
}

// A K-quant type T provides: bytes (per block), offset, has_min, and
//   static void unpack_values(const uint8_t* block, uint8_t* u)    the 256 values
//   static void unpack_header(const uint8_t* block, KBlock& out)   the rest
// apart so that a kernel set can unpack the values in vectors and keep the reference's header
// (kernels/k_lanes.hpp).
template <class T>
void k_unpack(const uint8_t* block, KBlock& out) {
    T::unpack_values(block, out.u);
    T::unpack_header(block, out);
}

template <class T>
size_t k_row_bytes(size_t cols, size_t) {
    return blocked_row_bytes(cols, k_values, T::bytes);
}

template <class T>
void k_dequantize_row(const Matrix& m, size_t r, float* out) {
    const uint8_t* block = m.row(r);
    KBlock b;
    for (size_t j = 0; j < m.cols; j += k_values, block += T::bytes) {
        k_unpack<T>(block, b);
        for (size_t i = 0; i < k_values; i++) {
            const float dl = b.d * float(b.scale[i / 16]);
            const float v = dl * float(int(b.u[i]) - T::offset);
            out[j + i] = T::has_min ? v - b.dmin * float(b.min[i / 16]) : v;
        }
    }
}

// One block's float steps (see the top of this file): every set ends each block with this.
struct KAccumulator {
    float acc = 0.0f, acc_min = 0.0f;
    void add(float x_d, float d, float dmin, int32_t isum, int32_t msum) {
        acc += (x_d * d) * float(isum);
        acc_min += (x_d * dmin) * float(msum);
    }
    float result() const { return acc - acc_min; }
};

inline float q8_k_scale(const uint8_t* block) { return load_f32(block); }

// The integer sums of an unpacked block against one Q8_K block.
template <class T>
void k_block_sums(const KBlock& b, const uint8_t* x, int32_t& isum, int32_t& msum) {
    const int8_t* q = q8_k_values_of(x);
    isum = 0;
    msum = 0;
    for (size_t g = 0; g < k_groups; g++) {
        int32_t s = 0;
        for (size_t i = 16 * g; i < 16 * g + 16; i++) s += int32_t(b.u[i]) * q[i];
        const int32_t bsum = q8_k_bsum(x, g);
        isum += b.scale[g] * (s - T::offset * bsum);
        msum += b.min[g] * bsum;
    }
}

template <class T>
float k_row_dot(const uint8_t* w, const uint8_t* x, size_t cols) {
    KAccumulator acc;
    KBlock b;
    for (size_t j = 0; j < cols; j += k_values, w += T::bytes, x += q8_k_bytes) {
        k_unpack<T>(w, b);
        int32_t isum, msum;
        k_block_sums<T>(b, x, isum, msum);
        acc.add(q8_k_scale(x), b.d, b.dmin, isum, msum);
    }
    return acc.result();
}

template <class T>
void k_product(float* y, size_t y_stride, const Matrix& w, const uint8_t* in, size_t in_stride,
               size_t columns, size_t row_begin, size_t row_end) {
    for (size_t c = 0; c < columns; c++)
        for (size_t r = row_begin; r < row_end; r++)
            y[c * y_stride + r] = k_row_dot<T>(w.row(r), in + c * in_stride, w.cols);
}

// A table row of K-quant type T (fields: its fp16 factors).
template <class T>
constexpr WeightTypeInfo k_type(WeightType type, const char* name, uint32_t gguf_id,
                                BlockField d, BlockField dmin,
                                void (*quantize_row)(uint8_t*, const float*, size_t) = nullptr) {
    return {type,       name,         gguf_id,          k_values,          T::bytes,
            {d, dmin},  InputFormat::Q8_K, 8,           k_row_bytes<T>,    k_dequantize_row<T>,
            k_product<T>, nullptr,    quantize_row};
}

// The simple quantizers' rounding: v to the nearest integer in [lo, hi] (ties to even), NaN to 0.
inline int k_round(float v, float lo, float hi) {
    return int(nearest_even(v >= lo ? (v <= hi ? v : hi) : (v < lo ? lo : 0.0f)));
}

inline void k_put_half(uint8_t* p, float v) {
    const uint16_t h = fp32_to_fp16(v);
    std::memcpy(p, &h, 2);
}

}  // namespace llamaport::types
