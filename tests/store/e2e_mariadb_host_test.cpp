// SPEC 8 through the real host: what a user chose survives a host restart, friendships come
// from the host's table, and /health tells the truth during a database outage.
#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "host_process.hpp"
#include "http_client.hpp"
#include "mariadb_server.hpp"
#include "ws_client.hpp"

// CppUTest last: its leak-detecting new macros must not meet standard headers.
#include <CppUTest/TestHarness.h>

namespace presence::test {
extern MariaDbServer* g_e2e_server;
}

using namespace presence::test;
using namespace std::chrono_literals;

namespace {

int g_next = 0;

std::string fresh_db_with_friends(const std::vector<std::pair<std::string, std::string>>& pairs) {
    const std::string db = "e2e_" + std::to_string(++g_next);
    std::string err;
    CHECK_TRUE_TEXT(g_e2e_server->create_database(db, &err), err.c_str());
    std::vector<std::string> sql = {
        "CREATE TABLE friendships (user_id VARCHAR(64) NOT NULL, friend_id VARCHAR(64) NOT NULL, "
        "PRIMARY KEY (user_id, friend_id))"};
    for (const auto& [a, b] : pairs) {
        sql.push_back("INSERT INTO friendships VALUES ('" + a + "','" + b + "'),('" + b + "','" +
                      a + "')");
    }
    CHECK_TRUE_TEXT(g_e2e_server->exec(db, sql, &err), err.c_str());
    return db;
}

HostOptions host_options(const std::string& db) {
    HostOptions o;
    o.set("presence.db_url", g_e2e_server->url(db));
    o.set("presence.offline_grace_s", "0");
    return o;
}

// The friend `id` in a snapshot's "friends" array (invalid Json if absent).
Json friend_in(const Json& snapshot, const std::string& id) {
    const Json friends = snapshot["friends"];
    for (std::size_t i = 0; i < friends.size(); ++i) {
        if (friends[i]["user_id"].str() == id) return friends[i];
    }
    return Json{};
}

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (done()) return true;
        std::this_thread::sleep_for(50ms);
    }
    return done();
}

}  // namespace

TEST_GROUP(MariaDbHost){};

TEST(MariaDbHost, ChosenStateSurvivesAHostRestart) {
    const std::string db = fresh_db_with_friends({{"alice", "bob"}, {"alice", "carol"}});
    HostProcess host(host_options(db));
    CHECK_TRUE_TEXT(host.start(), host.error().c_str());
    {
        WsClient alice;
        CHECK_TRUE(alice.connect(host.port(), host.ws_path("alice")));
        CHECK_TRUE(alice.read_until_type("presence_snapshot").valid());
        const std::string token = host.mint_token("alice");
        auto put = http_send(host.port(), "PUT", host.http_prefix() + "/visibility",
                             R"({"user_ids":["bob"]})", token);
        LONGS_EQUAL_TEXT(200, put.status, put.body.c_str());
        CHECK_TRUE(alice.send_text(
            R"({"type":"presence_update","status":"invisible","message":"\ud83c\udf34 deep work"})"));
        // The visibility change sent a presence_self of its own first: wait for the status.
        Json self = alice.read_until_type("presence_self");
        for (int i = 0; i < 3 && self.valid() && self["status"].str() != "invisible"; ++i) {
            self = alice.read_until_type("presence_self");
        }
        STRCMP_EQUAL("invisible", self["status"].str().c_str());
    }
    LONGS_EQUAL(0, host.stop());  // clean stop: the store is flushed
    STRCMP_EQUAL("4", g_e2e_server
                          ->column(db,
                                   "SELECT status FROM user_presence WHERE user_id = "
                                   "'alice'")
                          .at(0)
                          .c_str());
    CHECK_TRUE_TEXT(host.start(), host.error().c_str());

    WsClient alice;
    CHECK_TRUE(alice.connect(host.port(), host.ws_path("alice")));
    Json snap = alice.read_until_type("presence_snapshot");
    CHECK_TRUE(snap.valid());
    STRCMP_EQUAL("invisible", snap["self"]["status"].str().c_str());
    STRCMP_EQUAL("\xF0\x9F\x8C\xB4 deep work", snap["self"]["message"].str().c_str());
    LONGS_EQUAL(1, snap["self"]["visibility"].size());
    STRCMP_EQUAL("bob", snap["self"]["visibility"][0].str().c_str());

    WsClient bob, carol;
    CHECK_TRUE(bob.connect(host.port(), host.ws_path("bob")));
    CHECK_TRUE(carol.connect(host.port(), host.ws_path("carol")));
    Json bob_snap = bob.read_until_type("presence_snapshot");
    Json carol_snap = carol.read_until_type("presence_snapshot");
    // bob is on the list: he sees alice online with her message; carol sees her offline.
    STRCMP_EQUAL("online", friend_in(bob_snap, "alice")["status"].str().c_str());
    STRCMP_EQUAL("\xF0\x9F\x8C\xB4 deep work",
                 friend_in(bob_snap, "alice")["message"].str().c_str());
    STRCMP_EQUAL("offline", friend_in(carol_snap, "alice")["status"].str().c_str());
    CHECK_TRUE(friend_in(carol_snap, "alice")["message"].is_null());
}

TEST(MariaDbHost, FriendshipsInsertedInTheHostTableAreSeenOnConnect) {
    const std::string db = fresh_db_with_friends({});
    HostProcess host(host_options(db));
    CHECK_TRUE_TEXT(host.start(), host.error().c_str());
    WsClient erin;
    CHECK_TRUE(erin.connect(host.port(), host.ws_path("erin")));
    CHECK_TRUE(erin.read_until_type("presence_snapshot").valid());

    CHECK_TRUE(
        g_e2e_server->exec(db, {"INSERT INTO friendships VALUES ('dave','erin'),('erin','dave')"}));
    WsClient dave;
    CHECK_TRUE(dave.connect(host.port(), host.ws_path("dave")));
    Json snap = dave.read_until_type("presence_snapshot");
    CHECK_TRUE(snap.valid());
    STRCMP_EQUAL("online", friend_in(snap, "erin")["status"].str().c_str());
    // A stranger is still nobody to dave.
    WsClient zed;
    CHECK_TRUE(zed.connect(host.port(), host.ws_path("zed")));
    Json zsnap = zed.read_until_type("presence_snapshot");
    LONGS_EQUAL(0, zsnap["friends"].size());
}

TEST(MariaDbHost, HealthIsDegradedWhileTheDatabaseIsDownAndNothingIsLost) {
    const std::string db = fresh_db_with_friends({{"ann", "ben"}});
    HostProcess host(host_options(db));
    CHECK_TRUE_TEXT(host.start(), host.error().c_str());
    auto health = [&] {
        return http_get(host.port(), "/api/presence/health").json()["status"].str();
    };
    STRCMP_EQUAL("ok", health().c_str());

    WsClient ann;
    CHECK_TRUE(ann.connect(host.port(), host.ws_path("ann")));
    CHECK_TRUE(ann.read_until_type("presence_snapshot").valid());

    g_e2e_server->stop();
    // A change accepted during the outage is acknowledged to the user at once...
    CHECK_TRUE(
        ann.send_text(R"({"type":"presence_update","status":"dnd","message":"offline db"})"));
    CHECK_TRUE(ann.read_until_type("presence_self").valid());
    CHECK_TRUE(eventually([&] { return health() == "degraded"; }, 15s));

    std::string err;
    CHECK_TRUE_TEXT(g_e2e_server->restart(&err), err.c_str());
    CHECK_TRUE(eventually([&] { return health() == "ok"; }, 30s));
    // ...and written once the database is back.
    CHECK_TRUE(eventually(
        [&] {
            auto v =
                g_e2e_server->column(db, "SELECT status FROM user_presence WHERE user_id = 'ann'");
            return !v.empty() && v[0] == "3";
        },
        15s));
}

TEST(MariaDbHost, AWrongPasswordStopsTheHostWithTheServerMessage) {
    const std::string db = fresh_db_with_friends({});
    const std::string url =
        "mariadb://presence:not-the-password@127.0.0.1:" + std::to_string(g_e2e_server->port()) +
        "/" + db;
    RunResult r = HostProcess::run_with_config({{"presence.db_url", url}});
    CHECK_FALSE(r.timed_out);
    CHECK_TRUE(r.exit_code != 0);
    CHECK_TRUE_TEXT(r.output.find("presence.db_url") != std::string::npos, r.output.c_str());
    CHECK_TRUE_TEXT(r.output.find("Access denied") != std::string::npos, r.output.c_str());
    CHECK_TRUE_TEXT(r.output.find("not-the-password") == std::string::npos, r.output.c_str());
}
