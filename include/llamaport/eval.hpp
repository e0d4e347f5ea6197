// Quality of a model against a reference, teacher-forced over the same tokens: the numbers
// llamaport-eval reports for quantized models.
#pragma once

#include <cstddef>
#include <vector>

namespace llamaport {

class DivergenceMeter {
public:
    // One position: both models' logits (n entries each) and the token that actually came next.
    void add(const float* reference_logits, const float* model_logits, size_t n, int next_token);

    size_t positions() const { return positions_; }
    double kl_divergence() const;         // mean KL(reference || model), nats per token
    double top1_agreement() const;        // fraction of positions with the same argmax
    double reference_perplexity() const;  // exp(mean -log p_reference(next))
    double model_perplexity() const;      // exp(mean -log p_model(next))
    // RMS of (model - reference) over the RMS of the reference, over every logit added.
    double relative_rms() const;

private:
    size_t positions_ = 0, agreements_ = 0;
    double kl_sum_ = 0, reference_nll_ = 0, model_nll_ = 0;
    double difference_squares_ = 0, reference_squares_ = 0;
    std::vector<double> p_, q_;
};

}  // namespace llamaport
