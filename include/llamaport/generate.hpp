// The generation loops of run.c (plain completion and Llama-2 chat). They report every token
// through callbacks and never print: what to do with the text is the caller's business.
#pragma once

#include <functional>
#include <string>
#include <string_view>

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

struct ChatCallbacks {
    // Asks for a line of input (label: "Enter system prompt (optional): " or "User: ").
    // Return false at end of input, which ends the chat.
    std::function<bool(const char* label, std::string& line)> read_line;
    std::function<void()> on_assistant_turn;  // the model starts answering
    TokenCallback on_token;                   // a piece of the answer; false ends the answer
    std::function<void()> on_answer_end;      // the model said EOS, or on_token ended the answer
};

// run.c's chat(): Llama-2 [INST] / <<SYS>> templates, turns until `steps` positions are used.
// A null user_prompt (first turn) or system_prompt means "ask through read_line".
GenerationStats chat(Transformer& transformer, const Tokenizer& tokenizer, Sampler& sampler,
                     const std::string* user_prompt, const std::string* system_prompt, int steps,
                     const ChatCallbacks& io);

}  // namespace llamaport
