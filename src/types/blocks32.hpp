// Internal: what ggml's legacy block types share (Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL; one header each
// in this folder). A block holds 32 values as small integers q with an fp16 scale d: the values
// are d * q, or d * q + m for the types with an fp16 minimum m. Products pair a weight block with
// the input's block of the same 32 values, as llama.cpp's x86 CPU backend does: Q8_0 input blocks
// ({d, q}) for the types without a minimum, Q8_1 ({d, s = d * sum(q), q}) for those with one. Per
// block: the exact integer sum of q_w * q_x, then llama.cpp's float step for the block (its
// ggml_vec_dot_*), block after block, in every kernel set alike.
//
// A type T describes its block:
//   static constexpr size_t bytes, values_offset     block size; where the packed values start
//   static constexpr bool has_min                    an fp16 minimum follows the scale
//   static void decode(const uint8_t* block, int8_t* q)   the 32 integers, in value order
#pragma once

#include "loader/fp16.hpp"
#include "types/q8_0.hpp"

namespace llamaport::types {

constexpr size_t blocks32_values = 32;

// InputFormat::Q8_1, llama.cpp's block_q8_1: fp16 d, fp16 s (d * the sum of q), 32 int8 q.
constexpr size_t q8_1_bytes = 4 + blocks32_values;

inline float half_at(const uint8_t* p) { return fp16_to_fp32(load_u16(p)); }

// Q5_0 and Q5_1 keep each value's fifth bit in a 32-bit word (bit i: value i), a 4-byte field
// the loader has put in host order.
inline uint32_t fifth_bits(const uint8_t* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

// The low nibbles of 16 bytes are values 0-15, the high nibbles values 16-31.
inline void split_nibbles(const uint8_t* packed, uint8_t* out) {
    for (size_t j = 0; j < 16; j++) {
        out[j] = packed[j] & 0x0F;
        out[j + 16] = packed[j] >> 4;
    }
}

// llama.cpp's float step for one block with a minimum (ggml_vec_dot_q4_1_q8_1 and q5_1's):
// acc + ((w_d * x_d) * isum + w_m * x_s). Without one, Q8_0's (q8_0_accumulate).
inline float accumulate_with_min(float acc, int32_t isum, float wd, float xd, float wm, float xs) {
    return acc + ((wd * xd) * float(isum) + wm * xs);
}

template <class T>
struct Blocks32 {
    // The input block a product pairs with T's: Q8_1 for types with a minimum, else Q8_0.
    static constexpr size_t input_bytes = T::has_min ? q8_1_bytes : q8_0_bytes;
    static constexpr size_t input_values_offset = T::has_min ? 4 : 2;

    static size_t row_bytes(size_t cols, size_t) {
        return blocked_row_bytes(cols, blocks32_values, T::bytes);
    }

    // ggml's dequantize_row_*: float(q) * d (+ m), each step rounded.
    static void dequantize_row(const Matrix& m, size_t r, float* out) {
        const uint8_t* block = m.row(r);
        int8_t q[blocks32_values];
        for (size_t j = 0; j < m.cols; j += blocks32_values, block += T::bytes) {
            T::decode(block, q);
            const float d = half_at(block);
            for (size_t i = 0; i < blocks32_values; i++) {
                out[j + i] = float(q[i]) * d;
                if constexpr (T::has_min) out[j + i] += half_at(block + 2);
            }
        }
    }

    // One block's float step, given its integer sum.
    static float accumulate(float acc, int32_t isum, const uint8_t* w, const uint8_t* x) {
        if constexpr (T::has_min)
            return accumulate_with_min(acc, isum, half_at(w), half_at(x), half_at(w + 2), half_at(x + 2));
        else
            return q8_0_accumulate(acc, isum, half_at(w), half_at(x));
    }

    static float row_dot(const uint8_t* w, const uint8_t* x, size_t cols) {
        float acc = 0.0f;
        int8_t q[blocks32_values];
        for (size_t j = 0; j < cols; j += blocks32_values, w += T::bytes, x += input_bytes) {
            T::decode(w, q);
            const int8_t* xq = reinterpret_cast<const int8_t*>(x + input_values_offset);
            int32_t isum = 0;
            for (size_t i = 0; i < blocks32_values; i++) isum += int32_t(q[i]) * int32_t(xq[i]);
            acc = accumulate(acc, isum, w, x);
        }
        return acc;
    }

    static void product(float* y, size_t y_stride, const Matrix& w, const uint8_t* in,
                        size_t in_stride, size_t columns, size_t row_begin, size_t row_end) {
        for (size_t c = 0; c < columns; c++)
            for (size_t r = row_begin; r < row_end; r++)
                y[c * y_stride + r] = row_dot(w.row(r), in + c * in_stride, w.cols);
    }

    // T's row of the weight-type table.
    static constexpr WeightTypeInfo info(WeightType type, const char* name, uint32_t gguf_id,
                                         BlockField f0, BlockField f1 = {}, BlockField f2 = {}) {
        return {type, name, gguf_id, blocks32_values, T::bytes, {f0, f1, f2},
                T::has_min ? InputFormat::Q8_1 : InputFormat::Q8_0, 16, row_bytes,
                dequantize_row, product, nullptr};
    }
};

}  // namespace llamaport::types
