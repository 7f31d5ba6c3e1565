// SPEC 8 through the real host: what a user chose survives a host restart, friendships come
// from the host's table, and /health tells the truth during a database outage.
#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "host_process.hpp"
#include "http_client.hpp"
#include "mariadb_e2e_fixture.hpp"
#include "mariadb_server.hpp"
#include "ws_client.hpp"

// CppUTest last: its leak-detecting new macros must not meet standard headers.
#include <CppUTest/TestHarness.h>

using namespace presence::test;
using namespace std::chrono_literals;

namespace {

HostOptions host_options(const std::string& db) {
    HostOptions o;
    o.set("presence.db_url", g_e2e_server->url(db));
    // Kept with the throwaway server's data rather than under $HOME (the default).
    o.set("presence.journal_path", g_e2e_server->dir() + "/journal-" + db);
    o.set("presence.offline_grace_s", "0");
    return o;
}

// The body of GET /friends for `user` (who must be loadable).
std::string rest_friends(HostProcess& host, const std::string& user) {
    return http_get(host.port(), host.http_prefix() + "/friends", host.mint_token(user)).body;
}

HostOptions fast_updates(HostOptions o) {
    // Several changes in a row within a second: keep them clear of the per-connection limit.
    o.set("presence.updates_per_s", "100");
    return o;
}

// ann and ben (friends) both connected and loaded, and every frame their arrival caused read,
// so the next frame each one gets is an answer to what the test does next.
void connect_ann_and_ben(HostProcess& host, WsClient& ann, WsClient& ben) {
    CHECK_TRUE(ann.connect(host.port(), host.ws_path("ann")));
    CHECK_TRUE(ann.read_until_type("presence_snapshot").valid());
    CHECK_TRUE(ben.connect(host.port(), host.ws_path("ben")));
    Json snap = ben.read_until_type("presence_snapshot");
    STRCMP_EQUAL("online", friend_in(snap, "ann")["status"].str().c_str());
    Json arrived = ann.read_until_type("presence");
    STRCMP_EQUAL("ben", arrived["user_id"].str().c_str());
    STRCMP_EQUAL("online", arrived["status"].str().c_str());
    std::string got;
    CHECK_TRUE_TEXT(ann.heartbeat_roundtrip(false, WsClient::kDefaultTimeout, &got), got.c_str());
    CHECK_TRUE_TEXT(ben.heartbeat_roundtrip(false, WsClient::kDefaultTimeout, &got), got.c_str());
}

// The very next message must be presence_self with this status and message.
void expect_self(WsClient& ws, const std::string& status, const std::string& message) {
    Json self = ws.read_json();
    STRCMP_EQUAL("presence_self", self["type"].str().c_str());
    STRCMP_EQUAL(status.c_str(), self["status"].str().c_str());
    STRCMP_EQUAL(message.c_str(), self["message"].str().c_str());
}

// The very next message must be ann's presence as this viewer sees it (message nullptr: null).
void expect_presence_of_ann(WsClient& ws, const std::string& status, const char* message) {
    Json p = ws.read_json();
    STRCMP_EQUAL("presence", p["type"].str().c_str());
    STRCMP_EQUAL("ann", p["user_id"].str().c_str());
    STRCMP_EQUAL(status.c_str(), p["status"].str().c_str());
    if (message) {
        STRCMP_EQUAL(message, p["message"].str().c_str());
    } else {
        CHECK_TRUE(p["message"].is_null());
    }
}

// "status|message" of ann's stored row ("" while there is none).
std::string ann_row(const std::string& db) {
    auto v =
        g_e2e_server->column(db,
                             "SELECT CONCAT(status, '|', COALESCE(message, '')) FROM user_presence "
                             "WHERE user_id = 'ann'");
    return v.empty() ? std::string() : v[0];
}

// True when a connection of the store (the test user) is blocked on a table lock in `db`.
bool store_waits_on_lock(const std::string& db) {
    auto v =
        g_e2e_server->column("", "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = '" +
                                     std::string(MariaDbServer::user()) + "' AND DB = '" + db +
                                     "' AND STATE LIKE 'Waiting for table%lock%'");
    return !v.empty();
}

// LOCK TABLES held from a session of our own until release() or destruction, so that a failing
// check can never leave the tables locked (or the session open) for the tests after it.
class HeldTableLock {
  public:
    HeldTableLock(const std::string& db, const std::string& tables) : conn_(*g_e2e_server, db) {
        if (!conn_.connected()) {
            error_ = "cannot open a root session";
            return;
        }
        held_ = conn_.exec("LOCK TABLES " + tables, &error_);
    }
    ~HeldTableLock() { release(); }
    HeldTableLock(const HeldTableLock&) = delete;
    HeldTableLock& operator=(const HeldTableLock&) = delete;
    bool held() const { return held_; }
    const std::string& error() const { return error_; }
    void release() {
        if (held_) conn_.exec("UNLOCK TABLES");
        held_ = false;
    }

  private:
    RootConnection conn_;
    bool held_ = false;
    std::string error_;
};

// Starts the shared server again if a test stopped it and then failed before its restart.
class ServerComesBack {
  public:
    ServerComesBack() = default;
    ~ServerComesBack() {
        if (!g_e2e_server->running()) g_e2e_server->restart(nullptr);
    }
    ServerComesBack(const ServerComesBack&) = delete;
    ServerComesBack& operator=(const ServerComesBack&) = delete;
};

}  // namespace

TEST_GROUP(MariaDbHost){};

TEST(MariaDbHost, ChosenStateSurvivesAHostRestart) {
    const std::string db = fresh_db_with_friends("e2e", {{"alice", "bob"}, {"alice", "carol"}});
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
    {
        const int status = host.stop();  // clean stop: the store is flushed
        LONGS_EQUAL_TEXT(0, status, host.output().c_str());
    }
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
    const std::string db = fresh_db_with_friends("e2e", {});
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

// presence-host plays the host application: its admin route writes the friendships table the
// plugin reads, then tells the plugin, so a friendship outlives the host.
TEST(MariaDbHost, AFriendshipAddedThroughTheAdminRouteSurvivesARestart) {
    const std::string db = fresh_db_with_friends("e2e", {{"ann", "dan"}});
    HostProcess host(host_options(db));
    CHECK_TRUE_TEXT(host.start(), host.error().c_str());
    WsClient ann;
    CHECK_TRUE(ann.connect(host.port(), host.ws_path("ann")));
    CHECK_TRUE(ann.read_until_type("presence_snapshot").valid());
    auto admin = [&](const std::string& body) {
        return http_send(host.port(), "POST", "/admin/friendships", body, host.admin_token());
    };
    HttpResponse r =
        admin(R"({"ops":[{"op":"add","a":"ann","b":"ben"},{"op":"remove","a":"dan","b":"ann"}]})");
    LONGS_EQUAL_TEXT(200, r.status, r.body.c_str());
    STRCMP_EQUAL("{\"applied\":2}", r.body.c_str());
    auto rows = [&] {
        return g_e2e_server->column(
            db, "SELECT CONCAT(user_id, '>', friend_id) FROM friendships ORDER BY 1");
    };
    // Both directions are in the host's table, and dan's rows are gone ...
    const std::vector<std::string> expected = {"ann>ben", "ben>ann"};
    CHECK_TRUE(rows() == expected);
    // ... and the plugin was told at once: ben's arrival reaches ann.
    WsClient ben;
    CHECK_TRUE(ben.connect(host.port(), host.ws_path("ben")));
    CHECK_TRUE(friend_in(ben.read_until_type("presence_snapshot"), "ann").valid());
    STRCMP_EQUAL("ben", ann.read_until_type("presence")["user_id"].str().c_str());
    ann.drop();
    ben.drop();

    LONGS_EQUAL_TEXT(0, host.stop(), host.output().c_str());
    CHECK_TRUE_TEXT(host.start(), host.error().c_str());
    WsClient ben_again, dan;
    CHECK_TRUE(ben_again.connect(host.port(), host.ws_path("ben")));
    Json snap = ben_again.read_until_type("presence_snapshot");
    CHECK_TRUE_TEXT(friend_in(snap, "ann").valid(), "ann is ben's friend after the restart");
    CHECK_TRUE(dan.connect(host.port(), host.ws_path("dan")));
    LONGS_EQUAL(0, dan.read_until_type("presence_snapshot")["friends"].size());
}

TEST(MariaDbHost, TheAdminRouteCreatesAMissingFriendshipsTableAndSaysWhenItCannotWrite) {
    const std::string db = fresh_db("e2e");  // no table at all
    std::string err;
    HostOptions options = host_options(db);
    options.set("host.friendships_table", "app_friends");
    options.set("presence.friends_query", "SELECT friend_id FROM app_friends WHERE user_id = ?");
    HostProcess host(options);
    CHECK_TRUE_TEXT(host.start(), host.error().c_str());
    HttpResponse r = http_send(host.port(), "POST", "/admin/friendships",
                               R"({"op":"add","a":"ann","b":"ben"})", host.admin_token());
    LONGS_EQUAL_TEXT(200, r.status, r.body.c_str());
    LONGS_EQUAL(2, g_e2e_server->column(db, "SELECT user_id FROM app_friends").size());

    ServerComesBack comes_back;
    g_e2e_server->stop();
    r = http_send(host.port(), "POST", "/admin/friendships", R"({"op":"add","a":"ann","b":"cid"})",
                  host.admin_token());
    LONGS_EQUAL_TEXT(503, r.status, r.body.c_str());
    STRCMP_EQUAL("unavailable", r.error_code().c_str());
    CHECK_TRUE_TEXT(g_e2e_server->restart(&err), err.c_str());
    // Not written, so not applied either: the plugin and the table agree.
    auto friends = rest_friends(host, "ann");
    CHECK_TRUE_TEXT(friends.find("cid") == std::string::npos, friends.c_str());
    // The next write reconnects.
    r = http_send(host.port(), "POST", "/admin/friendships", R"({"op":"add","a":"ann","b":"cid"})",
                  host.admin_token());
    LONGS_EQUAL_TEXT(200, r.status, r.body.c_str());
    LONGS_EQUAL(4, g_e2e_server->column(db, "SELECT user_id FROM app_friends").size());
}

TEST(MariaDbHost, HealthIsDegradedWhileTheDatabaseIsDownAndNothingIsLost) {
    const std::string db = fresh_db_with_friends("e2e", {{"ann", "ben"}});
    HostProcess host(fast_updates(host_options(db)));
    CHECK_TRUE_TEXT(host.start(), host.error().c_str());
    auto health = [&] {
        return http_get(host.port(), "/api/presence/health").json()["status"].str();
    };
    STRCMP_EQUAL("ok", health().c_str());

    WsClient ann, ben;
    connect_ann_and_ben(host, ann, ben);

    ServerComesBack comes_back;  // a failure below must not leave the database down for others
    g_e2e_server->stop();
    // Everything that does not need the database keeps working during the outage: a change is
    // acknowledged to the user at once and fanned out to her friend...
    CHECK_TRUE(
        ann.send_text(R"({"type":"presence_update","status":"dnd","message":"offline db"})"));
    expect_self(ann, "dnd", "offline db");
    expect_presence_of_ann(ben, "dnd", "offline db");
    // ...heartbeats are answered...
    std::string got;
    CHECK_TRUE_TEXT(ann.heartbeat_roundtrip(false, WsClient::kDefaultTimeout, &got), got.c_str());
    CHECK_TRUE_TEXT(ben.heartbeat_roundtrip(false, WsClient::kDefaultTimeout, &got), got.c_str());
    CHECK_TRUE(eventually([&] { return health() == "degraded"; }, 15s));
    // ...and a later change still fans out (the first one did not wedge anything).
    CHECK_TRUE(
        ann.send_text(R"({"type":"presence_update","status":"away","message":"still no db"})"));
    expect_self(ann, "away", "still no db");
    expect_presence_of_ann(ben, "away", "still no db");
    CHECK_TRUE_TEXT(ann.heartbeat_roundtrip(false, WsClient::kDefaultTimeout, &got), got.c_str());
    CHECK_TRUE_TEXT(ben.heartbeat_roundtrip(false, WsClient::kDefaultTimeout, &got), got.c_str());

    std::string err;
    CHECK_TRUE_TEXT(g_e2e_server->restart(&err), err.c_str());
    CHECK_TRUE(eventually([&] { return health() == "ok"; }, 30s));
    // Nothing acknowledged is lost: the LATEST change is what gets written once the database is
    // back (away = 2), with its message.
    CHECK_TRUE(eventually([&] { return ann_row(db) == "2|still no db"; }, 15s));
    STRCMP_EQUAL("2|still no db", ann_row(db).c_str());
}

TEST(MariaDbHost, SlowDatabaseDoesNotDelayHeartbeatsOrFanOut) {
    const std::string db = fresh_db_with_friends("e2e", {{"ann", "ben"}});
    HostProcess host(fast_updates(host_options(db)));
    CHECK_TRUE_TEXT(host.start(), host.error().c_str());
    // Both loaded (records and friends read) before the database turns slow.
    WsClient ann, ben;
    connect_ann_and_ben(host, ann, ben);

    const char* const updates[][2] = {
        {"dnd", "locked 1"}, {"away", "locked 2"}, {"invisible", "locked 3"}, {"dnd", "locked 4"}};
    {
        // Every read and write of the store's tables now waits behind this session's lock.
        HeldTableLock lock(db, "user_presence WRITE, presence_visibility WRITE");
        CHECK_TRUE_TEXT(lock.held(), lock.error().c_str());

        std::string got;
        for (const auto& [status, message] : updates) {
            CHECK_TRUE(ann.send_text(std::string(R"({"type":"presence_update","status":")") +
                                     status + R"(","message":")" + message + R"("})"));
            expect_self(ann, status, message);
            // invisible: ben (not on her visibility list) sees her offline, without a message.
            expect_presence_of_ann(ben, std::string(status) == "invisible" ? "offline" : status,
                                   std::string(status) == "invisible" ? nullptr : message);
            CHECK_TRUE_TEXT(ann.heartbeat_roundtrip(false, WsClient::kDefaultTimeout, &got),
                            got.c_str());
            CHECK_TRUE_TEXT(ben.heartbeat_roundtrip(false, WsClient::kDefaultTimeout, &got),
                            got.c_str());
        }
        // The proof that the frames above did not wait for the database: the store is, right
        // now, stuck behind the lock we still hold (its write of these changes cannot finish
        // before UNLOCK TABLES), yet every acknowledgement and fan-out frame has arrived.
        CHECK_TRUE_TEXT(eventually([&] { return store_waits_on_lock(db); }, 15s),
                        "the store never tried to write while the tables were locked");
        CHECK_TRUE(lock.held());
        lock.release();
    }
    // Once the lock is gone the queued changes land; the last one wins (dnd = 3).
    CHECK_TRUE(eventually([&] { return ann_row(db) == "3|locked 4"; }, 15s));
    STRCMP_EQUAL("3|locked 4", ann_row(db).c_str());
    std::string got;
    CHECK_TRUE_TEXT(ann.heartbeat_roundtrip(false, WsClient::kDefaultTimeout, &got), got.c_str());
}

TEST(MariaDbHost, AWrongPasswordStopsTheHostWithTheServerMessage) {
    const std::string db = fresh_db_with_friends("e2e", {});
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
