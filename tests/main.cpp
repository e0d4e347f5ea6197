// Catch2 main with two extra flags: --needs-shared exits 77 (ctest: skipped) with a message when
// the shared model files are absent, so a clone without them reports skips, not failures;
// --subset runs the emulated-heavy loops on their fixed subset (test_support.hpp).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstring>
#include <iostream>
#include <vector>

#include "test_support.hpp"

int main(int argc, char** argv) {
    std::vector<char*> args;
    bool needs_shared = false;
    for (int i = 0; i < argc; i++) {
        if (std::strcmp(argv[i], "--needs-shared") == 0)
            needs_shared = true;
        else if (std::strcmp(argv[i], "--subset") == 0)
            llamaport::test::use_subset = true;
        else
            args.push_back(argv[i]);
    }
    if (needs_shared && !llamaport::test::shared_available()) {
        std::cout << "SKIPPED: model files not found in " << llamaport::test::shared_dir()
                  << "/models (set LLAMAPORT_SHARED to the directory holding models/ and "
                     "reference/)\n";
        return 77;
    }
    return Catch::Session().run(int(args.size()), args.data());
}
