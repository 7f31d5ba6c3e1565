// SPEC 3 chosen status, custom message, `until`; SPEC 7 update rate limits.
#include <string>

#include "core_harness.hpp"

using namespace presence::core;
using namespace presence::core::test;

namespace {
std::string repeat(const std::string& unit, int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += unit;
    return s;
}
}  // namespace

TEST_GROUP(Status) {
    CoreHarness h;
    void setup() override {
        h.start_with_friends_a_b();
    }
};

TEST(Status, PresenceSelfToAllDevices) {
    const ConnId b1 = h.connect("b");
    const ConnId b2 = h.connect("b");
    const ConnId b3 = h.connect("b");
    h.sink.clear();
    CHECK_ERROR(CoreError::None, h.update_msg("b", Status::Dnd, "focus", b2));
    for (ConnId c : {b1, b2, b3}) {
        auto self = h.sink.to(c, FrameKind::Self);
        LONGS_EQUAL(1, self.size());
        CHECK_STATUS(Status::Dnd, self[0].self.chosen);
        STRCMP_EQUAL("focus", self[0].self.message->c_str());
        LONGS_EQUAL(3, self[0].self.connections);
    }
}

TEST(Status, UpdateSendsPresenceToFriends) {
    const ConnId a = h.connect("a");
    const ConnId b = h.connect("b");
    h.sink.clear();
    h.update_msg("b", Status::Away, "lunch", b);
    auto to_a = h.sink.presence_to(a, "b");
    LONGS_EQUAL(1, to_a.size());
    CHECK_STATUS(Status::Away, to_a[0].status);
    STRCMP_EQUAL("lunch", to_a[0].message->c_str());
    LONGS_EQUAL(1, h.sink.changes.size());
    CHECK_STATUS(Status::Away, h.sink.changes[0].chosen);
}

TEST(Status, UpdateThatChangesNothingAnswersSelfOnly) {
    const ConnId a = h.connect("a");
    const ConnId b = h.connect("b");
    h.update_msg("b", Status::Away, "lunch", b);
    h.drain();
    h.sink.clear();
    h.update_msg("b", Status::Away, "lunch", b);
    LONGS_EQUAL(0, h.sink.frames_to(a));
    LONGS_EQUAL(1, h.sink.to(b, FrameKind::Self).size());
    LONGS_EQUAL(0, h.drain().size());
}

TEST(Status, OfflineIsNeverChosen) {
    CHECK_ERROR(CoreError::InvalidStatus, h.update("b", Status::Offline));
    CHECK_ERROR(CoreError::InvalidStatus, h.update("b", static_cast<Status>(42)));
}

TEST(Status, InvisibleRejectedWhenNotAllowed) {
    h.cfg.allow_invisible = false;
    setup();
    CHECK_ERROR(CoreError::InvalidStatus, h.update("b", Status::Invisible));
    CHECK_STATUS(Status::Online, h.core->self("b").chosen);
}

TEST(Status, MessageOf128CodePointsAccepted) {
    CHECK_ERROR(CoreError::None, h.update_msg("b", Status::Online, repeat("x", 128)));
}

TEST(Status, MessageOf129CodePointsRejected) {
    CHECK_ERROR(CoreError::InvalidField, h.update_msg("b", Status::Online, repeat("x", 129)));
    CHECK_NULL_OPT(h.core->self("b").message);
}

TEST(Status, MultibyteMessageCountedInCodePoints) {
    // 128 two-byte, three-byte and four-byte characters are fine; one more is not.
    CHECK_ERROR(CoreError::None, h.update_msg("b", Status::Online, repeat("\xC3\xA9", 128)));
    CHECK_ERROR(CoreError::None, h.update_msg("b", Status::Online, repeat("\xE2\x82\xAC", 128)));
    CHECK_ERROR(CoreError::None,
                h.update_msg("b", Status::Online, repeat("\xF0\x9F\x98\x80", 128)));
    CHECK_ERROR(CoreError::InvalidField,
                h.update_msg("b", Status::Online, repeat("\xF0\x9F\x98\x80", 129)));
}

TEST(Status, InvalidUtf8Rejected) {
    const char* bad[] = {
        "\xC3",              // truncated
        "\x80",              // stray continuation
        "\xC0\xAF",          // overlong '/'
        "\xE0\x80\xAF",      // overlong, three bytes
        "\xED\xA0\x80",      // surrogate U+D800
        "\xF4\x90\x80\x80",  // above U+10FFFF
        "\xFF",
        "ok\xE2\x82",  // truncated at the end
    };
    for (const char* m : bad) {
        CHECK_ERROR(CoreError::InvalidField, h.update_msg("b", Status::Online, std::string(m)));
    }
    CHECK_NULL_OPT(h.core->self("b").message);
}

TEST(Status, EmptyMessageClears) {
    h.update_msg("b", Status::Online, "hi");
    h.update_msg("b", Status::Online, "");
    CHECK_NULL_OPT(h.core->self("b").message);
    h.update_msg("b", Status::Online, "hi");
    h.update_msg("b", Status::Online, std::nullopt);  // null clears too
    CHECK_NULL_OPT(h.core->self("b").message);
}

TEST(Status, AbsentMessageKeepsTheOldOne) {
    h.update_msg("b", Status::Online, "kept");
    h.update("b", Status::Dnd);
    STRCMP_EQUAL("kept", std::string(*h.core->self("b").message).c_str());
}

TEST(Status, UntilWithOnlineRejected) {
    CHECK_ERROR(CoreError::InvalidField, h.update_until("b", Status::Online, h.now + 1000));
}

TEST(Status, UntilNotInTheFutureRejected) {
    CHECK_ERROR(CoreError::InvalidField, h.update_until("b", Status::Dnd, h.now));
    CHECK_ERROR(CoreError::InvalidField, h.update_until("b", Status::Dnd, h.now - 1));
    CHECK_ERROR(CoreError::None, h.update_until("b", Status::Dnd, h.now + 1));
}

TEST(Status, UpdateOfUnloadedUserIsUnknownUser) {
    CHECK_ERROR(CoreError::UnknownUser, h.update("nobody", Status::Dnd));
}

TEST(Status, UntilExpiryReturnsToOnlineAndTellsViewers) {
    const ConnId a = h.connect("a");
    const ConnId b = h.connect("b");
    StatusUpdate u;
    u.status = Status::Dnd;
    u.has_message = true;
    u.message = "meeting";
    u.until = h.now + 60'000;
    CHECK_ERROR(CoreError::None, h.core->update_status("b", u, b, h.now));
    h.core->heartbeat(a, false, h.now + 59'000);
    h.core->heartbeat(b, false, h.now + 59'000);
    h.drain();
    h.sink.clear();
    h.advance(59'999);
    LONGS_EQUAL(0, h.sink.frames.size());
    h.advance(1);
    auto to_a = h.sink.presence_to(a, "b");
    LONGS_EQUAL(1, to_a.size());
    CHECK_STATUS(Status::Online, to_a[0].status);
    STRCMP_EQUAL("meeting", to_a[0].message->c_str());  // message kept
    auto self = h.sink.to(b, FrameKind::Self);
    LONGS_EQUAL(1, self.size());
    CHECK_STATUS(Status::Online, self[0].self.chosen);
    CHECK_NULL_OPT(self[0].self.until);
    auto dirty = h.drain();
    LONGS_EQUAL(1, dirty.size());
    CHECK_STATUS(Status::Online, dirty[0].chosen);
    CHECK_NULL_OPT(dirty[0].until);
}

TEST(Status, UntilExpiryOfInvisibleUserShowsThemToEveryFriend) {
    const ConnId a = h.connect("a");
    const ConnId b = h.connect("b");
    h.update_until("b", Status::Invisible, h.now + 1000, b);
    h.sink.clear();
    h.advance(1000);
    auto to_a = h.sink.presence_to(a, "b");
    LONGS_EQUAL(1, to_a.size());
    CHECK_STATUS(Status::Online, to_a[0].status);
}

TEST(Status, NewUpdateReplacesTheOldUntil) {
    const ConnId b = h.connect("b");
    h.update_until("b", Status::Dnd, h.now + 1000, b);
    h.update("b", Status::Away, b);  // no until: does not expire
    h.advance(5000);
    CHECK_STATUS(Status::Away, h.core->self("b").chosen);
}

TEST(Status, UntilExpiryWhileOfflineSendsNothing) {
    const ConnId a = h.connect("a");
    h.update_until("b", Status::Dnd, h.now + 1000);
    h.sink.clear();
    h.advance(2000);
    LONGS_EQUAL(0, h.sink.frames_to(a));
    CHECK_STATUS(Status::Online, h.core->self("b").chosen);
}

TEST(Status, LoadedUntilAlreadyPastIsResetWithoutFrames) {
    UserRecord r;
    r.user_id = "c";
    r.chosen = Status::Dnd;
    r.message = "m";
    r.until = h.now - 1;
    h.load_record(r);
    LONGS_EQUAL(0, h.sink.frames.size());
    CHECK_STATUS(Status::Online, h.core->self("c").chosen);
    CHECK_NULL_OPT(h.core->self("c").until);
    auto dirty = h.drain();
    LONGS_EQUAL(1, dirty.size());
    STRCMP_EQUAL("c", dirty[0].user_id.c_str());
    CHECK_STATUS(Status::Online, dirty[0].chosen);
    STRCMP_EQUAL("m", dirty[0].message->c_str());
}

TEST(Status, LoadedUntilInFutureExpiresOnTick) {
    UserRecord r;
    r.user_id = "c";
    r.chosen = Status::Dnd;
    r.until = h.now + 500;
    h.load_record(r);
    h.advance(499);
    CHECK_STATUS(Status::Dnd, h.core->self("c").chosen);
    h.advance(1);
    CHECK_STATUS(Status::Online, h.core->self("c").chosen);
}

TEST(Status, LoadIgnoredWhenAlreadyLoaded) {
    h.update("b", Status::Dnd);
    UserRecord r;
    r.user_id = "b";
    r.chosen = Status::Away;
    h.load_record(r);
    CHECK_STATUS(Status::Dnd, h.core->self("b").chosen);  // memory is newer than the store
}

TEST(Status, RateLimitedUpdateAppliedWhenWindowOpens) {
    h.cfg.updates_per_s = 1.0;
    h.cfg.update_burst = 2;
    setup();
    const ConnId a = h.connect("a");
    const ConnId b = h.connect("b");
    CHECK_ERROR(CoreError::None, h.update("b", Status::Away, b));
    CHECK_ERROR(CoreError::None, h.update("b", Status::Dnd, b));
    h.sink.clear();
    CHECK_ERROR(CoreError::RateLimited, h.update_msg("b", Status::Away, "first", b));
    CHECK_ERROR(CoreError::RateLimited, h.update_msg("b", Status::Away, "latest", b));
    LONGS_EQUAL(0, h.sink.frames.size());  // nothing applied yet
    CHECK_STATUS(Status::Dnd, h.core->self("b").chosen);
    h.advance(999);
    LONGS_EQUAL(0, h.sink.frames.size());
    h.advance(1);  // one token refilled
    auto to_a = h.sink.presence_to(a, "b");
    LONGS_EQUAL(1, to_a.size());  // latest wins, applied once
    CHECK_STATUS(Status::Away, to_a[0].status);
    STRCMP_EQUAL("latest", to_a[0].message->c_str());
    LONGS_EQUAL(1, h.sink.to(b, FrameKind::Self).size());
    h.sink.clear();
    h.advance(10'000);
    LONGS_EQUAL(0, h.sink.frames.size());  // nothing is applied twice
}

TEST(Status, RateLimitedUpdateSurvivesConnectionClose) {
    h.cfg.updates_per_s = 1.0;
    h.cfg.update_burst = 1;
    setup();
    const ConnId a = h.connect("a");
    const ConnId b1 = h.connect("b");
    h.connect("b");
    CHECK_ERROR(CoreError::None, h.update("b", Status::Away, b1));
    CHECK_ERROR(CoreError::RateLimited, h.update("b", Status::Dnd, b1));
    h.core->disconnect(b1, h.now);
    h.advance(1000);
    CHECK_STATUS(Status::Dnd, h.core->self("b").chosen);
    CHECK_STATUS(Status::Dnd, h.view("a", "b").status);
    (void)a;
}

TEST(Status, ImmediateUpdateSupersedesPendingOne) {
    h.cfg.updates_per_s = 1.0;
    h.cfg.update_burst = 1;
    setup();
    const ConnId b1 = h.connect("b");
    const ConnId b2 = h.connect("b");
    CHECK_ERROR(CoreError::None, h.update("b", Status::Away, b1));
    CHECK_ERROR(CoreError::RateLimited, h.update("b", Status::Dnd, b1));
    CHECK_ERROR(CoreError::None, h.update("b", Status::Invisible, b2));  // newer, own bucket
    h.advance(5000);
    CHECK_STATUS(Status::Invisible, h.core->self("b").chosen);
}

TEST(Status, HeartbeatsDoNotConsumeUpdateTokens) {
    h.cfg.updates_per_s = 1.0;
    h.cfg.update_burst = 1;
    setup();
    const ConnId b = h.connect("b");
    for (int i = 0; i < 50; ++i) {
        h.core->heartbeat(b, i % 2 == 0, h.now);
        h.core->touch(b, h.now);
    }
    CHECK_ERROR(CoreError::None, h.update("b", Status::Away, b));
}

TEST(Status, RestUpdatesUseTheUsersOwnBucket) {
    h.cfg.updates_per_s = 1.0;
    h.cfg.update_burst = 1;
    setup();
    const ConnId b = h.connect("b");
    CHECK_ERROR(CoreError::None, h.update("b", Status::Away, b));
    CHECK_ERROR(CoreError::None, h.update("b", Status::Dnd, 0));  // REST: separate bucket
    CHECK_ERROR(CoreError::RateLimited, h.update("b", Status::Online, 0));
    h.advance(1000);
    CHECK_STATUS(Status::Online, h.core->self("b").chosen);
}

TEST(Status, DirtyAfterUpdateWithFullRecord) {
    h.drain();
    h.update_msg("b", Status::Dnd, "x");
    auto d = h.drain();
    LONGS_EQUAL(1, d.size());
    STRCMP_EQUAL("b", d[0].user_id.c_str());
    CHECK_STATUS(Status::Dnd, d[0].chosen);
    STRCMP_EQUAL("x", d[0].message->c_str());
    LONGS_EQUAL(0, h.drain().size());  // reported once
}

TEST(Status, DeferredUpdateWhoseUntilPassedAppliesAsOnline) {
    h.cfg.updates_per_s = 0.5;  // one token every 2 s
    h.cfg.update_burst = 1;
    setup();
    const ConnId b = h.connect("b");
    CHECK_ERROR(CoreError::None, h.update("b", Status::Away, b));
    CHECK_ERROR(CoreError::RateLimited, h.update_until("b", Status::Dnd, h.now + 500, b));
    h.advance(2000);
    CHECK_STATUS(Status::Online, h.core->self("b").chosen);
    CHECK_NULL_OPT(h.core->self("b").until);
}

TEST(Status, DeferredUpdateWaitsForTheBucketOfItsLatestChannel) {
    h.cfg.updates_per_s = 1.0;
    h.cfg.update_burst = 1;
    setup();
    const ConnId b = h.connect("b");
    CHECK_ERROR(CoreError::None, h.update("b", Status::Away, b));
    h.advance(500);
    CHECK_ERROR(CoreError::None, h.update("b", Status::Dnd, 0));  // REST token used at +500
    CHECK_ERROR(CoreError::RateLimited, h.update("b", Status::Invisible, b));  // conn: at +1000
    h.advance(400);
    CHECK_ERROR(CoreError::RateLimited, h.update("b", Status::Online, 0));  // REST: at +1500
    h.advance(100);  // +1000: the connection's bucket refilled, but the latest came via REST
    CHECK_STATUS(Status::Dnd, h.core->self("b").chosen);
    h.advance(500);  // +1500
    CHECK_STATUS(Status::Online, h.core->self("b").chosen);
}

TEST(Status, DeferredUpdateUsesEarlierRefillOfNewChannel) {
    h.cfg.updates_per_s = 1.0;
    h.cfg.update_burst = 1;
    setup();
    const ConnId b1 = h.connect("b");
    CHECK_ERROR(CoreError::None, h.update("b", Status::Away, b1));
    h.advance(900);
    const ConnId b2 = h.connect("b");
    CHECK_ERROR(CoreError::None, h.update("b", Status::Dnd, b2));            // b2 refills at +1900
    CHECK_ERROR(CoreError::RateLimited, h.update("b", Status::Away, b2));    // armed for +1900
    CHECK_ERROR(CoreError::RateLimited, h.update("b", Status::Online, b1));  // b1 refills at +1000
    h.advance(100);                                                          // +1000
    CHECK_STATUS(Status::Online, h.core->self("b").chosen);
    h.advance(2000);
    CHECK_STATUS(Status::Online, h.core->self("b").chosen);  // nothing older comes back
}
