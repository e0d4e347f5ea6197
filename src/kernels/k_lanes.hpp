// Internal: K-quant products (types/k_quants.hpp) for kernel sets that unpack each block to the
// reference's KBlock and supply the unpacking of its values and a vector dot of them with a Q8_K
// block's values:
//   Values<T>::unpack(const uint8_t* block, uint8_t* u)
//       T::unpack_values(block, u) for each K-quant type T (u is 16-byte aligned)
//   static int32_t Dot::dot(const types::KBlock& b, const int8_t* q)
//       sum over groups g of b.scale[g] * sum_{i in g} b.u[i] * q[i], exactly
// (b is 16-byte aligned; q is not). The rest of b is the reference's (T::unpack_header: 16
// groups' fields, small beside the 256 values), the offsets and mins come from the Q8_K sums, the
// float steps are KAccumulator's: bit-identical to the scalar set. One row at a time, a block
// unpacked once for all the columns.
#pragma once

#include "row_driver.hpp"
#include "types/q2_k.hpp"
#include "types/q3_k.hpp"
#include "types/q4_k.hpp"
#include "types/q5_k.hpp"
#include "types/q6_k.hpp"

namespace llamaport::kernels {

// Values<T> for a set with 16-byte vectors: a block's values 16 at a time. Each type's bit fields
// are the same in every byte, so a shift and mask per field (types/q*_k.hpp give the layouts).
// The packed bytes are loaded first, the block's fields being contiguous. A set supplies Bytes:
//   V                                                   16 bytes
//   template <size_t N> static void load(V (&v)[N], const uint8_t* p)
//                                                       the N vectors from p (any alignment)
//   static void store(uint8_t* u, V v)                  u 16-byte aligned
//   template <int N> static V splat()                   every byte N (0 <= N <= 16)
//   template <int N> static V shl(V v), shr(V v)        every byte shifted by N (1 <= N <= 4)
//   static V bit_and(V a, V b), bit_or(V a, V b)
// and takes them as template <class T> using Values = KVectorValues<Bytes, T>.
template <class Bytes, class T>
struct KVectorValues;

// 4 vectors of values 32 apart from q's bit pairs 0 to 3 (Q2_K's, Q3_K's low bits), each with
// bit 2 of `third`, then of third >> 1 and so on, as its bit 2 (Q3_K's; Q2_K has none).
template <class B>
void bit_pair_values(uint8_t* u, typename B::V q, typename B::V third) {
    #pragma GCC unroll 4
    for (size_t k = 0; k < 4; k++, q = B::template shr<2>(q), third = B::template shr<1>(third))
        B::store(u + 32 * k, B::bit_or(B::bit_and(q, B::template splat<3>()),
                                       B::bit_and(third, B::template splat<4>())));
}

// 2 vectors of values 32 apart from q's low and high nibbles, with bits 0 and 1 of `fifth` as
// their bit 4 (Q5_K's; Q4_K has none).
template <class B>
void nibble_values(uint8_t* u, typename B::V q, typename B::V fifth) {
    const typename B::V sixteen = B::template splat<16>();
    B::store(u, B::bit_or(B::bit_and(q, B::template splat<15>()),
                          B::bit_and(B::template shl<4>(fifth), sixteen)));
    B::store(u + 32, B::bit_or(B::template shr<4>(q), B::bit_and(B::template shl<3>(fifth), sixteen)));
}

// Vector i of qs holds values 128 (i / 2) + 16 (i % 2) + 32k.
template <class B>
struct KVectorValues<B, types::Q2K> {
    static void unpack(const uint8_t* block, uint8_t* u) {
        typename B::V qs[4];
        B::load(qs, block + types::Q2K::qs);
        #pragma GCC unroll 4
        for (size_t i = 0; i < 4; i++)
            bit_pair_values<B>(u + 128 * (i / 2) + 16 * (i % 2), qs[i], B::template splat<0>());
    }
};

// As Q2_K, with bit 4n + k of hmask: shifted so that bit 4n is at bit 2.
template <class B>
struct KVectorValues<B, types::Q3K> {
    static void unpack(const uint8_t* block, uint8_t* u) {
        typename B::V bits[6];  // hmask, then qs
        B::load(bits, block + types::Q3K::hmask);
        #pragma GCC unroll 4
        for (size_t i = 0; i < 4; i++) {
            const typename B::V hmask = bits[i % 2];
            const typename B::V third = i < 2 ? B::template shl<2>(hmask) : B::template shr<2>(hmask);
            bit_pair_values<B>(u + 128 * (i / 2) + 16 * (i % 2), bits[2 + i], third);
        }
    }
};

// Vector i of qs: values 64 (i / 2) + 16 (i % 2) in its low nibbles, 32 more in the high ones.
template <class B>
struct KVectorValues<B, types::Q4K> {
    static void unpack(const uint8_t* block, uint8_t* u) {
        typename B::V qs[8];
        B::load(qs, block + types::Q4K::qs);
        #pragma GCC unroll 8
        for (size_t i = 0; i < 8; i++)
            nibble_values<B>(u + 64 * (i / 2) + 16 * (i % 2), qs[i], B::template splat<0>());
    }
};

// As Q4_K, with bits 2c and 2c + 1 of qh moved to bit 4: qh shifted down 2 per c.
template <class B>
struct KVectorValues<B, types::Q5K> {
    static void unpack(const uint8_t* block, uint8_t* u) {
        typename B::V bits[10];  // qh, then qs
        B::load(bits, block + types::Q5K::qh);
        #pragma GCC unroll 2
        for (size_t h = 0; h < 2; h++) {
            typename B::V qh = bits[h];
            #pragma GCC unroll 4
            for (size_t c = 0; c < 4; c++, qh = B::template shr<2>(qh))
                nibble_values<B>(u + 64 * c + 16 * h, bits[2 + 2 * c + h], qh);
        }
    }
};

// Value 128 half + 32k + l: nibble k / 2 of ql[64 half + 32 (k % 2) + l], and bits 2k, 2k + 1 of
// qh[32 half + l] as bits 4 and 5: qh shifted down 2 per k.
template <class B>
struct KVectorValues<B, types::Q6K> {
    static void unpack(const uint8_t* block, uint8_t* u) {
        typename B::V bits[12];  // ql, then qh
        B::load(bits, block + types::Q6K::ql);
        const typename B::V low4 = B::template splat<15>(), three = B::template splat<3>();
        #pragma GCC unroll 4
        for (size_t i = 0; i < 4; i++) {  // half i / 2, l from 16 (i % 2)
            const typename B::V ql0 = bits[4 * (i / 2) + i % 2], ql1 = bits[4 * (i / 2) + 2 + i % 2];
            const typename B::V low[4] = {B::bit_and(ql0, low4), B::bit_and(ql1, low4),
                                          B::template shr<4>(ql0), B::template shr<4>(ql1)};
            typename B::V qh = bits[8 + i];
            #pragma GCC unroll 4
            for (size_t k = 0; k < 4; k++, qh = B::template shr<2>(qh))
                B::store(u + 128 * (i / 2) + 32 * k + 16 * (i % 2),
                         B::bit_or(low[k], B::template shl<4>(B::bit_and(qh, three))));
        }
    }
};

template <class T, class Dot, template <class> class Values, size_t Columns>
struct KUnpackedLanes {
    static constexpr size_t lanes = 1, columns = Columns;
    static constexpr bool striped = false;
    template <size_t N>
    static void rows(float* y, size_t, size_t y_column_stride, const uint8_t* w, size_t,
                     const Matrix& m, const uint8_t* x, size_t x_column_stride) {
        types::KAccumulator acc[N];
        alignas(16) types::KBlock b;
        const size_t blocks = m.cols / types::k_values;
        for (size_t i = 0; i < blocks; i++, w += T::bytes, x += types::q8_k_bytes) {
            Values<T>::unpack(w, b.u);
            T::unpack_header(w, b);
            for (size_t c = 0; c < N; c++) {
                const uint8_t* xb = x + c * x_column_stride;
                int32_t isum = Dot::dot(b, types::q8_k_values_of(xb)), msum = 0;
                for (size_t g = 0; g < types::k_groups; g++) {
                    const int32_t bsum = types::q8_k_bsum(xb, g);
                    isum -= T::offset * b.scale[g] * bsum;
                    msum += b.min[g] * bsum;
                }
                acc[c].add(types::q8_k_scale(xb), b.d, b.dmin, isum, msum);
            }
        }
        for (size_t c = 0; c < N; c++) y[c * y_column_stride] = acc[c].result();
    }
    static float row(const uint8_t* w, const Matrix& m, const uint8_t* x) {
        float y;
        rows<1>(&y, 0, 0, w, 0, m, x, 0);
        return y;
    }
};

template <class T, class Dot, template <class> class Values, size_t Columns>
void k_unpacked_product(float* y, size_t y_stride, const Matrix& w, const uint8_t* in,
                        size_t in_stride, size_t columns, size_t row_begin, size_t row_end) {
    lanes_product<KUnpackedLanes<T, Dot, Values, Columns>>(y, y_stride, w, in, in_stride, columns,
                                                           row_begin, row_end);
}

template <class Dot, template <class> class Values, size_t Columns>
void add_k_unpacked_products(KernelSet& set) {
    set.product[size_t(WeightType::Q6_K)] = k_unpacked_product<types::Q6K, Dot, Values, Columns>;
    set.product[size_t(WeightType::Q4_K)] = k_unpacked_product<types::Q4K, Dot, Values, Columns>;
    set.product[size_t(WeightType::Q5_K)] = k_unpacked_product<types::Q5K, Dot, Values, Columns>;
    set.product[size_t(WeightType::Q3_K)] = k_unpacked_product<types::Q3K, Dot, Values, Columns>;
    set.product[size_t(WeightType::Q2_K)] = k_unpacked_product<types::Q2K, Dot, Values, Columns>;
}

}  // namespace llamaport::kernels
