// SPEC 4.2 / 4.4: the visibility list.
#include <string>
#include <vector>

#include "core_harness.hpp"

using namespace presence::core;
using namespace presence::core::test;

TEST_GROUP(Visibility) {
    CoreHarness h;
    void setup() override {
        h.start();
        for (const char* u : {"a", "b", "c", "d", "s"}) h.load(u);
        h.friends("a", {"b"});
        h.friends("c", {"b"});
        h.friends("d", {"b"});
        h.friends("s", {});
        h.friends("b", {"a", "c", "d"});
        h.sink.clear();
    }
};

TEST(Visibility, AddingToListWhileInvisibleSendsOnline) {
    const ConnId a = h.connect("a");
    const ConnId c = h.connect("c");
    const ConnId b = h.connect("b");
    h.update_msg("b", Status::Invisible, "psst", b);
    h.sink.clear();
    CHECK_ERROR(CoreError::None, h.core->add_visibility("b", "c", h.now));
    auto to_c = h.sink.presence_to(c, "b");
    LONGS_EQUAL(1, to_c.size());
    CHECK_STATUS(Status::Online, to_c[0].status);
    STRCMP_EQUAL("psst", to_c[0].message->c_str());
    LONGS_EQUAL(0, h.sink.frames_to(a));
    auto self = h.sink.to(b, FrameKind::Self);
    LONGS_EQUAL(1, self.size());
    LONGS_EQUAL(1, self[0].self.visibility.size());
    STRCMP_EQUAL("c", self[0].self.visibility[0].c_str());
}

TEST(Visibility, RemovingFromListSendsOffline) {
    const ConnId c = h.connect("c");
    const ConnId b = h.connect("b");
    h.advance(3000);
    const Millis went_invisible = h.now;
    h.update("b", Status::Invisible, b);
    h.core->add_visibility("b", "c", h.now);
    h.advance(3000);
    h.sink.clear();
    CHECK_ERROR(CoreError::None, h.core->remove_visibility("b", "c", h.now));
    auto to_c = h.sink.presence_to(c, "b");
    LONGS_EQUAL(1, to_c.size());
    CHECK_STATUS(Status::Offline, to_c[0].status);
    CHECK_NULL_OPT(to_c[0].message);
    CHECK_MILLIS(went_invisible, to_c[0].last_seen);  // the public stamp, nothing newer
}

TEST(Visibility, ListChangesWhileVisibleSendNothingToFriends) {
    const ConnId a = h.connect("a");
    const ConnId c = h.connect("c");
    h.connect("b");
    h.sink.clear();
    h.core->add_visibility("b", "c", h.now);
    h.core->remove_visibility("b", "c", h.now);
    std::vector<std::string> list{"a", "c"};
    h.core->set_visibility("b", list, nullptr, h.now);
    LONGS_EQUAL(0, h.sink.frames_to(a) + h.sink.frames_to(c));
}

TEST(Visibility, ListChangesWhileOfflineSendNothingToFriends) {
    const ConnId c = h.connect("c");
    h.update("b", Status::Invisible);
    h.sink.clear();
    h.core->add_visibility("b", "c", h.now);
    h.core->remove_visibility("b", "c", h.now);
    LONGS_EQUAL(0, h.sink.frames_to(c));
}

TEST(Visibility, VisibilityReplaceAllOrNothing) {
    h.core->add_visibility("b", "a", h.now);
    h.drain();
    std::vector<std::string> ids{"c", "zed", "s", "d", "s"};
    std::vector<std::string> offenders;
    CHECK_ERROR(CoreError::NotFriend, h.core->set_visibility("b", ids, &offenders, h.now));
    LONGS_EQUAL(2, offenders.size());
    STRCMP_EQUAL("s", offenders[0].c_str());
    STRCMP_EQUAL("zed", offenders[1].c_str());
    auto self = h.core->self("b");
    LONGS_EQUAL(1, self.visibility.size());  // unchanged
    STRCMP_EQUAL("a", std::string(self.visibility[0]).c_str());
    LONGS_EQUAL(0, h.drain().size());
}

TEST(Visibility, ReplaceStoresSortedUnique) {
    std::vector<std::string> ids{"d", "a", "d", "c"};
    CHECK_ERROR(CoreError::None, h.core->set_visibility("b", ids, nullptr, h.now));
    auto self = h.core->self("b");
    LONGS_EQUAL(3, self.visibility.size());
    STRCMP_EQUAL("a", std::string(self.visibility[0]).c_str());
    STRCMP_EQUAL("c", std::string(self.visibility[1]).c_str());
    STRCMP_EQUAL("d", std::string(self.visibility[2]).c_str());
}

TEST(Visibility, VisibilityMaxEnforced) {
    h.cfg.max_visibility = 2;
    setup();
    std::vector<std::string> three{"a", "c", "d"};
    CHECK_ERROR(CoreError::TooMany, h.core->set_visibility("b", three, nullptr, h.now));
    LONGS_EQUAL(0, h.core->self("b").visibility.size());
    CHECK_ERROR(CoreError::None, h.core->add_visibility("b", "a", h.now));
    CHECK_ERROR(CoreError::None, h.core->add_visibility("b", "c", h.now));
    CHECK_ERROR(CoreError::TooMany, h.core->add_visibility("b", "d", h.now));
    CHECK_ERROR(CoreError::None, h.core->add_visibility("b", "c", h.now));  // already there
    LONGS_EQUAL(2, h.core->self("b").visibility.size());
}

TEST(Visibility, OnlyFriendsMayBeListed) {
    CHECK_ERROR(CoreError::NotFriend, h.core->add_visibility("b", "s", h.now));
    CHECK_ERROR(CoreError::NotFriend, h.core->add_visibility("b", "unknown", h.now));
    CHECK_ERROR(CoreError::NotFriend, h.core->add_visibility("b", "b", h.now));  // self
    std::vector<std::string> me{"b"};
    std::vector<std::string> offenders;
    CHECK_ERROR(CoreError::NotFriend, h.core->set_visibility("b", me, &offenders, h.now));
    LONGS_EQUAL(1, offenders.size());
}

TEST(Visibility, RemovingAbsentIdIsNotAnError) {
    CHECK_ERROR(CoreError::None, h.core->remove_visibility("b", "c", h.now));
    CHECK_ERROR(CoreError::None, h.core->remove_visibility("b", "nobody", h.now));
}

TEST(Visibility, EveryChangeSendsSelfAndMarksDirty) {
    const ConnId b1 = h.connect("b");
    const ConnId b2 = h.connect("b");
    h.drain();
    h.sink.clear();
    h.core->add_visibility("b", "d", h.now);
    LONGS_EQUAL(1, h.sink.to(b1, FrameKind::Self).size());
    LONGS_EQUAL(1, h.sink.to(b2, FrameKind::Self).size());
    auto d = h.drain();
    LONGS_EQUAL(1, d.size());
    LONGS_EQUAL(1, d[0].visibility.size());
    STRCMP_EQUAL("d", d[0].visibility[0].c_str());
}

TEST(Visibility, ListedFriendSeesLaterLastSeenAfterInvisibleUserLeaves) {
    h.core->add_visibility("b", "c", h.now);
    const ConnId b = h.connect("b");
    h.advance(1000);
    const Millis hidden_at = h.now;
    h.update("b", Status::Invisible, b);
    h.advance(1000);
    const Millis left_at = h.now;
    h.core->disconnect(b, h.now);
    h.advance(h.cfg.offline_grace_ms);
    CHECK_MILLIS(hidden_at, h.view("a", "b").last_seen);
    CHECK_MILLIS(left_at, h.view("c", "b").last_seen);
}

TEST(Visibility, VisibilityOfUnloadedUserIsUnknownUser) {
    CHECK_ERROR(CoreError::UnknownUser, h.core->add_visibility("nobody", "b", h.now));
}

TEST(Visibility, ListChangeWhileOfflineOnlyMovesTheLastSeenStamp) {
    // b was invisible, then left: the list saw them later than everyone else. Being added to
    // (or removed from) the list while b is offline changes which stamp a viewer sees, and
    // only that; what a query would answer and what a frame says stay the same.
    const ConnId c = h.connect("c");
    const ConnId b = h.connect("b");
    h.advance(1000);
    const Millis hidden_at = h.now;
    h.update("b", Status::Invisible, b);
    h.advance(1000);
    const Millis left_at = h.now;
    h.core->disconnect(b, h.now);
    h.advance(h.cfg.offline_grace_ms);
    CHECK_MILLIS(hidden_at, h.view("c", "b").last_seen);
    h.sink.clear();
    h.core->add_visibility("b", "c", h.now);
    auto to_c = h.sink.presence_to(c, "b");
    LONGS_EQUAL(1, to_c.size());
    CHECK_STATUS(Status::Offline, to_c[0].status);
    CHECK_MILLIS(left_at, to_c[0].last_seen);
    CHECK_NULL_OPT(to_c[0].message);
    CHECK_MILLIS(left_at, h.view("c", "b").last_seen);
}
