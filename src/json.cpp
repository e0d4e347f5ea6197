#include "json.hpp"

#include <charconv>
#include <cstdio>

#include "llamaport/error.hpp"

namespace llamaport::json {

const char* type_name(Type type) {
    switch (type) {
    case Type::Null: return "null";
    case Type::Bool: return "a boolean";
    case Type::Number: return "a number";
    case Type::String: return "a string";
    case Type::Array: return "an array";
    case Type::Object: return "an object";
    }
    return "?";
}

const Value* Value::find(std::string_view key) const {
    for (size_t i = object.size(); i-- > 0;)
        if (object[i].first == key) return &object[i].second;
    return nullptr;
}

namespace {

class Parser {
public:
    Parser(std::string_view text, const std::string& source, int max_depth)
        : text_(text), source_(source), max_depth_(max_depth) {}

    Value parse_document() {
        if (text_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
        Value v = parse_value(0);
        skip_space();
        if (pos_ < text_.size()) fail("unexpected " + describe_here() + " after the value");
        return v;
    }

private:
    [[noreturn]] void fail(const std::string& problem) const { fail_at(problem, pos_); }
    [[noreturn]] void fail_at(const std::string& problem, size_t at) const {
        throw Error(source_ + ": " + problem + " at byte " + std::to_string(at));
    }

    // The byte at the cursor for a message: 'x', a hex escape, or "the end of the text".
    std::string describe_here() const {
        if (pos_ >= text_.size()) return "end of text";
        const unsigned char c = static_cast<unsigned char>(text_[pos_]);
        if (c >= 0x20 && c < 0x7F) return std::string("'") + char(c) + "'";
        char buf[16];
        std::snprintf(buf, sizeof buf, "byte 0x%02X", c);
        return buf;
    }

    void skip_space() {
        while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                       text_[pos_] == '\n' || text_[pos_] == '\r'))
            pos_++;
    }

    void expect(char c) {
        skip_space();
        if (pos_ >= text_.size() || text_[pos_] != c)
            fail(std::string("expected '") + c + "', found " + describe_here());
        pos_++;
    }

    Value parse_value(int depth) {
        skip_space();
        if (pos_ >= text_.size()) fail("expected a value, found end of text");
        Value v;
        switch (text_[pos_]) {
        case '{':
            enter(depth);
            parse_object(v, depth + 1);
            break;
        case '[':
            enter(depth);
            parse_array(v, depth + 1);
            break;
        case '"':
            v.type = Type::String;
            v.string = parse_string();
            break;
        case 't': literal("true"), v.type = Type::Bool, v.boolean = true; break;
        case 'f': literal("false"), v.type = Type::Bool; break;
        case 'n': literal("null"); break;
        default:
            if (text_[pos_] == '-' || (text_[pos_] >= '0' && text_[pos_] <= '9')) {
                parse_number(v);
                break;
            }
            fail("expected a value, found " + describe_here());
        }
        return v;
    }

    void enter(int depth) {
        if (depth >= max_depth_)
            fail("nesting deeper than " + std::to_string(max_depth_) + " levels");
    }

    void literal(std::string_view word) {
        if (text_.substr(pos_, word.size()) != word)
            fail("expected a value, found " + describe_here());
        pos_ += word.size();
    }

    void parse_object(Value& v, int depth) {
        v.type = Type::Object;
        pos_++;  // '{'
        skip_space();
        if (pos_ < text_.size() && text_[pos_] == '}') {
            pos_++;
            return;
        }
        for (;;) {
            skip_space();
            if (pos_ >= text_.size() || text_[pos_] != '"')
                fail("expected a string key, found " + describe_here());
            std::string key = parse_string();
            expect(':');
            v.object.emplace_back(std::move(key), parse_value(depth));
            skip_space();
            if (pos_ < text_.size() && text_[pos_] == ',') {
                pos_++;
                continue;
            }
            if (pos_ < text_.size() && text_[pos_] == '}') {
                pos_++;
                return;
            }
            fail("expected ',' or '}', found " + describe_here());
        }
    }

    void parse_array(Value& v, int depth) {
        v.type = Type::Array;
        pos_++;  // '['
        skip_space();
        if (pos_ < text_.size() && text_[pos_] == ']') {
            pos_++;
            return;
        }
        for (;;) {
            v.array.push_back(parse_value(depth));
            skip_space();
            if (pos_ < text_.size() && text_[pos_] == ',') {
                pos_++;
                continue;
            }
            if (pos_ < text_.size() && text_[pos_] == ']') {
                pos_++;
                return;
            }
            fail("expected ',' or ']', found " + describe_here());
        }
    }

    size_t digits() {
        const size_t start = pos_;
        while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') pos_++;
        return pos_ - start;
    }

    void parse_number(Value& v) {
        const size_t start = pos_;
        if (text_[pos_] == '-') pos_++;
        const size_t int_start = pos_;
        const size_t int_digits = digits();
        if (int_digits == 0) fail("expected a digit, found " + describe_here());
        if (int_digits > 1 && text_[int_start] == '0')
            fail_at("leading zero in a number", int_start);
        bool integral = true;
        if (pos_ < text_.size() && text_[pos_] == '.') {
            pos_++;
            if (digits() == 0) fail("expected a digit after '.', found " + describe_here());
            integral = false;
        }
        if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
            pos_++;
            if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) pos_++;
            if (digits() == 0) fail("expected a digit in the exponent, found " + describe_here());
            integral = false;
        }
        const char* first = text_.data() + start;
        const char* last = text_.data() + pos_;
        v.type = Type::Number;
        const auto parsed = std::from_chars(first, last, v.number);
        // Out of range too: beyond double's range either way (1e999, or 1e-999 which would
        // silently become zero) is no value a model file means.
        if (parsed.ec != std::errc() || parsed.ptr != last) fail_at("number out of range", start);
        if (integral) {
            int64_t exact = 0;
            const auto r = std::from_chars(first, last, exact);
            if (r.ec == std::errc() && r.ptr == last) {
                v.is_integer = true;
                v.integer = exact;
            }
        }
    }

    unsigned hex4() {
        if (text_.size() - pos_ < 4) fail("expected four hex digits after \\u");
        unsigned code = 0;
        for (int i = 0; i < 4; i++) {
            const char c = text_[pos_ + i];
            unsigned d;
            if (c >= '0' && c <= '9')
                d = unsigned(c - '0');
            else if (c >= 'a' && c <= 'f')
                d = unsigned(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F')
                d = unsigned(c - 'A' + 10);
            else
                fail_at("expected four hex digits after \\u", pos_ + i);
            code = code * 16 + d;
        }
        pos_ += 4;
        return code;
    }

    static void append_utf8(std::string& out, unsigned code) {
        if (code < 0x80) {
            out += char(code);
        } else if (code < 0x800) {
            out += char(0xC0 | (code >> 6));
            out += char(0x80 | (code & 0x3F));
        } else if (code < 0x10000) {
            out += char(0xE0 | (code >> 12));
            out += char(0x80 | ((code >> 6) & 0x3F));
            out += char(0x80 | (code & 0x3F));
        } else {
            out += char(0xF0 | (code >> 18));
            out += char(0x80 | ((code >> 12) & 0x3F));
            out += char(0x80 | ((code >> 6) & 0x3F));
            out += char(0x80 | (code & 0x3F));
        }
    }

    // The cursor is on the opening quote. Bytes other than escapes are kept as they are.
    std::string parse_string() {
        const size_t open = pos_++;
        std::string out;
        for (;;) {
            if (pos_ >= text_.size()) fail_at("unterminated string", open);
            const char c = text_[pos_];
            if (c == '"') {
                pos_++;
                return out;
            }
            if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string");
            if (c != '\\') {
                // Copy the run up to the next quote, escape or control byte in one go.
                size_t end = pos_ + 1;
                while (end < text_.size() && text_[end] != '"' && text_[end] != '\\' &&
                       static_cast<unsigned char>(text_[end]) >= 0x20)
                    end++;
                out.append(text_.data() + pos_, end - pos_);
                pos_ = end;
                continue;
            }
            const size_t escape = pos_++;
            if (pos_ >= text_.size()) fail_at("unterminated string", open);
            switch (text_[pos_++]) {
            case '"': out += '"'; break;
            case '\\': out += '\\'; break;
            case '/': out += '/'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'u': {
                unsigned code = hex4();
                if (code >= 0xDC00 && code <= 0xDFFF) fail_at("lone low surrogate", escape);
                if (code >= 0xD800 && code <= 0xDBFF) {
                    if (text_.substr(pos_, 2) != "\\u")
                        fail_at("high surrogate without its low half", escape);
                    pos_ += 2;
                    const unsigned low = hex4();
                    if (low < 0xDC00 || low > 0xDFFF)
                        fail_at("high surrogate without its low half", escape);
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                }
                append_utf8(out, code);
                break;
            }
            default: fail_at("unknown escape", escape);
            }
        }
    }

    std::string_view text_;
    const std::string& source_;
    int max_depth_;
    size_t pos_ = 0;
};

}  // namespace

Value parse(std::string_view text, const std::string& source, int max_depth) {
    return Parser(text, source, max_depth).parse_document();
}

}  // namespace llamaport::json
