// redis_client_tests: the Redis client against real redis-servers (started per test) and one
// 3-master Redis Cluster shared by the cluster tests (started on first use, killed at exit).
// CppUTest last: its leak-detecting new macros must not meet standard headers.
#include <CppUTest/CommandLineTestRunner.h>
#include <CppUTest/MemoryLeakWarningPlugin.h>

int main(int argc, char** argv) {
    // SIGPIPE keeps its default action (death), as in a host that does not ignore it: the client
    // must never raise it.
    // The shared cluster and test threads allocate across tests, which CppUTest's per-test leak
    // check misreads; leaks are checked by ASan instead.
    MemoryLeakWarningPlugin::turnOffNewDeleteOverloads();
    return CommandLineTestRunner::RunAllTests(argc, argv);
}
