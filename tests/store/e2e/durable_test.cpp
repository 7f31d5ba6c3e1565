// Acknowledged means durable (the local journal, docs/operations.md "Storage"): a presence_self or
// REST 200 answering a user's choice survives kill -9 of the host right after it, and a whole
// MariaDB outage's worth of acknowledged changes (visibility removals included) survives kill -9 of
// the host during the outage. Real mariadbd, real presence-host processes.
#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "host_process.hpp"
#include "http_client.hpp"
#include "mariadb_e2e_fixture.hpp"
#include "mariadb_server.hpp"
#include "temp_dir.hpp"
#include "ws_client.hpp"

// CppUTest last: its leak-detecting new macros must not meet standard headers.
#include <CppUTest/TestHarness.h>

using namespace presence::test;
using namespace std::chrono_literals;

namespace {

HostOptions durable_options(const std::string& db, const TempDir& journal) {
    HostOptions o;
    o.set("presence.db_url", g_e2e_server->url(db));
    o.set("presence.journal_path", journal.file("journal"));
    o.set("presence.offline_grace_s", "0");
    o.set("presence.updates_per_s", "1000");
    return o;
}

std::uintmax_t journal_bytes(const TempDir& journal) {
    std::uintmax_t total = 0;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(journal.file("journal"), ec)) {
        if (e.path().filename().string().rfind("journal-", 0) == 0) total += e.file_size(ec);
    }
    return total;
}

// GET /me of `user`: "status|message".
std::string me(HostProcess& host, const std::string& user) {
    const auto r = http_get(host.port(), host.http_prefix() + "/me", host.mint_token(user));
    if (r.status != 200) return "HTTP " + std::to_string(r.status) + " " + r.body;
    const Json j = r.json();
    return j["status"].str() + "|" + j["message"].str();
}

// The status `viewer` sees of `friend_id` in its snapshot.
std::string seen_in_snapshot(HostProcess& host, const std::string& viewer, WsClient& ws,
                             const std::string& friend_id) {
    if (!ws.connect(host.port(), host.ws_path(viewer))) return "no connection";
    const Json snap = ws.read_until_type("presence_snapshot");
    const Json f = snap["friends"].find_by("user_id", friend_id);
    return f.valid() ? f["status"].str() : "absent";
}

class ServerBack {
  public:
    ServerBack() = default;
    ~ServerBack() {
        if (!g_e2e_server->running()) g_e2e_server->restart(nullptr);
    }
    ServerBack(const ServerBack&) = delete;
    ServerBack& operator=(const ServerBack&) = delete;
};

}  // namespace

TEST_GROUP(MariaDbDurable){};

// 30 runs, alternating WebSocket and REST: the acknowledged change is there after kill -9.
TEST(MariaDbDurable, AChangeAcknowledgedJustBeforeKillMinus9IsThereAfterRestart) {
    const std::string db = fresh_db_with_friends("durable", {{"alice", "bob"}});
    TempDir journal("durable-journal");
    HostProcess host(durable_options(db, journal));
    CHECK_TRUE_TEXT(host.start(), host.error().c_str());
    for (int run = 0; run < 30; ++run) {
        const std::string status = run % 3 == 0 ? "dnd" : (run % 3 == 1 ? "away" : "invisible");
        const std::string message = "run " + std::to_string(run);
        if (run % 2 == 0) {
            WsClient alice;
            CHECK_TRUE(alice.connect(host.port(), host.ws_path("alice")));
            CHECK_TRUE(alice.read_until_type("presence_snapshot").valid());
            CHECK_TRUE(alice.send_text(R"({"type":"presence_update","status":")" + status +
                                       R"(","message":")" + message + R"(","ref":)" +
                                       std::to_string(run) + "}"));
            const Json self = alice.read_until_type("presence_self");
            LONGS_EQUAL_TEXT(run, self["ref"].i64(), self.dump().c_str());
            host.kill_hard();  // right after the answer
        } else {
            const auto put =
                http_send(host.port(), "PUT", host.http_prefix() + "/status",
                          R"({"status":")" + status + R"(","message":")" + message + R"("})",
                          host.mint_token("alice"));
            LONGS_EQUAL_TEXT(200, put.status, put.body.c_str());
            host.kill_hard();
        }
        CHECK_TRUE_TEXT(host.restart(), host.error().c_str());
        STRCMP_EQUAL((status + "|" + message).c_str(), me(host, "alice").c_str());
    }
    // Once the database has it all, the journal is emptied.
    CHECK_TRUE(eventually([&] { return journal_bytes(journal) == 0; }, 10s));
}

// 2,000 acknowledged updates of 100 users and a visibility removal while MariaDB is down, then
// kill -9: nothing acknowledged is lost, and the removed viewer does not see the invisible user.
TEST(MariaDbDurable, KillMinus9DuringAnOutageLosesNothingAcknowledged) {
    const std::string db = fresh_db_with_friends("durable", {{"inv", "v1"}, {"inv", "v2"}});
    TempDir journal("durable-journal");
    HostProcess host(durable_options(db, journal));
    CHECK_TRUE_TEXT(host.start(), host.error().c_str());
    ServerBack server_back;
    constexpr int kUsers = 100;
    constexpr int kRounds = 20;
    {
        WsClient inv;
        CHECK_TRUE(inv.connect(host.port(), host.ws_path("inv")));
        CHECK_TRUE(inv.read_until_type("presence_snapshot").valid());
        const std::string token = host.mint_token("inv");
        auto put = http_send(host.port(), "PUT", host.http_prefix() + "/visibility",
                             R"({"user_ids":["v1","v2"]})", token);
        LONGS_EQUAL_TEXT(200, put.status, put.body.c_str());
        put = http_send(host.port(), "PUT", host.http_prefix() + "/status",
                        R"({"status":"invisible"})", token);
        LONGS_EQUAL_TEXT(200, put.status, put.body.c_str());
        // The list with v1 on it is in the database: losing the removal would show inv to v1.
        CHECK_TRUE(eventually(
            [&] {
                return g_e2e_server
                           ->column(db,
                                    "SELECT COUNT(*) FROM presence_visibility WHERE "
                                    "user_id = 'inv'")
                           .at(0) == "2";
            },
            10s));

        std::vector<WsClient> users(kUsers);
        for (int i = 0; i < kUsers; ++i) {
            CHECK_TRUE(users[i].connect(host.port(), host.ws_path("u" + std::to_string(i))));
            CHECK_TRUE(users[i].read_until_type("presence_snapshot").valid());
        }

        g_e2e_server->stop();
        const auto del =
            http_send(host.port(), "DELETE", host.http_prefix() + "/visibility/v1", "", token);
        LONGS_EQUAL_TEXT(200, del.status, del.body.c_str());
        for (int i = 0; i < kUsers; ++i) {
            for (int k = 0; k < kRounds; ++k) {
                CHECK_TRUE(users[i].send_text(
                    R"({"type":"presence_update","status":")" +
                    std::string(k % 2 ? "away" : "dnd") + R"(","message":"u)" + std::to_string(i) +
                    "-" + std::to_string(k) + R"(","ref":)" + std::to_string(k) + "}"));
            }
        }
        int acked = 0;
        for (int i = 0; i < kUsers; ++i) {
            for (int k = 0; k < kRounds; ++k) {
                const Json self = users[i].read_until_type("presence_self");
                LONGS_EQUAL_TEXT(k, self["ref"].i64(), self.dump().c_str());
                ++acked;
            }
        }
        LONGS_EQUAL(kUsers * kRounds, acked);
        host.kill_hard();
    }
    std::string err;
    CHECK_TRUE_TEXT(g_e2e_server->restart(&err), err.c_str());
    CHECK_TRUE_TEXT(host.restart(), host.error().c_str());
    CHECK_TEXT(host.output().find("replayed from") != std::string::npos, host.output().c_str());

    for (int i = 0; i < kUsers; ++i) {
        const std::string want = std::string((kRounds - 1) % 2 ? "away" : "dnd") + "|u" +
                                 std::to_string(i) + "-" + std::to_string(kRounds - 1);
        STRCMP_EQUAL(want.c_str(), me(host, "u" + std::to_string(i)).c_str());
    }
    WsClient inv, v1, v2;
    CHECK_TRUE(inv.connect(host.port(), host.ws_path("inv")));
    CHECK_TRUE(inv.read_until_type("presence_snapshot").valid());
    STRCMP_EQUAL("offline", seen_in_snapshot(host, "v1", v1, "inv").c_str());
    STRCMP_EQUAL("online", seen_in_snapshot(host, "v2", v2, "inv").c_str());

    // The database gets every change, and then the journal is emptied.
    CHECK_TRUE(eventually(
        [&] {
            return g_e2e_server
                       ->column(db, "SELECT COUNT(*) FROM user_presence WHERE message LIKE 'u%-" +
                                        std::to_string(kRounds - 1) + "'")
                       .at(0) == std::to_string(kUsers);
        },
        20s));
    CHECK_TRUE(eventually([&] { return journal_bytes(journal) == 0; }, 10s));
}
