// SPEC 9: three instances and one Redis behave as one service. Each test checks the exact
// frames a viewer gets (no duplicates, no misses) when the users sit on different instances.
#include "instances.hpp"

using namespace presence::scaleout;

namespace {

HostOptions three_friends() {
    HostOptions o = small_timings();
    o.friends({{"alice", "bob"}, {"alice", "carol"}, {"bob", "carol"}});
    return o;
}

}  // namespace

TEST_GROUP(MultiInstance) {
    Instances in;
    void setup() override {
        in.start(3, three_friends());
    }
    void teardown() override {
        in.stop_all();
    }
};

TEST(MultiInstance, ConnectOnOneInstanceIsSeenOnAnotherExactlyOnce) {
    WsClient alice, bob;
    Json snap = connect_user(in.host(0), alice, "alice");
    STRCMP_EQUAL("offline", status_of(snap["friends"].find_by("user_id", "bob")).c_str());
    Json bob_snap = connect_user(in.host(1), bob, "bob");
    // Bob's snapshot, built on another instance, already shows alice online.
    STRCMP_EQUAL("online", status_of(bob_snap["friends"].find_by("user_id", "alice")).c_str());
    Json online = next_presence_about(alice, "bob");
    STRCMP_EQUAL("online", status_of(online).c_str());
    CHECK(online["last_seen"].is_null());
    expect_no_frame(alice);
    expect_no_frame(bob);
}

TEST(MultiInstance, DisconnectIsOfflineAfterTheGraceOnly) {
    WsClient alice, bob;
    connect_alice_then_bob(in, alice, bob);
    bob.send_close();
    bob.wait_closed(milliseconds{2000});
    expect_no_frame(alice, milliseconds{300});  // grace is 1 s
    Json off = next_presence_about(alice, "bob");
    STRCMP_EQUAL("offline", status_of(off).c_str());
    CHECK_TEXT(off["last_seen"].is_number(), off.dump().c_str());
    expect_no_frame(alice);
}

TEST(MultiInstance, ReloadOnAnotherInstanceWithinGraceIsNoEvent) {
    WsClient alice, bob, bob_again;
    connect_alice_then_bob(in, alice, bob);
    bob.send_close();
    bob.wait_closed(milliseconds{2000});
    connect_user(in.host(2), bob_again, "bob");  // page reload lands on another instance
    expect_no_frame(alice, milliseconds{1500});
}

TEST(MultiInstance, StatusMessageAndUntilCrossInstances) {
    WsClient alice, bob, carol;
    connect_alice_carol_then_bob(in, alice, carol, bob);

    CHECK(send_update(bob, R"("status":"away","message":"lunch")"));
    Json self = bob.read_until_type("presence_self");
    STRCMP_EQUAL("away", self["status"].str().c_str());
    for (WsClient* v : {&alice, &carol}) {
        Json p = next_presence_about(*v, "bob");
        STRCMP_EQUAL("away", status_of(p).c_str());
        STRCMP_EQUAL("lunch", p["message"].str().c_str());
        expect_no_frame(*v, milliseconds{200});
    }

    // dnd for 1.5 s: everyone sees dnd, then online again when it passes.
    CHECK(bob.send_text(R"({"type":"presence_heartbeat","idle":false})"));
    const std::int64_t now = bob.read_until_type("presence_heartbeat_ack")["server_time"].i64();
    CHECK(send_update(bob, R"("status":"dnd","until":)" + std::to_string(now + 1500)));
    for (WsClient* v : {&alice, &carol}) {
        STRCMP_EQUAL("dnd", status_of(next_presence_about(*v, "bob")).c_str());
    }
    for (WsClient* v : {&alice, &carol}) {
        Json back = next_presence_about(*v, "bob", milliseconds{4000});
        STRCMP_EQUAL("online", status_of(back).c_str());
        STRCMP_EQUAL("lunch", back["message"].str().c_str());  // the message stays
        expect_no_frame(*v, milliseconds{300});
    }
}

TEST(MultiInstance, InvisibleHidesFromFriendsButNotFromTheList) {
    WsClient alice, bob, carol;
    connect_alice_carol_then_bob(in, alice, carol, bob);

    // Carol on bob's list, then bob goes invisible on his instance.
    HttpResponse put = rest_send(in.host(1), "bob", "PUT", "/visibility/carol", "");
    LONGS_EQUAL(200, put.status);
    CHECK(send_update(bob, R"("status":"invisible","message":"secret")"));
    bob.read_until_type("presence_self");
    Json off = next_presence_about(alice, "bob");
    STRCMP_EQUAL("offline", status_of(off).c_str());
    CHECK(off["message"].is_null());
    // Carol (listed) sees online with the message.
    Json seen = next_presence_about(carol, "bob");
    STRCMP_EQUAL("online", status_of(seen).c_str());
    STRCMP_EQUAL("secret", seen["message"].str().c_str());

    // A hidden user's message edits and second device: nothing to alice.
    CHECK(send_update(bob, R"("status":"invisible","message":"shh")"));
    bob.read_until_type("presence_self");
    WsClient bob2;
    connect_user(in.host(0), bob2, "bob");
    expect_no_frame(alice, milliseconds{500});
    STRCMP_EQUAL("shh", next_presence_about(carol, "bob")["message"].str().c_str());

    // REST through alice's instance and a third: offline, last_seen frozen.
    for (int i : {0, 2}) {
        HttpResponse r = rest_get(in.host(i), "alice", "/users/bob");
        LONGS_EQUAL(200, r.status);
        Json j = Json::parse(r.body);
        STRCMP_EQUAL("offline", status_of(j).c_str());
        CHECK(j["message"].is_null());
    }
    // Taken off the list through another instance: carol gets offline.
    HttpResponse del = rest_send(in.host(2), "bob", "DELETE", "/visibility/carol", "");
    LONGS_EQUAL(200, del.status);
    STRCMP_EQUAL("offline", status_of(next_presence_about(carol, "bob")).c_str());
    expect_no_frame(alice, milliseconds{300});
}

TEST(MultiInstance, DevicesSpreadOverInstancesAreOneUser) {
    WsClient bob, phone, laptop;
    connect_user(in.host(2), bob, "bob");
    Json snap1 = connect_user(in.host(0), phone, "alice");
    next_presence_about(bob, "alice");
    Json snap2 = connect_user(in.host(1), laptop, "alice");
    LONGS_EQUAL(2, snap2["self"]["connections"].i64());
    wait_self(phone, 2);  // the phone learns the second device on another instance
    expect_no_frame(bob, milliseconds{400});  // a second device is no event

    // Both devices idle (on two instances): bob sees away once; one active: online.
    CHECK(phone.heartbeat_roundtrip(true));
    expect_no_frame(bob, milliseconds{300});
    CHECK(laptop.heartbeat_roundtrip(true));
    STRCMP_EQUAL("away", status_of(next_presence_about(bob, "alice")).c_str());
    CHECK(phone.heartbeat_roundtrip(false));
    STRCMP_EQUAL("online", status_of(next_presence_about(bob, "alice")).c_str());

    // A status set on one device reaches the other device's presence_self.
    CHECK(send_update(laptop, R"("status":"dnd")"));
    Json self = phone.read_until_type("presence_self");
    STRCMP_EQUAL("dnd", self["status"].str().c_str());
    STRCMP_EQUAL("dnd", status_of(next_presence_about(bob, "alice")).c_str());

    // One device closing is no event; the last closing is offline after the grace.
    phone.send_close();
    phone.wait_closed(milliseconds{2000});
    wait_self(laptop, 1);
    expect_no_frame(bob, milliseconds{1500});
    laptop.send_close();
    laptop.wait_closed(milliseconds{2000});
    STRCMP_EQUAL("offline", status_of(next_presence_about(bob, "alice")).c_str());
}

TEST(MultiInstance, ConnectionLimitIsServiceWide) {
    in.stop_all();
    Instances two;
    HostOptions o = three_friends();
    o.set("presence.max_connections_per_user", "2");
    two.start(3, o);
    WsClient a1, a2, a3;
    connect_user(two.host(0), a1, "alice");
    connect_user(two.host(1), a2, "alice");
    wait_self(a1, 2);
    CHECK(a3.connect(two.host(2).port(), two.host(2).ws_path("alice")));
    Json err = a3.read_json();
    STRCMP_EQUAL("error", err["type"].str().c_str());
    STRCMP_EQUAL("too_many", err["code"].str().c_str());
    CHECK(a3.wait_closed(milliseconds{3000}));
    LONGS_EQUAL(1008, a3.close_code());
    two.stop_all();
}

TEST(MultiInstance, FriendshipThroughAnotherInstanceAppliesEverywhere) {
    WsClient alice, dave;
    connect_user(in.host(0), alice, "alice");
    Json snap = connect_user(in.host(1), dave, "dave");
    LONGS_EQUAL(0, snap["friends"].size());
    // The host application changes friendships through a third instance.
    HttpResponse r = admin_friendship(in.host(2), "add", "alice", "dave");
    LONGS_EQUAL(200, r.status);
    STRCMP_EQUAL("online", status_of(next_presence_about(alice, "dave")).c_str());
    STRCMP_EQUAL("online", status_of(next_presence_about(dave, "alice")).c_str());
    // REST through the third instance now sees the friendship too.
    Json users = Json::parse(rest_get(in.host(2), "dave", "/friends").body)["users"];
    LONGS_EQUAL(1, users.size());
    STRCMP_EQUAL("online", status_of(users.find_by("user_id", "alice")).c_str());

    r = admin_friendship(in.host(2), "remove", "alice", "dave");
    LONGS_EQUAL(200, r.status);
    STRCMP_EQUAL("offline", status_of(next_presence_about(alice, "dave")).c_str());
    STRCMP_EQUAL("offline", status_of(next_presence_about(dave, "alice")).c_str());
    // Afterwards, nothing about each other.
    CHECK(send_update(dave, R"("status":"away")"));
    dave.read_until_type("presence_self");
    expect_no_frame(alice, milliseconds{400});
}

TEST(MultiInstance, RestReadsUsersOfOtherInstances) {
    WsClient bob;
    connect_user(in.host(1), bob, "bob");
    CHECK(send_update(bob, R"("status":"dnd","message":"deep work")"));
    bob.read_until_type("presence_self");
    // Alice has no connection at all; she asks through instance 0 and 2.
    for (int i : {0, 2}) {
        HttpResponse r = rest_get(in.host(i), "alice", "/users/bob");
        LONGS_EQUAL(200, r.status);
        Json j = Json::parse(r.body);
        STRCMP_EQUAL("dnd", status_of(j).c_str());
        STRCMP_EQUAL("deep work", j["message"].str().c_str());
        HttpResponse q = rest_send(in.host(i), "alice", "POST", "/query",
                                   R"({"user_ids":["bob","carol","zed"]})");
        LONGS_EQUAL(200, q.status);
        Json users = Json::parse(q.body)["users"];
        STRCMP_EQUAL("dnd", status_of(users[0]).c_str());
        STRCMP_EQUAL("offline", status_of(users[1]).c_str());
        STRCMP_EQUAL("offline", status_of(users[2]).c_str());
    }
    // Bob's own view through another instance: his chosen status, devices everywhere.
    Json me = Json::parse(rest_get(in.host(2), "bob", "/me").body);
    STRCMP_EQUAL("dnd", me["status"].str().c_str());
    LONGS_EQUAL(1, me["connections"].i64());
    // Health names the link.
    Json health = Json::parse(http_get(in.host(0).port(), "/api/presence/health").body);
    STRCMP_EQUAL("ok", health["redis"].str().c_str());
    STRCMP_EQUAL("i0", health["instance"].str().c_str());
}
