#include "tokenizer/pre_tokenizer.hpp"

#include <cstdint>

#include "tokenizer/unicode.hpp"

namespace llamaport {
namespace {

// The classes the expressions test, per code point; a position past the end has none.
struct Classes {
    bool exists = false, letter = false, number = false, space = false;
};

class Splitter {
public:
    explicit Splitter(std::string_view text) : cps_(unicode::code_points(text)) {
        classes_.resize(cps_.size());
        for (size_t i = 0; i < cps_.size(); i++) {
            const unicode::CharClass c = unicode::char_class(cps_[i]);
            classes_[i] = {true, c == unicode::CharClass::letter, c == unicode::CharClass::number,
                           unicode::is_white_space(cps_[i])};
        }
    }

    std::vector<std::string> split(PreTokenizer kind) {
        for (size_t pos = 0; pos < cps_.size();)
            pos = kind == PreTokenizer::llama3 ? llama3_word(pos) : gpt2_word(pos);
        return std::move(words_);
    }

private:
    uint32_t cp(size_t i) const { return i < cps_.size() ? cps_[i] : UINT32_MAX; }
    Classes at(size_t i) const { return i < classes_.size() ? classes_[i] : Classes{}; }
    static bool is_newline(uint32_t c) { return c == '\r' || c == '\n'; }
    // [^\s\p{L}\p{N}]: any code point that is none of those.
    static bool is_other(const Classes& c) { return c.exists && !c.space && !c.letter && !c.number; }
    static uint32_t ascii_lower(uint32_t c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

    size_t emit(size_t start, size_t end) {
        std::string word;
        for (size_t i = start; i < end; i++) unicode::append_utf8(word, cps_[i]);
        words_.push_back(std::move(word));
        return end;
    }

    // Length of 's 't 're 've 'm 'll 'd at pos (0 if none), optionally ignoring case.
    size_t contraction(size_t pos, bool any_case) const {
        if (cp(pos) != '\'') return 0;
        const auto lower = [&](size_t i) { return any_case ? ascii_lower(cp(i)) : cp(i); };
        const uint32_t a = lower(pos + 1), b = lower(pos + 2);
        if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
        if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
        return 0;
    }

    // The white space alternatives shared by both: \s+(?!\S) leaves the last space of a run
    // to the word that follows it; a run at the end of the text is taken whole (\s+).
    size_t white_space_run(size_t pos) {
        size_t n = 0;
        while (at(pos + n).space) n++;
        if (n > 1 && pos + n < cps_.size()) return emit(pos, pos + n - 1);
        if (n > 0) return emit(pos, pos + n);
        return emit(pos, pos + 1);  // matched by nothing: a word of its own
    }

    size_t gpt2_word(size_t pos) {
        if (const size_t n = contraction(pos, false)) return emit(pos, pos + n);
        const size_t body = cp(pos) == ' ' ? pos + 1 : pos;
        const Classes first = at(body);
        size_t end = body;
        if (first.letter) {
            while (at(end).letter) end++;
        } else if (first.number) {
            while (at(end).number) end++;
        } else if (is_other(first)) {
            while (is_other(at(end))) end++;
        } else {
            return white_space_run(pos);
        }
        return emit(pos, end);
    }

    size_t llama3_word(size_t pos) {
        if (const size_t n = contraction(pos, true)) return emit(pos, pos + n);
        const Classes here = at(pos);
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if (!is_newline(cp(pos)) && !here.number && (here.letter || at(pos + 1).letter)) {
            size_t end = pos + 1;
            while (at(end).letter) end++;
            return emit(pos, end);
        }
        // \p{N}{1,3}
        if (here.number) {
            size_t end = pos;
            while (end - pos < 3 && at(end).number) end++;
            return emit(pos, end);
        }
        // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
        const size_t body = cp(pos) == ' ' ? pos + 1 : pos;
        if (is_other(at(body))) {
            size_t end = body;
            while (is_other(at(end))) end++;
            while (is_newline(cp(end))) end++;
            return emit(pos, end);
        }
        // \s*[\r\n]+ : a white space run up to its last line break
        size_t last_break = 0;
        for (size_t i = pos; at(i).space; i++)
            if (is_newline(cp(i))) last_break = i + 1;
        if (last_break) return emit(pos, last_break);
        return white_space_run(pos);
    }

    std::vector<uint32_t> cps_;
    std::vector<Classes> classes_;
    std::vector<std::string> words_;
};

}  // namespace

std::vector<std::string> pre_tokenize(PreTokenizer kind, std::string_view text) {
    return Splitter(text).split(kind);
}

}  // namespace llamaport
