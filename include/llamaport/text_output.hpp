// Turns decoded pieces into text that is safe to print. Byte tokens that together form a UTF-8
// character come out as that character (run.c drops them one by one); bytes that form no valid
// character, and control characters other than white space, are dropped, so a hostile
// tokenizer cannot send escape sequences to the terminal.
#pragma once

#include <string>
#include <string_view>

namespace llamaport {

class TextOutput {
public:
    // The text to print now for this piece (possibly empty: a character may still be partial).
    std::string push(std::string_view piece);

private:
    std::string pending_;  // the start of a multi-byte character
    size_t expected_ = 0;  // its full length
};

// One line of a message that may quote untrusted bytes (a file name, a flag, a tensor name from
// a file): printable characters are kept, every other byte (control characters, newlines
// included, and bytes that form no valid character) is written as \xNN.
std::string escape_for_terminal(std::string_view text);

}  // namespace llamaport
