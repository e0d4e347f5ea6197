#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <vector>

#include "chat_llamacpp_cases.hpp"
#include "llamaport/chat_template.hpp"
#include "test_support.hpp"

using namespace llamaport;
using llamaport::chat_test::llama_cpp_cases;

namespace {

// llama.cpp's standard conversation (tests/test-chat-template.cpp, commit c392e50).
const std::vector<ChatMessage> conversation = {
    {"system", "You are a helpful assistant"},
    {"user", "Hello"},
    {"assistant", "Hi there"},
    {"user", "Who are you"},
    {"assistant", "   I am an assistant   "},
    {"user", "Another question"},
};

// The template each of llama.cpp's cases should be recognised as; nullptr for the formats
// llamaport does not write, which must not be mistaken for one it does.
const char* expected_template(const std::string& case_name) {
    static const std::pair<const char*, const char*> known[] = {
        {"teknium/OpenHermes-2.5-Mistral-7B", "chatml"},
        {"mistralai/Mistral-7B-Instruct-v0.2 (NOTE: Old pre-v1 without a system prompt)", "llama2"},
        {"TheBloke/FusionNet_34Bx2_MoE-AWQ", "llama2-sys-bos"},
        {"bofenghuang/vigogne-2-70b-chat", "llama2-sys-strip"},
        {"Llama-3", "llama3"},
        {"Phi-3-mini", "phi3"},
        {"Phi-3-small", "phi3"},
        {"Phi-3-medium", "phi3"},
        {"Phi-3-vision", "phi3"},
        {"mistralai/Mistral-7B-Instruct-v0.2 (mistralai 'v1' template with a system prompt)", "mistral-v1"},
        {"Mistral-Large-Instruct-2407 (mistralai 'v3' template; modified to have system prompt at start)",
         "mistral-v3"},
        {"Mistral-Nemo-Instruct-2407 (mistralai 'v3-tekken' template; modified to have system prompt at start)",
         "mistral-v3-tekken"},
        {"mistralai/Mistral-Large-Instruct-2411 (mistralai 'v7' template)", "mistral-v7"},
    };
    for (const auto& k : known)
        if (case_name == k.first) return k.second;
    return nullptr;
}

}  // namespace

TEST_CASE("llama.cpp's chat-template cases: recognised, and formatted to its expected strings", "[chat]") {
    int supported = 0;
    for (const auto& c : llama_cpp_cases) {
        INFO(c.name);
        const char* expected = expected_template(c.name);
        const std::optional<ChatTemplate> t = ChatTemplate::detect(c.source);
        if (!expected) {
            CHECK_FALSE(t.has_value());
            continue;
        }
        supported++;
        REQUIRE(t.has_value());
        CHECK(std::string(t->name()) == expected);
        CHECK(t->format(conversation, true) == c.expected);
    }
    CHECK(supported == 13);
}

TEST_CASE("Llama 3.1 Instruct's template is recognised as Llama 3", "[chat][models]") {
    const std::string source = test::read_file(test::model_path("llama3/chat_template.jinja"));
    const std::optional<ChatTemplate> t = ChatTemplate::detect(source);
    REQUIRE(t.has_value());
    CHECK(t->kind() == ChatTemplate::Kind::llama3);
}

TEST_CASE("Zephyr's format, and its template recognised", "[chat]") {
    // llama.cpp's test file has no Zephyr case: the expected string is Zephyr's format written
    // out by hand (header <|role|>, content, <|endoftext|>), the source a minimal Zephyr template.
    const ChatTemplate zephyr = *ChatTemplate::from_name("zephyr");
    CHECK(zephyr.format(conversation, true) ==
          "<|system|>\nYou are a helpful assistant<|endoftext|>\n<|user|>\nHello<|endoftext|>\n"
          "<|assistant|>\nHi there<|endoftext|>\n<|user|>\nWho are you<|endoftext|>\n"
          "<|assistant|>\n   I am an assistant   <|endoftext|>\n<|user|>\nAnother question<|endoftext|>\n"
          "<|assistant|>\n");
    const char* source =
        "{% for message in messages %}{% if message['role'] == 'user' %}{{ '<|user|>\\n' + "
        "message['content'] + '<|endoftext|>\\n' }}{% else %}{{ '<|' + message['role'] + '|>\\n' + "
        "message['content'] + '<|endoftext|>\\n' }}{% endif %}{% endfor %}";
    REQUIRE(ChatTemplate::detect(source).has_value());
    CHECK(ChatTemplate::detect(source)->kind() == ChatTemplate::Kind::zephyr);
    CHECK_FALSE(ChatTemplate::detect("{{ 'plain text, no known markers' }}").has_value());
}

TEST_CASE("every template has a name that finds it", "[chat]") {
    const std::vector<std::string> names = ChatTemplate::names();
    for (const std::string& name : names) {
        const std::optional<ChatTemplate> t = ChatTemplate::from_name(name);
        REQUIRE(t.has_value());
        CHECK(t->name() == name);
        CHECK(ChatTemplate::detect(name)->kind() == t->kind());
    }
    CHECK(names.size() == 12);
    CHECK_FALSE(ChatTemplate::from_name("llama4").has_value());
    // llama.cpp takes a template text beginning with "mistral" for the [INST] family.
    CHECK(ChatTemplate::detect("mistral")->kind() == ChatTemplate::Kind::llama2);
}

TEST_CASE("one message at a time: llama.cpp's single-message cases", "[chat]") {
    // From the same file: a system message alone, then a user turn after a short history.
    const ChatMessage system{"system", "You are a helpful assistant"};
    const std::pair<const char*, const char*> system_alone[] = {
        {"chatml", "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n"},
        {"mistral-v1", " [INST] You are a helpful assistant\n\n"},
        {"mistral-v3", "[INST] You are a helpful assistant\n\n"},
        {"mistral-v3-tekken", "[INST]You are a helpful assistant\n\n"},
        {"mistral-v7", "[SYSTEM_PROMPT] You are a helpful assistant[/SYSTEM_PROMPT]"},
        {"llama2", "[INST] You are a helpful assistant\n"},
        {"llama2-sys", "[INST] <<SYS>>\nYou are a helpful assistant\n<</SYS>>\n\n"},
        {"mistral", "[INST] You are a helpful assistant\n"},
        {"llama3", "<|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant<|eot_id|>"},
    };
    for (const auto& c : system_alone) {
        INFO(c.first);
        CHECK(ChatTemplate::detect(c.first)->format_next({}, system, false) == c.second);
    }
    const std::vector<ChatMessage> history = {
        system, {"user", "Hello"}, {"assistant", "I am assistant"}};
    const ChatMessage next{"user", "How are you"};
    // llama.cpp's chatml case expects a "\n" more in front: its chat keeps the newline after
    // <|im_end|> out of the history it compares against and puts it back. Here the history's
    // formatting includes it, so nothing is doubled.
    const std::pair<const char*, const char*> user_after[] = {
        {"chatml", "<|im_start|>user\nHow are you<|im_end|>\n<|im_start|>assistant\n"},
        {"mistral-v1", " [INST] How are you [/INST]"},
        {"mistral-v3", "[INST] How are you[/INST]"},
        {"mistral-v3-tekken", "[INST]How are you[/INST]"},
        {"mistral-v7", "[INST] How are you[/INST]"},
        {"llama2", "[INST] How are you [/INST]"},
        {"mistral", "[INST] How are you [/INST]"},
        {"llama3", "<|start_header_id|>user<|end_header_id|>\n\nHow are you<|eot_id|>"
                   "<|start_header_id|>assistant<|end_header_id|>\n\n"},
    };
    for (const auto& c : user_after) {
        INFO(c.first);
        CHECK(ChatTemplate::detect(c.first)->format_next(history, next, true) == c.second);
    }
}

TEST_CASE("what follows an answer in the cache completes the conversation's formatting", "[chat]") {
    const std::vector<ChatMessage> before(conversation.begin(), conversation.begin() + 2);
    const std::vector<ChatMessage> after(conversation.begin(), conversation.begin() + 4);
    for (const std::string& name : ChatTemplate::names()) {
        const ChatTemplate t = *ChatTemplate::from_name(name);
        INFO(t.name());
        const std::string prompt = t.format(before, true);
        const std::string rest = t.continue_after_answer(before, conversation[3]);
        const std::string whole = t.format(after, true);
        // whole = prompt, the answer as the template writes it (maybe with a space before), rest.
        REQUIRE(whole.size() >= prompt.size() + rest.size());
        CHECK(whole.compare(0, prompt.size(), prompt) == 0);
        CHECK(whole.compare(whole.size() - rest.size(), rest.size(), rest) == 0);
        const std::string answer = whole.substr(prompt.size(), whole.size() - prompt.size() - rest.size());
        CHECK((answer == "Hi there" || answer == " Hi there"));
        CHECK(rest.find("Who are you") != std::string::npos);
    }
}
