#include <iostream>

#include "cli.hpp"

int main(int argc, char** argv) {
    return llamaport::cli::run(argc, argv, std::cout, std::cerr, std::cin);
}
