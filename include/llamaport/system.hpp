// What the host offers: how much memory a run may use, for refusing work up front (with a
// message saying what was needed and what there is) instead of failing halfway or thrashing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace llamaport {

// Installed physical memory in bytes, or 0 when the platform does not say.
size_t physical_memory();

// The most a model and its run state may occupy: physical memory, and on a 32-bit host no more
// than the 3 GiB of address space a process gets in practice. Never 0.
size_t memory_budget();

// Sizes in messages: "1000 bytes" below a mebibyte, "12.3 MiB" above.
std::string size_text(uint64_t bytes);

}  // namespace llamaport
