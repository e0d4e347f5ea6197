// The generation loops: run.c's plain completion, and chat through a template with the KV cache
// kept across turns. They report every token through callbacks and never print: what to do with
// the text is the caller's business.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "llamaport/chat_template.hpp"
#include "llamaport/sampler.hpp"
#include "llamaport/tokenizer.hpp"
#include "llamaport/transformer.hpp"

namespace llamaport {

// Called with each token after the first (BOS) and its decoded text. Return false to stop.
using TokenCallback = std::function<bool(int token, std::string_view piece)>;

struct GenerationStats {
    int prompt_tokens = 0;     // tokens fed from the prompt (BOS included)
    int generated_tokens = 0;  // tokens fed that the model chose
    double prompt_seconds = 0, generation_seconds = 0;
    // run.c's figure: tokens after the first, over the time since the first token came out.
    double achieved_tokens_per_second = 0;
};

// Encodes the prompt (with BOS), feeds it, then samples until `steps` positions are used or
// BOS is sampled. steps must be in 1..transformer.max_positions(); a prompt with more tokens
// than the model's context is an Error.
GenerationStats generate(Transformer& transformer, const Tokenizer& tokenizer, Sampler& sampler,
                         std::string_view prompt, int steps, const TokenCallback& on_token);

// Text to tokens for a chat: the markers of its template ("</s>", "<|eot_id|>") become their
// special tokens, the rest is encoded as ordinary text; BOS in front when asked.
using ChatEncoder = std::function<std::vector<int>(const std::string& text, bool bos)>;

// The tokenizer's own encoding with special tokens parsed (as llama.cpp tokenizes a chat). A
// llama2.c vocabulary has no special tokens of its own: there "<s>" and "</s>" stand for BOS and
// EOS, every piece spelled "<|...|>" for itself, and each stretch of text between them is
// encoded with run.c's rules (dummy space in front included, as llama.cpp does after a special
// token). Keeps a reference to the tokenizer.
ChatEncoder special_token_encoder(const Tokenizer& tokenizer);
// The tokens that end an answer: the tokenizer's end-of-turn ids (EOS, EOT, …); for a llama2.c
// vocabulary EOS and the pieces of the common templates' end markers (<|eot_id|>, <|im_end|>,
// <|end|>, <|endoftext|>, <|end_of_text|>) it has.
std::vector<int> default_end_of_turn(const Tokenizer& tokenizer);

// A conversation with a model that keeps its KV cache across turns: each turn feeds only its
// own tokens (in one batch), after the answers already in the cache.
class ChatSession {
public:
    struct Settings {
        ChatTemplate chat_template{ChatTemplate::Kind::llama2_sys_bos};
        std::vector<int> end_of_turn;  // sampling any of these ends the answer (not fed)
        int max_answer_tokens = 0;     // per turn; 0: as many as the context holds
    };
    // The context is transformer.max_positions(). Keeps references to all but the settings.
    ChatSession(Transformer& transformer, const Tokenizer& tokenizer, Sampler& sampler,
                ChatEncoder encode, Settings settings);

    // A system message for the conversation; only before the first turn.
    void set_system_prompt(const std::string& system);

    enum class End {
        end_of_turn,   // the model sampled an end-of-turn token
        token_limit,   // max_answer_tokens reached
        context_full,  // no room for the turn, or the answer's last token filled the cache
                       // (that token is reported and in `answer` but not fed)
        stopped,       // on_token returned false
    };
    struct Turn {
        End end;
        int prompt_tokens = 0;  // fed for the user's turn (0 when it did not fit)
        std::vector<int> answer;
        std::string answer_text;
    };
    // Feeds the user's turn, calls on_answer_start (if given) and samples the answer, reporting
    // each of its tokens. A turn that cannot fit even an empty context is an Error; one that
    // does not fit what is left ends with context_full and changes nothing.
    Turn reply(const std::string& user, const TokenCallback& on_token,
               const std::function<void()>& on_answer_start = nullptr);

    int position() const { return int(fed_.size()); }
    const std::vector<int>& fed_tokens() const { return fed_; }  // the cache's tokens, in order
    const std::vector<ChatMessage>& messages() const { return messages_; }
    const GenerationStats& stats() const { return stats_; }

private:
    Transformer& transformer_;
    const Tokenizer& tokenizer_;
    Sampler& sampler_;
    ChatEncoder encode_;
    Settings settings_;
    std::vector<ChatMessage> messages_;
    std::vector<int> fed_;
    GenerationStats stats_;
};

struct ChatCallbacks {
    // Asks for a line of input (label: "Enter system prompt (optional): " or "User: ").
    // Return false at end of input, which ends the chat.
    std::function<bool(const char* label, std::string& line)> read_line;
    std::function<void()> on_assistant_turn;  // the model starts answering
    TokenCallback on_token;                   // a piece of the answer; false ends the answer
    std::function<void()> on_answer_end;      // the answer is over, however it ended
    // The conversation has filled the context (`positions` tokens): the chat ends.
    std::function<void(int positions)> on_context_full;
};

// Turns until read_line reports the end of input or the context is full. An answer cut short
// by on_token is closed as the template closes any answer, and the next turn follows.
// A null user_prompt (first turn) or system_prompt means "ask through read_line"; an empty
// system prompt means none.
GenerationStats chat(Transformer& transformer, const Tokenizer& tokenizer, Sampler& sampler,
                     const std::string* user_prompt, const std::string* system_prompt,
                     const ChatEncoder& encode, const ChatSession::Settings& settings,
                     const ChatCallbacks& io);

}  // namespace llamaport
