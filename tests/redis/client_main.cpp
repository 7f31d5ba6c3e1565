// redis_client_tests: the Redis client against real redis-servers (started per test) and one
// 3-master Redis Cluster shared by the cluster tests (started on first use, killed at exit).
#include <signal.h>

// CppUTest last: its leak-detecting new macros must not meet standard headers.
#include <CppUTest/CommandLineTestRunner.h>
#include <CppUTest/MemoryLeakWarningPlugin.h>

int main(int argc, char** argv) {
    ::signal(SIGPIPE, SIG_IGN);  // a server killed mid-write must fail the write, not the run
    // The shared cluster and test threads allocate across tests, which CppUTest's per-test leak
    // check misreads; leaks are checked by ASan instead.
    MemoryLeakWarningPlugin::turnOffNewDeleteOverloads();
    return CommandLineTestRunner::RunAllTests(argc, argv);
}
