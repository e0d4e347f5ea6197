#include "command_line.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "llamaport/file_kind.hpp"

namespace llamaport::cli {

long long parse_int(const std::string& flag, const std::string& text, long long min, long long max) {
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || errno == ERANGE || v < min || v > max)
        throw UsageError{flag + ": expected a whole number in " + std::to_string(min) + ".." +
                         std::to_string(max) + ", got '" + text + "'"};
    return v;
}

float parse_float(const std::string& flag, const std::string& text, const char* what) {
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !std::isfinite(v))
        throw UsageError{flag + ": " + what + " must be a number, got '" + text + "'"};
    return float(v);
}

bool Flags::next() {
    if (has_inline_value_) throw UsageError{current_ + " takes no value"};
    if (i_ + 1 >= argc_) return false;
    current_ = argv_[++i_];
    const size_t equals = current_.find('=');
    if (current_.compare(0, 2, "--") == 0 && equals != std::string::npos) {
        inline_value_ = current_.substr(equals + 1);
        current_.resize(equals);
        has_inline_value_ = true;
    }
    return true;
}

std::string Flags::value() {
    if (has_inline_value_) {
        has_inline_value_ = false;
        return inline_value_;
    }
    if (i_ + 1 >= argc_) throw UsageError{current_ + " needs a value"};
    return argv_[++i_];
}

long long Flags::number(long long min, long long max) {
    const std::string flag = current_;
    return parse_int(flag, value(), min, max);
}

Tokenizer tokenizer_for(const Model& model, const std::string& tokenizer_path,
                        const std::string& missing_hint) {
    if (tokenizer_path.empty()) {
        if (!model.tokenizer) throw Error(model.path + " carries no vocabulary: " + missing_hint);
        return *model.tokenizer;
    }
    std::unique_ptr<Blob> blob = open_file(tokenizer_path);
    const FileKind kind = file_kind(*blob);
    if (kind != FileKind::llama2c_tokenizer && kind != FileKind::unknown)
        throw Error(blob->name() + ": this is " + file_kind_name(kind) + ", not a tokenizer");
    return Tokenizer::from_blob(*blob, model.config.vocab_size);
}

}  // namespace llamaport::cli
