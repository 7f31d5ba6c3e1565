// Eviction through the real host with MariaDB: a user nobody watches leaves the plugin's
// memory (presence.evict_after_s) and comes back from the database with everything durable
// when a friend connects, queries them or reads them over REST; privacy is unchanged.
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

// A metric's value from GET /metrics (-1 when absent).
long long metric(HostProcess& host, const std::string& name) {
    const auto r = http_get(host.port(), host.http_prefix() + "/metrics", host.admin_token());
    const auto at = r.body.find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    return std::stoll(r.body.substr(at + name.size() + 2));
}

Json rest_user(HostProcess& host, const std::string& viewer, const std::string& subject) {
    const auto r =
        http_get(host.port(), host.http_prefix() + "/users/" + subject, host.mint_token(viewer));
    LONGS_EQUAL_TEXT(200, r.status, r.body.c_str());
    return r.json();
}

// Returns once the wall clock's millisecond has moved on, so whatever the host stamps next
// (it stamps with the same clock) is later than anything it stamped before this call.
void next_millisecond() {
    const auto ms = [] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    };
    const auto start = ms();
    while (ms() == start) std::this_thread::sleep_for(200us);
}

// Every user record has left the plugin's memory.
void wait_until_all_evicted(HostProcess& host) {
    CHECK_TRUE_TEXT(
        eventually([&] { return metric(host, "presence_loaded_users") == 0; }, 15s),
        ("loaded users: " + std::to_string(metric(host, "presence_loaded_users"))).c_str());
}

}  // namespace

TEST_GROUP(MariaDbEviction){};

TEST(MariaDbEviction, AnEvictedInvisibleUserReloadsWithEverythingDurable) {
    // ivy: bob is an ordinary friend, cat is on her visibility list, zed is a stranger.
    const std::string db = fresh_db_with_friends("evict", {{"ivy", "bob"}, {"ivy", "cat"}});
    HostOptions o;
    o.set("presence.db_url", g_e2e_server->url(db));
    o.set("presence.offline_grace_s", "0");
    o.set("presence.evict_after_s", "1");
    HostProcess host(o);
    CHECK_TRUE_TEXT(host.start(), host.error().c_str());

    const long long until = 4'102'444'800'000;  // 2100-01-01: does not expire during the test
    {
        WsClient ivy;
        CHECK_TRUE(ivy.connect(host.port(), host.ws_path("ivy")));
        CHECK_TRUE(ivy.read_until_type("presence_snapshot").valid());
        auto put = http_send(host.port(), "PUT", host.http_prefix() + "/visibility",
                             R"({"user_ids":["cat"]})", host.mint_token("ivy"));
        LONGS_EQUAL_TEXT(200, put.status, put.body.c_str());
        CHECK_TRUE(ivy.read_until_type("presence_self").valid());
        next_millisecond();  // the invisible moment differs from the connect
        CHECK_TRUE(ivy.send_text(
            R"({"type":"presence_update","status":"invisible","message":"heads down","until":)" +
            std::to_string(until) + "}"));
        Json self = ivy.read_until_type("presence_self");
        STRCMP_EQUAL("invisible", self["status"].str().c_str());
        // And the leaving moment differs from the invisible one.
        next_millisecond();
    }  // ivy leaves (no grace): offline

    // What everyone sees of ivy before she is evicted.
    CHECK_TRUE(eventually(
        [&] {
            return rest_user(host, "bob", "ivy")["last_seen"].valid() &&
                   !rest_user(host, "bob", "ivy")["last_seen"].is_null();
        },
        5s));
    const Json bob_before = rest_user(host, "bob", "ivy");
    const Json cat_before = rest_user(host, "cat", "ivy");
    const Json zed_before = rest_user(host, "zed", "ivy");
    STRCMP_EQUAL("offline", bob_before["status"].str().c_str());
    CHECK_TRUE(cat_before["last_seen"].i64() > bob_before["last_seen"].i64());
    CHECK_TRUE(zed_before["last_seen"].is_null());

    wait_until_all_evicted(host);
    CHECK_TRUE(metric(host, "presence_users_evicted_total") >= 4);

    // 1. A REST read reloads her: the same answers, to the millisecond.
    for (const auto& [viewer, before] : {std::pair{"bob", bob_before}, std::pair{"cat", cat_before},
                                         std::pair{"zed", zed_before}}) {
        const Json after = rest_user(host, viewer, "ivy");
        STRCMP_EQUAL(before["status"].str().c_str(), after["status"].str().c_str());
        CHECK_TRUE(after["message"].is_null());
        LONGS_EQUAL(before["last_seen"].i64(), after["last_seen"].i64());
        CHECK_EQUAL(before["last_seen"].is_null(), after["last_seen"].is_null());
    }
    const auto me = http_get(host.port(), host.http_prefix() + "/me", host.mint_token("ivy"));
    LONGS_EQUAL_TEXT(200, me.status, me.body.c_str());
    STRCMP_EQUAL("invisible", me.json()["status"].str().c_str());
    STRCMP_EQUAL("heads down", me.json()["message"].str().c_str());
    LONGS_EQUAL(until, me.json()["until"].i64());
    LONGS_EQUAL(1, me.json()["visibility"].size());
    STRCMP_EQUAL("cat", me.json()["visibility"][0].str().c_str());
    wait_until_all_evicted(host);

    // 2. A friend coming online reloads her for the snapshot.
    WsClient bob;
    CHECK_TRUE(bob.connect(host.port(), host.ws_path("bob")));
    Json snap = bob.read_until_type("presence_snapshot");
    STRCMP_EQUAL("offline", friend_in(snap, "ivy")["status"].str().c_str());
    LONGS_EQUAL(bob_before["last_seen"].i64(), friend_in(snap, "ivy")["last_seen"].i64());

    // 3. cat (on her list) connects and queries her: the reloaded list still holds cat.
    WsClient cat;
    CHECK_TRUE(cat.connect(host.port(), host.ws_path("cat")));
    CHECK_TRUE(cat.read_until_type("presence_snapshot").valid());
    CHECK_TRUE(cat.send_text(R"({"type":"presence_query","user_ids":["ivy"],"ref":"q"})"));
    Json result = cat.read_until_type("presence_result");
    LONGS_EQUAL(cat_before["last_seen"].i64(), result["users"][0]["last_seen"].i64());

    // While bob and cat are online ivy stays in memory: her view must stay live. She comes
    // back still invisible: cat (listed) sees her online with her message, bob sees nothing.
    // Rather than sleep past evict_after_s: a witness nobody watches, loaded after ivy, is
    // evicted (the queue is in due order, so ivy's turn came first), and ivy is still there.
    const long long loaded = metric(host, "presence_loaded_users");  // ivy, bob, cat
    CHECK_TRUE(loaded >= 3);
    {
        WsClient witness;
        CHECK_TRUE(witness.connect(host.port(), host.ws_path("witness")));
        CHECK_TRUE(witness.read_until_type("presence_snapshot").valid());
        LONGS_EQUAL(loaded + 1, metric(host, "presence_loaded_users"));
    }
    CHECK_TRUE(eventually([&] { return metric(host, "presence_loaded_users") <= loaded; }, 15s));
    CHECK_TRUE(metric(host, "presence_loaded_users") >= 3);
    WsClient ivy;
    CHECK_TRUE(ivy.connect(host.port(), host.ws_path("ivy")));
    Json ivy_snap = ivy.read_until_type("presence_snapshot");
    STRCMP_EQUAL("invisible", ivy_snap["self"]["status"].str().c_str());
    Json seen = cat.read_until_type("presence");
    STRCMP_EQUAL("ivy", seen["user_id"].str().c_str());
    STRCMP_EQUAL("online", seen["status"].str().c_str());
    STRCMP_EQUAL("heads down", seen["message"].str().c_str());
    std::string got;
    // The ack is bob's very next message: no presence of ivy reached him.
    CHECK_TRUE_TEXT(bob.heartbeat_roundtrip(false, WsClient::kDefaultTimeout, &got), got.c_str());
}
