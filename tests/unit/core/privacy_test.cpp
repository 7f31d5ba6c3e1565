// SPEC 4: who sees what. The privacy invariants, tested hardest.
#include "core_harness.hpp"

using namespace presence::core;
using namespace presence::core::test;

TEST_GROUP(Privacy) {
    CoreHarness h;
    void setup() override {
        h.start();
        // b is the subject; a is an ordinary friend, c a friend on b's list, s a stranger.
        h.load("a");
        h.load("b");
        h.load("c");
        h.load("s");
        h.friends("a", {"b"});
        h.friends("c", {"b"});
        h.friends("s", {});
        h.friends("b", {"a", "c"});
        CHECK_ERROR(CoreError::None, h.core->add_visibility("b", "c", h.now));
        h.sink.clear();
    }
};

TEST(Privacy, NonFriendSeesOfflineWithNullLastSeen) {
    h.connect("b");
    h.update_msg("b", Status::Dnd, "busy");
    auto v = h.view("s", "b");
    CHECK_STATUS(Status::Offline, v.status);
    CHECK_NULL_OPT(v.message);
    CHECK_NULL_OPT(v.last_seen);
    // The friend sees the real thing, so the stranger's answer is a real hiding.
    CHECK_STATUS(Status::Dnd, h.view("a", "b").status);
}

TEST(Privacy, NonFriendAnswerIsIdenticalToUnknownId) {
    const ConnId b = h.connect("b");
    h.advance(1000);
    h.core->disconnect(b, h.now);
    h.advance(10'000);  // b is offline with a last_seen now
    auto known = h.view("s", "b");
    auto unknown = h.view("s", "nobody");
    CHECK_STATUS(unknown.status, known.status);
    CHECK_NULL_OPT(known.last_seen);
    CHECK_NULL_OPT(unknown.last_seen);
    CHECK_NULL_OPT(known.message);
    STRCMP_EQUAL("nobody", unknown.user_id.c_str());
    CHECK(h.view("a", "b").last_seen.has_value());  // a friend does see it
}

TEST(Privacy, NonFriendNeverReceivesEvents) {
    const ConnId s = h.connect("s");
    h.sink.clear();
    const ConnId b = h.connect("b");
    h.update_msg("b", Status::Away, "x", b);
    h.core->heartbeat(b, true, h.now);
    h.core->disconnect(b, h.now);
    h.advance(h.cfg.offline_grace_ms + 1);
    LONGS_EQUAL(0, h.sink.frames_to(s));
}

TEST(Privacy, UnknownUserIsOfflineNeverSeenWithNoFriends) {
    auto v = h.view("a", "ghost");
    CHECK_STATUS(Status::Offline, v.status);
    CHECK_NULL_OPT(v.last_seen);
    CHECK(h.core->friends_view("ghost").empty());
    CHECK_FALSE(h.core->has_user("ghost"));
    // A friend whose record was never loaded: offline, never seen.
    h.friends("a", {"b", "neverloaded"});
    auto n = h.view("a", "neverloaded");
    CHECK_STATUS(Status::Offline, n.status);
    CHECK_NULL_OPT(n.last_seen);
}

TEST(Privacy, InvisibleUserConnectSendsNoFrameToUnlistedFriend) {
    h.update("b", Status::Invisible);
    const ConnId a = h.connect("a");
    const ConnId c = h.connect("c");
    h.sink.clear();
    h.connect("b");
    LONGS_EQUAL(0, h.sink.frames_to(a));
    auto to_c = h.sink.presence_to(c, "b");
    LONGS_EQUAL(1, to_c.size());
    CHECK_STATUS(Status::Online, to_c[0].status);
    LONGS_EQUAL(0, h.sink.changes.size());  // ordinary friends' view did not change
}

TEST(Privacy, InvisibleHeartbeatSendsNothing) {
    h.update_msg("b", Status::Invisible, "hidden");
    const ConnId a = h.connect("a");
    const ConnId c = h.connect("c");
    const ConnId b = h.connect("b");
    h.sink.clear();
    for (int i = 0; i < 5; ++i) {
        h.advance(20'000);
        h.core->heartbeat(b, i % 2 == 0, h.now);  // idle flips too
        h.core->heartbeat(a, false, h.now);
        h.core->heartbeat(c, false, h.now);
    }
    LONGS_EQUAL(0, h.sink.frames_to(a));
    LONGS_EQUAL(0, h.sink.frames_to(c));  // listed friends see "online" throughout, no away
}

TEST(Privacy, InvisibleMessageEditSendsNothingToUnlistedFriend) {
    h.update("b", Status::Invisible);
    const ConnId a = h.connect("a");
    const ConnId c = h.connect("c");
    const ConnId b = h.connect("b");
    h.sink.clear();
    h.update_msg("b", Status::Invisible, "secret plans", b);
    LONGS_EQUAL(0, h.sink.frames_to(a));
    auto to_c = h.sink.presence_to(c, "b");
    LONGS_EQUAL(1, to_c.size());
    STRCMP_EQUAL("secret plans", to_c[0].message->c_str());
}

TEST(Privacy, InvisibleDisconnectSendsNothingToUnlistedFriend) {
    h.update("b", Status::Invisible);
    const ConnId a = h.connect("a");
    const ConnId b = h.connect("b");
    h.sink.clear();
    h.core->disconnect(b, h.now);
    h.advance(h.cfg.offline_grace_ms + 10);
    h.advance(h.cfg.heartbeat_timeout_ms * 2);
    LONGS_EQUAL(0, h.sink.frames_to(a));
}

TEST(Privacy, ListedFriendSeesInvisibleAsOnlineWithMessage) {
    h.update_msg("b", Status::Invisible, "only for c");
    h.connect("b");
    auto c = h.view("c", "b");
    CHECK_STATUS(Status::Online, c.status);
    STRCMP_EQUAL("only for c", c.message->c_str());
    CHECK_NULL_OPT(c.last_seen);
    // And in c's snapshot.
    const ConnId cc = h.connect("c");
    auto snap = h.sink.to(cc, FrameKind::Snapshot);
    LONGS_EQUAL(1, snap.size());
    LONGS_EQUAL(1, snap[0].friends.size());
    CHECK_STATUS(Status::Online, snap[0].friends[0].status);
}

TEST(Privacy, UnlistedFriendSeesInvisibleAsOfflineWithoutMessage) {
    h.connect("b");
    h.advance(5000);
    const Millis went_invisible = h.now;
    h.update_msg("b", Status::Invisible, "do not leak");
    auto a = h.view("a", "b");
    CHECK_STATUS(Status::Offline, a.status);
    CHECK_NULL_OPT(a.message);
    CHECK_MILLIS(went_invisible, a.last_seen);
    // a's snapshot says the same.
    const ConnId ac = h.connect("a");
    auto snap = h.sink.to(ac, FrameKind::Snapshot);
    CHECK_STATUS(Status::Offline, snap[0].friends[0].status);
    CHECK_NULL_OPT(snap[0].friends[0].message);
}

TEST(Privacy, GoingInvisibleSendsOfflineWithFrozenLastSeen) {
    const ConnId a = h.connect("a");
    const ConnId c = h.connect("c");
    const ConnId b = h.connect("b");
    h.advance(7000);
    h.sink.clear();
    h.update("b", Status::Invisible, b);
    auto to_a = h.sink.presence_to(a, "b");
    LONGS_EQUAL(1, to_a.size());
    CHECK_STATUS(Status::Offline, to_a[0].status);
    CHECK_MILLIS(h.now, to_a[0].last_seen);
    CHECK_NULL_OPT(to_a[0].message);
    LONGS_EQUAL(0, h.sink.presence_to(c, "b").size());  // c still sees online
}

TEST(Privacy, LastSeenFrozenWhileInvisible) {
    h.cfg.last_seen_refresh_ms = 1000;
    setup();  // rebuild the core with this config
    const ConnId b = h.connect("b");
    h.advance(2000);
    const Millis went_invisible = h.now;
    h.update("b", Status::Invisible, b);
    for (int i = 0; i < 10; ++i) {
        h.advance(5000);
        h.core->heartbeat(b, false, h.now);
    }
    const Millis left = h.now;
    h.core->disconnect(b, h.now);
    h.advance(h.cfg.offline_grace_ms + 1);
    CHECK_MILLIS(went_invisible, h.view("a", "b").last_seen);  // public stamp frozen
    CHECK_MILLIS(left, h.view("c", "b").last_seen);            // the list saw them until now
    CHECK_MILLIS(left, h.view("b", "b").last_seen);
}

TEST(Privacy, SelfSeesOwnEffectiveStatusNeverInvisible) {
    h.update_msg("b", Status::Invisible, "m");
    h.connect("b");
    auto v = h.view("b", "b");
    CHECK_STATUS(Status::Online, v.status);
    STRCMP_EQUAL("m", v.message->c_str());
    CHECK_STATUS(Status::Invisible, h.core->self("b").chosen);
}

TEST(Privacy, MessageNeverShownWhenOffline) {
    h.update_msg("b", Status::Dnd, "away message");
    auto v = h.view("a", "b");  // b not connected
    CHECK_STATUS(Status::Offline, v.status);
    CHECK_NULL_OPT(v.message);
}

TEST(Privacy, LeavingInvisibleSendsOnlineToUnlistedOnly) {
    h.update_msg("b", Status::Invisible, "m");
    const ConnId a = h.connect("a");
    const ConnId c = h.connect("c");
    const ConnId b = h.connect("b");
    h.sink.clear();
    h.update("b", Status::Online, b);
    auto to_a = h.sink.presence_to(a, "b");
    LONGS_EQUAL(1, to_a.size());
    CHECK_STATUS(Status::Online, to_a[0].status);
    STRCMP_EQUAL("m", to_a[0].message->c_str());
    LONGS_EQUAL(0, h.sink.presence_to(c, "b").size());  // c saw online with m already
}

TEST(Privacy, InvisibleIdleDevicesStillOnlineForListedFriends) {
    h.update("b", Status::Invisible);
    const ConnId b = h.connect("b");
    h.core->heartbeat(b, true, h.now);
    CHECK_STATUS(Status::Online, h.view("c", "b").status);
    CHECK_STATUS(Status::Offline, h.view("a", "b").status);
}

TEST(Privacy, StoredInvisibleBecomesOnlineWhenInvisibleNotAllowed) {
    h.cfg.allow_invisible = false;
    setup();
    h.drain();
    h.load("x", Status::Invisible);
    CHECK_STATUS(Status::Online, h.core->self("x").chosen);
    LONGS_EQUAL(1, h.drain().size());
}
