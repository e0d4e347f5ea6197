// Small helpers shared by the tools: the command line, atomic file writes.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <new>
#include <string>

#include "command_line.hpp"
#include "llamaport/error.hpp"

namespace llamaport::tools {

// The command line as the llamaport command reads it (src/cli/command_line.hpp).
using cli::Flags;
using cli::parse_int;
using cli::UsageError;

// Runs a tool's body: one line on stderr and exit status 2 for a bad flag (UsageError), 1 for a
// bad input or running out of memory.
template <class Body>
int run_tool(const char* name, Body&& body) {
    return cli::run_command(name, std::cerr, body);
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
