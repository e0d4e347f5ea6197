// Internal: a small JSON reader (RFC 8259) for Hugging Face model directories: config.json,
// tokenizer.json, safetensors headers and shard indexes. It parses the whole text into a Value
// tree; any error is one line naming the source and the byte offset where the text went wrong.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace llamaport::json {

enum class Type { Null, Bool, Number, String, Array, Object };
const char* type_name(Type type);  // "null", "a boolean", "a number", ...

struct Value {
    Type type = Type::Null;
    bool boolean = false;
    double number = 0;
    // A number written without fraction or exponent that fits in 64 bits keeps its exact value
    // here (a double loses token ids and sizes past 2^53).
    bool is_integer = false;
    int64_t integer = 0;
    std::string string;
    std::vector<Value> array;
    std::vector<std::pair<std::string, Value>> object;  // in the order of the text

    bool is_null() const { return type == Type::Null; }
    bool is_number() const { return type == Type::Number; }
    bool is_string() const { return type == Type::String; }
    bool is_array() const { return type == Type::Array; }
    bool is_object() const { return type == Type::Object; }
    // The member named key (the last one when a key repeats), or nullptr; nullptr too when this
    // is not an object.
    const Value* find(std::string_view key) const;
};

constexpr int default_max_depth = 128;

// Parses text (optionally after a UTF-8 byte order mark) as one JSON value with nothing but
// whitespace after it. Throws Error("SOURCE: problem at byte N") on malformed text, on nesting
// deeper than max_depth, on a number out of double's range, and on a lone UTF-16 surrogate.
Value parse(std::string_view text, const std::string& source, int max_depth = default_max_depth);

}  // namespace llamaport::json
