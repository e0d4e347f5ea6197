#include "llamaport/generate.hpp"

#include <algorithm>
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
        // The model starts a new story (BOS, as run.c stops) or ends its turn: stop.
        if (next == tokenizer.bos_id() || tokenizer.ends_turn(next)) break;
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

ChatEncoder special_token_encoder(const Tokenizer& tokenizer) {
    if (tokenizer.kind() != Tokenizer::Kind::llama2c)
        return [&tokenizer](const std::string& text, bool bos) {
            return tokenizer.encode(text, bos, false, true);
        };
    std::vector<std::pair<std::string, int>> specials = {{"<s>", tokenizer.bos_id()},
                                                         {"</s>", tokenizer.eos_id()}};
    const std::vector<std::string>& pieces = tokenizer.pieces();
    for (size_t id = 0; id < pieces.size(); id++) {
        const std::string& p = pieces[id];
        if (p.size() > 4 && p.compare(0, 2, "<|") == 0 && p.compare(p.size() - 2, 2, "|>") == 0)
            specials.emplace_back(p, int(id));
    }
    return [&tokenizer, specials](const std::string& text, bool bos) {
        std::vector<int> tokens;
        if (bos) tokens.push_back(tokenizer.bos_id());
        size_t done = 0;
        while (done < text.size()) {
            // The earliest marker; the longest of those starting there.
            size_t at = text.size(), length = 0;
            int id = -1;
            for (const auto& [marker, marker_id] : specials) {
                const size_t found = text.find(marker, done);
                if (found < at || (found == at && found != text.size() && marker.size() > length)) {
                    at = found;
                    length = marker.size();
                    id = marker_id;
                }
            }
            const std::vector<int> plain = tokenizer.encode(std::string_view(text).substr(done, at - done), false, false);
            tokens.insert(tokens.end(), plain.begin(), plain.end());
            if (id < 0) break;
            tokens.push_back(id);
            done = at + length;
        }
        return tokens;
    };
}

std::vector<int> default_end_of_turn(const Tokenizer& tokenizer) {
    if (tokenizer.kind() != Tokenizer::Kind::llama2c) return tokenizer.end_of_turn_ids();
    std::vector<int> ids = {tokenizer.eos_id()};
    for (const char* marker : {"<|eot_id|>", "<|im_end|>", "<|end|>", "<|endoftext|>", "<|end_of_text|>"}) {
        const auto& pieces = tokenizer.pieces();
        const auto it = std::find(pieces.begin(), pieces.end(), marker);
        if (it != pieces.end()) ids.push_back(int(it - pieces.begin()));
    }
    return ids;
}

ChatSession::ChatSession(Transformer& transformer, const Tokenizer& tokenizer, Sampler& sampler,
                         ChatEncoder encode, Settings settings)
    : transformer_(transformer), tokenizer_(tokenizer), sampler_(sampler),
      encode_(std::move(encode)), settings_(std::move(settings)) {}

void ChatSession::set_system_prompt(const std::string& system) {
    if (!messages_.empty()) throw Error("the system prompt comes before the first turn");
    messages_.push_back({"system", system});
}

ChatSession::Turn ChatSession::reply(const std::string& user, const TokenCallback& on_token,
                                     const std::function<void()>& on_answer_start) {
    const ChatMessage message{"user", user};
    const bool first = fed_.empty();
    // Later turns start where the answer in the cache stopped: the template's end of it first.
    std::string text;
    if (first) {
        std::vector<ChatMessage> opening = messages_;
        opening.push_back(message);
        text = settings_.chat_template.format(opening, true);
    } else {
        const std::vector<ChatMessage> before_answer(messages_.begin(), messages_.end() - 1);
        text = settings_.chat_template.continue_after_answer(before_answer, message);
    }
    const std::vector<int> prompt = encode_(text, first);
    const int context = transformer_.max_positions();
    Turn turn;
    if (prompt.size() > size_t(context))
        throw Error("turn is " + std::to_string(prompt.size()) +
                    " tokens, longer than the model's context of " + std::to_string(context));
    if (prompt.size() > size_t(context - position())) {
        turn.end = End::context_full;
        return turn;
    }
    if (prompt.empty()) throw Error("the chat template made an empty turn");

    Clock::time_point start = Clock::now();
    float* logits = transformer_.forward(prompt.data(), int(prompt.size()), position(),
                                         Transformer::Logits::last);
    fed_.insert(fed_.end(), prompt.begin(), prompt.end());
    turn.prompt_tokens = int(prompt.size());
    stats_.prompt_tokens += turn.prompt_tokens;
    stats_.prompt_seconds += seconds_since(start);
    messages_.push_back(message);
    if (on_answer_start) on_answer_start();

    const auto& stops = settings_.end_of_turn;
    int prev = fed_.back();
    while (true) {
        if (settings_.max_answer_tokens > 0 && int(turn.answer.size()) == settings_.max_answer_tokens) {
            turn.end = End::token_limit;
            break;
        }
        const int next = sampler_.sample(logits);
        if (std::find(stops.begin(), stops.end(), next) != stops.end()) {
            turn.end = End::end_of_turn;
            break;
        }
        const std::string_view piece = tokenizer_.decode(prev, next);
        turn.answer_text += piece;
        turn.answer.push_back(next);
        const bool go_on = on_token(next, piece);
        // The last token shows (as run.c shows it) but has no place in the cache.
        if (position() == context) {
            turn.end = End::context_full;
            break;
        }
        start = Clock::now();
        logits = transformer_.forward(next, position());
        stats_.generated_tokens++;
        stats_.generation_seconds += seconds_since(start);
        fed_.push_back(next);
        prev = next;
        if (!go_on) {
            turn.end = End::stopped;
            break;
        }
    }
    messages_.push_back({"assistant", turn.answer_text});
    return turn;
}

GenerationStats chat(Transformer& transformer, const Tokenizer& tokenizer, Sampler& sampler,
                     const std::string* user_prompt, const std::string* system_prompt,
                     const ChatEncoder& encode, const ChatSession::Settings& settings,
                     const ChatCallbacks& io) {
    ChatSession session(transformer, tokenizer, sampler, encode, settings);
    std::string system, user;
    if (system_prompt)
        system = *system_prompt;
    else if (!io.read_line("Enter system prompt (optional): ", system))
        return session.stats();
    if (!system.empty()) session.set_system_prompt(system);
    for (bool first = true;; first = false) {
        if (first && user_prompt)
            user = *user_prompt;
        else if (!io.read_line("User: ", user))
            break;
        const ChatSession::Turn turn = session.reply(user, io.on_token, io.on_assistant_turn);
        if (turn.prompt_tokens > 0) io.on_answer_end();
        if (turn.end == ChatSession::End::context_full) {
            io.on_context_full(session.position());
            break;
        }
    }
    return session.stats();
}

}  // namespace llamaport
