// The one exception type the library throws. Its message is a single line that names the file
// (or input) and the problem, ready to print as is.
#pragma once

#include <stdexcept>
#include <string>

namespace llamaport {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace llamaport
