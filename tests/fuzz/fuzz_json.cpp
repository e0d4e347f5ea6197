// Fuzz target: the JSON reader (config.json, tokenizer.json, safetensors headers) on arbitrary
// text. An accepted text, written back out, must parse to the same tree.
#include <charconv>
#include <cstdio>

#include "fuzz_support.hpp"
#include "json.hpp"
#include "llamaport/error.hpp"

using namespace llamaport;

namespace {

// Independent of the parser's own rules: every string byte other than '"', '\\' and control
// bytes is written as is; numbers in their shortest round-trip form.
void write(const json::Value& v, std::string& out) {
    switch (v.type) {
    case json::Type::Null: out += "null"; break;
    case json::Type::Bool: out += v.boolean ? "true" : "false"; break;
    case json::Type::Number: {
        char buf[40];
        const auto r = v.is_integer ? std::to_chars(buf, buf + sizeof buf, v.integer)
                                    : std::to_chars(buf, buf + sizeof buf, v.number);
        out.append(buf, r.ptr);
        // to_chars may print a whole double without '.', which would read back as an integer.
        if (!v.is_integer && std::string(buf, r.ptr).find_first_of(".eE") == std::string::npos)
            out += ".0";
        break;
    }
    case json::Type::String: {
        out += '"';
        for (unsigned char c : v.string) {
            if (c == '"' || c == '\\' || c < 0x20) {
                char esc[8];
                std::snprintf(esc, sizeof esc, "\\u%04X", c);
                out += esc;
            } else {
                out += char(c);
            }
        }
        out += '"';
        break;
    }
    case json::Type::Array:
        out += '[';
        for (size_t i = 0; i < v.array.size(); i++) {
            if (i) out += ',';
            write(v.array[i], out);
        }
        out += ']';
        break;
    case json::Type::Object:
        out += '{';
        for (size_t i = 0; i < v.object.size(); i++) {
            if (i) out += ',';
            write(json::Value{json::Type::String, false, 0, false, 0, v.object[i].first, {}, {}},
                  out);
            out += ':';
            write(v.object[i].second, out);
        }
        out += '}';
        break;
    }
}

bool same(const json::Value& a, const json::Value& b) {
    if (a.type != b.type || a.boolean != b.boolean || a.is_integer != b.is_integer ||
        a.integer != b.integer || a.string != b.string || a.array.size() != b.array.size() ||
        a.object.size() != b.object.size())
        return false;
    // -0.0 prints as "-0" and reads back as the integer 0, so compare integers by their value.
    if (!a.is_integer && a.number != b.number) return false;
    for (size_t i = 0; i < a.array.size(); i++)
        if (!same(a.array[i], b.array[i])) return false;
    for (size_t i = 0; i < a.object.size(); i++)
        if (a.object[i].first != b.object[i].first || !same(a.object[i].second, b.object[i].second))
            return false;
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    json::Value v;
    try {
        v = json::parse(text, "fuzz.json");
    } catch (const Error& e) {
        fuzz::check(std::string(e.what()).find('\n') == std::string::npos,
                    "error message is one line");
        return 0;
    }
    std::string out;
    write(v, out);
    json::Value again;
    try {
        again = json::parse(out, "rewritten.json");
    } catch (const Error& e) {
        std::fprintf(stderr, "%s\n", e.what());
        fuzz::check(false, "an accepted value, written back, parses");
    }
    fuzz::check(same(v, again), "an accepted value, written back, parses to the same tree");
    return 0;
}
