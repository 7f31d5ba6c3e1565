// SPEC 4.1 / 4.5: friendships come and go.
#include "core_harness.hpp"

using namespace presence::core;
using namespace presence::core::test;

TEST_GROUP(Friendships) {
    CoreHarness h;
    void setup() override {
        h.start_with_friends_a_b();
    }
};

TEST(Friendships, UnfriendSendsOfflineBothWaysAndNothingAfter) {
    const ConnId a = h.connect("a");
    const ConnId b = h.connect("b");
    h.sink.clear();
    h.core->remove_friendship("a", "b", h.now);
    auto to_a = h.sink.presence_to(a, "b");
    auto to_b = h.sink.presence_to(b, "a");
    LONGS_EQUAL(1, to_a.size());
    LONGS_EQUAL(1, to_b.size());
    CHECK_STATUS(Status::Offline, to_a[0].status);
    CHECK_NULL_OPT(to_a[0].last_seen);
    CHECK_NULL_OPT(to_a[0].message);
    CHECK_STATUS(Status::Offline, to_b[0].status);
    h.sink.clear();
    h.update_msg("b", Status::Dnd, "x", b);
    h.core->heartbeat(b, true, h.now);
    h.core->disconnect(b, h.now);
    h.advance(h.cfg.offline_grace_ms + 1);
    LONGS_EQUAL(0, h.sink.frames_to(a));
    CHECK_STATUS(Status::Offline, h.view("a", "b").status);
    CHECK_NULL_OPT(h.view("a", "b").last_seen);
}

TEST(Friendships, UnfriendRemovesFromVisibilityList) {
    h.core->add_visibility("a", "b", h.now);
    const ConnId a = h.connect("a");
    h.drain();
    h.sink.clear();
    h.core->remove_friendship("b", "a", h.now);
    LONGS_EQUAL(0, h.core->self("a").visibility.size());
    auto self = h.sink.to(a, FrameKind::Self);
    LONGS_EQUAL(1, self.size());
    LONGS_EQUAL(0, self[0].self.visibility.size());
    auto d = h.drain();
    LONGS_EQUAL(1, d.size());
    STRCMP_EQUAL("a", d[0].user_id.c_str());
    // Friends again later: not back on the list.
    h.core->add_friendship("a", "b", h.now);
    LONGS_EQUAL(0, h.core->self("a").visibility.size());
}

TEST(Friendships, UnfriendOfNeverSeenOfflineFriendSendsNothing) {
    h.load("c");
    h.befriend("a", "c");
    const ConnId a = h.connect("a");
    h.sink.clear();
    h.core->remove_friendship("a", "c", h.now);  // a saw c as offline, never seen already
    LONGS_EQUAL(0, h.sink.frames_to(a));
}

TEST(Friendships, AddFriendSendsPresenceToOnlineSides) {
    h.load("c");
    h.friends("c", {});
    const ConnId a = h.connect("a");
    const ConnId c = h.connect("c");
    h.update_msg("c", Status::Dnd, "new here", c);
    h.sink.clear();
    h.core->add_friendship("a", "c", h.now);
    auto to_a = h.sink.presence_to(a, "c");
    LONGS_EQUAL(1, to_a.size());
    CHECK_STATUS(Status::Dnd, to_a[0].status);
    STRCMP_EQUAL("new here", to_a[0].message->c_str());
    auto to_c = h.sink.presence_to(c, "a");
    LONGS_EQUAL(1, to_c.size());
    CHECK_STATUS(Status::Online, to_c[0].status);
    // From now on c's changes reach a.
    h.sink.clear();
    h.update("c", Status::Away, c);
    LONGS_EQUAL(1, h.sink.presence_to(a, "c").size());
}

TEST(Friendships, AddingAnExistingFriendshipSendsNothing) {
    const ConnId a = h.connect("a");
    const ConnId b = h.connect("b");
    h.sink.clear();
    h.core->add_friendship("a", "b", h.now);
    h.core->add_friendship("b", "a", h.now);
    LONGS_EQUAL(0, h.sink.frames_to(a));
    LONGS_EQUAL(0, h.sink.frames_to(b));
}

TEST(Friendships, AddFriendWhoIsHiddenSendsNoOnline) {
    h.load("c", Status::Invisible);
    h.friends("c", {});
    const ConnId a = h.connect("a");
    h.connect("c");
    h.sink.clear();
    h.core->add_friendship("a", "c", h.now);
    // c was never seen: what a now sees equals a stranger's view, so nothing is sent.
    LONGS_EQUAL(0, h.sink.frames_to(a));
    CHECK_STATUS(Status::Offline, h.view("a", "c").status);
}

TEST(Friendships, SelfFriendshipIgnored) {
    h.core->add_friendship("a", "a", h.now);
    for (const auto& f : h.core->friends_of("a")) CHECK(f != "a");
    h.core->load_friends("a", std::vector<std::string>{"a", "b", "b"});
    LONGS_EQUAL(1, h.core->friends_of("a").size());
}

TEST(Friendships, FriendshipOfUnloadedUsersIsHarmless) {
    h.core->add_friendship("x", "y", h.now);
    h.core->remove_friendship("x", "y", h.now);
    h.core->remove_friendship("a", "nobody", h.now);
    CHECK_FALSE(h.core->has_friends("x"));
    LONGS_EQUAL(0, h.sink.frames.size());
}

TEST(Friendships, AddFriendshipUpdatesOnlyLoadedLists) {
    h.core->add_friendship("a", "z", h.now);
    LONGS_EQUAL(2, h.core->friends_of("a").size());
    CHECK_FALSE(h.core->has_friends("z"));
}
