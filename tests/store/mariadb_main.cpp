// Starts one throwaway mariadbd for the whole binary, runs the suites, and lets the server's
// destructor kill it and remove its datadir whatever the outcome.
#include <atomic>
#include <cstdio>

#include "store_loop.hpp"

// CppUTest last: its leak-detecting new macros must not meet standard headers.
#include <CppUTest/CommandLineTestRunner.h>
#include <CppUTest/MemoryLeakWarningPlugin.h>

namespace presence::test {
namespace {
MariaDbServer* g_server = nullptr;
std::atomic<int> g_next_db{0};
}  // namespace

MariaDbServer& server() {
    return *g_server;
}

std::string fresh_database(const std::string& prefix) {
    const std::string name = prefix + "_" + std::to_string(++g_next_db);
    std::string err;
    if (!server().create_database(name, &err)) {
        std::fprintf(stderr, "create_database %s: %s\n", name.c_str(), err.c_str());
    }
    return name;
}

}  // namespace presence::test

int main(int argc, char** argv) {
    presence::test::MariaDbServer db;
    std::string err;
    if (!db.start(&err)) {
        std::fprintf(stderr, "cannot start a throwaway mariadbd: %s\n", err.c_str());
        return 1;
    }
    presence::test::g_server = &db;
    // The store's worker threads allocate in ways CppUTest's per-test leak check misreads
    // (connections cached across tests by the client library), so leaks are checked by ASan.
    MemoryLeakWarningPlugin::turnOffNewDeleteOverloads();
    return CommandLineTestRunner::RunAllTests(argc, argv);
}
