// Internal: fitting AQLM matrices to fp32 weights, the 2-bit round-to-nearest baseline, and the
// calibration that gives the quantizer each layer's input statistics.
//
// The fit follows the AQLM paper (Egiazarian et al. 2024): initialise the codebooks by residual
// k-means, then alternate (a) code updates, (b) least-squares codebook updates and (c) closed-form
// scale updates. It minimises the importance-weighted squared error
//     E = sum_o sum_j d_j (W[o][j] - What[o][j])^2,   d_j = E[x_j^2] over calibration inputs,
// the diagonal simplification of AQLM's ||(W - What) X||^2 = tr((W - What) X X^T (W - What)^T)
// (keeping only the diagonal of X X^T). Codes are re-picked one codebook at a time (beam width 1).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <vector>

#include "llamaport/aqlm.hpp"
#include "llamaport/kernels.hpp"
#include "llamaport/model.hpp"
#include "llamaport/threadpool.hpp"

namespace llamaport {

struct AqlmConfig {
    size_t codebooks = 2;  // M
    size_t bits = 8;       // B, 1..16
    size_t group_size = 8;
    int max_iterations = 20;  // alternation rounds after the initialisation
    uint64_t seed = 1;        // k-means++ sampling
    // Stop once a round lowers the error by no more than this fraction of it (or the relative
    // error is below 1e-6, where fp16 codebook rounding dominates).
    double min_improvement = 1e-3;
};

// Fits an AQLM matrix to w [rows][cols]. input_importance holds d_j >= 0 per column (empty: all
// 1). progress, when set, is called after the initialisation (iteration 0) and after each round
// with the relative error E / sum_o sum_j d_j W[o][j]^2 of the matrix as returned: it never
// increases. Codebook values are fp16-representable, so a file storing them as fp16 holds exactly
// this matrix. The result is the same for a seed whatever the thread count.
// Cost per round: the exhaustive code search takes 3 * rows * groups * M * 2^B * group_size
// flops (1x16 on a 768 x 2048 matrix: 3.1e11), and the joint codebook solve (M > 1,
// M * 2^B <= 1024) a sparse Cholesky per coordinate of at most (M * 2^B)^3 / 6 multiply-adds.
// Throws Error for an invalid configuration or non-finite input.
AqlmMatrix quantize_aqlm(
    const float* w, size_t rows, size_t cols, const std::vector<float>& input_importance,
    const AqlmConfig& config, ThreadPool* pool,
    const std::function<void(int iteration, double relative_error)>& progress = {});

// Importance-weighted squared error sum_o sum_j d_j (w[o][j] - approx[o][j])^2 and the same
// with approx = 0 (their ratio is the relative error). importance empty: all 1.
struct WeightedError {
    double error = 0, reference = 0;
    double relative() const { return reference > 0 ? error / reference : 0; }
};
WeightedError weighted_error(const float* w, const float* approx, size_t rows, size_t cols,
                             const std::vector<float>& importance);

// The baseline: round-to-nearest 2-bit with asymmetric min/max groups (ggml's Q4_1 scheme at 2
// bits): each group of group_size consecutive weights of a row (the last may be shorter) gets
// levels min + q * (max - min) / 3, q = 0..3, min and max kept in fp32. Returns the dequantized
// weights [rows][cols].
std::vector<float> round_to_nearest_2bit(const float* w, size_t rows, size_t cols,
                                         size_t group_size);

// Bits per weight as stored (codes, fp16 codebooks, fp32 scales) over rows * cols.
double aqlm_bits_per_weight(const AqlmMatrix& m);

// Mean squared input E[x_j^2] of every matrix the transformer multiplies (the layer matrices and
// the classifier), keyed by the address of model.weights' Matrix objects, observed while running
// the model on text it samples itself: temperature 1 from BOS, starting a new sequence at seq_len
// or when BOS is sampled. tokens: positions to run (> 0).
std::map<const Matrix*, std::vector<float>> collect_input_importance(const Model& model,
                                                                     const KernelSet& kernels,
                                                                     int tokens, uint64_t seed);
// The same over given tokens (e.g. an encoded text file), the position restarting at seq_len and
// at each BOS. Throws Error for an empty list or a token out of range.
std::map<const Matrix*, std::vector<float>> collect_input_importance(
    const Model& model, const KernelSet& kernels, const std::vector<int>& tokens);

}  // namespace llamaport
