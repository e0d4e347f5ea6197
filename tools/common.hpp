// Small helpers shared by the tools: strict number parsing, atomic file writes.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <new>
#include <string>

#include "llamaport/error.hpp"
#include "llamaport/text_output.hpp"

namespace llamaport::tools {

// A bad flag or value: exit status 2.
struct UsageError {
    std::string message;
};

// Runs a tool's body and turns what it throws into one line on stderr and an exit status:
// 2 for a UsageError (followed by usage_hint), 1 for a bad input (Error) or running out of memory.
template <class Body>
int run_tool(const char* name, Body&& body, const char* usage_hint = "") {
    try {
        return body();
    } catch (const UsageError& e) {
        std::cerr << name << ": " << llamaport::escape_for_terminal(e.message) << usage_hint << "\n";
        return 2;
    } catch (const Error& e) {
        std::cerr << name << ": " << llamaport::escape_for_terminal(e.what()) << "\n";
        return 1;
    } catch (const std::bad_alloc&) {
        std::cerr << name << ": out of memory\n";
        return 1;
    }
}

// The whole argument must be a whole number in [min, max].
inline long long parse_int(const std::string& flag, const std::string& text, long long min,
                           long long max) {
    char* end = nullptr;
    const long long v = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || v < min || v > max)
        throw Error(flag + ": expected a whole number in " + std::to_string(min) + ".." +
                    std::to_string(max) + ", got '" + text + "'");
    return v;
}

// A tool's command line, flag after flag. A missing or malformed value is a UsageError naming
// the flag.
class Flags {
public:
    Flags(int argc, char** argv) : argc_(argc), argv_(argv) {}
    // Moves to the next argument; false after the last.
    bool next() {
        if (i_ + 1 >= argc_) return false;
        current_ = argv_[++i_];
        return true;
    }
    const std::string& current() const { return current_; }
    // The argument after the current flag, as that flag's value.
    std::string value() {
        if (i_ + 1 >= argc_) throw UsageError{current_ + " needs a value"};
        return argv_[++i_];
    }
    // The value, a whole number in [min, max].
    long long number(long long min, long long max) {
        const std::string flag = current_;
        const std::string text = value();
        try {
            return parse_int(flag, text, min, max);
        } catch (const Error& e) {
            throw UsageError{e.what()};
        }
    }

private:
    int argc_;
    char** argv_;
    int i_ = 0;
    std::string current_;
};

// Writes through a temporary file and a rename, so a failed run never leaves half a file where
// the user expects a whole one (or destroys the file it was about to replace).
inline void write_file_atomically(const std::string& path, const std::string& bytes) {
    const std::string temporary = path + ".partial";
    {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        if (!out) throw Error(path + ": cannot create file");
        out.write(bytes.data(), std::streamsize(bytes.size()));
        out.flush();
        if (!out) {
            std::remove(temporary.c_str());
            throw Error(path + ": write failed (disk full?)");
        }
    }
    if (std::rename(temporary.c_str(), path.c_str()) != 0) {
        std::remove(temporary.c_str());
        throw Error(path + ": cannot rename the finished file into place");
    }
}

}  // namespace llamaport::tools
