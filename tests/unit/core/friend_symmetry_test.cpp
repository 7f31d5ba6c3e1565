// The symmetry invariant of friend lists (layout notes in plugin/core/presence_core.cpp): loads
// that disagree are settled by the newest one, and fan-out trusts the subject's own list.
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "core_harness.hpp"

using namespace presence::core;
using namespace presence::core::test;

namespace {

std::vector<std::string> sorted_friends(const PresenceCore& core, const std::string& user) {
    auto f = core.friends_of(user);
    std::sort(f.begin(), f.end());
    return f;
}

std::string joined(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += s + ",";
    return out;
}

}  // namespace

TEST_GROUP(FriendSymmetry) {
    CoreHarness h;
    void setup() override {
        h.start();
        for (const char* u : {"a", "b", "c", "d"}) h.load(u);
    }
    void check_friends(const std::string& user, const std::string& expected) {
        STRCMP_EQUAL(expected.c_str(), joined(sorted_friends(*h.core, user)).c_str());
    }
};

TEST(FriendSymmetry, LoadAddsItselfToLoadedListsThatLackIt) {
    h.friends("b", {});
    h.friends("c", {"d"});
    h.friends("a", {"b", "c"});
    check_friends("a", "b,c,");
    check_friends("b", "a,");
    check_friends("c", "a,d,");
}

TEST(FriendSymmetry, LoadRemovesItselfFromLoadedListsItNoLongerNames) {
    h.friends("b", {"a", "c"});
    h.friends("c", {"a", "b"});
    h.friends("a", {"c"});  // newest: a and b are not friends
    check_friends("a", "c,");
    check_friends("b", "c,");
    check_friends("c", "a,b,");
}

TEST(FriendSymmetry, ListsLoadedBeforeTheUserAreSettledWhenItLoads) {
    // b's own list arrives last and does not name a: a's older row loses.
    h.friends("a", {"b", "c"});
    h.friends("b", {"d"});
    check_friends("a", "c,");
    check_friends("b", "d,");
    CHECK_STATUS(Status::Offline, h.view("a", "b").status);
    // And the other way round: the newest list names the edge back.
    h.friends("a", {"b", "c"});
    check_friends("b", "a,d,");
}

TEST(FriendSymmetry, ReloadWithTheSameListChangesNothing) {
    h.friends("a", {"b", "c"});
    h.friends("b", {"a"});
    h.friends("a", {"c", "b", "b"});
    check_friends("a", "b,c,");
    check_friends("b", "a,");
}

TEST(FriendSymmetry, FriendshipWithAnUnloadedListIsUndoneByItsLoad) {
    h.friends("a", {});
    h.core->add_friendship("a", "c", h.now);  // c's list is not loaded: only a's changes
    check_friends("a", "c,");
    CHECK_FALSE(h.core->has_friends("c"));
    h.friends("c", {"b"});  // c's row, read later, does not name a
    check_friends("a", "");
    check_friends("c", "b,");
}

TEST(FriendSymmetry, RemovedFriendshipStaysRemovedOnBothSides) {
    h.friends("a", {"b"});
    h.core->remove_friendship("a", "b", h.now);  // b unloaded: its reverse list goes too
    h.friends("b", {"c"});
    check_friends("a", "");
    check_friends("b", "c,");
}

TEST(FriendSymmetry, ViewerDroppedBySubjectReloadGetsNoEvents) {
    h.befriend("a", "b");
    const ConnId a = h.connect("a");
    const ConnId b = h.connect("b");
    h.friends("b", {});  // b's newest list: no longer friends with a
    h.sink.clear();
    h.update_msg("b", Status::Dnd, "busy", b);
    h.core->disconnect(b, h.now);
    h.advance(h.cfg.offline_grace_ms + 1);
    LONGS_EQUAL(0, h.sink.presence_to(a, "b").size());
    CHECK_STATUS(Status::Offline, h.view("a", "b").status);
    CHECK_NULL_OPT(h.view("a", "b").last_seen);
}

TEST(FriendSymmetry, ViewerWhoDroppedTheSubjectGetsNoEvents) {
    h.befriend("a", "b");
    const ConnId a = h.connect("a");
    const ConnId b = h.connect("b");
    h.friends("a", {"c"});  // the viewer's own newest list leaves b out
    h.sink.clear();
    h.update_msg("b", Status::Away, "lunch", b);
    LONGS_EQUAL(0, h.sink.presence_to(a, "b").size());
    // b still has a friend online who does see it.
    h.friends("c", {"a", "b"});
    const ConnId c = h.connect("c");
    h.sink.clear();
    h.update("b", Status::Dnd, b);
    LONGS_EQUAL(0, h.sink.presence_to(a, "b").size());
    LONGS_EQUAL(1, h.sink.presence_to(c, "b").size());
}

TEST(FriendSymmetry, FanOutReachesExactlyTheFriendsWhoAreOnline) {
    // Friends of s named by s's newer list only, by the viewer's newer list only, or by both;
    // an online stranger, an offline friend, an ex-friend dropped by its own reload and a
    // stale friend whose older row s's list overrides.
    for (const char* u : {"s", "by_s", "by_viewer", "both", "stranger", "offline", "ex", "stale"}) {
        h.load(u);
    }
    h.friends("by_s", {});
    h.friends("both", {"s"});
    h.friends("stale", {"s"});
    h.friends("s", {"by_s", "both", "offline", "ex"});
    h.friends("by_viewer", {"s"});
    h.friends("ex", {});
    h.friends("stranger", {});
    h.friends("offline", {"s"});
    check_friends("s", "both,by_s,by_viewer,offline,");

    std::vector<ConnId> conns;
    for (const char* u : {"s", "by_s", "by_viewer", "both", "stranger", "ex", "stale"}) {
        conns.push_back(h.connect(u));
    }
    const ConnId both2 = h.connect("both");
    h.sink.clear();
    h.update_msg("s", Status::Dnd, "x", conns[0]);
    std::set<ConnId> got;
    for (const auto& f : h.sink.frames) {
        if (f.kind == FrameKind::Presence && f.presence.user_id == "s") got.insert(f.conn);
    }
    const std::set<ConnId> want{conns[1], conns[2], conns[3], both2};
    CHECK(want == got);
    LONGS_EQUAL(1, h.sink.presence_calls);  // one distinct view: one call
}
