// scaleout_tests [--cluster] [CppUTest options]: --cluster runs every suite on a local
// 3-master Redis Cluster instead of one Redis.
#include <cstring>
#include <vector>

#include "instances.hpp"

// Last: CppUTest's leak-detection macros redefine `new`, which breaks later standard headers.
// clang-format off
#include <CppUTest/CommandLineTestRunner.h>
#include <CppUTest/MemoryLeakWarningPlugin.h>
// clang-format on

int main(int argc, char** argv) {
    std::vector<char*> args;
    for (int i = 0; i < argc; ++i) {
        if (std::strcmp(argv[i], "--cluster") == 0) {
            presence::scaleout::use_cluster(true);
            continue;
        }
        args.push_back(argv[i]);
    }
    // The hosts are separate processes; per-test leak accounting would only see library
    // caches. ASan covers leaks of our own code in the asan build.
    MemoryLeakWarningPlugin::turnOffNewDeleteOverloads();
    return CommandLineTestRunner::RunAllTests(static_cast<int>(args.size()), args.data());
}
