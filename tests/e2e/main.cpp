// Runner of the end-to-end suites.
#include <CppUTest/CommandLineTestRunner.h>
#include <CppUTest/MemoryLeakWarningPlugin.h>
#include <CppUTest/TestRegistry.h>

int main(int argc, char** argv) {
    // These tests talk to a separate process; per-test leak accounting would only see the
    // caches of libstdc++/OpenSSL/cJSON. ASan covers leaks of our own code in the asan build.
    MemoryLeakWarningPlugin::turnOffNewDeleteOverloads();
    return CommandLineTestRunner::RunAllTests(argc, argv);
}
