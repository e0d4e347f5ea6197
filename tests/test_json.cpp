// The JSON reader: every kind of value, escapes and surrogate pairs, exact integers, key order,
// and each kind of malformed text giving one line with the source and the byte offset.
#include <catch2/catch.hpp>

#include <string>

#include "json.hpp"
#include "llamaport/error.hpp"

using namespace llamaport;

namespace {

std::string error_of(const std::string& text, int max_depth = json::default_max_depth) {
    try {
        json::parse(text, "config.json", max_depth);
    } catch (const Error& e) {
        return e.what();
    }
    return "no error";
}

}  // namespace

TEST_CASE("json: scalars, arrays and objects", "[json]") {
    const json::Value v = json::parse(
        " {\"b\": true, \"a\": [1, -2.5, 3e2, null, false], \"s\": \"x\", \"o\": {}, \"e\": []}\n",
        "t.json");
    REQUIRE(v.is_object());
    REQUIRE(v.object.size() == 5);
    // Key order is the text's, not sorted.
    CHECK(v.object[0].first == "b");
    CHECK(v.object[1].first == "a");
    CHECK(v.object[4].first == "e");
    CHECK(v.find("b")->type == json::Type::Bool);
    CHECK(v.find("b")->boolean);
    const json::Value& a = *v.find("a");
    REQUIRE(a.array.size() == 5);
    CHECK(a.array[0].is_integer);
    CHECK(a.array[0].integer == 1);
    CHECK(a.array[0].number == 1.0);
    CHECK_FALSE(a.array[1].is_integer);
    CHECK(a.array[1].number == -2.5);
    CHECK_FALSE(a.array[2].is_integer);  // written with an exponent
    CHECK(a.array[2].number == 300.0);
    CHECK(a.array[3].is_null());
    CHECK(a.array[4].type == json::Type::Bool);
    CHECK_FALSE(a.array[4].boolean);
    CHECK(v.find("s")->string == "x");
    CHECK(v.find("o")->is_object());
    CHECK(v.find("o")->object.empty());
    CHECK(v.find("e")->is_array());
    CHECK(v.find("missing") == nullptr);
    CHECK(a.find("x") == nullptr);  // not an object
}

TEST_CASE("json: a repeated key finds its last value", "[json]") {
    const json::Value v = json::parse(R"({"k": 1, "k": 2})", "t.json");
    CHECK(v.object.size() == 2);
    CHECK(v.find("k")->integer == 2);
}

TEST_CASE("json: integers past 2^53 stay exact", "[json]") {
    const json::Value v =
        json::parse("[9007199254740993, -9223372036854775808, 18446744073709551616, -0]", "t");
    CHECK(v.array[0].is_integer);
    CHECK(v.array[0].integer == 9007199254740993LL);  // a double would round it to ...992
    CHECK(v.array[1].integer == INT64_MIN);
    CHECK_FALSE(v.array[2].is_integer);  // too large for 64 bits: only the double
    CHECK(v.array[2].number == 18446744073709551616.0);
    CHECK(v.array[3].is_integer);
    CHECK(v.array[3].integer == 0);
}

TEST_CASE("json: string escapes and UTF-8", "[json]") {
    const json::Value v = json::parse(
        R"(["a\"b\\c\/d\b\f\n\r\t", "\u0041\u00e9\u20AC", "\ud83d\ude00", "Ġhello ü", "\u0000"])",
        "t");
    CHECK(v.array[0].string == "a\"b\\c/d\b\f\n\r\t");
    CHECK(v.array[1].string == "A\xC3\xA9\xE2\x82\xAC");
    CHECK(v.array[2].string == "\xF0\x9F\x98\x80");        // U+1F600 from its surrogate pair
    CHECK(v.array[3].string == "\xC4\xA0hello \xC3\xBC");  // raw UTF-8 kept as is
    CHECK(v.array[4].string == std::string(1, '\0'));
}

TEST_CASE("json: a byte order mark is skipped", "[json]") {
    CHECK(json::parse("\xEF\xBB\xBF[1]", "t").array.size() == 1);
}

TEST_CASE("json: malformed text names the source and the byte offset", "[json]") {
    CHECK(error_of(R"({"a": 1 "b": 2})") ==
          "config.json: expected ',' or '}', found '\"' at byte 8");
    CHECK(error_of("[1, 2") == "config.json: expected ',' or ']', found end of text at byte 5");
    CHECK(error_of("[1,]") == "config.json: expected a value, found ']' at byte 3");
    CHECK(error_of(R"({"a" 1})") == "config.json: expected ':', found '1' at byte 5");
    CHECK(error_of("{1: 2}") == "config.json: expected a string key, found '1' at byte 1");
    CHECK(error_of("") == "config.json: expected a value, found end of text at byte 0");
    CHECK(error_of("[1] x") == "config.json: unexpected 'x' after the value at byte 4");
    CHECK(error_of("tru") == "config.json: expected a value, found 't' at byte 0");
    CHECK(error_of("01") == "config.json: leading zero in a number at byte 0");
    CHECK(error_of("-") == "config.json: expected a digit, found end of text at byte 1");
    CHECK(error_of("1.") == "config.json: expected a digit after '.', found end of text at byte 2");
    CHECK(error_of("1e+") ==
          "config.json: expected a digit in the exponent, found end of text at byte 3");
    CHECK(error_of("1e999") == "config.json: number out of range at byte 0");
    CHECK(error_of("NaN") == "config.json: expected a value, found 'N' at byte 0");
    CHECK(error_of("\"abc") == "config.json: unterminated string at byte 0");
    CHECK(error_of("\"a\nb\"") == "config.json: control character in a string at byte 2");
    CHECK(error_of(R"("\x")") == "config.json: unknown escape at byte 1");
    CHECK(error_of(R"("\u12G4")") == "config.json: expected four hex digits after \\u at byte 5");
    CHECK(error_of(R"("\u12")") == "config.json: expected four hex digits after \\u at byte 3");
    CHECK(error_of(R"(["\udc00"])") == "config.json: lone low surrogate at byte 2");
    CHECK(error_of(R"(["\ud800x"])") ==
          "config.json: high surrogate without its low half at byte 2");
    CHECK(error_of(R"(["\ud800\u0041"])") ==
          "config.json: high surrogate without its low half at byte 2");
    CHECK(error_of("[\x01]") == "config.json: expected a value, found byte 0x01 at byte 1");
}

TEST_CASE("json: nesting is limited", "[json]") {
    const std::string deep = std::string(5, '[') + std::string(5, ']');
    CHECK(json::parse(deep, "t", 5).is_array());
    CHECK(error_of(deep, 4) == "config.json: nesting deeper than 4 levels at byte 4");
    // The default limit stops a stack-exhausting input long before the stack runs out.
    const std::string very_deep(100000, '[');
    CHECK(error_of(very_deep) == "config.json: nesting deeper than 128 levels at byte 128");
    CHECK(error_of(std::string(100000, '{')) ==
          "config.json: expected a string key, found '{' at byte 1");
}
