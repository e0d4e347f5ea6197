#include "llamaport/generate.hpp"

#include <chrono>
#include <vector>

#include "llamaport/error.hpp"

namespace llamaport {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

void check_steps(const Transformer& transformer, int steps) {
    if (steps < 1 || steps > transformer.max_positions())
        throw Error("steps must be in 1.." + std::to_string(transformer.max_positions()) +
                    ", got " + std::to_string(steps));
}

void check_prompt_fits(const Transformer& transformer, size_t prompt_tokens) {
    const int context = transformer.model().config.seq_len;
    if (prompt_tokens > size_t(context))
        throw Error("prompt is " + std::to_string(prompt_tokens) +
                    " tokens, longer than the model's context of " + std::to_string(context));
}

// Times each forward pass into the prompt or generation account.
struct Timer {
    GenerationStats& stats;
    void add(bool prompt_token, Clock::time_point start) {
        const double s = seconds_since(start);
        if (prompt_token) {
            stats.prompt_tokens++;
            stats.prompt_seconds += s;
        } else {
            stats.generated_tokens++;
            stats.generation_seconds += s;
        }
    }
};

}  // namespace

GenerationStats generate(Transformer& transformer, const Tokenizer& tokenizer, Sampler& sampler,
                         std::string_view prompt, int steps, const TokenCallback& on_token) {
    check_steps(transformer, steps);
    const std::vector<int> prompt_tokens = tokenizer.encode(prompt, true, false);
    check_prompt_fits(transformer, prompt_tokens.size());
    const int n_prompt = int(prompt_tokens.size());

    // The prompt in batches (as far as the steps go), then one token at a time. Each prompt
    // token after the first is reported as run.c reports it, as if it had been sampled.
    GenerationStats stats;
    const int fed = std::min(n_prompt, steps);
    Clock::time_point start = Clock::now();
    float* logits = transformer.forward(prompt_tokens.data(), fed, 0,
                                        fed == n_prompt ? Transformer::Logits::last
                                                        : Transformer::Logits::none);
    stats.prompt_tokens = fed;
    stats.prompt_seconds = seconds_since(start);
    const Clock::time_point prompt_end = Clock::now();
    for (int pos = 1; pos < fed || (pos == fed && fed < n_prompt); pos++)
        if (!on_token(prompt_tokens[size_t(pos)],
                      tokenizer.decode(prompt_tokens[size_t(pos) - 1], prompt_tokens[size_t(pos)])))
            return stats;
    if (fed < n_prompt) return stats;

    int token = prompt_tokens.back();
    for (int pos = fed; pos <= steps;) {
        const int next = sampler.sample(logits);
        if (next == tokenizer.bos_id()) break;  // the model starts a new story: stop
        if (!on_token(next, tokenizer.decode(token, next))) break;
        token = next;
        if (pos == steps) break;
        start = Clock::now();
        logits = transformer.forward(token, pos);
        stats.generated_tokens++;
        stats.generation_seconds += seconds_since(start);
        pos++;
    }
    // run.c's figure counts every token after the first over the time since the first came out;
    // with the prompt in one batch, that is the generated tokens over the time after the prompt.
    const double elapsed = seconds_since(prompt_end);
    if (stats.generated_tokens > 0 && elapsed > 0)
        stats.achieved_tokens_per_second = stats.generated_tokens / elapsed;
    return stats;
}

GenerationStats chat(Transformer& transformer, const Tokenizer& tokenizer, Sampler& sampler,
                     const std::string* user_prompt, const std::string* system_prompt, int steps,
                     const ChatCallbacks& io) {
    check_steps(transformer, steps);
    GenerationStats stats;
    Timer timer{stats};
    std::string system, user;
    std::vector<int> prompt_tokens;
    size_t user_index = 0;
    bool user_turn = true;
    int next = 0;
    int pos = 0;
    while (pos < steps) {
        if (user_turn) {
            if (pos == 0) {
                if (system_prompt)
                    system = *system_prompt;
                else if (!io.read_line("Enter system prompt (optional): ", system))
                    break;
            }
            if (pos == 0 && user_prompt)
                user = *user_prompt;
            else if (!io.read_line("User: ", user))
                break;
            const std::string rendered =
                pos == 0 && !system.empty()
                    ? "[INST] <<SYS>>\n" + system + "\n<</SYS>>\n\n" + user + " [/INST]"
                    : "[INST] " + user + " [/INST]";
            prompt_tokens = tokenizer.encode(rendered, true, false);
            check_prompt_fits(transformer, prompt_tokens.size());
            user_index = 0;
            user_turn = false;
            io.on_assistant_turn();
        }
        const bool from_prompt = user_index < prompt_tokens.size();
        const int token = from_prompt ? prompt_tokens[user_index++] : next;
        if (token == tokenizer.eos_id()) user_turn = true;
        const Clock::time_point start = Clock::now();
        float* logits = transformer.forward(token, pos);
        next = sampler.sample(logits);
        timer.add(from_prompt, start);
        pos++;
        bool answer_ends = next == tokenizer.eos_id();
        if (user_index >= prompt_tokens.size() && !answer_ends &&
            !io.on_token(next, tokenizer.decode(token, next))) {
            answer_ends = true;
            user_turn = true;  // cut short: the next turn follows without the end-of-turn token
        }
        if (answer_ends) io.on_answer_end();
    }
    return stats;
}

}  // namespace llamaport
