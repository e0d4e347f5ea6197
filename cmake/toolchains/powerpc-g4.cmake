# Cross-build for a PowerPC G4 (7447/7450: 32-bit big-endian, AltiVec, no VSX) running Linux.
#   cmake -B build-ppc -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/powerpc-g4.cmake
# ctest runs the test binaries under qemu-ppc emulating a 7447.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR powerpc)

set(CMAKE_C_COMPILER powerpc-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER powerpc-linux-gnu-g++)
set(CMAKE_C_FLAGS_INIT "-mcpu=7450 -maltivec -mabi=altivec")
set(CMAKE_CXX_FLAGS_INIT "-mcpu=7450 -maltivec -mabi=altivec")

set(CMAKE_FIND_ROOT_PATH /usr/powerpc-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

set(CMAKE_CROSSCOMPILING_EMULATOR qemu-ppc;-cpu;7447;-L;/usr/powerpc-linux-gnu)
