// SPEC 3 and 5 over the wire: snapshot, friends told on connect / after grace, multi-device,
// reloads, heartbeat timeout, auto-away, `until`, custom message, queries, rate limits.
#include "e2e_fixture.hpp"

using namespace presence::e2e;

namespace {

// Heartbeat with an idle flag, reading until its ack.
std::vector<Json> heartbeat_sync(WsClient& ws, bool idle) {
    std::vector<Json> before;
    ws.send_text(idle ? R"({"type":"presence_heartbeat","idle":true})"
                      : R"({"type":"presence_heartbeat","idle":false})");
    for (;;) {
        Json j = ws.read_json(milliseconds{4000});
        CHECK_TEXT(j.valid(), "no heartbeat ack");
        if (j["type"].str() == "presence_heartbeat_ack") return before;
        before.push_back(j);
    }
}

std::int64_t server_time(WsClient& ws) {
    CHECK(ws.send_text(R"({"type":"presence_heartbeat","idle":false})"));
    Json ack = ws.read_until_type("presence_heartbeat_ack");
    CHECK_TEXT(ack["server_time"].is_number(), ack.dump().c_str());
    return ack["server_time"].i64();
}

}  // namespace

TEST_GROUP(PresenceFlow) {
    std::unique_ptr<HostProcess> host;
    void setup() override {
        host = start_host(small_timings().friends({{"alice", "bob"}, {"alice", "carol"}}));
    }
    void teardown() override {
        stop_cleanly(host);
    }
};

TEST(PresenceFlow, SnapshotOnConnectHasSelfAndEveryFriend) {
    WsClient bob;
    Json snap = connect_user(*host, bob, "bob");
    STRCMP_EQUAL("bob", snap["self"]["user_id"].str().c_str());
    STRCMP_EQUAL("online", snap["self"]["status"].str().c_str());
    LONGS_EQUAL(1, snap["self"]["connections"].i64());
    CHECK(snap["self"]["visibility"].is_array());
    CHECK(snap["friends"].is_array());
    LONGS_EQUAL(1, snap["friends"].size());
    Json alice = snap["friends"].find_by("user_id", "alice");
    STRCMP_EQUAL("offline", status_of(alice).c_str());
    CHECK(alice["last_seen"].is_null());

    WsClient alice_ws;
    Json snap2 = connect_user(*host, alice_ws, "alice");
    LONGS_EQUAL(2, snap2["friends"].size());
    STRCMP_EQUAL("online", status_of(snap2["friends"].find_by("user_id", "bob")).c_str());
    STRCMP_EQUAL("offline", status_of(snap2["friends"].find_by("user_id", "carol")).c_str());
}

TEST(PresenceFlow, FriendSeesOnlineOnConnectAndOfflineOnlyAfterGrace) {
    WsClient bob, alice;
    connect_user(*host, bob, "bob");
    connect_user(*host, alice, "alice");
    Json online = next_presence_about(bob, "alice");
    STRCMP_EQUAL("online", status_of(online).c_str());
    CHECK(online["message"].is_null());
    CHECK(online["last_seen"].is_null());

    alice.send_close();
    alice.wait_closed(milliseconds{2000});
    // Inside the 1 s grace nothing is said yet.
    expect_no_frame(bob, milliseconds{300});
    Json offline = next_presence_about(bob, "alice");
    STRCMP_EQUAL("offline", status_of(offline).c_str());
    CHECK_TEXT(offline["last_seen"].is_number(), offline.dump().c_str());
}

TEST(PresenceFlow, SecondDeviceIsNoEventAndAllDevicesSeeConnectionCount) {
    WsClient bob, phone, laptop;
    connect_user(*host, bob, "bob");
    connect_user(*host, phone, "alice");
    next_presence_about(bob, "alice");

    Json snap = connect_user(*host, laptop, "alice");
    LONGS_EQUAL(2, snap["self"]["connections"].i64());
    Json self = phone.read_until_type("presence_self");
    LONGS_EQUAL(2, self["connections"].i64());
    expect_no_frame(bob);

    laptop.send_close();
    laptop.wait_closed(milliseconds{2000});
    self = phone.read_until_type("presence_self");
    LONGS_EQUAL(1, self["connections"].i64());
    // Longer than the grace: the user is still online on the phone, so still no event.
    expect_no_frame(bob, milliseconds{1500});
}

TEST(PresenceFlow, PageReloadWithinGraceDoesNotFlap) {
    WsClient bob;
    connect_user(*host, bob, "bob");
    {
        WsClient alice;
        connect_user(*host, alice, "alice");
        next_presence_about(bob, "alice");
        alice.send_close();
        alice.wait_closed(milliseconds{2000});
    }
    WsClient reloaded;
    connect_user(*host, reloaded, "alice");
    expect_no_frame(bob, milliseconds{1500});
}

TEST(PresenceFlow, AbruptDisconnectGoesOfflineAfterGrace) {
    WsClient bob, alice;
    connect_user(*host, bob, "bob");
    connect_user(*host, alice, "alice");
    next_presence_about(bob, "alice");
    alice.drop();  // no close frame: a lost network
    STRCMP_EQUAL("offline", status_of(next_presence_about(bob, "alice")).c_str());
}

TEST(PresenceFlow, AutoAwayWhenEveryConnectionIsIdle) {
    WsClient bob, phone, laptop;
    connect_user(*host, bob, "bob");
    connect_user(*host, phone, "alice");
    next_presence_about(bob, "alice");
    connect_user(*host, laptop, "alice");

    heartbeat_sync(phone, true);
    expect_no_frame(bob);  // the laptop is still active
    heartbeat_sync(laptop, true);
    STRCMP_EQUAL("away", status_of(next_presence_about(bob, "alice")).c_str());
    heartbeat_sync(phone, false);
    STRCMP_EQUAL("online", status_of(next_presence_about(bob, "alice")).c_str());
}

TEST(PresenceFlow, UntilExpiryReturnsToOnlineAndTellsFriends) {
    WsClient bob, alice;
    connect_user(*host, bob, "bob");
    connect_user(*host, alice, "alice");
    next_presence_about(bob, "alice");
    const std::int64_t until = server_time(alice) + 1200;
    CHECK(send_update(alice, R"("status":"dnd","until":)" + std::to_string(until)));
    Json self = alice.read_until_type("presence_self");
    STRCMP_EQUAL("dnd", self["status"].str().c_str());
    LONGS_EQUAL(until, self["until"].i64());
    STRCMP_EQUAL("dnd", status_of(next_presence_about(bob, "alice")).c_str());

    STRCMP_EQUAL("online", status_of(next_presence_about(bob, "alice")).c_str());
    self = alice.read_until_type("presence_self");
    STRCMP_EQUAL("online", self["status"].str().c_str());
    CHECK(self["until"].is_null() || !self.has("until"));
}

TEST(PresenceFlow, CustomMessageKeptWhenAbsentClearedByNull) {
    WsClient bob, alice;
    connect_user(*host, bob, "bob");
    connect_user(*host, alice, "alice");
    next_presence_about(bob, "alice");

    CHECK(send_update(alice, R"("status":"online","message":"lunch \ud83c\udf55")"));
    STRCMP_EQUAL("lunch \xF0\x9F\x8D\x95",
                 alice.read_until_type("presence_self")["message"].str().c_str());
    Json seen = next_presence_about(bob, "alice");
    STRCMP_EQUAL("lunch \xF0\x9F\x8D\x95", seen["message"].str().c_str());

    CHECK(send_update(alice, R"("status":"away")"));
    seen = next_presence_about(bob, "alice");
    STRCMP_EQUAL("away", status_of(seen).c_str());
    STRCMP_EQUAL("lunch \xF0\x9F\x8D\x95", seen["message"].str().c_str());

    CHECK(send_update(alice, R"("status":"away","message":null)"));
    seen = next_presence_about(bob, "alice");
    CHECK(seen["message"].is_null());
}

TEST(PresenceFlow, QueryAnswersInOrderAskedWithoutDuplicates) {
    WsClient bob, alice;
    connect_user(*host, bob, "bob");
    connect_user(*host, alice, "alice");
    CHECK(alice.send_text(
        R"({"type":"presence_query","ref":"q1","user_ids":["carol","bob","carol","nobody","bob"]})"));
    Json res = alice.read_until_type("presence_result");
    STRCMP_EQUAL("q1", res["ref"].str().c_str());
    auto ids = res["users"].strings_of("user_id");
    LONGS_EQUAL(3, ids.size());
    STRCMP_EQUAL("carol", ids[0].c_str());
    STRCMP_EQUAL("bob", ids[1].c_str());
    STRCMP_EQUAL("nobody", ids[2].c_str());
    STRCMP_EQUAL("offline", status_of(res["users"][0]).c_str());
    STRCMP_EQUAL("online", status_of(res["users"][1]).c_str());
    STRCMP_EQUAL("offline", status_of(res["users"][2]).c_str());
    CHECK(res["users"][2]["last_seen"].is_null());
}

TEST(PresenceFlow, OwnStatusSurvivesReconnect) {
    {
        WsClient alice;
        connect_user(*host, alice, "alice");
        CHECK(send_update(alice, R"("status":"dnd","message":"focus")"));
        alice.read_until_type("presence_self");
    }
    WsClient again;
    Json snap = connect_user(*host, again, "alice");
    STRCMP_EQUAL("dnd", snap["self"]["status"].str().c_str());
    STRCMP_EQUAL("focus", snap["self"]["message"].str().c_str());
}

TEST_GROUP(PresenceTimeouts) {
    std::unique_ptr<HostProcess> host;
    void teardown() override {
        stop_cleanly(host);
    }
};

TEST(PresenceTimeouts, SilentSocketIsClosedAndFriendsSeeOffline) {
    HostOptions o = small_timings();
    o.set("presence.heartbeat_timeout_s", "2");
    o.friends({{"alice", "bob"}});
    host = start_host(o);
    WsClient bob, alice;
    connect_user(*host, bob, "bob");
    connect_user(*host, alice, "alice");
    next_presence_about(bob, "alice");
    // Bob keeps heartbeating (every 100 ms, well inside his own 2 s timeout); alice says
    // nothing from now on. Bounded: 8 s for a 2 s timeout.
    bool offline_seen = false;
    for (int i = 0; i < 80 && !offline_seen; ++i) {
        for (const Json& j : heartbeat_sync(bob, false)) {
            if (j["type"].str() == "presence" && j["user_id"].str() == "alice") {
                STRCMP_EQUAL("offline", status_of(j).c_str());
                offline_seen = true;
            }
        }
        if (!offline_seen) std::this_thread::sleep_for(milliseconds{100});
    }
    CHECK_TEXT(offline_seen, "bob never saw the silent alice go offline");
    CHECK_TEXT(alice.wait_closed(milliseconds{3000}), "the silent socket was not closed");
}

TEST(PresenceTimeouts, RateLimitedUpdatesApplyTheLatestValueLater) {
    HostOptions o = small_timings();
    o.set("presence.updates_per_s", "1");
    o.friends({{"alice", "bob"}});
    host = start_host(o);
    WsClient bob, alice;
    connect_user(*host, bob, "bob");
    connect_user(*host, alice, "alice");
    next_presence_about(bob, "alice");
    const int n = 30;
    for (int i = 0; i < n; ++i)
        CHECK(send_update(alice, R"("ref":)" + std::to_string(i) +
                                     R"(,"status":"online","message":"m)" + std::to_string(i) +
                                     "\""));
    bool limited = false;
    bool latest_self = false;
    for (int i = 0; i < 200 && !latest_self; ++i) {
        Json j = alice.read_json(milliseconds{4000});
        CHECK_TEXT(j.valid(), "the latest update never reached alice's devices");
        if (j["type"].str() == "error") {
            STRCMP_EQUAL("rate_limited", j["code"].str().c_str());
            CHECK(j["ref"].is_number());
            limited = true;
        }
        if (j["type"].str() == "presence_self" && j["message"].str() == "m" + std::to_string(n - 1))
            latest_self = true;
    }
    CHECK_TEXT(limited, "30 updates in a burst at 1/s were never rate_limited");
    CHECK(latest_self);
    std::string last;
    for (int i = 0; i < 200; ++i) {
        Json j = next_presence_about(bob, "alice");
        last = j["message"].str();
        if (last == "m" + std::to_string(n - 1)) break;
    }
    STRCMP_EQUAL(("m" + std::to_string(n - 1)).c_str(), last.c_str());
}

TEST(PresenceTimeouts, ConnectionsPerUserAreCapped) {
    HostOptions o = small_timings();
    o.set("presence.max_connections_per_user", "2");
    o.friends({{"alice", "bob"}});
    host = start_host(o);
    WsClient one, two, three;
    connect_user(*host, one, "alice");
    connect_user(*host, two, "alice");
    // The third is refused: either at the upgrade, or closed right after it with 1008.
    if (three.connect(host->port(), host->ws_path("alice"))) {
        CHECK_TEXT(three.wait_closed(milliseconds{3000}), "a third connection stayed open");
        LONGS_EQUAL(1008, three.close_code());
    }
    // The two accepted ones are untouched (sync skips their presence_self frames).
    sync(one);
    sync(two);
}

TEST(PresenceTimeouts, CleanStopClosesClientsAndARestartAcceptsThemAgain) {
    host = start_host(small_timings().friends({{"alice", "bob"}}));
    WsClient alice;
    connect_user(*host, alice, "alice");
    const auto port = host->port();
    CHECK_TEXT(host->restart(), host->error().c_str());
    LONGS_EQUAL(port, host->port());
    // SIGTERM closed the socket (close frame or EOF), it did not leave it hanging.
    CHECK_TEXT(alice.wait_closed(milliseconds{3000}), "the stop left the client connected");
    WsClient again;
    Json snap = connect_user(*host, again, "alice");
    STRCMP_EQUAL("alice", snap["self"]["user_id"].str().c_str());
}
