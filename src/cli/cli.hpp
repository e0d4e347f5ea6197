// The llamaport command: flag parsing and printing around the library. Streams are parameters
// so the tests can run the whole command in-process.
#pragma once

#include <iosfwd>

namespace llamaport::cli {

// Returns the exit status: 0 success, 1 bad input file or failed run, 2 bad flags.
int run(int argc, const char* const* argv, std::ostream& out, std::ostream& err, std::istream& in);

}  // namespace llamaport::cli
