// The AQLM reference dequantizer: plain loops in the header's formula, the oracle for kernels.
#include "llamaport/aqlm.hpp"

#include "llamaport/error.hpp"

namespace llamaport {

void AqlmMatrix::validate(const std::string& what) const {
    const AqlmShape& s = shape;
    const std::string prefix = what + ": AQLM ";
    if (s.rows == 0 || s.cols == 0) throw Error(prefix + "matrix has no rows or no columns");
    if (s.codebooks == 0) throw Error(prefix + "matrix needs at least one codebook");
    if (s.bits < 1 || s.bits > 16)
        throw Error(prefix + "code width " + std::to_string(s.bits) + " bits is outside 1..16");
    if (s.group_size == 0) throw Error(prefix + "group size is 0");
    if (s.group_size > AqlmPacked::max_group_size)
        throw Error(prefix + "group size " + std::to_string(s.group_size) + " is more than " +
                    std::to_string(AqlmPacked::max_group_size));
    const auto mul = [&](size_t a, size_t b) {
        if (a != 0 && b > size_t(-1) / a) throw Error(prefix + "matrix is too large for this host");
        return a * b;
    };
    const auto expect = [&](const char* name, size_t have, size_t want) {
        if (have != want)
            throw Error(prefix + name + " hold " + std::to_string(have) + " values, expected " +
                        std::to_string(want));
    };
    expect("codes", codes.size(), mul(mul(s.rows, s.groups()), s.codebooks));
    expect("codebooks", codebooks.size(), mul(mul(s.codebooks, s.entries()), s.group_size));
    expect("scales", scales.size(), s.rows);
    for (size_t i = 0; i < codes.size(); i++)
        if (codes[i] >= s.entries())
            throw Error(prefix + "code " + std::to_string(codes[i]) + " at index " +
                        std::to_string(i) + " is out of range for " + std::to_string(s.bits) +
                        "-bit codebooks");
}

// Per column: the codebook vectors summed in codebook order in fp32, then times the row's scale.
void AqlmMatrix::row_to_f32(size_t r, float* out) const {
    const size_t g = shape.group_size, m_count = shape.codebooks, entries = shape.entries();
    const uint16_t* row_codes = codes.data() + r * shape.groups() * m_count;
    for (size_t col = 0; col < shape.cols; col++) {
        const uint16_t* group_codes = row_codes + col / g * m_count;
        float sum = 0.0f;
        for (size_t m = 0; m < m_count; m++)
            sum += codebooks[(m * entries + group_codes[m]) * g + col % g];
        out[col] = scales[r] * sum;
    }
}

size_t AqlmMatrix::stored_bytes() const {
    const size_t code_bits = shape.rows * shape.groups() * shape.codebooks * shape.bits;
    return (code_bits + 7) / 8 + shape.codebooks * shape.entries() * shape.group_size * 2 +
           shape.rows * sizeof(float);
}

}  // namespace llamaport
