#include "llamaport/transformer.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "llamaport/error.hpp"
#include "llamaport/sampler.hpp"
#include "llamaport/system.hpp"
#include "kernels/aqlm_table.hpp"
#include "loader/fp16.hpp"
#include "types/types.hpp"

namespace llamaport {
namespace {

void rmsnorm(float* out, const float* x, const float* weight, size_t n, float eps) {
    float ss = 0.0f;
    for (size_t j = 0; j < n; j++) ss += x[j] * x[j];
    ss /= float(n);
    ss += eps;
    ss = 1.0f / std::sqrt(ss);
    for (size_t j = 0; j < n; j++) out[j] = weight[j] * (ss * x[j]);
}

// Below this many weights per matrix, handing products to other threads costs more than it
// saves.
constexpr size_t min_parallel_weights = 1 << 16;
// Below this many bytes of prepared input, preparing it is quicker on one thread.
constexpr size_t min_parallel_prepared_bytes = 1 << 14;

// Rows [begin, end) of `rows` for one of `threads` threads: equal shares, their edges multiples
// of `align`, so that each thread streams its own run of rows.
void share(size_t rows, size_t align, size_t thread, size_t threads, size_t& begin, size_t& end) {
    const size_t per = ((rows + threads - 1) / threads + align - 1) / align * align;
    begin = std::min(rows, thread * per);
    end = std::min(rows, begin + per);
}

// f(b) for every position b of a batch: split over the threads for a prompt's batch, on the
// calling thread for one position. Each position's work is the same wherever it runs.
template <class F>
void each_position(ThreadPool* pool, int threads, size_t count, const F& f) {
    if (threads > 1 && count > 1)
        pool->parallel_for(count, f);
    else
        for (size_t b = 0; b < count; b++) f(b);
}

}  // namespace

// Header values are bounded (validate_config), so these counts fit 64 bits on any host.
void Transformer::check_state_fits(size_t positions, size_t batch) const {
    const Config& c = model_.config;
    const uint64_t p = positions, b = batch, dim = uint64_t(c.dim), kv = uint64_t(c.kv_dim());
    const uint64_t cache = uint64_t(c.n_layers) * p * kv * (kv_type_ == KvType::f16 ? 1 : 2);
    const uint64_t q = uint64_t(c.q_dim()), wide = std::max(dim, q);
    const uint64_t buffers = b * (2 * dim + wide + q + kv + 2 * uint64_t(c.hidden_dim)) +
                             uint64_t(pool_ ? pool_->size() : 1) * p + uint64_t(c.vocab_size) +
                             p * uint64_t(c.head_size());
    const uint64_t needed = (cache + buffers) * sizeof(float);
    const uint64_t model_bytes = (model_.blob ? model_.blob->size() : 0) + model_.allocated_bytes;
    const uint64_t limit = model_.memory_limit ? model_.memory_limit : SIZE_MAX;
    if (needed > SIZE_MAX || needed > limit || model_bytes > limit - needed)
        throw Error(model_.path + ": the KV cache and buffers for " + std::to_string(positions) +
                    " positions need " + size_text(needed) + " besides the model's " +
                    size_text(model_bytes) + ", more than the " + size_text(limit) +
                    " available; fewer positions need less");
}

Transformer::Transformer(const Model& model, const KernelSet& kernels, ThreadPool* pool,
                         int max_positions, int max_batch, KvType kv_type)
    : model_(model), kernels_(kernels), pool_(pool), kv_type_(kv_type) {
    const Config& c = model.config;
    if (max_positions <= 0 || max_positions > c.seq_len) max_positions = c.seq_len;
    max_positions_ = max_positions;
    max_batch_ = std::max(1, std::min(max_batch, max_positions));
    const size_t dim = size_t(c.dim), hidden = size_t(c.hidden_dim), kv = size_t(c.kv_dim());
    const size_t q_dim = size_t(c.q_dim());
    const size_t positions = size_t(max_positions), batch = size_t(max_batch_);
    check_state_fits(positions, batch);

    // Threads pay only for matrices large enough; the smallest layer matrix decides.
    size_t smallest = SIZE_MAX;
    for (const LayerWeights& l : model.weights.layers)
        for (const Matrix* m : l.matrices()) smallest = std::min(smallest, m->rows * m->cols);
    threads_ = pool && smallest >= min_parallel_weights ? pool->size() : 1;

    const size_t cache = size_t(c.n_layers) * positions * kv;
    x_.resize(batch * dim);
    xb_.resize(batch * std::max(dim, q_dim));  // normed input (dim), attention output (q_dim)
    xb2_.resize(batch * dim);
    hb_.resize(batch * hidden);
    hb2_.resize(batch * hidden);
    q_.resize(batch * q_dim);
    k_.resize(batch * kv);
    att_.resize(size_t(threads_) * positions);
    logits_.resize(size_t(c.vocab_size));
    if (kv_type == KvType::f16) {
        key_cache16_.resize(cache);
        value_cache16_.resize(cache);
        v_.resize(batch * kv);
        k16_.resize(batch * kv);
    } else {
        key_cache_.resize(cache);
        value_cache_.resize(cache);
    }
    // Room for the largest preparation any matrix of the model asks for, for a whole batch.
    size_t prepared = 0;
    auto size_for = [&](const Matrix& m) {
        prepared = std::max(prepared, input_info(type_info(m.type).input).column_bytes(m));
    };
    size_for(model.weights.classifier);
    for (const LayerWeights& l : model.weights.layers)
        for (const Matrix* m : l.matrices()) size_for(*m);
    prepared_column_bytes_ = (prepared + 63) / 64 * 64;
    // Two rows of sums for every AQLM row of a layer at most (multiply's AQLM generation).
    size_t table_rows = model.weights.classifier.type == WeightType::AQLM ? model.weights.classifier.rows : 0;
    for (const LayerWeights& l : model.weights.layers) {
        size_t rows = 0;
        for (const Matrix* m : l.matrices())
            if (m->type == WeightType::AQLM) rows += m->rows;
        table_rows = std::max(table_rows, rows);
    }
    half_sums_.resize(threads_ > 1 ? 2 * table_rows : 0);
    if (prepared) {
        // A column per thread at least: generation's AQLM tables (multiply).
        prepared_storage_.resize(prepared_column_bytes_ * std::max(batch, size_t(threads_)) + 64);
        const size_t misalign = reinterpret_cast<uintptr_t>(prepared_storage_.data()) % 64;
        prepared_ = prepared_storage_.data() + (64 - misalign) % 64;
    }

    // The rotation angles of every position, computed once with run.c's exact arithmetic.
    const size_t head_size = size_t(c.head_size()), half = head_size / 2;
    rope_cos_.resize(positions * half);
    rope_sin_.resize(positions * half);
    for (size_t pos = 0; pos < positions; pos++)
        for (size_t i = 0; i < half; i++) {
            const float freq =
                1.0f / std::pow(c.rope_theta, float(2 * i) / float(head_size));
            float angle = float(int(pos)) * freq;
            if (!c.rope_freq_factors.empty()) angle /= c.rope_freq_factors[i];
            rope_cos_[pos * half + i] = std::cos(angle);
            rope_sin_[pos * half + i] = std::sin(angle);
        }
}

size_t Transformer::state_bytes() const {
    const size_t floats = x_.size() + xb_.size() + xb2_.size() + hb_.size() + hb2_.size() +
                          q_.size() + k_.size() + att_.size() + logits_.size() + key_cache_.size() +
                          value_cache_.size() + v_.size() + rope_cos_.size() + rope_sin_.size();
    return floats * sizeof(float) + (key_cache16_.size() + value_cache16_.size() + k16_.size()) * 2 +
           prepared_storage_.size();
}

void Transformer::multiply(const Product* products, size_t n_products, const float* x,
                           size_t stride, size_t count) {
    const size_t threads = size_t(threads_);
    // Enough columns for the set's batch product of the type, which reads x itself.
    auto batched = [&](const Matrix& m) {
        return count >= type_info(m.type).batch_columns && kernels_.batches(m);
    };
    auto input_of = [&](const Matrix& m) {
        return batched(m) ? InputFormat::F32 : type_info(m.type).input;
    };
    // Generation through AQLM tables on two threads or more: half the threads build the first
    // half's tables and sum them over their rows, the others the second's, then the halves are
    // added (kernels/aqlm_table.hpp). No core reads tables another built. Built in shares, each
    // core read the other's share at every token: 2 threads gave 110M 2x8 1.05x, this 1.44x.
    // Consecutive such products (q, k and v) go in one dispatch, each thread reusing its table.
    auto in_halves = [&](const Matrix& m) {
        return threads > 1 && count == 1 && m.type == WeightType::AQLM && m.aqlm().table_blocks() > 1;
    };
    auto split_halves = [&](size_t begin, size_t end) {
        const size_t first_team = (threads + 1) / 2;
        pool_->run_on_all([&](size_t t) {
            const size_t h = t < first_team ? 0 : 1, rank = h ? t - first_team : t;
            const size_t team = h ? threads - first_team : first_team;
            uint8_t* own = prepared_ + t * prepared_column_bytes_;
            float* sums = half_sums_.data();
            for (size_t i = begin; i < end; sums += 2 * products[i].m->rows, i++) {
                const Matrix& m = *products[i].m;
                const size_t half = kernels::aqlm_half_blocks(m.aqlm());
                kernels_.prepare_for(InputFormat::AqlmTable)(own, m, x, h ? half : 0,
                                                             h ? m.aqlm().table_blocks() : half);
                size_t r0, r1;
                share(m.rows, type_info(m.type).row_align, rank, team, r0, r1);
                if (r0 < r1) kernels_.aqlm_half_sums[h](sums + h * m.rows, 0, m, own, 0, 1, r0, r1);
            }
        });
        const float* sums = half_sums_.data();
        for (size_t i = begin; i < end; sums += 2 * products[i].m->rows, i++) {
            const Matrix& m = *products[i].m;
            kernels::aqlm_combine_halves(products[i].y, m.aqlm().scales, sums, sums + m.rows, m.rows);
        }
    };
    for (size_t first = 0; first < n_products;) {
        if (in_halves(*products[first].m)) {
            size_t end = first + 1;
            while (end < n_products && in_halves(*products[end].m)) end++;
            if (observer)
                for (size_t i = first; i < end; i++) observer->observe(*products[i].m, x, count);
            split_halves(first, end);
            first = end;
            continue;
        }
        const Matrix& m0 = *products[first].m;
        const InputFormat input_format = input_of(m0);
        const InputFormatInfo& format = input_info(input_format);
        const uintptr_t key = format.key(m0);
        // The products from `first` that read the same preparation of x: one job.
        size_t end = first + 1;
        while (end < n_products && input_of(*products[end].m) == input_format &&
               format.key(*products[end].m) == key)
            end++;
        if (observer)
            for (size_t i = first; i < end; i++) observer->observe(*products[i].m, x, count);

        const uint8_t* input = reinterpret_cast<const uint8_t*>(x);
        size_t input_stride = stride * sizeof(float);
        const size_t column_bytes = format.column_bytes(m0);
        if (column_bytes) {
            const PrepareFn prepare = kernels_.prepare_for(input_format);
            const size_t parts = format.parts(m0), units = parts * count;
            auto prepare_units = [&](size_t begin, size_t end_unit) {
                for (size_t u = begin; u < end_unit;) {
                    const size_t c = u / parts, p0 = u % parts;
                    const size_t p1 = std::min(parts, p0 + (end_unit - u));
                    prepare(prepared_ + c * prepared_column_bytes_, m0, x + c * stride, p0, p1);
                    u += p1 - p0;
                }
            };
            input = prepared_;
            input_stride = prepared_column_bytes_;
            if (threads > 1 && format.split_columns && count >= 2 * threads) {
                // Each thread prepares its columns and takes them through every product: one
                // dispatch, and no thread reads another's preparation. Even shares: the table
                // products take columns in pairs.
                pool_->run_on_all([&](size_t t) {
                    size_t c0, c1;
                    share(count, 2, t, threads, c0, c1);
                    if (c0 == c1) return;
                    prepare_units(c0 * parts, c1 * parts);
                    for (size_t i = first; i < end; i++) {
                        const Product& p = products[i];
                        kernels_.product_for(p.m->type)(p.y + c0 * p.y_stride, p.y_stride, *p.m,
                                                        input + c0 * input_stride, input_stride,
                                                        c1 - c0, 0, p.m->rows);
                    }
                });
                first = end;
                continue;
            }
            if (threads > 1 && column_bytes * count >= min_parallel_prepared_bytes)
                pool_->run_on_all([&](size_t t) {
                    prepare_units(units * t / threads, units * (t + 1) / threads);
                });
            else
                prepare_units(0, units);
        }
        auto rows = [&](size_t t, size_t n_threads) {
            for (size_t i = first; i < end; i++) {
                const Product& p = products[i];
                size_t r0, r1;
                share(p.m->rows, type_info(p.m->type).row_align, t, n_threads, r0, r1);
                const ProductFn product = batched(*p.m) ? kernels_.batch_product_for(p.m->type)
                                                        : kernels_.product_for(p.m->type);
                if (r0 < r1) product(p.y, p.y_stride, *p.m, input, input_stride, count, r0, r1);
            }
        };
        if (threads > 1)
            pool_->run_on_all([&](size_t t) { rows(t, threads); });
        else
            rows(0, 1);
        first = end;
    }
}

// Every head of every position of the batch: scores against the cache up to and including its
// position, softmax, and the weighted sum of values. Heads and positions are independent tasks;
// each thread has its own row of scores.
void Transformer::attention(size_t layer, size_t pos, size_t count) {
    const Config& c = model_.config;
    const size_t head_size = size_t(c.head_size()), kv_dim = size_t(c.kv_dim());
    const size_t q_dim = size_t(c.q_dim());
    const size_t kv_mul = size_t(c.n_heads / c.n_kv_heads), heads = size_t(c.n_heads);
    const size_t positions = size_t(max_positions_), layer_cache = layer * positions * kv_dim;
    const bool half = kv_type_ == KvType::f16;
    const float scale = std::sqrt(float(head_size));
    auto head = [&](size_t task, size_t thread) {
        const size_t b = task / heads, h = task % heads, n = pos + b + 1;
        const size_t key_rows = layer_cache + (h / kv_mul) * head_size * positions;
        const size_t value_offset = layer_cache + (h / kv_mul) * head_size;
        float* scores = att_.data() + thread * positions;
        const float* q = q_.data() + b * q_dim + h * head_size;
        // A head's scores for every position at once: row i of its transposed keys times q[i],
        // added in i order. Each score sums its products exactly as run.c's dot product does,
        // and the axpy kernels are bit-identical in every set, so every set gets the same scores
        // (a difference in their last bit could become a whole int8 step in a quantized product
        // that follows).
        // (axpy_f16 rounds q to half, as llama.cpp's F16 cache rounds what meets it.)
        std::fill(scores, scores + n, 0.0f);
        if (half)
            kernels_.axpy_f16(scores, q, key_cache16_.data() + key_rows, positions, head_size, n);
        else
            kernels_.axpy_f32(scores, q, key_cache_.data() + key_rows, positions, head_size, n);
        for (size_t t = 0; t < n; t++) scores[t] /= scale;
        softmax(scores, n);
        float* out = xb_.data() + b * q_dim + h * head_size;
        std::fill(out, out + head_size, 0.0f);
        if (half)
            kernels_.axpy_f16(out, scores, value_cache16_.data() + value_offset, kv_dim, n, head_size);
        else
            kernels_.axpy_f32(out, scores, value_cache_.data() + value_offset, kv_dim, n, head_size);
    };
    // Dealt round-robin: a later position's task costs more (causal), so contiguous shares
    // left the first of 2 threads a quarter of the work of a 64-position batch from position 0
    // (110M Q8_0 pp512 on 2 threads: 1708 -> 1758 tok/s).
    const size_t tasks = count * heads, threads = size_t(threads_);
    if (threads > 1)
        pool_->run_on_all([&](size_t t) {
            for (size_t i = t; i < tasks; i += threads) head(i, t);
        });
    else
        for (size_t i = 0; i < tasks; i++) head(i, 0);
}

void Transformer::forward_batch(const int* tokens, size_t count, size_t pos, Logits logits) {
    const Config& c = model_.config;
    const Weights& w = model_.weights;
    const size_t dim = size_t(c.dim), hidden = size_t(c.hidden_dim), kv_dim = size_t(c.kv_dim());
    const size_t q_dim = size_t(c.q_dim()), head_size = size_t(c.head_size()), half = head_size / 2;
    const size_t positions = size_t(max_positions_), vocab = size_t(c.vocab_size);
    float* x = x_.data();
    for (size_t b = 0; b < count; b++) w.token_embedding.row_to_f32(size_t(tokens[b]), x + b * dim);

    for (size_t l = 0; l < w.layers.size(); l++) {
        const LayerWeights& lw = w.layers[l];
        each_position(pool_, threads_, count, [&](size_t b) {
            rmsnorm(xb_.data() + b * dim, x + b * dim, lw.rms_att, dim, c.norm_eps);
        });
        // Values go straight into an fp32 cache; into v_ on their way to a half one.
        float* values = kv_type_ == KvType::f16 ? v_.data()
                                                : value_cache_.data() + (l * positions + pos) * kv_dim;
        const Product qkv[] = {{q_.data(), q_dim, &lw.wq}, {k_.data(), kv_dim, &lw.wk},
                               {values, kv_dim, &lw.wv}};
        multiply(qkv, 3, xb_.data(), dim, count);

        const size_t layer_cache = l * kv_dim * positions;
        each_position(pool_, threads_, count, [&](size_t b) {
            // Rotate each (even, odd) pair of q, and of k where it exists (kv_dim <= q_dim).
            const float* cos_row = rope_cos_.data() + (pos + b) * half;
            const float* sin_row = rope_sin_.data() + (pos + b) * half;
            float* q = q_.data() + b * q_dim;
            float* k = k_.data() + b * kv_dim;
            for (size_t i = 0; i < q_dim; i += 2) {
                const float fcr = cos_row[(i % head_size) / 2], fci = sin_row[(i % head_size) / 2];
                for (float* vec : {q, k}) {
                    if (vec == k && i >= kv_dim) break;
                    const float v0 = vec[i], v1 = vec[i + 1];
                    vec[i] = v0 * fcr - v1 * fci;
                    vec[i + 1] = v0 * fci + v1 * fcr;
                }
            }
            if (kv_type_ == KvType::f16) {
                uint16_t* keys = key_cache16_.data() + layer_cache;
                uint16_t* k16 = k16_.data() + b * kv_dim;
                kernels_.to_f16(k16, k, kv_dim);
                for (size_t i = 0; i < kv_dim; i++) keys[i * positions + pos + b] = k16[i];
                kernels_.to_f16(value_cache16_.data() + layer_cache + (pos + b) * kv_dim,
                                v_.data() + b * kv_dim, kv_dim);
            } else {
                float* keys = key_cache_.data() + layer_cache;
                for (size_t i = 0; i < kv_dim; i++) keys[i * positions + pos + b] = k[i];
            }
        });

        attention(l, pos, count);
        const Product out[] = {{xb2_.data(), dim, &lw.wo}};
        multiply(out, 1, xb_.data(), q_dim, count);
        each_position(pool_, threads_, count, [&](size_t b) {
            float* xr = x + b * dim;
            for (size_t i = 0; i < dim; i++) xr[i] += xb2_[b * dim + i];
            rmsnorm(xb_.data() + b * dim, xr, lw.rms_ffn, dim, c.norm_eps);
        });
        const Product gate_up[] = {{hb_.data(), hidden, &lw.w1}, {hb2_.data(), hidden, &lw.w3}};
        multiply(gate_up, 2, xb_.data(), dim, count);
        each_position(pool_, threads_, count, [&](size_t b) {
            for (size_t i = b * hidden; i < (b + 1) * hidden; i++) {
                float val = hb_[i];
                val *= 1.0f / (1.0f + std::exp(-val));  // SiLU
                val *= hb2_[i];
                hb_[i] = val;
            }
        });
        const Product down[] = {{xb_.data(), dim, &w.layers[l].w2}};
        multiply(down, 1, hb_.data(), hidden, count);
        each_position(pool_, threads_, count, [&](size_t b) {
            for (size_t i = b * dim; i < (b + 1) * dim; i++) x[i] += xb_[i];
        });
    }

    if (logits == Logits::none) return;
    // The last position only, or all of them, each into its row of logits_.
    const size_t first = logits == Logits::last ? count - 1 : 0;
    for (size_t b = first; b < count; b++) rmsnorm(x + b * dim, x + b * dim, w.rms_final, dim, c.norm_eps);
    float* out = logits == Logits::last ? logits_.data() : logits_.data() + pos_offset_ * vocab;
    const Product classifier[] = {{out, vocab, &w.classifier}};
    multiply(classifier, 1, x + first * dim, dim, count - first);
}

float* Transformer::forward(const int* tokens, int count, int pos, Logits logits) {
    const Config& c = model_.config;
    if (count < 1) throw Error("a batch needs at least one token");
    for (int i = 0; i < count; i++)
        if (tokens[i] < 0 || tokens[i] >= c.vocab_size)
            throw Error("token " + std::to_string(tokens[i]) + " is outside the vocabulary (0.." +
                        std::to_string(c.vocab_size - 1) + ")");
    if (pos < 0 || pos >= max_positions_ || count > max_positions_ - pos)
        throw Error("position " + std::to_string(pos + count - 1) + " is beyond the context of " +
                    std::to_string(max_positions_) + " tokens");
    if (logits == Logits::all) logits_.resize(size_t(count) * size_t(c.vocab_size));
    for (int done = 0; done < count;) {
        const int n = std::min(max_batch_, count - done);
        const bool last_chunk = done + n == count;
        pos_offset_ = size_t(done);
        forward_batch(tokens + done, size_t(n), size_t(pos + done),
                      logits == Logits::all ? Logits::all : last_chunk ? logits : Logits::none);
        done += n;
    }
    return logits == Logits::none ? nullptr : logits_.data();
}

float* Transformer::forward(int token, int pos, bool want_logits) {
    return forward(&token, 1, pos, want_logits ? Logits::last : Logits::none);
}

}  // namespace llamaport
