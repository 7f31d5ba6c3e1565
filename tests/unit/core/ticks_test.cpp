// tick() cost follows due work; last_seen refresh; dirty reporting; presence_changed.
#include <string>
#include <vector>

#include "core_harness.hpp"

using namespace presence::core;
using namespace presence::core::test;

TEST_GROUP(Timers) {
    CoreHarness h;
    void setup() override {
        h.start();
    }
};

TEST(Timers, TickCostFollowsDueWorkNotIdleConnections) {
    const int n = 10'000;
    std::vector<ConnId> conns;
    for (int i = 0; i < n; ++i) {
        const std::string id = "u" + std::to_string(i);
        h.load(id);
        h.friends(id, {});
        conns.push_back(h.connect(id));
    }
    LONGS_EQUAL(n, h.core->timer_queue_size());
    const auto before = h.core->timers_run();
    for (int i = 0; i < 100; ++i) h.advance(100);  // 100 ticks, nothing due
    LONGLONGS_EQUAL(before, h.core->timers_run());
    // Heartbeats never push heap entries.
    for (ConnId c : conns) h.core->heartbeat(c, false, h.now);
    LONGS_EQUAL(n, h.core->timer_queue_size());
    // At the original deadline each entry pops once and re-arms lazily; nobody is closed.
    h.advance(h.cfg.heartbeat_timeout_ms - 10'000);  // connected 10 s ago
    LONGLONGS_EQUAL(before + n, h.core->timers_run());
    LONGS_EQUAL(0, h.sink.closed.size());
    LONGS_EQUAL(n, h.core->timer_queue_size());
    LONGS_EQUAL(n, h.core->connection_count());
}

TEST(Timers, HeartbeatDoesNotPushTimer) {
    h.load("a");
    const ConnId a = h.connect("a");
    const auto size = h.core->timer_queue_size();
    for (int i = 0; i < 100; ++i) h.core->heartbeat(a, i % 2 == 0, h.now + i);
    LONGS_EQUAL(size, h.core->timer_queue_size());
}

TEST(Timers, LastSeenRefreshedOnHeartbeatWithoutFrames) {
    h.cfg.last_seen_refresh_ms = 30'000;
    h.start();
    h.load("a");
    h.load("b");
    h.befriend("a", "b");
    const ConnId a = h.connect("a");
    const ConnId b = h.connect("b");
    h.drain();
    h.sink.clear();
    h.advance(10'000);
    h.core->heartbeat(b, false, h.now);
    LONGS_EQUAL(0, h.drain().size());  // not yet due
    h.advance(20'000);
    h.core->heartbeat(b, false, h.now);
    auto d = h.drain();
    LONGS_EQUAL(1, d.size());
    CHECK_MILLIS(h.now, d[0].last_seen);
    LONGS_EQUAL(0, h.sink.frames_to(a));  // online views carry last_seen null
}

TEST(Timers, InvisibleRefreshTouchesOnlyTheListedStamp) {
    h.cfg.last_seen_refresh_ms = 1000;
    h.start();
    h.load("b", Status::Invisible);
    const ConnId b = h.connect("b");
    h.drain();
    h.advance(5000);
    h.core->heartbeat(b, false, h.now);
    auto d = h.drain();
    LONGS_EQUAL(1, d.size());
    CHECK_NULL_OPT(d[0].last_seen);
    CHECK_MILLIS(h.now, d[0].last_seen_listed);
}

TEST(Timers, DrainDirtyReportsEachUserOnceWithFullRecord) {
    h.load("a");
    h.load("b");
    h.load("c");
    h.friends("a", {"c", "b"});
    h.friends("b", {"a"});
    h.friends("c", {"a"});
    h.drain();
    h.core->add_visibility("a", "c", h.now);
    h.core->add_visibility("a", "b", h.now);
    h.update_msg("a", Status::Dnd, "m");
    h.update("b", Status::Away);
    auto d = h.drain();
    LONGS_EQUAL(2, d.size());
    const UserRecord& ra = d[0].user_id == "a" ? d[0] : d[1];
    STRCMP_EQUAL("a", ra.user_id.c_str());
    CHECK_STATUS(Status::Dnd, ra.chosen);
    LONGS_EQUAL(2, ra.visibility.size());
    STRCMP_EQUAL("b", ra.visibility[0].c_str());  // sorted ids
    STRCMP_EQUAL("c", ra.visibility[1].c_str());
    LONGS_EQUAL(0, h.drain().size());
}

TEST(Timers, PresenceChangedOnlyForOrdinaryFriendsView) {
    h.load("a");
    h.load("b", Status::Invisible);
    h.befriend("a", "b");
    h.core->add_visibility("b", "a", h.now);
    const ConnId b = h.connect("b");
    LONGS_EQUAL(0, h.sink.changes.size());  // hidden: ordinary friends saw no change
    h.update("b", Status::Dnd, b);
    LONGS_EQUAL(1, h.sink.changes.size());
    STRCMP_EQUAL("b", h.sink.changes[0].user_id.c_str());
    CHECK_STATUS(Status::Dnd, h.sink.changes[0].status);
    LONGS_EQUAL(1, h.sink.changes[0].connections);
}

TEST(Timers, LoadedUserCount) {
    h.load("a");
    h.load("b");
    h.friends("a", {"x", "y"});  // interned, not loaded
    LONGS_EQUAL(2, h.core->loaded_user_count());
    CHECK(h.core->has_user("a"));
    CHECK_FALSE(h.core->has_user("x"));
    CHECK(h.core->has_friends("a"));
    CHECK_FALSE(h.core->has_friends("b"));
}
