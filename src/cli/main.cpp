#include <iostream>

#include <unistd.h>

#include "cli.hpp"

int main(int argc, char** argv) {
    llamaport::cli::install_interrupt_handler();
    const llamaport::cli::Terminals terminals{isatty(0) == 1, isatty(2) == 1};
    return llamaport::cli::run(argc, argv, std::cout, std::cerr, std::cin, terminals);
}
