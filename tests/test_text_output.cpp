#include <catch2/catch.hpp>

#include "llamaport/text_output.hpp"

using namespace llamaport;

TEST_CASE("byte tokens forming a UTF-8 character print as that character", "[text]") {
    TextOutput t;
    CHECK(t.push("\xE2") == "");
    CHECK(t.push("\x98") == "");
    CHECK(t.push("\x95") == "\xE2\x98\x95");  // ☕
    CHECK(t.push(" was") == " was");
    // A four-byte emoji, one byte at a time.
    std::string out;
    for (char c : std::string("\xF0\x9F\xA6\x99")) out += t.push(std::string(1, c));
    CHECK(out == "\xF0\x9F\xA6\x99");
}

TEST_CASE("bytes that form no character are dropped", "[text]") {
    TextOutput t;
    CHECK(t.push("\xC3") == "");
    CHECK(t.push("a") == "a");        // the partial é is dropped
    CHECK(t.push("\xA9") == "");      // a stray continuation byte
    CHECK(t.push("\xC0\x80") == "");  // overlong NUL
    CHECK(t.push("\xED\xA0\x80") == "");  // a surrogate
    CHECK(t.push("\xF5\x80\x80\x80") == "");
}

TEST_CASE("control characters cannot reach the terminal", "[text]") {
    TextOutput t;
    CHECK(t.push("\x1b[2J") == "[2J");
    CHECK(t.push("a\x07" "b\x7f") == "ab");
    CHECK(t.push("\n\t\r") == "\n\t\r");
    CHECK(t.push(std::string(1, '\0')) == "");
    // C1 controls are valid UTF-8, but U+009B is CSI to some terminals; U+00A0 is printable.
    CHECK(t.push("\xC2\x9B" "2J\xC2\x85" "a\xC2\xA0") == "2Ja\xC2\xA0");
}

TEST_CASE("messages quoting untrusted bytes are escaped to one printable line", "[text]") {
    CHECK(escape_for_terminal("model.bin: bad") == "model.bin: bad");
    CHECK(escape_for_terminal("caf\xC3\xA9 \xF0\x9F\x98\x80") == "caf\xC3\xA9 \xF0\x9F\x98\x80");
    CHECK(escape_for_terminal("a\x1b[2J\nb\x7f") == "a\\x1B[2J\\x0Ab\\x7F");
    CHECK(escape_for_terminal("\xC3(\xC2\x9B\xF0\x9F") == "\\xC3(\\xC2\\x9B\\xF0\\x9F");
    CHECK(escape_for_terminal(std::string("x\0y", 3)) == "x\\x00y");
}
