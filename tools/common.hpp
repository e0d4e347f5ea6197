// Small helpers shared by the tools: strict number parsing, atomic file writes.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "llamaport/error.hpp"

namespace llamaport::tools {

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
