// Internal: <immintrin.h> for the x86 kernel sets. GCC 12 warns (-Wmaybe-uninitialized) about
// the placeholder values inside its own AVX-512 intrinsics (GCC bug 105593); the warning takes
// the header's state, so it is silenced around the include, here, for whichever set includes it
// first (the one-file build has both in one translation unit).
#pragma once

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
