#include <CppUTest/CommandLineTestRunner.h>
#include <CppUTest/MemoryLeakWarningPlugin.h>

int main(int argc, char** argv) {
    // Function-local statics (setting tables, cJSON hooks) look like leaks to CppUTest's
    // per-test accounting; leaks are ASan's job in the sanitizer build.
    MemoryLeakWarningPlugin::turnOffNewDeleteOverloads();
    return CommandLineTestRunner::RunAllTests(argc, argv);
}
