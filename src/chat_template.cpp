#include "llamaport/chat_template.hpp"

namespace llamaport {
namespace {

using Kind = ChatTemplate::Kind;

struct NamedKind {
    const char* name;
    Kind kind;
};

const NamedKind kinds[] = {
    {"chatml", Kind::chatml},
    {"llama2", Kind::llama2},
    {"llama2-sys", Kind::llama2_sys},
    {"llama2-sys-bos", Kind::llama2_sys_bos},
    {"llama2-sys-strip", Kind::llama2_sys_strip},
    {"mistral-v1", Kind::mistral_v1},
    {"mistral-v3", Kind::mistral_v3},
    {"mistral-v3-tekken", Kind::mistral_v3_tekken},
    {"mistral-v7", Kind::mistral_v7},
    {"phi3", Kind::phi3},
    {"zephyr", Kind::zephyr},
    {"llama3", Kind::llama3},
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

std::string trim(const std::string& s) {
    size_t begin = 0, end = s.size();
    while (begin < end && is_space(s[begin])) begin++;
    while (end > begin && is_space(s[end - 1])) end--;
    return s.substr(begin, end - begin);
}

// The [INST] family of Llama 2 and the first Mistral models.
std::string format_llama2(Kind kind, const std::vector<ChatMessage>& messages) {
    const bool system_block = kind != Kind::llama2;
    const bool strip = kind == Kind::llama2_sys_strip;
    std::string out = "[INST] ";
    bool in_turn = true;
    for (const ChatMessage& m : messages) {
        const std::string content = strip ? trim(m.content) : m.content;
        if (!in_turn) {
            out += kind == Kind::llama2_sys_bos ? "<s>[INST] " : "[INST] ";
            in_turn = true;
        }
        if (m.role == "system") {
            // Without <<SYS>>, the system message still leads the first turn, as plain text.
            out += system_block ? "<<SYS>>\n" + content + "\n<</SYS>>\n\n" : content + "\n";
        } else if (m.role == "user") {
            out += content + " [/INST]";
        } else {
            out += content + "</s>";
            in_turn = false;
        }
    }
    return out;
}

// Mistral's v1, v3 and v3-tekken differ in the spaces around [INST] and the answer.
std::string format_mistral(Kind kind, const std::vector<ChatMessage>& messages) {
    const std::string before_inst = kind == Kind::mistral_v1 ? " " : "";
    const std::string after_inst = kind == Kind::mistral_v3_tekken ? "" : " ";
    std::string out;
    bool in_turn = false;
    for (const ChatMessage& m : messages) {
        if (!in_turn) {
            out += before_inst + "[INST]" + after_inst;
            in_turn = true;
        }
        if (m.role == "system") {
            out += m.content + "\n\n";
        } else if (m.role == "user") {
            out += m.content + before_inst + "[/INST]";
        } else {
            out += after_inst + (kind == Kind::mistral_v3 ? trim(m.content) : m.content) + "</s>";
            in_turn = false;
        }
    }
    return out;
}

// Templates where every message is a header, the content and an end marker.
std::string format_headed(Kind kind, const std::vector<ChatMessage>& messages,
                          bool add_generation_prompt) {
    std::string out;
    for (const ChatMessage& m : messages) {
        switch (kind) {
        case Kind::chatml: out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n"; break;
        case Kind::phi3: out += "<|" + m.role + "|>\n" + m.content + "<|end|>\n"; break;
        case Kind::zephyr: out += "<|" + m.role + "|>\n" + m.content + "<|endoftext|>\n"; break;
        case Kind::llama3:
            out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n" + trim(m.content) + "<|eot_id|>";
            break;
        case Kind::mistral_v7:
            if (m.role == "system")
                out += "[SYSTEM_PROMPT] " + m.content + "[/SYSTEM_PROMPT]";
            else if (m.role == "user")
                out += "[INST] " + m.content + "[/INST]";
            else
                out += " " + m.content + "</s>";
            break;
        default: break;
        }
    }
    if (add_generation_prompt) {
        switch (kind) {
        case Kind::chatml: out += "<|im_start|>assistant\n"; break;
        case Kind::phi3:
        case Kind::zephyr: out += "<|assistant|>\n"; break;
        case Kind::llama3: out += "<|start_header_id|>assistant<|end_header_id|>\n\n"; break;
        default: break;  // mistral-v7: "[/INST]" is the prompt
        }
    }
    return out;
}

}  // namespace

std::optional<ChatTemplate> ChatTemplate::from_name(std::string_view name) {
    for (const NamedKind& k : kinds)
        if (name == k.name) return ChatTemplate(k.kind);
    return std::nullopt;
}

std::optional<ChatTemplate> ChatTemplate::detect(std::string_view source) {
    if (auto named = from_name(source)) return named;
    const auto has = [&](const char* cue) { return source.find(cue) != std::string_view::npos; };
    const auto found = [](Kind kind) { return std::optional<ChatTemplate>(ChatTemplate(kind)); };
    if (has("<|im_start|>")) {
        if (has("<|im_sep|>")) return std::nullopt;  // Phi-4's variant of ChatML
        return found(Kind::chatml);
    }
    if (source.substr(0, 7) == "mistral" || has("[INST]")) {
        if (has("[SYSTEM_PROMPT]")) return found(Kind::mistral_v7);
        // Mistral's own v1 and v3 templates: v1 spells the system turn out, v3 knows tools.
        if (has("' [INST] ' + system_message") || has("[AVAILABLE_TOOLS]")) {
            if (has(" [INST]")) return found(Kind::mistral_v1);
            if (has("\"[INST]\"")) return found(Kind::mistral_v3_tekken);
            return found(Kind::mistral_v3);
        }
        if (has("content.strip()")) return found(Kind::llama2_sys_strip);
        if (has("bos_token + '[INST]")) return found(Kind::llama2_sys_bos);
        if (has("<<SYS>>")) return found(Kind::llama2_sys);
        return found(Kind::llama2);
    }
    if (has("<|assistant|>") && has("<|end|>")) return found(Kind::phi3);
    // <|user|> and <|assistant|> without <|end|>: Falcon 3 or GLM-Edge, neither of them Zephyr.
    if (has("<|assistant|>") && has("<|user|>")) return std::nullopt;
    if (has("<|user|>") && has("<|endoftext|>")) return found(Kind::zephyr);
    if (has("<|start_header_id|>") && has("<|end_header_id|>")) return found(Kind::llama3);
    return std::nullopt;
}

std::vector<std::string> ChatTemplate::names() {
    std::vector<std::string> out;
    for (const NamedKind& k : kinds) out.emplace_back(k.name);
    return out;
}

const char* ChatTemplate::name() const {
    for (const NamedKind& k : kinds)
        if (k.kind == kind_) return k.name;
    return "?";
}

std::string ChatTemplate::format(const std::vector<ChatMessage>& messages,
                                 bool add_generation_prompt) const {
    switch (kind_) {
    case Kind::llama2:
    case Kind::llama2_sys:
    case Kind::llama2_sys_bos:
    case Kind::llama2_sys_strip: return format_llama2(kind_, messages);
    case Kind::mistral_v1:
    case Kind::mistral_v3:
    case Kind::mistral_v3_tekken: return format_mistral(kind_, messages);
    default: return format_headed(kind_, messages, add_generation_prompt);
    }
}

std::string ChatTemplate::format_next(const std::vector<ChatMessage>& history,
                                      const ChatMessage& message, bool add_generation_prompt) const {
    std::vector<ChatMessage> extended = history;
    extended.push_back(message);
    // Every template writes messages one after another, so the history is a prefix. An empty
    // history contributes nothing, not even the opening "[INST] " of the Llama-2 family.
    const size_t prefix = history.empty() ? 0 : format(history, false).size();
    return format(extended, add_generation_prompt).substr(prefix);
}

std::string ChatTemplate::continue_after_answer(const std::vector<ChatMessage>& before_answer,
                                                const ChatMessage& user) const {
    // Two renderings that differ only in the answer's (one-character) text agree on all that
    // follows it; whatever the template does to the answer (strip it, lead it with a space)
    // stays before that.
    std::vector<ChatMessage> a = before_answer;
    a.push_back({"assistant", "a"});
    a.push_back(user);
    std::vector<ChatMessage> b = a;
    b[b.size() - 2].content = "b";
    const std::string x = format(a, true), y = format(b, true);
    size_t common = 0;
    while (common < x.size() && common < y.size() &&
           x[x.size() - 1 - common] == y[y.size() - 1 - common])
        common++;
    return x.substr(x.size() - common);
}

}  // namespace llamaport
