#include "aqlm/quantize.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "llamaport/error.hpp"
#include "llamaport/sampler.hpp"
#include "llamaport/transformer.hpp"
#include "loader/fp16.hpp"

namespace llamaport {
namespace {

// The codebook update solves for all codebooks jointly while that is at most this many unknowns
// per coordinate (2x8: 512); beyond, it sweeps over the codebooks one at a time.
constexpr size_t kMaxJointUnknowns = 1024;
constexpr int kGaussSeidelSweeps = 3;
constexpr int kKmeansIterations = 10;  // Lloyd rounds per codebook at initialisation
// Proximal ridge of the joint solve, relative to the mean diagonal of the normal equations: keeps
// unused entries where they are and picks the nearest solution along the directions the codes
// cannot tell apart (adding c to one codebook and -c to another).
constexpr double kRidge = 1e-6;
// Entries per block of the code search (a block of columns stays in cache across a row's groups).
constexpr size_t kSearchBlock = 1024;
// A relative error below this is as good as exact (fp16 codebook values alone give ~1e-7).
constexpr double kNegligibleError = 1e-6;
// Vectors per partial sum in k-means++: fixed, so sums do not depend on the thread count.
constexpr size_t kChunk = 256;

void for_each_index(ThreadPool* pool, size_t count, const std::function<void(size_t)>& task) {
    if (pool) {
        pool->parallel_for(count, task);
    } else {
        for (size_t i = 0; i < count; i++) task(i);
    }
}

// The nearest fp16 value (clamped to the fp16 range), as a file storing it would give back.
float to_fp16_grid(float v) {
    return fp16_to_fp32(fp32_to_fp16(std::max(-65504.0f, std::min(65504.0f, v))));
}

// Index into weights[0..n) drawn with probability proportional to weight, for target uniform in
// [0, sum); target is reduced by the weight of the entries before it. Returns the last positive
// entry when rounding leaves target past the end, n when every weight is 0.
size_t sample_index(const double* weights, size_t n, double& target) {
    size_t pick = n;
    for (size_t i = 0; i < n; i++) {
        if (!(weights[i] > 0)) continue;
        pick = i;
        if (target < weights[i]) break;
        target -= weights[i];
    }
    return pick;
}

// Solves A x = b in place for a symmetric positive definite A given by its upper triangle
// (row-major n x n); b becomes x. Right-looking Cholesky A = U^T U that skips zero multipliers
// and the columns outside the first..last nonzero ones of each row of U: the normal matrix of
// additive codes is sparse (each codebook's own block is diagonal), so eliminating the first
// codebook costs only its co-occurrences with the others; the rest is dense, with unit-stride
// inner loops. Pivots below min_pivot (rounding only, when A carries a ridge of min_pivot) are
// raised to it.
void cholesky_solve(std::vector<double>& a, std::vector<double>& b, size_t n, double min_pivot) {
    for (size_t k = 0; k < n; k++) {
        double* u = &a[k * n];
        u[k] = std::sqrt(std::max(u[k], min_pivot));
        size_t first = n, last = k;
        for (size_t j = k + 1; j < n; j++)
            if (u[j] != 0) {
                u[j] /= u[k];
                first = std::min(first, j);
                last = j;
            }
        for (size_t i = first; i <= last; i++) {
            if (u[i] == 0) continue;
            double* row = &a[i * n];
            for (size_t j = i; j <= last; j++) row[j] -= u[i] * u[j];
        }
    }
    for (size_t k = 0; k < n; k++) {  // U^T y = b
        b[k] /= a[k * n + k];
        for (size_t j = k + 1; j < n; j++) b[j] -= a[k * n + j] * b[k];
    }
    for (size_t i = n; i-- > 0;) {  // U x = y
        double s = b[i];
        for (size_t j = i + 1; j < n; j++) s -= a[i * n + j] * b[j];
        b[i] = s / a[i * n + i];
    }
}

// One fit: the padded problem and the current AQLM matrix. "Observation" (o, i, j) is coordinate
// j of group i of row o; its weight in the objective, in the space of the normalised row
// W[o] / s_o that the codebooks live in, is s_o^2 d_j.
class Fit {
public:
    Fit(const float* w, size_t rows, size_t cols, const std::vector<float>& importance,
        const AqlmConfig& config, ThreadPool* pool)
        : w_in_(w), config_(config), pool_(pool) {
        if (rows == 0 || cols == 0) throw Error("AQLM: the matrix is empty");
        if (config.codebooks == 0 || config.bits < 1 || config.bits > 16 || config.group_size == 0)
            throw Error("AQLM: need at least 1 codebook, 1..16 bits and a group size > 0 (got " +
                        std::to_string(config.codebooks) + "x" + std::to_string(config.bits) +
                        " g" + std::to_string(config.group_size) + ")");
        if (!importance.empty() && importance.size() != cols)
            throw Error("AQLM: " + std::to_string(importance.size()) + " importances for " +
                        std::to_string(cols) + " columns");
        AqlmShape& s = q_.shape;
        s = {rows, cols, config.codebooks, config.bits, config.group_size};
        groups_ = s.groups();
        g_ = s.group_size;
        m_count_ = s.codebooks;
        entries_ = s.entries();
        width_ = groups_ * g_;

        // Padding columns get weight 0 and value 0.
        d_.assign(width_, 0.0f);
        for (size_t j = 0; j < cols; j++) {
            d_[j] = importance.empty() ? 1.0f : importance[j];
            if (!(d_[j] >= 0) || std::isinf(d_[j]))
                throw Error("AQLM: importance of column " + std::to_string(j) +
                            " is not a finite number >= 0");
        }
        w_.assign(rows * width_, 0.0f);
        for (size_t o = 0; o < rows; o++)
            for (size_t j = 0; j < cols; j++) {
                const float v = w[o * cols + j];
                if (!std::isfinite(v))
                    throw Error("AQLM: weight [" + std::to_string(o) + "][" + std::to_string(j) +
                                "] is not finite");
                w_[o * width_ + j] = v;
            }
        importance_.assign(d_.begin(), d_.begin() + std::ptrdiff_t(cols));
        q_.codes.assign(rows * groups_ * m_count_, 0);
        q_.codebooks.assign(m_count_ * entries_ * g_, 0.0f);
        q_.scales.resize(rows);
    }

    AqlmMatrix run(const std::function<void(int, double)>& progress) {
        initialise();
        WeightedError err = error();
        if (progress) progress(0, err.relative());
        for (int iteration = 1; iteration <= config_.max_iterations; iteration++) {
            AqlmMatrix before = q_;
            update_codes(0, m_count_);
            update_codebooks(0, m_count_);
            update_scales();
            const WeightedError now = error();
            // Each step is exact in real arithmetic; fp16 codebooks and float scores can still
            // cost a hair at convergence: keep the better matrix then.
            if (now.error > err.error) {
                q_ = std::move(before);
                break;
            }
            if (progress) progress(iteration, now.relative());
            const bool converged = now.relative() < kNegligibleError ||
                                   err.error - now.error <= config_.min_improvement * err.error;
            err = now;
            if (converged) break;
        }
        return std::move(q_);
    }

private:
    const uint16_t* codes(size_t o, size_t i) const {
        return &q_.codes[(o * groups_ + i) * m_count_];
    }
    float& value(size_t m, size_t k, size_t j) { return q_.codebooks[(m * entries_ + k) * g_ + j]; }

    // Coordinate j of the coded entries of codebooks outside [skip_begin, skip_end), summed in
    // codebook order as the dequantizer does.
    float entry_sum(const uint16_t* c, size_t j, size_t skip_begin, size_t skip_end) const {
        float sum = 0.0f;
        for (size_t m = 0; m < m_count_; m++)
            if (m < skip_begin || m >= skip_end)
                sum += q_.codebooks[(m * entries_ + c[m]) * g_ + j];
        return sum;
    }

    // What codebooks [mb, me) should add at observation (o, i, j): the normalised weight minus
    // the other codebooks' part. Needs scale != 0.
    float target(size_t o, size_t i, size_t j, size_t mb, size_t me) const {
        return w_[o * width_ + i * g_ + j] / q_.scales[o] - entry_sum(codes(o, i), j, mb, me);
    }

    // Residual k-means: codebook m is seeded by k-means++ on what the previous codebooks left,
    // then refined by Lloyd rounds (which are the code and codebook updates restricted to m).
    void initialise() {
        for (size_t o = 0; o < q_.shape.rows; o++) {
            double sum = 0;
            for (size_t j = 0; j < q_.shape.cols; j++)
                sum += double(w_[o * width_ + j]) * w_[o * width_ + j];
            const float rms = float(std::sqrt(sum / double(q_.shape.cols)));
            q_.scales[o] = rms > 0 ? rms : 1.0f;
        }
        uint64_t rng = config_.seed ? config_.seed : 1;
        for (size_t m = 0; m < m_count_; m++) {
            seed_codebook(m, rng);
            for (int round = 0; round < kKmeansIterations; round++) {
                if (!update_codes(m, m + 1) && round > 0) break;
                update_codebooks(m, m + 1);
            }
        }
    }

    // k-means++ over the residual group vectors with the objective's weights. With fewer
    // distinct vectors than entries it stops when every vector is an entry; the rest stay 0.
    void seed_codebook(size_t m, uint64_t& rng) {
        const size_t n = q_.shape.rows * groups_, chunks = (n + kChunk - 1) / kChunk;
        std::vector<float> residual(n * g_);
        std::vector<double> distance(n), chunk_sum(chunks);
        const std::vector<float> zero(g_, 0.0f);
        auto weighted_distance = [&](size_t v, const float* entry) {
            const double s = q_.scales[v / groups_];
            double sum = 0;
            for (size_t j = 0; j < g_; j++) {
                const double diff = double(residual[v * g_ + j]) - entry[j];
                sum += double(d_[v % groups_ * g_ + j]) * s * s * diff * diff;
            }
            return sum;
        };
        auto update_chunk = [&](size_t c, const float* entry, bool first) {
            double sum = 0;
            for (size_t v = c * kChunk; v < std::min(n, (c + 1) * kChunk); v++) {
                const double dist = weighted_distance(v, entry);
                distance[v] = first ? dist : std::min(distance[v], dist);
                sum += distance[v];
            }
            chunk_sum[c] = sum;
        };
        for_each_index(pool_, chunks, [&](size_t c) {
            for (size_t v = c * kChunk; v < std::min(n, (c + 1) * kChunk); v++)
                for (size_t j = 0; j < g_; j++)
                    residual[v * g_ + j] = q_.scales[v / groups_] == 0
                                               ? 0.0f
                                               : target(v / groups_, v % groups_, j, m, m + 1);
            update_chunk(c, zero.data(), true);
        });
        for (size_t k = 0; k < entries_; k++) {
            double total = 0;
            for (double s : chunk_sum) total += s;
            if (!(total > 0)) break;  // every vector is an entry already
            double t = double(random_f32(rng)) * total;
            const size_t c = sample_index(chunk_sum.data(), chunks, t);
            const size_t v = c * kChunk + sample_index(&distance[c * kChunk],
                                                       std::min(kChunk, n - c * kChunk), t);
            float* entry = &value(m, k, 0);
            std::copy(&residual[v * g_], &residual[v * g_] + g_, entry);
            for_each_index(pool_, chunks, [&](size_t c2) { update_chunk(c2, entry, false); });
        }
    }

    // (a) Re-picks codes of codebooks [mb, me), one codebook at a time given the others, by
    // exhaustive search: for target r the entry e minimising |r - e|^2_d also minimises
    // sum_j d_j e_j (e_j - 2 r_j). Entries are scanned in blocks that stay in cache across all
    // groups of a row. Ties keep the current code. Returns whether any code changed.
    bool update_codes(size_t mb, size_t me) {
        const size_t k_count = entries_, block = std::min(k_count, kSearchBlock);
        // Entries transposed to [m][j][k] so the candidate loop runs over k with unit stride.
        std::vector<float> columns((me - mb) * g_ * k_count);
        for (size_t m = mb; m < me; m++)
            for (size_t k = 0; k < k_count; k++)
                for (size_t j = 0; j < g_; j++)
                    columns[((m - mb) * g_ + j) * k_count + k] = value(m, k, j);
        std::vector<char> changed(q_.shape.rows, 0);
        for_each_index(pool_, q_.shape.rows, [&](size_t o) {
            if (q_.scales[o] == 0) return;  // the row is 0 whatever its codes
            std::vector<float> twice_target(width_), score(block), best(groups_);
            for (size_t m = mb; m < me; m++) {
                const float* entry_columns = &columns[(m - mb) * g_ * k_count];
                auto scores = [&](size_t i, size_t k_begin, size_t k_end, float* out) {
                    std::fill(out, out + (k_end - k_begin), 0.0f);
                    for (size_t j = 0; j < g_; j++) {
                        const float dj = d_[i * g_ + j], tj = twice_target[i * g_ + j];
                        if (dj == 0) continue;
                        const float* col = entry_columns + j * k_count;
                        for (size_t k = k_begin; k < k_end; k++)
                            out[k - k_begin] += dj * col[k] * (col[k] - tj);
                    }
                };
                for (size_t i = 0; i < groups_; i++) {
                    for (size_t j = 0; j < g_; j++)
                        twice_target[i * g_ + j] = 2.0f * target(o, i, j, m, m + 1);
                    const size_t current = codes(o, i)[m];
                    scores(i, current, current + 1, &best[i]);
                }
                for (size_t k_begin = 0; k_begin < k_count; k_begin += block)
                    for (size_t i = 0; i < groups_; i++) {
                        scores(i, k_begin, k_begin + block, score.data());
                        for (size_t k = 0; k < block; k++)
                            if (score[k] < best[i]) {
                                best[i] = score[k];
                                q_.codes[(o * groups_ + i) * m_count_ + m] = uint16_t(k_begin + k);
                                changed[o] = 1;
                            }
                    }
            }
        });
        return std::find(changed.begin(), changed.end(), 1) != changed.end();
    }

    // (b) Weighted least squares for codebooks [mb, me) with codes and scales fixed. Coordinates
    // are independent problems (one task each); the result is rounded to fp16.
    void update_codebooks(size_t mb, size_t me) {
        const size_t nb = me - mb;
        const bool joint = nb > 1 && nb * entries_ <= kMaxJointUnknowns;
        for_each_index(pool_, g_, [&](size_t j) {
            if (joint) {
                solve_joint(j, mb, me);
            } else {
                for (int sweep = 0; sweep < (nb > 1 ? kGaussSeidelSweeps : 1); sweep++)
                    for (size_t m = mb; m < me; m++) fit_centroids(m, j);
            }
            for (size_t m = mb; m < me; m++)
                for (size_t k = 0; k < entries_; k++) value(m, k, j) = to_fp16_grid(value(m, k, j));
        });
    }

    // Codebook m alone, coordinate j: each entry's optimum is the weighted mean of the targets
    // coded with it. Unused entries keep their value.
    void fit_centroids(size_t m, size_t j) {
        std::vector<double> sum(entries_, 0.0), weight(entries_, 0.0);
        for (size_t o = 0; o < q_.shape.rows; o++) {
            const double s = q_.scales[o];
            for (size_t i = 0; i < groups_; i++) {
                const double a = double(d_[i * g_ + j]) * s * s;
                if (a == 0) continue;
                const size_t k = codes(o, i)[m];
                sum[k] += a * target(o, i, j, m, m + 1);
                weight[k] += a;
            }
        }
        for (size_t k = 0; k < entries_; k++)
            if (weight[k] > 0) value(m, k, j) = float(sum[k] / weight[k]);
    }

    // Codebooks [mb, me) jointly, coordinate j: the normal equations over the (me - mb) * 2^B
    // entries, with a proximal ridge (minimises E + ridge * |x - x_old|^2, so E cannot rise).
    void solve_joint(size_t j, size_t mb, size_t me) {
        const size_t nb = me - mb, n = nb * entries_;
        std::vector<double> a(n * n, 0.0), b(n, 0.0);
        std::vector<size_t> unknown(nb);
        for (size_t o = 0; o < q_.shape.rows; o++) {
            const double s = q_.scales[o];
            for (size_t i = 0; i < groups_; i++) {
                const double weight = double(d_[i * g_ + j]) * s * s;
                if (weight == 0) continue;
                const double t = target(o, i, j, mb, me);
                for (size_t u = 0; u < nb; u++) {
                    unknown[u] = u * entries_ + codes(o, i)[mb + u];
                    b[unknown[u]] += weight * t;
                    for (size_t v = 0; v <= u; v++) a[unknown[v] * n + unknown[u]] += weight;
                }
            }
        }
        double trace = 0;
        size_t used = 0;
        for (size_t p = 0; p < n; p++)
            if (a[p * n + p] > 0) {
                trace += a[p * n + p];
                used++;
            }
        if (used == 0) return;
        const double ridge = kRidge * trace / double(used);
        for (size_t p = 0; p < n; p++) {
            a[p * n + p] += ridge;
            b[p] += ridge * value(mb + p / entries_, p % entries_, j);
        }
        cholesky_solve(a, b, n, ridge);
        for (size_t p = 0; p < n; p++) value(mb + p / entries_, p % entries_, j) = float(b[p]);
    }

    // (c) Each row's scale in closed form: s = sum d w y / sum d y^2, y the unscaled sum.
    void update_scales() {
        for_each_index(pool_, q_.shape.rows, [&](size_t o) {
            double wy = 0, yy = 0;
            for (size_t i = 0; i < groups_; i++)
                for (size_t j = 0; j < g_; j++) {
                    const double d = d_[i * g_ + j], y = entry_sum(codes(o, i), j, 0, 0);
                    wy += d * w_[o * width_ + i * g_ + j] * y;
                    yy += d * y * y;
                }
            if (yy > 0) q_.scales[o] = float(wy / yy);
        });
    }

    // The objective, on the matrix as the reference dequantizer reads it.
    WeightedError error() const {
        const size_t rows = q_.shape.rows, cols = q_.shape.cols;
        std::vector<float> approx(rows * cols);
        for_each_index(pool_, rows, [&](size_t o) { q_.row_to_f32(o, &approx[o * cols]); });
        return weighted_error(w_in_, approx.data(), rows, cols, importance_);
    }

    const float* w_in_;
    const AqlmConfig& config_;
    ThreadPool* pool_;
    size_t groups_ = 0, g_ = 0, m_count_ = 0, entries_ = 0, width_ = 0;
    std::vector<float> w_;           // [rows][groups * g], zero padded
    std::vector<float> d_;           // [groups * g], zero padded
    std::vector<float> importance_;  // d_ without the padding
    AqlmMatrix q_;
};

using Importance = std::map<const Matrix*, std::vector<float>>;

// Runs the model over the tokens next() yields (-1: stop) and averages the squared inputs of
// every matrix. next gets the logits of the last position, or null when a new sequence starts
// (at seq_len); a BOS token also starts a new sequence.
Importance observe_inputs(const Model& model, const KernelSet& kernels,
                          const std::function<int(float* logits)>& next) {
    struct Sums {
        std::vector<double> sum;
        size_t count = 0;
    };
    std::map<const Matrix*, Sums> sums;
    struct Observer : Transformer::Observer {
        std::map<const Matrix*, Sums>& sums;
        explicit Observer(std::map<const Matrix*, Sums>& s) : sums(s) {}
        void observe(const Matrix& m, const float* x, size_t columns) override {
            Sums& s = sums[&m];
            s.sum.resize(m.cols, 0.0);
            for (size_t c = 0; c < columns; c++, x += m.cols) {
                for (size_t j = 0; j < m.cols; j++) s.sum[j] += double(x[j]) * x[j];
                s.count++;
            }
        }
    } observer(sums);
    Transformer run(model, kernels);
    run.observer = &observer;
    int pos = 0;
    for (int token = next(nullptr); token >= 0;) {
        if (token == model.vocab.bos_id) pos = 0;
        float* logits = run.forward(token, pos);
        if (++pos == run.max_positions()) {
            pos = 0;
            token = next(nullptr);
        } else {
            token = next(logits);
        }
    }
    Importance out;
    for (const auto& [matrix, s] : sums) {
        std::vector<float>& mean = out[matrix];
        for (double v : s.sum) mean.push_back(float(v / double(s.count)));
    }
    return out;
}

}  // namespace

AqlmMatrix quantize_aqlm(const float* w, size_t rows, size_t cols,
                         const std::vector<float>& input_importance, const AqlmConfig& config,
                         ThreadPool* pool, const std::function<void(int, double)>& progress) {
    return Fit(w, rows, cols, input_importance, config, pool).run(progress);
}

WeightedError weighted_error(const float* w, const float* approx, size_t rows, size_t cols,
                             const std::vector<float>& importance) {
    WeightedError e;
    for (size_t o = 0; o < rows; o++)
        for (size_t j = 0; j < cols; j++) {
            const double d = importance.empty() ? 1.0 : double(importance[j]);
            const double v = w[o * cols + j], diff = v - approx[o * cols + j];
            e.error += d * diff * diff;
            e.reference += d * v * v;
        }
    return e;
}

std::vector<float> round_to_nearest_2bit(const float* w, size_t rows, size_t cols,
                                         size_t group_size) {
    if (group_size == 0) throw Error("round-to-nearest: group size is 0");
    std::vector<float> out(rows * cols);
    for (size_t r = 0; r < rows; r++)
        for (size_t begin = 0; begin < cols; begin += group_size) {
            const float* in = w + r * cols;
            const size_t end = std::min(cols, begin + group_size);
            const auto [lo, hi] = std::minmax_element(in + begin, in + end);
            const float step = (*hi - *lo) / 3.0f;
            for (size_t j = begin; j < end; j++) {
                const float q =
                    step > 0 ? std::min(3.0f, std::max(0.0f, std::round((in[j] - *lo) / step)))
                             : 0.0f;
                out[r * cols + j] = *lo + q * step;
            }
        }
    return out;
}

double aqlm_bits_per_weight(const AqlmMatrix& m) {
    return 8.0 * double(m.stored_bytes()) / (double(m.shape.rows) * double(m.shape.cols));
}

Importance collect_input_importance(const Model& model, const KernelSet& kernels, int tokens,
                                    uint64_t seed) {
    if (tokens <= 0) throw Error("calibration needs at least one token");
    Sampler sampler(model.config.vocab_size, 1.0f, 1.0f, seed);
    int fed = 0;
    return observe_inputs(model, kernels, [&](float* logits) {
        if (fed == tokens) return -1;
        fed++;
        return logits ? sampler.sample(logits) : model.vocab.bos_id;
    });
}

Importance collect_input_importance(const Model& model, const KernelSet& kernels,
                                    const std::vector<int>& tokens) {
    if (tokens.empty()) throw Error("calibration needs at least one token");
    for (int t : tokens)
        if (t < 0 || t >= model.config.vocab_size)
            throw Error("calibration token " + std::to_string(t) +
                        " is outside the vocabulary of " + std::to_string(model.config.vocab_size));
    size_t next = 0;
    return observe_inputs(model, kernels,
                          [&](float*) { return next < tokens.size() ? tokens[next++] : -1; });
}

}  // namespace llamaport
