// Internal: <immintrin.h> for the x86 kernel sets. GCC 12 warns (-Wmaybe-uninitialized, and
// -Wuninitialized for the 512-to-256-bit extracts) about the placeholder values inside its own
// AVX-512 intrinsics (GCC bug 105593); the warnings take the header's state, so they are
// silenced around the include, here, for whichever set includes it first (the one-file build
// has both in one translation unit, and brings this header in on every architecture: hence the
// x86 test). Clang has no such warning.
#pragma once

#if defined(__x86_64__) || defined(__i386__)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#else
#include <immintrin.h>
#endif
#endif
