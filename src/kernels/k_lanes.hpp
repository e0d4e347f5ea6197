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
