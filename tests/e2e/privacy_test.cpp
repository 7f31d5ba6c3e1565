// SPEC 4, "who sees what", over the wire. Every "nothing is sent" is proven by silence followed
// by a heartbeat round trip on the same socket, so a dead socket cannot pass for silence.
#include "e2e_fixture.hpp"

using namespace presence::e2e;

namespace {

Json query_one(WsClient& ws, const std::string& who) {
    CHECK(ws.send_text(R"({"type":"presence_query","user_ids":[)" + json_quote(who) + "]}"));
    Json res = ws.read_until_type("presence_result");
    CHECK_TEXT(res["users"].size() == 1, res.dump().c_str());
    return res["users"][0];
}

}  // namespace

// alice is friends with bob and carol; dave is nobody's friend.
TEST_GROUP(Privacy) {
    std::unique_ptr<HostProcess> host;
    void setup() override {
        host = start_host(small_timings().friends({{"alice", "bob"}, {"alice", "carol"}}));
    }
    void teardown() override {
        stop_cleanly(host);
    }
};

TEST(Privacy, NonFriendSeesOfflineLikeAnUnknownIdAndGetsNoEvents) {
    WsClient dave, alice;
    connect_user(*host, dave, "dave");
    connect_user(*host, alice, "alice");
    CHECK(send_update(alice, R"("status":"dnd","message":"secret")"));
    alice.read_until_type("presence_self");
    expect_no_frame(dave);

    Json seen = query_one(dave, "alice");
    Json unknown = query_one(dave, "nobody-at-all");
    STRCMP_EQUAL("offline", status_of(seen).c_str());
    CHECK(seen["last_seen"].is_null());
    CHECK(seen["message"].is_null());
    STRCMP_EQUAL(status_of(unknown).c_str(), status_of(seen).c_str());
    CHECK(unknown["last_seen"].is_null());

    HttpResponse r = rest_get(*host, "dave", "/users/alice");
    LONGS_EQUAL(200, r.status);
    STRCMP_EQUAL("offline", status_of(r.json()).c_str());
    CHECK(r.json()["last_seen"].is_null());
}

TEST(Privacy, InvisibleUserIsSilentToUnlistedFriendsAndOnlineToListed) {
    // alice hides before connecting, with carol on her list.
    HttpResponse r = rest_send(*host, "alice", "PUT", "/visibility", R"({"user_ids":["carol"]})");
    LONGS_EQUAL_TEXT(200, r.status, r.body.c_str());
    r = rest_send(*host, "alice", "PUT", "/status", R"({"status":"invisible"})");
    LONGS_EQUAL_TEXT(200, r.status, r.body.c_str());

    WsClient bob, carol, alice;
    connect_user(*host, bob, "bob");
    connect_user(*host, carol, "carol");
    Json snap = connect_user(*host, alice, "alice");
    STRCMP_EQUAL("invisible", snap["self"]["status"].str().c_str());

    // connect: bob hears nothing, carol sees online.
    STRCMP_EQUAL("online", status_of(next_presence_about(carol, "alice")).c_str());
    expect_no_frame(bob);

    // heartbeats (idle or not): nothing to bob.
    alice.send_text(R"({"type":"presence_heartbeat","idle":true})");
    alice.read_until_type("presence_heartbeat_ack");
    alice.send_text(R"({"type":"presence_heartbeat","idle":false})");
    alice.read_until_type("presence_heartbeat_ack");
    expect_no_frame(bob);

    // message edit: carol sees it, bob hears nothing.
    CHECK(send_update(alice, R"("status":"invisible","message":"hiding")"));
    alice.read_until_type("presence_self");
    Json carol_sees = next_presence_about(carol, "alice");
    STRCMP_EQUAL("online", status_of(carol_sees).c_str());
    STRCMP_EQUAL("hiding", carol_sees["message"].str().c_str());
    expect_no_frame(bob);

    // bob's view is offline with no message.
    Json bob_sees = query_one(bob, "alice");
    STRCMP_EQUAL("offline", status_of(bob_sees).c_str());
    CHECK(bob_sees["message"].is_null());

    // disconnect: carol sees offline after the grace, bob still nothing.
    alice.send_close();
    alice.wait_closed(milliseconds{2000});
    STRCMP_EQUAL("offline", status_of(next_presence_about(carol, "alice")).c_str());
    expect_no_frame(bob, milliseconds{300});
}

TEST(Privacy, GoingInvisibleLooksLikeGoingOfflineAndFreezesLastSeen) {
    WsClient bob, alice;
    connect_user(*host, bob, "bob");
    connect_user(*host, alice, "alice");
    next_presence_about(bob, "alice");
    CHECK(send_update(alice, R"("status":"invisible")"));
    Json off = next_presence_about(bob, "alice");
    STRCMP_EQUAL("offline", status_of(off).c_str());
    CHECK_TEXT(off["last_seen"].is_number(), off.dump().c_str());
    const auto frozen = off["last_seen"].i64();

    // Time passes while alice stays connected and active: bob's last_seen does not move.
    for (int i = 0; i < 3; ++i) {
        sync(alice);
        expect_no_frame(bob, milliseconds{400});
    }
    Json later = query_one(bob, "alice");
    LONGS_EQUAL(frozen, later["last_seen"].i64());
}

TEST(Privacy, AddingToTheListSendsOnlineRemovingSendsOffline) {
    WsClient bob, alice;
    connect_user(*host, bob, "bob");
    connect_user(*host, alice, "alice");
    next_presence_about(bob, "alice");
    CHECK(send_update(alice, R"("status":"invisible")"));
    STRCMP_EQUAL("offline", status_of(next_presence_about(bob, "alice")).c_str());

    HttpResponse r = rest_send(*host, "alice", "PUT", "/visibility/bob", "");
    LONGS_EQUAL_TEXT(200, r.status, r.body.c_str());
    STRCMP_EQUAL("online", status_of(next_presence_about(bob, "alice")).c_str());

    r = rest_send(*host, "alice", "DELETE", "/visibility/bob", "");
    LONGS_EQUAL_TEXT(200, r.status, r.body.c_str());
    STRCMP_EQUAL("offline", status_of(next_presence_about(bob, "alice")).c_str());
    expect_no_frame(bob);
}

TEST(Privacy, OnlyFriendsMayBeOnTheList) {
    HttpResponse r = rest_send(*host, "alice", "PUT", "/visibility/dave", "");
    LONGS_EQUAL_TEXT(422, r.status, r.body.c_str());
    STRCMP_EQUAL("not_friend", r.error_code().c_str());
    r = rest_get(*host, "alice", "/visibility");
    LONGS_EQUAL(0, r.json()["user_ids"].size());
}

TEST(Privacy, UnfriendSendsOfflineBothWaysAndNothingAfter) {
    WsClient bob, alice;
    connect_user(*host, bob, "bob");
    connect_user(*host, alice, "alice");
    next_presence_about(bob, "alice");
    // alice had bob on her list: the ended friendship takes him off it.
    HttpResponse r = rest_send(*host, "alice", "PUT", "/visibility/bob", "");
    LONGS_EQUAL_TEXT(200, r.status, r.body.c_str());
    sync(bob);

    r = admin_friendship(*host, "remove", "alice", "bob");
    LONGS_EQUAL_TEXT(200, r.status, r.body.c_str());
    Json to_bob = next_presence_about(bob, "alice");
    STRCMP_EQUAL("offline", status_of(to_bob).c_str());
    Json to_alice = next_presence_about(alice, "bob");
    STRCMP_EQUAL("offline", status_of(to_alice).c_str());

    CHECK(send_update(alice, R"("status":"away","message":"after")"));
    Json self = alice.read_until_type("presence_self");
    CHECK_TEXT(self["visibility"].strings().empty(), self.dump().c_str());
    CHECK(send_update(bob, R"("status":"dnd")"));
    bob.read_until_type("presence_self");
    expect_no_frame(bob);
    expect_no_frame(alice);
    STRCMP_EQUAL("offline", status_of(query_one(bob, "alice")).c_str());
    CHECK(query_one(bob, "alice")["last_seen"].is_null());
}

TEST(Privacy, NewFriendshipShowsEachSideToTheOther) {
    WsClient dave, alice;
    connect_user(*host, dave, "dave");
    connect_user(*host, alice, "alice");
    HttpResponse r = admin_friendship(*host, "add", "alice", "dave");
    LONGS_EQUAL_TEXT(200, r.status, r.body.c_str());
    STRCMP_EQUAL("online", status_of(next_presence_about(dave, "alice")).c_str());
    STRCMP_EQUAL("online", status_of(next_presence_about(alice, "dave")).c_str());
}
