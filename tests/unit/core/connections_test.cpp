// SPEC 3 multi-device, grace, liveness and auto-away.
#include "core_harness.hpp"

using namespace presence::core;
using namespace presence::core::test;

TEST_GROUP(Connections) {
    CoreHarness h;
    void setup() override {
        h.start_with_friends_a_b();
    }
};

TEST(Connections, FirstConnectSendsOnlineToFriends) {
    const ConnId a = h.connect("a");
    h.sink.clear();
    h.connect("b");
    auto to_a = h.sink.presence_to(a, "b");
    LONGS_EQUAL(1, to_a.size());
    CHECK_STATUS(Status::Online, to_a[0].status);
    CHECK_NULL_OPT(to_a[0].last_seen);
    LONGS_EQUAL(1, h.sink.changes.size());
    CHECK_STATUS(Status::Online, h.sink.changes[0].status);
    LONGS_EQUAL(2, h.core->online_user_count());
    LONGS_EQUAL(2, h.core->connection_count());
}

TEST(Connections, GraceReconnectSendsNothing) {
    const ConnId a = h.connect("a");
    const ConnId b = h.connect("b");
    h.sink.clear();
    h.core->disconnect(b, h.now);
    h.advance(h.cfg.offline_grace_ms - 1);
    h.connect("b");  // page reload
    h.advance(h.cfg.offline_grace_ms * 5);
    LONGS_EQUAL(0, h.sink.frames_to(a));
    LONGS_EQUAL(0, h.sink.changes.size());
    CHECK_STATUS(Status::Online, h.view("a", "b").status);
}

TEST(Connections, OfflineAfterGrace) {
    const ConnId a = h.connect("a");
    const ConnId b = h.connect("b");
    h.sink.clear();
    h.core->disconnect(b, h.now);
    CHECK_STATUS(Status::Online, h.view("a", "b").status);  // still present in grace
    h.advance(h.cfg.offline_grace_ms - 1);
    LONGS_EQUAL(0, h.sink.frames_to(a));
    h.advance(1);
    auto to_a = h.sink.presence_to(a, "b");
    LONGS_EQUAL(1, to_a.size());
    CHECK_STATUS(Status::Offline, to_a[0].status);
    LONGS_EQUAL(1, h.core->online_user_count());  // a only
}

TEST(Connections, LastSeenIsDisconnectMoment) {
    const ConnId a = h.connect("a");
    const ConnId b = h.connect("b");
    h.advance(12'345);
    const Millis closed_at = h.now;
    h.core->disconnect(b, h.now);
    h.advance(h.cfg.offline_grace_ms + 500);
    auto to_a = h.sink.presence_to(a, "b");
    CHECK_MILLIS(closed_at, to_a.back().last_seen);  // not the grace end
    CHECK_MILLIS(closed_at, h.view("a", "b").last_seen);
    CHECK_MILLIS(closed_at, h.sink.changes.back().last_seen);
    LONGLONGS_EQUAL(h.now, h.sink.changes.back().at);  // the change itself happens at grace end
}

TEST(Connections, ClosingOneOfSeveralDevicesIsNoEvent) {
    const ConnId a = h.connect("a");
    const ConnId b1 = h.connect("b");
    const ConnId b2 = h.connect("b");
    h.sink.clear();
    h.core->disconnect(b1, h.now);
    h.advance(h.cfg.offline_grace_ms * 2);
    LONGS_EQUAL(0, h.sink.frames_to(a));
    auto self = h.sink.to(b2, FrameKind::Self);
    LONGS_EQUAL(1, self.size());
    LONGS_EQUAL(1, self[0].self.connections);
}

TEST(Connections, HeartbeatTimeoutClosesAndGoesOfflineWithoutGrace) {
    const ConnId a = h.connect("a");
    const ConnId b = h.connect("b");
    h.advance(10'000);
    h.core->heartbeat(b, false, h.now);
    const Millis last_activity = h.now;
    h.core->heartbeat(a, false, h.now + h.cfg.heartbeat_timeout_ms - 1);  // keep a alive
    h.sink.clear();
    h.advance(h.cfg.heartbeat_timeout_ms);
    LONGS_EQUAL(1, h.sink.closed.size());
    LONGLONGS_EQUAL(b, h.sink.closed[0].conn);
    LONGS_EQUAL(1001, h.sink.closed[0].code);
    STRCMP_EQUAL("heartbeat timeout", h.sink.closed[0].reason.c_str());
    // Offline at once (no grace), last seen at the last sign of life.
    auto to_a = h.sink.presence_to(a, "b");
    LONGS_EQUAL(1, to_a.size());
    CHECK_STATUS(Status::Offline, to_a[0].status);
    CHECK_MILLIS(last_activity, to_a[0].last_seen);
    CHECK_FALSE(h.core->has_connection(b));
    // The host's later disconnect for it is ignored.
    h.sink.clear();
    h.core->disconnect(b, h.now);
    h.advance(h.cfg.offline_grace_ms * 2);
    LONGS_EQUAL(0, h.sink.frames.size());
}

TEST(Connections, AnyFrameKeepsConnectionAlive) {
    const ConnId b = h.connect("b");
    for (int i = 0; i < 10; ++i) {
        h.advance(h.cfg.heartbeat_timeout_ms / 2);
        if (i % 2 == 0) {
            h.core->touch(b, h.now);
        } else {
            h.core->heartbeat(b, false, h.now);
        }
    }
    LONGS_EQUAL(0, h.sink.closed.size());
    CHECK(h.core->has_connection(b));
    h.advance(h.cfg.heartbeat_timeout_ms);
    LONGS_EQUAL(1, h.sink.closed.size());
}

TEST(Connections, AllIdleShowsAway) {
    const ConnId a = h.connect("a");
    const ConnId b1 = h.connect("b");
    const ConnId b2 = h.connect("b");
    h.sink.clear();
    h.core->heartbeat(b1, true, h.now);
    LONGS_EQUAL(0, h.sink.frames_to(a));
    h.core->heartbeat(b2, true, h.now);
    auto to_a = h.sink.presence_to(a, "b");
    LONGS_EQUAL(1, to_a.size());
    CHECK_STATUS(Status::Away, to_a[0].status);
    CHECK_STATUS(Status::Online, h.core->self("b").chosen);  // own devices see the choice
}

TEST(Connections, OneActiveConnectionKeepsOnline) {
    const ConnId a = h.connect("a");
    const ConnId b1 = h.connect("b");
    const ConnId b2 = h.connect("b");
    h.core->heartbeat(b1, true, h.now);
    h.core->heartbeat(b2, true, h.now);
    h.sink.clear();
    h.core->heartbeat(b2, false, h.now);
    auto to_a = h.sink.presence_to(a, "b");
    LONGS_EQUAL(1, to_a.size());
    CHECK_STATUS(Status::Online, to_a[0].status);
    // A new (active) device also ends auto-away.
    h.core->heartbeat(b2, true, h.now);
    CHECK_STATUS(Status::Away, h.view("a", "b").status);
    h.connect("b");
    CHECK_STATUS(Status::Online, h.view("a", "b").status);
}

TEST(Connections, IdleOnlyMattersWhenChosenOnline) {
    const ConnId a = h.connect("a");
    const ConnId b = h.connect("b");
    h.update("b", Status::Dnd, b);
    h.sink.clear();
    h.core->heartbeat(b, true, h.now);
    LONGS_EQUAL(0, h.sink.frames_to(a));
    CHECK_STATUS(Status::Dnd, h.view("a", "b").status);
}

TEST(Connections, ClosingTheOnlyActiveDeviceShowsAway) {
    h.connect("a");
    const ConnId b1 = h.connect("b");
    const ConnId b2 = h.connect("b");
    h.core->heartbeat(b2, true, h.now);
    h.core->disconnect(b1, h.now);
    CHECK_STATUS(Status::Away, h.view("a", "b").status);
}

TEST(Connections, IdleStateKeptDuringGrace) {
    const ConnId a = h.connect("a");
    const ConnId b = h.connect("b");
    h.core->heartbeat(b, true, h.now);
    h.sink.clear();
    h.core->disconnect(b, h.now);
    CHECK_STATUS(Status::Away, h.view("a", "b").status);
    LONGS_EQUAL(0, h.sink.frames_to(a));
    h.advance(h.cfg.offline_grace_ms);
    CHECK_STATUS(Status::Offline, h.view("a", "b").status);
}

TEST(Connections, TooManyConnectionsRefused) {
    h.cfg.max_connections_per_user = 2;
    setup();
    const ConnId a = h.connect("a");
    h.connect("b");
    const ConnId b2 = h.connect("b");
    h.sink.clear();
    CHECK_ERROR(CoreError::TooMany, h.core->connect(999, "b", h.now));
    CHECK_FALSE(h.core->has_connection(999));
    LONGS_EQUAL(0, h.sink.frames.size());  // nothing sent to anyone
    LONGS_EQUAL(2, h.core->self("b").connections);
    LONGS_EQUAL(0, h.sink.frames_to(a) + h.sink.frames_to(b2));
}

TEST(Connections, ConnectOfUnloadedUserRefused) {
    CHECK_ERROR(CoreError::UnknownUser, h.core->connect(5, "stranger", h.now));
    CHECK_FALSE(h.core->has_connection(5));
}

TEST(Connections, UnknownConnectionCallsIgnored) {
    h.connect("a");
    h.sink.clear();
    h.core->disconnect(4242, h.now);
    h.core->heartbeat(4242, true, h.now);
    h.core->touch(4242, h.now);
    LONGS_EQUAL(0, h.sink.frames.size());
    CHECK(h.core->user_of(4242).empty());
}

TEST(Connections, UserOfConnection) {
    const ConnId b = h.connect("b");
    STRCMP_EQUAL("b", std::string(h.core->user_of(b)).c_str());
    CHECK(h.core->has_connection(b));
}

TEST(Connections, NoGraceConfiguredGoesOfflineOnClose) {
    h.cfg.offline_grace_ms = 0;
    setup();
    const ConnId a = h.connect("a");
    const ConnId b = h.connect("b");
    h.sink.clear();
    h.core->disconnect(b, h.now);
    auto to_a = h.sink.presence_to(a, "b");
    LONGS_EQUAL(1, to_a.size());  // exactly one frame, with the stamp already set
    CHECK_STATUS(Status::Offline, to_a[0].status);
    CHECK_MILLIS(h.now, to_a[0].last_seen);
}

TEST(Connections, ReusedConnIdGetsAFreshHeartbeatDeadline) {
    CHECK_ERROR(CoreError::None, h.core->connect(7, "b", h.now));
    h.core->disconnect(7, h.now);
    h.advance(h.cfg.heartbeat_timeout_ms / 2);
    CHECK_ERROR(CoreError::None, h.core->connect(7, "b", h.now));  // the host reused the id
    h.advance(h.cfg.heartbeat_timeout_ms / 2 + 1);  // the first connection's old deadline
    LONGS_EQUAL(0, h.sink.closed.size());
    CHECK(h.core->has_connection(7));
    h.advance(h.cfg.heartbeat_timeout_ms / 2);
    LONGS_EQUAL(1, h.sink.closed.size());
    LONGLONGS_EQUAL(7, h.sink.closed[0].conn);
}

TEST(Connections, DuplicateLiveConnIdRefused) {
    CHECK_ERROR(CoreError::None, h.core->connect(7, "b", h.now));
    CHECK(h.core->connect(7, "a", h.now) != CoreError::None);
    STRCMP_EQUAL("b", std::string(h.core->user_of(7)).c_str());
}

TEST(Connections, GraceReconnectKeepsLastSeen) {
    const ConnId b = h.connect("b");
    h.core->disconnect(b, h.now);
    h.advance(h.cfg.offline_grace_ms + 1);
    const auto seen = h.view("a", "b").last_seen;
    CHECK(seen.has_value());
    const ConnId b2 = h.connect("b");
    h.core->disconnect(b2, h.now);
    h.advance(100);
    h.connect("b");
    CHECK_STATUS(Status::Online, h.view("a", "b").status);
    CHECK_NULL_OPT(h.view("a", "b").last_seen);  // online views carry no last_seen
}
