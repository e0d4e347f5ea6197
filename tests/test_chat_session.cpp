#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

#include "llamaport/generate.hpp"
#include "llamaport/gguf.hpp"
#include "llamaport/kernels.hpp"
#include "llamaport/random_model.hpp"
#include "test_support.hpp"

using namespace llamaport;

namespace {

// A vocabulary of single bytes and the templates' markers as special tokens. With no merges,
// text encodes to one token per byte however it is cut, so an answer's tokens and its text
// encode back to the same tokens: the whole conversation, formatted and encoded, must be
// exactly the tokens a chat fed turn by turn.
const char* const markers[] = {"<|im_start|>", "<|im_end|>", "<|system|>", "<|user|>",
                               "<|assistant|>", "<|end|>", "<|endoftext|>"};

Tokenizer marker_tokenizer() {
    std::vector<std::string> pieces = {"<|pad|>", "<s>", "</s>"};
    for (int b = 0; b < 256; b++) {
        char piece[8];
        std::snprintf(piece, sizeof piece, "<0x%02X>", b);
        pieces.emplace_back(piece);
    }
    for (const char* m : markers) pieces.emplace_back(m);
    return Tokenizer(pieces, std::vector<float>(pieces.size(), 0.0f));
}

int id_of(const Tokenizer& t, const std::string& piece) {
    const auto& p = t.pieces();
    return int(std::find(p.begin(), p.end(), piece) - p.begin());
}

struct ChatRig {
    Tokenizer tokenizer = marker_tokenizer();
    std::unique_ptr<Model> model;
    explicit ChatRig(unsigned seed) {
        Config c = test::tiny_config();
        c.vocab_size = tokenizer.vocab_size();
        c.seq_len = 256;
        model = make_random_model(c, seed);
    }
    Transformer transformer(int positions) { return Transformer(*model, scalar_kernels(), nullptr, positions); }
};

const TokenCallback ignore_tokens = [](int, std::string_view) { return true; };

ChatSession::Settings settings_for(const char* name, std::vector<int> stops, int max_answer) {
    ChatSession::Settings s;
    s.chat_template = *ChatTemplate::from_name(name);
    s.end_of_turn = std::move(stops);
    s.max_answer_tokens = max_answer;
    return s;
}

// Greedy answer from logits already computed for position pos, as the session samples it.
std::vector<int> greedy_answer(Transformer& t, float* logits, int pos, const std::vector<int>& stops,
                               int max_tokens) {
    Sampler greedy(t.model().config.vocab_size, 0.0f, 0.9f, 1);
    std::vector<int> answer;
    while (int(answer.size()) < max_tokens) {
        const int next = greedy.sample(logits);
        if (std::find(stops.begin(), stops.end(), next) != stops.end()) break;
        answer.push_back(next);
        logits = t.forward(next, pos++);
    }
    return answer;
}

}  // namespace

TEST_CASE("a second turn fed after the cached first gives what the whole conversation fed at once gives",
          "[chat]") {
    ChatRig rig(7);
    const ChatEncoder encode = special_token_encoder(rig.tokenizer);
    // Templates that leave the answer's text as it is (Llama 3 trims it, Mistral puts a space
    // before it: there the cache holds what the model wrote, not what a re-formatting would).
    const std::pair<const char*, const char*> cases[] = {
        {"chatml", "<|im_end|>"}, {"llama2-sys-bos", "</s>"}, {"phi3", "<|end|>"}, {"zephyr", "<|endoftext|>"}};
    for (const auto& [name, end_marker] : cases) {
        INFO(name);
        const std::vector<int> stops = {id_of(rig.tokenizer, end_marker)};
        Transformer t = rig.transformer(256);
        Sampler greedy(rig.tokenizer.vocab_size(), 0.0f, 0.9f, 1);
        ChatSession session(t, rig.tokenizer, greedy, encode, settings_for(name, stops, 12));
        session.set_system_prompt("Be brief.");
        const ChatSession::Turn first = session.reply("Hello there", ignore_tokens);
        const ChatSession::Turn second = session.reply("And then?", ignore_tokens);
        REQUIRE(!second.answer.empty());

        std::vector<ChatMessage> conversation = session.messages();
        conversation.pop_back();  // the second answer: what the model must write again
        const std::vector<int> whole =
            encode(ChatTemplate::from_name(name)->format(conversation, true), true);
        // Only the new turn was fed the second time, and the cache holds the whole conversation.
        CHECK(second.prompt_tokens ==
              int(whole.size()) - first.prompt_tokens - int(first.answer.size()));
        const std::vector<int>& fed = session.fed_tokens();
        REQUIRE(fed.size() == whole.size() + second.answer.size());
        CHECK(std::vector<int>(fed.begin(), fed.begin() + std::ptrdiff_t(whole.size())) == whole);

        Transformer fresh = rig.transformer(256);
        float* logits = fresh.forward(whole.data(), int(whole.size()), 0, Transformer::Logits::last);
        CHECK(greedy_answer(fresh, logits, int(whole.size()), stops, 12) == second.answer);
    }
}

TEST_CASE("an answer ends at any of the end-of-turn tokens, which are not fed", "[chat]") {
    ChatRig rig(11);
    const ChatEncoder encode = special_token_encoder(rig.tokenizer);
    // Sampled (a random model's greedy answer repeats one token), from the same seed each time:
    // every answer is the free one up to where it stops.
    const auto answer_with = [&](std::vector<int> stops) {
        Transformer t = rig.transformer(128);
        Sampler sampler(rig.tokenizer.vocab_size(), 1.0f, 0.0f, 42);
        ChatSession session(t, rig.tokenizer, sampler, encode, settings_for("chatml", stops, 16));
        const ChatSession::Turn turn = session.reply("Tell me more", ignore_tokens);
        CHECK(session.position() == turn.prompt_tokens + int(turn.answer.size()));
        return turn;
    };
    const ChatSession::Turn free = answer_with({});
    CHECK(free.end == ChatSession::End::token_limit);
    REQUIRE(free.answer.size() == 16);
    // Two tokens of the free answer, at their first appearance: each stops it there.
    std::vector<size_t> firsts;
    for (size_t i = 1; i < free.answer.size(); i++)
        if (std::find(free.answer.begin(), free.answer.begin() + std::ptrdiff_t(i), free.answer[i]) ==
            free.answer.begin() + std::ptrdiff_t(i))
            firsts.push_back(i);
    REQUIRE(firsts.size() >= 2);
    const int early = free.answer[firsts[0]], late = free.answer[firsts[1]];
    int absent = 0;
    while (std::find(free.answer.begin(), free.answer.end(), absent) != free.answer.end()) absent++;
    for (const auto& [stops, length] : {std::pair<std::vector<int>, size_t>{{absent, late}, firsts[1]},
                                        {{late, early}, firsts[0]},
                                        {{early}, firsts[0]}}) {
        const ChatSession::Turn turn = answer_with(stops);
        CHECK(turn.end == ChatSession::End::end_of_turn);
        CHECK(turn.answer == std::vector<int>(free.answer.begin(), free.answer.begin() + std::ptrdiff_t(length)));
    }
    // The defaults: EOS and every end marker the vocabulary has.
    std::vector<int> defaults = default_end_of_turn(rig.tokenizer);
    std::sort(defaults.begin(), defaults.end());
    std::vector<int> expected = {2, id_of(rig.tokenizer, "<|im_end|>"), id_of(rig.tokenizer, "<|end|>"),
                                 id_of(rig.tokenizer, "<|endoftext|>")};
    std::sort(expected.begin(), expected.end());
    CHECK(defaults == expected);
}

TEST_CASE("a full context is reported, never overrun; a turn longer than the context is an error", "[chat]") {
    ChatRig rig(3);
    const ChatEncoder encode = special_token_encoder(rig.tokenizer);
    const int context = 96;
    Transformer t = rig.transformer(context);
    Sampler greedy(rig.tokenizer.vocab_size(), 0.0f, 0.9f, 1);
    ChatSession session(t, rig.tokenizer, greedy, encode, settings_for("chatml", {}, 10));
    int turns = 0;
    for (;; turns++) {
        REQUIRE(turns < 10);
        const int before = session.position();
        const ChatSession::Turn turn = session.reply("hi", ignore_tokens);
        CHECK(session.position() <= context);
        if (turn.end == ChatSession::End::context_full) {
            // Either the turn did not fit (nothing fed) or the answer ran into the end.
            CHECK((turn.prompt_tokens == 0 ? session.position() == before : session.position() == context));
            break;
        }
        CHECK(turn.end == ChatSession::End::token_limit);
        CHECK(turn.answer.size() == 10);
    }
    CHECK(turns >= 2);

    // Through chat(): the event is reported once and the chat ends although input remains.
    Transformer t2 = rig.transformer(context);
    int reads = 0, full_reports = 0, reported_positions = 0;
    ChatCallbacks io;
    io.read_line = [&](const char*, std::string& line) {
        reads++;
        line = "hi";
        return true;
    };
    io.on_assistant_turn = [] {};
    io.on_token = ignore_tokens;
    io.on_answer_end = [] {};
    io.on_context_full = [&](int positions) {
        full_reports++;
        reported_positions = positions;
    };
    const std::string system;  // none
    chat(t2, rig.tokenizer, greedy, nullptr, &system, encode, settings_for("chatml", {}, 10), io);
    CHECK(full_reports == 1);
    CHECK(reported_positions <= context);
    CHECK(reported_positions > context - 20);  // a "hi" turn and its header take under 20
    CHECK(reads == turns + 1);

    ChatSession fresh(t2, rig.tokenizer, greedy, encode, settings_for("chatml", {}, 10));
    CHECK_THROWS_WITH(fresh.reply(std::string(200, 'x'), ignore_tokens),
                      Catch::Contains("longer than the model's context of 96"));
}

TEST_CASE("chat reads turns until the input ends", "[chat]") {
    ChatRig rig(5);
    Transformer t = rig.transformer(256);
    Sampler greedy(rig.tokenizer.vocab_size(), 0.0f, 0.9f, 1);
    const std::vector<std::string> input = {"", "one", "two", "three"};
    size_t next = 0;
    int answers = 0, tokens = 0;
    ChatCallbacks io;
    io.read_line = [&](const char*, std::string& line) {
        if (next == input.size()) return false;
        line = input[next++];
        return true;
    };
    io.on_assistant_turn = [&] { answers++; };
    // The second answer is cut short after two tokens: the chat goes on with the next turn.
    io.on_token = [&](int, std::string_view) { return ++tokens != 7; };
    io.on_answer_end = [] {};
    io.on_context_full = [](int) { FAIL("no context should fill"); };
    const GenerationStats stats = chat(t, rig.tokenizer, greedy, nullptr, nullptr,
                                       special_token_encoder(rig.tokenizer), settings_for("chatml", {}, 5), io);
    CHECK(next == input.size());
    CHECK(answers == 3);
    CHECK(tokens == 12);
    CHECK(stats.generated_tokens == 12);
}

TEST_CASE("the special-token encoder: markers become their tokens, text between them run.c's", "[chat]") {
    const Tokenizer t = marker_tokenizer();
    const ChatEncoder encode = special_token_encoder(t);
    const int im_start = id_of(t, "<|im_start|>"), im_end = id_of(t, "<|im_end|>");
    CHECK(encode("<|im_start|>ab<|im_end|></s><s>", true) ==
          std::vector<int>{1, im_start, 'a' + 3, 'b' + 3, im_end, 2, 1});
    CHECK(encode("x<|im_end", false) == t.encode("x<|im_end", false, false));
    CHECK(encode("", true) == std::vector<int>{1});
}

TEST_CASE("--help names every chat template; an unknown one is a usage error", "[chat]") {
    const test::CliResult help = test::run_cli({"--help"});
    for (const std::string& name : ChatTemplate::names()) CHECK_THAT(help.out, Catch::Contains(name));
    const test::CliResult bad = test::run_cli({"m.bin", "--chat-template", "llama4"});
    CHECK(bad.status == 2);
    CHECK_THAT(bad.err, Catch::Contains("--chat-template: unknown template 'llama4'"));
}

TEST_CASE("a GGUF's tokenizer.chat_template is kept, written back and chooses the chat's format", "[chat]") {
    const Tokenizer tokenizer = marker_tokenizer();
    Config c = test::tiny_config();
    c.vocab_size = tokenizer.vocab_size();
    c.seq_len = 128;
    const auto write = [&](const std::string& chat_template) {
        auto m = make_random_model(c, 9);
        m->chat_template = chat_template;
        GgufWriteOptions o;
        o.pieces = tokenizer.pieces();
        o.scores = tokenizer.scores();
        return write_gguf_model(*m, o);
    };
    const std::string path = "llamaport-chat-test-" + std::to_string(getpid()) + ".gguf";
    const auto chat_with = [&](const std::string& chat_template, std::vector<std::string> flags) {
        std::ofstream(path, std::ios::binary) << write(chat_template);
        std::vector<std::string> args = {path, "-m", "chat", "-y", "", "-t", "0", "-n", "128"};
        args.insert(args.end(), flags.begin(), flags.end());
        const test::CliResult r = test::run_cli(args, "hi\n");
        std::remove(path.c_str());
        return r;
    };
    const char* llama3_source = "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>' }}";
    const std::string bytes = write(llama3_source);
    const auto loaded = load_model(own_memory(bytes, "chat.gguf"));
    CHECK(loaded->chat_template == llama3_source);
    CHECK(write_gguf_model(*loaded, [&] {
              GgufWriteOptions o;
              o.pieces = tokenizer.pieces();
              o.scores = tokenizer.scores();
              return o;
          }()) == bytes);

    // The summary's prompt count tells the formats apart: "hi" in Llama 3's headers, or in
    // run.c's "[INST] hi [/INST]" when the template is unknown (with a warning) or overridden.
    const ChatEncoder encode = special_token_encoder(*loaded->tokenizer);
    const auto prompt_of = [&](const char* name) {
        const std::string text = ChatTemplate::from_name(name)->format({{"user", "hi"}}, true);
        return "prompt " + std::to_string(encode(text, true).size()) + " tokens";
    };
    REQUIRE(prompt_of("llama3") != prompt_of("llama2-sys-bos"));
    const test::CliResult llama3 = chat_with(llama3_source, {});
    CHECK(llama3.status == 0);
    CHECK_THAT(llama3.err, Catch::Contains(prompt_of("llama3")) && !Catch::Contains("warning"));
    const test::CliResult unknown = chat_with("{{ messages }}", {});
    CHECK(unknown.status == 0);
    CHECK_THAT(unknown.err, Catch::Contains("warning: the model's chat template is not one llamaport knows; using llama2-sys-bos"));
    CHECK_THAT(unknown.err, Catch::Contains(prompt_of("llama2-sys-bos")));
    const test::CliResult overridden = chat_with(llama3_source, {"--chat-template", "llama2"});
    CHECK_THAT(overridden.err, Catch::Contains(prompt_of("llama2")) && !Catch::Contains("warning"));
}

TEST_CASE("a SentencePiece vocabulary's chat: its own special tokens and end-of-turn ids", "[chat][models]") {
    const Tokenizer t =
        Tokenizer::from_any_file(test::reference_path("tokenizers/ggml-vocab-llama-spm.gguf"));
    REQUIRE(t.kind() == Tokenizer::Kind::sentencepiece);
    const ChatEncoder encode = special_token_encoder(t);
    const ChatTemplate llama2 = *ChatTemplate::from_name("llama2-sys-bos");
    const std::string rest = llama2.continue_after_answer({{"user", "Hello"}}, {"user", "Hello"});
    CHECK(rest == "</s><s>[INST] Hello [/INST]");
    // EOS, BOS, then the turn with the space prefix a special token calls for.
    const std::vector<int> tokens = encode(rest, false);
    REQUIRE(tokens.size() > 2);
    CHECK(tokens[0] == 2);
    CHECK(tokens[1] == 1);
    CHECK(std::vector<int>(tokens.begin() + 2, tokens.end()) == t.encode("[INST] Hello [/INST]", false, false));
    CHECK(encode("Hello", true) == std::vector<int>{1, 15043});
    const std::vector<int> stops = default_end_of_turn(t);
    CHECK(std::find(stops.begin(), stops.end(), 2) != stops.end());
}
