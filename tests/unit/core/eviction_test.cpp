// Eviction (CoreConfig::evict_after_ms): users nobody here watches leave the core and come back
// from the store with everything durable; nobody sees a difference. Virtual clock throughout.
#include <map>
#include <set>

#include "core_harness.hpp"

using namespace presence::core;
using namespace presence::core::test;

namespace {
constexpr Millis kAfter = 10'000;
}

TEST_GROUP(Eviction) {
    CoreHarness h;
    std::map<std::string, UserRecord> store;                // what drain_dirty wrote
    std::map<std::string, std::vector<std::string>> graph;  // the host's friendships
    std::set<std::string> refuse;                           // release() says "not yet"
    std::vector<std::string> released;

    void setup() override {
        h.cfg.evict_after_ms = kAfter;
        h.cfg.offline_grace_ms = 3'000;
        h.cfg.heartbeat_timeout_ms = 1'000'000'000;  // connections here live until closed
        h.start();
    }
    void sync() {
        h.core->drain_dirty([&](const UserRecord& r) { store[r.user_id] = r; });
    }
    std::size_t evict() {
        sync();
        return h.core->evict_idle(h.now, 1000, [&](std::string_view id) {
            if (refuse.count(std::string(id))) return false;
            released.emplace_back(id);
            return true;
        });
    }
    void pass(Millis ms) {
        h.advance(ms);
        evict();
    }
    void befriend(const std::string& a, const std::string& b) {
        graph[a].push_back(b);
        graph[b].push_back(a);
    }
    // What the service's loader does before a request: record, then friend list.
    void load(const std::string& id, bool with_friends = true) {
        if (!h.core->has_user(id)) {
            auto it = store.find(id);
            UserRecord r;
            r.user_id = id;
            h.core->load_user(it == store.end() ? r : it->second, h.now);
        }
        if (with_friends && !h.core->has_friends(id)) h.core->load_friends(id, graph[id]);
    }
    // A connection as the service makes it: the viewer and every friend's record first.
    ConnId connect(const std::string& id) {
        load(id);
        for (const auto& f : graph[id]) load(f, false);
        return h.connect(id);
    }
};

TEST(Eviction, OffByDefault) {
    CoreHarness plain;
    plain.start();
    plain.load("a");
    plain.advance(1'000'000'000);
    LONGS_EQUAL(0, plain.core->evict_idle(plain.now, 100, nullptr));
    CHECK(plain.core->has_user("a"));
}

TEST(Eviction, UnwatchedUserGoesAfterTheDelayNotBefore) {
    load("a");
    CHECK(h.core->has_user("a"));
    pass(kAfter - 1);
    CHECK(h.core->has_user("a"));
    pass(1);
    CHECK_FALSE(h.core->has_user("a"));
    CHECK_FALSE(h.core->has_friends("a"));
    LONGS_EQUAL(0, h.core->loaded_user_count());
    LONGS_EQUAL(0, h.core->interned_user_count());
    CHECK(released == std::vector<std::string>{"a"});
}

TEST(Eviction, NeverWhileConnectedOrInGraceThenAfterLeaving) {
    const ConnId c = connect("a");
    pass(kAfter * 5);
    CHECK(h.core->has_user("a"));
    h.core->disconnect(c, h.now);
    pass(2'000);  // grace still running
    CHECK(h.core->has_user("a"));
    pass(kAfter);  // grace ended 1 s after the start of this pass: not yet kAfter since
    CHECK(h.core->has_user("a"));
    pass(kAfter);
    CHECK_FALSE(h.core->has_user("a"));
    // last_seen made it to the store before the user went.
    CHECK(store["a"].last_seen.has_value());
}

TEST(Eviction, AUserWithAFriendConnectedHereStaysLive) {
    befriend("a", "b");
    const ConnId ca = connect("a");  // loads b's record: a watches b
    pass(kAfter * 3);
    CHECK(h.core->has_user("b"));
    // b connects and changes status elsewhere... here: b connects, a gets presence live.
    const ConnId cb = connect("b");
    h.update("b", Status::Dnd);
    CHECK_STATUS(Status::Dnd, h.view("a", "b").status);
    h.core->disconnect(cb, h.now);
    pass(kAfter * 3);
    CHECK(h.core->has_user("b"));  // a still watches
    h.core->disconnect(ca, h.now);
    pass(kAfter + 3'000);
    pass(kAfter);
    CHECK_FALSE(h.core->has_user("a"));
    CHECK_FALSE(h.core->has_user("b"));
    LONGS_EQUAL(0, h.core->interned_user_count());
}

TEST(Eviction, UnsavedWorkPendingUpdateAndReleaseKeepTheUser) {
    befriend("a", "b");
    const ConnId c = connect("a");
    // Burn the bucket: the next update is deferred (pending).
    for (int i = 0; i < 10; ++i) h.update("a", i % 2 ? Status::Away : Status::Dnd, c);
    CHECK_ERROR(CoreError::RateLimited, h.update("a", Status::Away, c));
    h.core->disconnect(c, h.now);  // offline at once? no: grace; the pending update survives
    h.advance(3'000);
    // Not drained: dirty. evict_idle without sync must not drop it.
    h.advance(kAfter);
    h.core->evict_idle(h.now, 1000, [](std::string_view) { return true; });
    CHECK(h.core->has_user("a"));
    refuse.insert("a");  // e.g. the store has not made its write durable yet
    pass(kAfter);
    pass(kAfter);
    CHECK(h.core->has_user("a"));
    refuse.clear();
    pass(kAfter);
    CHECK_FALSE(h.core->has_user("a"));
    CHECK_STATUS(Status::Away, store["a"].chosen);  // the deferred update was applied and saved
}

TEST(Eviction, AHalfEmptyRestBucketKeepsTheUser) {
    h.cfg.evict_after_ms = 0;
    h.start();
    load("a");
    for (int i = 0; i < 10; ++i) h.update("a", i % 2 ? Status::Away : Status::Dnd);
    pass(1);
    CHECK(h.core->has_user("a"));  // forgetting the bucket would lift the rate limit
    pass(2'000);                   // 5/s, burst 10: full again
    CHECK_FALSE(h.core->has_user("a"));
}

TEST(Eviction, InvisibleUserReloadsWithEverythingDurableAndTheSameViews) {
    befriend("b", "a");
    befriend("b", "c");
    befriend("b", "d");
    const ConnId cb = connect("b");
    CHECK_ERROR(CoreError::None, h.core->add_visibility("b", "c", h.now));
    h.update_msg("b", Status::Dnd, "busy");
    h.now += 5'000;
    CHECK_ERROR(CoreError::None, h.update_until("b", Status::Invisible, h.now + 3'600'000, cb));
    h.now += 5'000;
    h.core->disconnect(cb, h.now);
    pass(3'000);
    load("a");
    load("c");
    const auto before_a = h.view("a", "b");
    const auto before_c = h.view("c", "b");
    const auto before_d = h.view("d", "b");
    const SeenPresence before_self = h.view("b", "b");
    pass(kAfter);
    pass(kAfter);
    CHECK_FALSE(h.core->has_user("b"));
    load("b");
    load("d");
    for (auto [viewer, before] : {std::pair{"a", before_a}, std::pair{"c", before_c},
                                  std::pair{"d", before_d}, std::pair{"b", before_self}}) {
        const auto after = h.view(viewer, "b");
        CHECK_STATUS(before.status, after.status);
        CHECK(before.message == after.message);
        CHECK(before.last_seen == after.last_seen);
    }
    // Frozen where it froze: ordinary friends see the moment b went invisible, c the later one.
    CHECK_MILLIS(h.now - 2 * kAfter - 3'000 - 10'000 + 5'000, h.view("a", "b").last_seen);
    CHECK(*h.view("c", "b").last_seen > *h.view("a", "b").last_seen);
    const SelfView self = h.core->self("b");
    CHECK_STATUS(Status::Invisible, self.chosen);
    CHECK(self.until.has_value());
    LONGS_EQUAL(1, self.visibility.size());
    STRCMP_EQUAL("c", std::string(self.visibility[0]).c_str());
    // a comes online: still offline with the frozen stamp, no leak.
    h.sink.clear();
    const ConnId ca = connect("a");
    const auto snap = h.sink.to(ca, FrameKind::Snapshot);
    LONGS_EQUAL(1, snap.size());
    CHECK_STATUS(Status::Offline, snap[0].friends.at(0).status);
}

TEST(Eviction, FriendListsStaySymmetricWhenOnlyOneSideGoes) {
    befriend("a", "b");
    befriend("a", "c");
    load("a");
    load("b");
    load("c");
    refuse.insert("b");
    pass(kAfter);
    CHECK_FALSE(h.core->has_user("a"));
    CHECK(h.core->has_friends("b"));
    // b's list still names a; a reloads and both see each other.
    load("a");
    auto fa = h.core->friends_of("a");
    std::sort(fa.begin(), fa.end());
    CHECK((fa == std::vector<std::string>{"b", "c"}));
    auto fb = h.core->friends_of("b");
    CHECK((fb == std::vector<std::string>{"a"}));
    // Once b may go too, nothing of either is left.
    refuse.clear();
    pass(kAfter);
    pass(kAfter);
    LONGS_EQUAL(0, h.core->interned_user_count());
}

TEST(Eviction, ASlotReusedByANewUserIgnoresTheOldUsersTimers) {
    const ConnId c = connect("x");
    CHECK_ERROR(CoreError::None, h.update_until("x", Status::Away, h.now + 60'000, c));
    h.core->disconnect(c, h.now);
    pass(3'000);
    pass(kAfter);
    CHECK_FALSE(h.core->has_user("x"));
    const ConnId cy = connect("y");  // takes x's slot
    CHECK_ERROR(CoreError::None, h.update_until("y", Status::Dnd, h.now + 600'000, cy));
    pass(60'000);  // x's old `until` entry is due: y stays dnd
    CHECK_STATUS(Status::Dnd, h.core->self("y").chosen);
    // x reloads with its expiry applied on load (back to online, persisted).
    load("x");
    CHECK_STATUS(Status::Online, h.core->self("x").chosen);
    sync();
    CHECK_STATUS(Status::Online, store["x"].chosen);
}

TEST(Eviction, WorkPerCallIsBounded) {
    for (int i = 0; i < 50; ++i) load("u" + std::to_string(i));
    h.advance(kAfter);
    sync();
    LONGS_EQUAL(10, h.core->evict_idle(h.now, 10, nullptr));
    LONGS_EQUAL(40, h.core->loaded_user_count());
    LONGS_EQUAL(40, h.core->evict_idle(h.now, 100, nullptr));
    LONGS_EQUAL(0, h.core->interned_user_count());
}

TEST(Eviction, ManyDistinctUsersLeaveNothingBehind) {
    // The distinct-user run in miniature: each connects once with a few friends and leaves.
    for (int i = 0; i < 2'000; ++i) {
        const std::string u = "user" + std::to_string(i);
        befriend(u, "user" + std::to_string((i + 1) % 2'000));
        const ConnId c = connect(u);
        h.core->disconnect(c, h.now);
        pass(10);
    }
    pass(3'000);  // the last graces end: everyone is offline from here
    pass(kAfter);
    for (int i = 0; i < 4; ++i) pass(1);  // batches of 1000 looked at per call
    LONGS_EQUAL(0, h.core->loaded_user_count());
    LONGS_EQUAL(0, h.core->interned_user_count());
    LONGS_EQUAL(0, h.core->evict_queue_size());
}

TEST(Eviction, ADeviceOnAnotherInstanceKeepsTheUserUntilItIsGone) {
    h.cfg.shared = true;
    h.start();
    load("a");
    RemotePresence elsewhere;
    elsewhere.devices = 1;
    elsewhere.active_devices = 1;
    h.core->apply_remote("a", elsewhere, nullptr, h.now);
    // Shared changes must have gone to Redis too: drain them as the service does.
    h.core->drain_shared([](const SharedUser&) {});
    pass(kAfter * 3);
    CHECK(h.core->has_user("a"));
    RemotePresence gone;
    gone.gone_since = h.now;
    h.core->apply_remote("a", gone, nullptr, h.now);
    pass(3'000);
    h.core->drain_shared([](const SharedUser&) {});
    pass(kAfter);
    CHECK_FALSE(h.core->has_user("a"));
}

TEST(Eviction, UnsharedChangesKeepTheUser) {
    h.cfg.shared = true;
    h.start();
    load("a");
    h.update("a", Status::Dnd);
    pass(kAfter * 2);
    CHECK(h.core->has_user("a"));  // Redis has not been told yet
    h.core->drain_shared([](const SharedUser&) {});
    pass(kAfter);
    CHECK_FALSE(h.core->has_user("a"));
}

TEST(Eviction, AUserOnAVisibilityListKeepsItsSlotUntilTheOwnerGoes) {
    befriend("a", "b");
    load("b");
    CHECK_ERROR(CoreError::None, h.core->add_visibility("b", "a", h.now));
    load("a", false);
    refuse.insert("b");
    pass(kAfter);
    pass(kAfter);
    CHECK_FALSE(h.core->has_user("a"));
    LONGS_EQUAL(2, h.core->interned_user_count());  // a's slot: b's list names it
    refuse.clear();
    pass(kAfter);
    LONGS_EQUAL(0, h.core->interned_user_count());
    load("b");
    const SelfView self = h.core->self("b");
    LONGS_EQUAL(1, self.visibility.size());
    STRCMP_EQUAL("a", std::string(self.visibility[0]).c_str());
}

TEST(Eviction, AnEndedFriendshipLetsTheOtherSideGo) {
    befriend("a", "b");
    connect("a");
    pass(kAfter * 2);
    CHECK(h.core->has_user("b"));
    h.core->remove_friendship("a", "b", h.now);
    pass(kAfter);
    CHECK_FALSE(h.core->has_user("b"));
    CHECK(h.core->has_user("a"));
}

TEST(Eviction, HeartbeatEntriesOfClosedConnectionsDoNotPileUp) {
    // Each connection arms a heartbeat deadline a minute ahead; 10,000 that come and go within
    // that minute must not leave 10,000 entries behind (the heap is compacted).
    h.cfg.heartbeat_timeout_ms = 60'000;
    h.cfg.offline_grace_ms = 0;  // no grace entries: only heartbeat deadlines in the heap
    h.start();
    const ConnId live = connect("stay");
    for (int i = 0; i < 10'000; ++i) {
        const ConnId c = connect("u" + std::to_string(i));
        h.core->disconnect(c, h.now);
    }
    CHECK_TEXT(h.core->timer_queue_size() < 10'000 / 2,
               std::to_string(h.core->timer_queue_size()).c_str());
    h.advance(59'000);
    CHECK(h.core->has_connection(live));
    h.advance(2'000);
    CHECK_FALSE(h.core->has_connection(live));  // its deadline survived every compaction
}
