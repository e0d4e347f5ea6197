// Chat templates without a Jinja engine: the conversation formats of the common instruction-tuned
// Llama-family models, written out by hand, and recognised from a model's
// tokenizer.chat_template text by the strings that set each apart. The formats are llama.cpp's
// (its built-in templates), so a prompt formatted here is the prompt llama.cpp would feed.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llamaport {

struct ChatMessage {
    std::string role;  // "system", "user" or "assistant"
    std::string content;
};

class ChatTemplate {
public:
    enum class Kind {
        chatml,
        llama2,            // [INST] … [/INST]; a system message joins the first turn as text
        llama2_sys,        // … with <<SYS>> around the system message
        llama2_sys_bos,    // … and "<s>" before every turn after the first
        llama2_sys_strip,  // … <<SYS>>, contents stripped of surrounding whitespace
        mistral_v1,
        mistral_v3,
        mistral_v3_tekken,
        mistral_v7,
        phi3,
        zephyr,
        llama3,
    };

    explicit ChatTemplate(Kind kind) : kind_(kind) {}

    // The template of this name (llama.cpp's names: "chatml", "llama3", "mistral-v7", …), or none.
    static std::optional<ChatTemplate> from_name(std::string_view name);
    // The template a tokenizer.chat_template text (Jinja source) or a name stands for, or none
    // when it is neither known nor recognised.
    static std::optional<ChatTemplate> detect(std::string_view source);
    // Every name from_name knows.
    static std::vector<std::string> names();

    Kind kind() const { return kind_; }
    const char* name() const;

    // The conversation as the model reads it, ending with the assistant's header when
    // add_generation_prompt (the templates of the Llama-2 family have none: "[/INST]" is it).
    // Begin-of-sequence is not included: the tokenizer adds it.
    std::string format(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const;

    // What appending `message` adds to format(history, false): format(history + message,
    // add_generation_prompt) without that prefix (llama.cpp's format for one message).
    std::string format_next(const std::vector<ChatMessage>& history, const ChatMessage& message,
                            bool add_generation_prompt) const;

    // For a chat that keeps its KV cache: the model has answered format(before_answer, true)
    // and its answer is in the cache as it wrote it. Returns what follows the answer: the
    // template's end of it, then `user` and the generation prompt.
    std::string continue_after_answer(const std::vector<ChatMessage>& before_answer,
                                      const ChatMessage& user) const;

private:
    Kind kind_;
};

}  // namespace llamaport
