#include "llamaport/system.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

namespace llamaport {

size_t physical_memory() {
#if defined(_SC_PHYS_PAGES) && defined(_SC_PAGESIZE)
    const long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page_size > 0) {
        const uintmax_t bytes = uintmax_t(pages) * uintmax_t(page_size);
        return bytes > SIZE_MAX ? SIZE_MAX : size_t(bytes);
    }
#endif
    return 0;
}

size_t memory_budget() {
    // Kernel, stack and libraries take the rest of a 32-bit address space.
    const size_t address_space = sizeof(size_t) < 8 ? size_t(3) << 30 : SIZE_MAX;
    const size_t physical = physical_memory();
    return physical ? std::min(physical, address_space) : address_space;
}

std::string size_text(uint64_t bytes) {
    // One unit everywhere; exact bytes too where one decimal would show nothing.
    char text[64];
    if (bytes < (uint64_t(1) << 20) / 10)
        std::snprintf(text, sizeof text, "%.1f MiB (%llu bytes)", double(bytes) / (1 << 20),
                      static_cast<unsigned long long>(bytes));
    else
        std::snprintf(text, sizeof text, "%.1f MiB", double(bytes) / (1 << 20));
    return text;
}

}  // namespace llamaport
