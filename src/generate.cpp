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

    GenerationStats stats;
    Timer timer{stats};
    Clock::time_point first_token_time;
    int token = prompt_tokens[0];
    int pos = 0;
    while (pos < steps) {
        const Clock::time_point start = Clock::now();
        const bool forced = pos < n_prompt - 1;
        float* logits = transformer.forward(token, pos, !forced);
        const int next = forced ? prompt_tokens[size_t(pos) + 1] : sampler.sample(logits);
        timer.add(pos < n_prompt, start);
        pos++;
        if (next == tokenizer.bos_id()) break;  // the model starts a new story: stop
        const bool go_on = on_token(next, tokenizer.decode(token, next));
        token = next;
        if (pos == 1) first_token_time = Clock::now();
        if (!go_on) break;
    }
    if (pos > 1) {
        const double elapsed = seconds_since(first_token_time);
        stats.achieved_tokens_per_second = elapsed > 0 ? (pos - 1) / elapsed : 0;
    }
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
        if (user_index >= prompt_tokens.size() && next != tokenizer.eos_id())
            if (!io.on_token(next, tokenizer.decode(token, next))) break;
        if (next == tokenizer.eos_id()) io.on_answer_end();
    }
    return stats;
}

}  // namespace llamaport
