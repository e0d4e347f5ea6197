// AQLM matrices in the kernels' layout (AqlmPacked): packing into model memory, unpacking, and
// the packed dequantizer.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <new>
#include <vector>

#include "llamaport/aqlm.hpp"
#include "kernels/aqlm_table.hpp"
#include "llamaport/error.hpp"
#include "loader/fp16.hpp"

namespace llamaport {

size_t AqlmPacked::bytes() const {
    const size_t codes = padded_rows() * shape.groups() * shape.codebooks;
    const size_t codebook_bytes =
        uses_table() ? shape.codebooks * pairs() * shape.entries() * 2 * sizeof(int16_t)
                     : shape.codebooks * shape.entries() * shape.group_size * sizeof(uint16_t);
    return codes * (uses_table() ? 1 : 2) + codebook_bytes + padded_rows() * sizeof(float);
}

float AqlmPacked::codebook(size_t m, size_t entry, size_t j) const {
    const size_t i = codebook_index(m, entry, j);
    return uses_table() ? codebooks[i] : fp16_to_fp32(codebooks_f16[i]);
}

void AqlmPacked::row_to_f32(size_t r, float* out) const {
    const size_t g = shape.group_size;
    for (size_t col = 0; col < shape.cols; col++) {
        float sum = 0.0f;
        for (size_t m = 0; m < shape.codebooks; m++)
            sum += codebook(m, code(r, col / g, m), col % g);
        out[col] = scales[r] * sum;
    }
}

namespace kernels {

// One per thread: the pool's threads live as long as the program, so each allocates once.
float* aqlm_scratch(size_t floats) {
    thread_local std::vector<float> storage;
    if (storage.size() < floats + 16) storage.resize(floats + 16);
    const size_t misalign = reinterpret_cast<uintptr_t>(storage.data()) % 64;
    return storage.data() + (64 - misalign) % 64 / sizeof(float);
}

}  // namespace kernels

Matrix pack_aqlm(const AqlmMatrix& q, Model& model, const std::string& what) {
    q.validate(what);
    const AqlmShape& s = q.shape;
    // The packed header lives in model memory too, so a Matrix stays a plain view.
    AqlmPacked* p = new (model.allocate(sizeof(AqlmPacked))) AqlmPacked();
    p->shape = s;
    const size_t groups = s.groups(), m_count = s.codebooks, entries = s.entries();
    const size_t rows = p->padded_rows();
    const size_t codes = q.codes.size() / s.rows * rows;  // sizes validated: no overflow
    uint8_t* c8 = nullptr;
    uint16_t* c16 = nullptr;
    if (p->uses_table())
        p->codes8 = c8 = static_cast<uint8_t*>(model.allocate(codes));
    else
        p->codes16 = c16 = static_cast<uint16_t*>(model.allocate(codes * sizeof(uint16_t)));
    for (size_t r = 0, from = 0; r < s.rows; r++)
        for (size_t i = 0; i < groups; i++)
            for (size_t m = 0; m < m_count; m++, from++) {
                const size_t to = p->code_index(r, i, m);
                if (c8)
                    c8[to] = uint8_t(q.codes[from]);
                else
                    c16[to] = q.codes[from];
            }
    if (!p->uses_table()) {
        // Files store codebooks in fp16: a value that is not one would silently change here.
        uint16_t* halves = static_cast<uint16_t*>(model.allocate(q.codebooks.size() * sizeof(uint16_t)));
        for (size_t i = 0; i < q.codebooks.size(); i++) {
            const float v = q.codebooks[i];
            halves[i] = fp32_to_fp16(v);
            if (!(fp16_to_fp32(halves[i]) == v) && v == v)
                throw Error(what + ": AQLM codebook value " + std::to_string(v) + " at index " +
                            std::to_string(i) + " is not an fp16 value");
        }
        p->codebooks_f16 = halves;
    } else {
        float* cb = static_cast<float*>(model.allocate(q.codebooks.size() * sizeof(float)));
        std::copy(q.codebooks.begin(), q.codebooks.end(), cb);
        p->codebooks = cb;
        // Each codebook in int16 at its own scale, rounded to nearest, ties to even.
        const size_t per_codebook = entries * s.group_size;
        int16_t* cb16 = static_cast<int16_t*>(
            model.allocate(m_count * p->pairs() * entries * 2 * sizeof(int16_t)));  // padding: 0
        float* cb_scales = static_cast<float*>(model.allocate(m_count * sizeof(float)));
        const float limit = float(p->codebook_limit());
        for (size_t m = 0; m < m_count; m++) {
            const float* values = cb + m * per_codebook;
            float most = 0.0f;
            for (size_t i = 0; i < per_codebook; i++) most = std::max(most, std::fabs(values[i]));
            cb_scales[m] = most / limit;
            const float inv = most > 0.0f ? limit / most : 0.0f;
            for (size_t k = 0; k < entries; k++)
                for (size_t j = 0; j < s.group_size; j++) {
                    float v = values[k * s.group_size + j] * inv;
                    v = v == v ? std::min(std::max(v, -limit), limit) : 0.0f;  // NaN: 0
                    cb16[p->codebook16_index(m, k, j)] = int16_t(std::nearbyint(v));
                }
        }
        p->codebooks16 = cb16;
        p->codebook_scales = cb_scales;
    }
    float* scales = static_cast<float*>(model.allocate(rows * sizeof(float)));  // padding: 0
    std::copy(q.scales.begin(), q.scales.end(), scales);
    p->scales = scales;

    Matrix out;
    out.type = p->uses_table() ? WeightType::AQLM : WeightType::AQLM_WIDE;
    out.rows = s.rows;
    out.cols = s.cols;
    out.data = p;
    return out;
}

AqlmMatrix unpack_aqlm(const Matrix& matrix) {
    if ((matrix.type != WeightType::AQLM && matrix.type != WeightType::AQLM_WIDE) || !matrix.data)
        throw Error(std::string("unpack_aqlm: the matrix is ") + weight_type_name(matrix.type) +
                    ", not AQLM");
    const AqlmPacked& p = matrix.aqlm();
    const AqlmShape& s = p.shape;
    AqlmMatrix q;
    q.shape = s;
    q.codes.reserve(s.rows * s.groups() * s.codebooks);
    for (size_t r = 0; r < s.rows; r++)
        for (size_t i = 0; i < s.groups(); i++)
            for (size_t m = 0; m < s.codebooks; m++) q.codes.push_back(p.code(r, i, m));
    q.codebooks.reserve(s.codebooks * s.entries() * s.group_size);
    for (size_t m = 0; m < s.codebooks; m++)
        for (size_t k = 0; k < s.entries(); k++)
            for (size_t j = 0; j < s.group_size; j++) q.codebooks.push_back(p.codebook(m, k, j));
    q.scales.assign(p.scales, p.scales + s.rows);
    return q;
}

}  // namespace llamaport
