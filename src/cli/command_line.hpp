// What every llamaport program shares on its command line: the flag reader, the usage error,
// the mapping from exceptions to exit statuses, and the tokenizer a model runs with. The
// llamaport command (cli.cpp) and the tools (tools/common.hpp) use these, and only these.
#pragma once

#include <iosfwd>
#include <new>
#include <ostream>
#include <string>

#include "llamaport/error.hpp"
#include "llamaport/model.hpp"
#include "llamaport/text_output.hpp"
#include "llamaport/tokenizer.hpp"

namespace llamaport::cli {

// A bad flag or value: exit status 2.
struct UsageError {
    std::string message;
};

// The whole text must be the number; a UsageError naming the flag otherwise.
long long parse_int(const std::string& flag, const std::string& text, long long min, long long max);
float parse_float(const std::string& flag, const std::string& text, const char* what);

// A command line, argument after argument. "--flag=value" is read as "--flag value"; a flag given
// "=value" that it does not take, or a missing value, is a UsageError naming the flag.
class Flags {
public:
    Flags(int argc, const char* const* argv) : argc_(argc), argv_(argv) {}
    // Moves to the next argument; false after the last.
    bool next();
    const std::string& current() const { return current_; }
    // The current argument is a flag (a lone "-" is not: it names standard input).
    bool is_flag() const { return current_.size() > 1 && current_[0] == '-'; }
    // The current flag's value: after '=' or the next argument.
    std::string value();
    // The value, a whole number in [min, max].
    long long number(long long min, long long max);

private:
    int argc_;
    const char* const* argv_;
    int i_ = 0;
    std::string current_;
    bool has_inline_value_ = false;
    std::string inline_value_;
};

// Runs a program's body and turns what it throws into one line on `err` and an exit status:
// 2 for a UsageError (followed by " (see NAME --help)"), 1 for a bad input (Error) or running out
// of memory.
template <class Body>
int run_command(const std::string& name, std::ostream& err, Body&& body) {
    try {
        return body();
    } catch (const UsageError& e) {
        err << name << ": " << escape_for_terminal(e.message) << " (see " << name << " --help)\n";
        return 2;
    } catch (const Error& e) {
        err << name << ": " << escape_for_terminal(e.what()) << "\n";
        return 1;
    } catch (const std::bad_alloc&) {
        err << name << ": out of memory\n";
        return 1;
    }
}

// The tokenizer a model runs with: the file at tokenizer_path when that is not empty, else the
// model's own vocabulary (GGUF). An Error saying what to give (missing_hint) when there is neither,
// and naming what the file is when it is not a tokenizer (a model given as one, say).
Tokenizer tokenizer_for(const Model& model, const std::string& tokenizer_path,
                        const std::string& missing_hint = "give the llama2.c tokenizer with -z");

}  // namespace llamaport::cli
