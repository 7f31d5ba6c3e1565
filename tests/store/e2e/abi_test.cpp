// The ABI with MariaDB, in-process (a fake host over dlopen, as tests/abi does without a
// database): what the header promises about a request still waiting for the store when the
// host calls destroy. It is answered 503 from inside destroy; nothing else is called back.
#include <dlfcn.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "host_process.hpp"
#include "mariadb_e2e_fixture.hpp"
#include "mariadb_server.hpp"
#include "presence_plugin.h"

// CppUTest last: its leak-detecting new macros must not meet standard headers.
#include <CppUTest/TestHarness.h>

using namespace presence::test;
using namespace std::chrono_literals;

namespace {

struct FakeHost {
    std::vector<int> answers;  // statuses, in order
    int answers_in_destroy = 0;
    int sends = 0, closes = 0, changes = 0;
    bool in_destroy = false;
    std::atomic<int> wakes{0};
};

FakeHost& of(void* ctx) {
    return *static_cast<FakeHost*>(ctx);
}

presence_host_api table_for(FakeHost& host) {
    presence_host_api t{};
    t.struct_size = sizeof t;
    t.host_ctx = &host;
    t.send = [](void* ctx, uint64_t, const char*, size_t) {
        ++of(ctx).sends;
        return 0;
    };
    t.close = [](void* ctx, uint64_t, uint16_t, const char*) { ++of(ctx).closes; };
    t.respond = [](void* ctx, uint64_t, int status, const char*, const char*, size_t) {
        of(ctx).answers.push_back(status);
        if (of(ctx).in_destroy) ++of(ctx).answers_in_destroy;
    };
    t.now_ms = [](void*) -> int64_t {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    };
    t.wake = [](void* ctx) { ++of(ctx).wakes; };
    t.on_presence_change = [](void* ctx, const presence_change*) { ++of(ctx).changes; };
    return t;
}

}  // namespace

TEST_GROUP(MariaDbAbi){};

TEST(MariaDbAbi, DestroyAnswersARequestWaitingForTheStoreWith503AndCallsNothingElse) {
    const std::string db = "abi_destroy";
    std::string err;
    CHECK_TRUE_TEXT(g_e2e_server->create_database(db, &err), err.c_str());
    CHECK_TRUE_TEXT(g_e2e_server->exec(db,
                                       {"CREATE TABLE friendships (user_id VARCHAR(64), "
                                        "friend_id VARCHAR(64))"},
                                       &err),
                    err.c_str());
    void* so = dlopen(default_plugin_path().c_str(), RTLD_NOW | RTLD_LOCAL);
    CHECK_TRUE_TEXT(so != nullptr, dlerror());
    auto entry = reinterpret_cast<presence_entry_fn>(dlsym(so, PRESENCE_ENTRY_SYMBOL));
    char why[512] = "";
    const presence_plugin_api* api = entry(PRESENCE_ABI_VERSION, why, sizeof why);
    CHECK_TRUE_TEXT(api != nullptr, why);

    FakeHost host;
    const presence_host_api table = table_for(host);
    const std::string url = g_e2e_server->url(db);
    const std::string journal = g_e2e_server->dir() + "/journal-" + db;
    const presence_setting settings[] = {{"presence.db_url", url.c_str()},
                                         {"presence.journal_path", journal.c_str()}};
    presence_plugin* plugin = api->create(&table, settings, 2, why, sizeof why);
    CHECK_TRUE_TEXT(plugin != nullptr, why);

    // ann's record cannot be read while this session holds the table: GET /me waits.
    RootConnection locker(*g_e2e_server, db);
    CHECK_TRUE(locker.exec("LOCK TABLES user_presence WRITE, presence_visibility WRITE"));
    presence_http_request request{};
    request.struct_size = sizeof request;
    request.request_id = 7;
    request.method = "GET";
    request.path = "/api/presence/me";
    request.user_id = "ann";
    LONGS_EQUAL(PRESENCE_HTTP_HANDLED, api->on_http(plugin, &request));
    // The plugin's read is waiting for the lock (MariaDB says so), its wakes handled meanwhile.
    const std::string waiting = "SELECT COUNT(*) FROM information_schema.processlist WHERE db = '" +
                                db + "' AND state LIKE 'Waiting for table%'";
    CHECK_TRUE_TEXT(eventually(
                        [&] {
                            if (host.wakes.exchange(0)) api->on_wake(plugin);
                            const auto n = g_e2e_server->column(db, waiting);
                            return !n.empty() && n[0] != "0";
                        },
                        10s),
                    "the plugin's read never waited for the lock");
    if (host.wakes.exchange(0)) api->on_wake(plugin);
    CHECK_TRUE_TEXT(host.answers.empty(), "the request should still be waiting");

    // destroy: the waiting request is answered 503 at once; destroy itself returns once the
    // database call in flight has (the lock goes away after 300 ms).
    std::thread unlock([&] {
        std::this_thread::sleep_for(300ms);  // kept: destroy must meet a call still in flight
        locker.exec("UNLOCK TABLES");
    });
    host.in_destroy = true;
    const auto started = std::chrono::steady_clock::now();
    api->destroy(plugin);
    const auto took = std::chrono::steady_clock::now() - started;
    host.in_destroy = false;
    unlock.join();
    LONGS_EQUAL(1, host.answers_in_destroy);
    LONGS_EQUAL(1, static_cast<long>(host.answers.size()));
    LONGS_EQUAL(503, host.answers[0]);
    LONGS_EQUAL(0, host.sends);
    LONGS_EQUAL(0, host.closes);
    LONGS_EQUAL(0, host.changes);
    CHECK_TRUE_TEXT(took < 10s, "destroy waited for more than the call in flight");
    dlclose(so);
}
