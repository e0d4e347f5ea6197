#include "llamaport/eval.hpp"

#include <algorithm>
#include <cmath>

namespace llamaport {
namespace {

// log-softmax in double precision, so tiny probabilities keep their logarithms.
void log_softmax(const float* logits, size_t n, std::vector<double>& out) {
    out.resize(n);
    const double max = *std::max_element(logits, logits + n);
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += std::exp(double(logits[i]) - max);
    const double log_sum = std::log(sum) + max;
    for (size_t i = 0; i < n; i++) out[i] = double(logits[i]) - log_sum;
}

}  // namespace

void DivergenceMeter::add(const float* reference_logits, const float* model_logits, size_t n,
                          int next_token) {
    for (size_t i = 0; i < n; i++) {
        const double d = double(model_logits[i]) - double(reference_logits[i]);
        difference_squares_ += d * d;
        reference_squares_ += double(reference_logits[i]) * double(reference_logits[i]);
    }
    log_softmax(reference_logits, n, p_);
    log_softmax(model_logits, n, q_);
    double kl = 0;
    for (size_t i = 0; i < n; i++) kl += std::exp(p_[i]) * (p_[i] - q_[i]);
    kl_sum_ += kl;
    const auto argmax = [n](const std::vector<double>& v) {
        return std::max_element(v.begin(), v.begin() + std::ptrdiff_t(n)) - v.begin();
    };
    agreements_ += argmax(p_) == argmax(q_) ? 1 : 0;
    reference_nll_ -= p_[size_t(next_token)];
    model_nll_ -= q_[size_t(next_token)];
    positions_++;
}

double DivergenceMeter::relative_rms() const {
    return reference_squares_ > 0 ? std::sqrt(difference_squares_ / reference_squares_) : 0;
}

double DivergenceMeter::kl_divergence() const { return positions_ ? kl_sum_ / double(positions_) : 0; }
double DivergenceMeter::top1_agreement() const {
    return positions_ ? double(agreements_) / double(positions_) : 0;
}
double DivergenceMeter::reference_perplexity() const {
    return positions_ ? std::exp(reference_nll_ / double(positions_)) : 0;
}
double DivergenceMeter::model_perplexity() const {
    return positions_ ? std::exp(model_nll_ / double(positions_)) : 0;
}

}  // namespace llamaport
