// Shared by the fuzz targets (tests/fuzz/fuzz_*.cpp). Each target defines
// LLVMFuzzerTestOneInput; built with clang's -fsanitize=fuzzer it is a libFuzzer binary, built
// with replay_main.cpp it runs the files it is given (the crash reproducers under
// tests/fuzz/regressions run that way in every build, the emulated G4 included).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "llamaport/model.hpp"
#include "llamaport/tokenizer.hpp"

namespace llamaport::fuzz {

// What a fuzzed load may allocate: a header claiming more must be refused before allocating.
constexpr size_t memory_limit = size_t(64) << 20;

// A broken property: prints it and aborts, which libFuzzer reports as a crash.
void check(bool ok, const char* property);

// Runs a few positions of a loaded model with every kernel set this CPU has, then samples from
// the logits: whatever the loader accepted must be safe to run.
void run_briefly(const Model& model);

// Encodes sample texts (plain, multi-byte, invalid UTF-8, NUL) and prints every token through
// TextOutput: ids stay in the vocabulary and what would reach the terminal is terminal_safe.
void exercise_tokenizer(const Tokenizer& tokenizer);

// True when text is safe for a terminal (written apart from TextOutput on purpose: it is the
// oracle the output is checked against): valid UTF-8 without control characters other than
// tab, newline and (as run.c prints them) \v, \f and \r.
bool terminal_safe(std::string_view text);

// A model shape that runs in microseconds: 2 layers, 4 heads over 2 KV heads, vocab_size 300
// (small_tokenizer's), 32 positions.
Config small_config(int dim, int hidden_dim);

// A 300-token vocabulary in llama2.c's layout (<unk>, <s>, </s>, 256 byte tokens, then pieces
// with merge scores), matching the test models' vocab_size.
Tokenizer small_tokenizer();

}  // namespace llamaport::fuzz
