// End-to-end with MariaDB: one throwaway mariadbd for the binary, real presence-host processes
// (tests/support HostProcess) configured with presence.db_url pointing at it.
#include <cstdio>

#include "mariadb_server.hpp"

// CppUTest last: its leak-detecting new macros must not meet standard headers.
#include <CppUTest/CommandLineTestRunner.h>
#include <CppUTest/MemoryLeakWarningPlugin.h>

namespace presence::test {
MariaDbServer* g_e2e_server = nullptr;
}

int main(int argc, char** argv) {
    presence::test::MariaDbServer db;
    std::string err;
    if (!db.start(&err)) {
        std::fprintf(stderr, "cannot start a throwaway mariadbd: %s\n", err.c_str());
        return 1;
    }
    presence::test::g_e2e_server = &db;
    MemoryLeakWarningPlugin::turnOffNewDeleteOverloads();
    return CommandLineTestRunner::RunAllTests(argc, argv);
}
