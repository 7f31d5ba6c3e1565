// SPEC 9 in the core: devices and changes of other instances (apply_remote), and what this
// instance reports of its own (drain_shared).
#include "core_harness.hpp"

using namespace presence::core;
using namespace presence::core::test;

namespace {

RemotePresence devices(std::uint32_t n, std::uint32_t active) {
    RemotePresence r;
    r.devices = n;
    r.active_devices = active;
    return r;
}

RemotePresence gone(Millis since, bool idle = false) {
    RemotePresence r;
    r.gone_since = since;
    r.gone_idle = idle;
    return r;
}

struct Reported {
    std::string user;
    std::size_t devices = 0;
    bool record = false;
    Status chosen = Status::Online;
    std::optional<Millis> left_at;
};

}  // namespace

TEST_GROUP(RemotePresence) {
    CoreHarness h;
    void setup() override {
        h.cfg.shared = true;
        h.start_with_friends_a_b();
    }
    std::vector<Reported> drain_shared() {
        std::vector<Reported> out;
        h.core->drain_shared([&](const SharedUser& s) {
            out.push_back({std::string(s.user_id), s.devices.size(), s.record_changed,
                           s.record.chosen, s.left_at});
        });
        return out;
    }
};

TEST(RemotePresence, RemoteDeviceMakesUserOnlineForLocalFriends) {
    const ConnId a = h.connect("a");
    h.sink.clear();
    h.core->apply_remote("b", devices(1, 1), nullptr, h.now);
    auto to_a = h.sink.presence_to(a, "b");
    LONGS_EQUAL(1, to_a.size());
    CHECK_STATUS(Status::Online, to_a[0].status);
    // The instance where b connected tells its host; this one does not.
    LONGS_EQUAL(0, h.sink.changes.size());
    // A second device elsewhere changes nothing a friend sees.
    h.sink.clear();
    h.core->apply_remote("b", devices(2, 2), nullptr, h.now);
    LONGS_EQUAL(0, h.sink.frames_to(a));
}

TEST(RemotePresence, RemoteGraceThenOfflineAtTheSameMoment) {
    const ConnId a = h.connect("a");
    h.core->apply_remote("b", devices(1, 1), nullptr, h.now);
    h.sink.clear();
    const Millis left = h.now;
    h.core->apply_remote("b", gone(left), nullptr, h.now + 10);
    LONGS_EQUAL(0, h.sink.frames_to(a));  // in grace: no flap
    h.advance(h.cfg.offline_grace_ms - 1);
    LONGS_EQUAL(0, h.sink.frames_to(a));
    h.advance(1);
    auto to_a = h.sink.presence_to(a, "b");
    LONGS_EQUAL(1, to_a.size());
    CHECK_STATUS(Status::Offline, to_a[0].status);
    CHECK_MILLIS(left, to_a[0].last_seen);
}

TEST(RemotePresence, LateNewsOfAnEndedGraceIsOfflineAtOnce) {
    const ConnId a = h.connect("a");
    h.core->apply_remote("b", devices(1, 0), nullptr, h.now);
    h.sink.clear();
    const Millis left = h.now - h.cfg.offline_grace_ms - 500;
    h.core->apply_remote("b", gone(left), nullptr, h.now);
    auto to_a = h.sink.presence_to(a, "b");
    LONGS_EQUAL(1, to_a.size());
    CHECK_STATUS(Status::Offline, to_a[0].status);
    CHECK_MILLIS(left, to_a[0].last_seen);
}

TEST(RemotePresence, AutoAwayCountsEveryDeviceEverywhere) {
    const ConnId a = h.connect("a");
    const ConnId b = h.connect("b");
    h.core->apply_remote("b", devices(1, 1), nullptr, h.now);  // an active one elsewhere
    h.sink.clear();
    h.core->heartbeat(b, true, h.now);  // the local device goes idle: still one active
    LONGS_EQUAL(0, h.sink.frames_to(a));
    CHECK_STATUS(Status::Online, h.view("a", "b").status);
    h.core->apply_remote("b", devices(1, 0), nullptr, h.now);  // it went idle too
    auto to_a = h.sink.presence_to(a, "b");
    LONGS_EQUAL(1, to_a.size());
    CHECK_STATUS(Status::Away, to_a[0].status);
}

TEST(RemotePresence, ConnectionLimitAndCountAreServiceWide) {
    h.cfg.max_connections_per_user = 3;
    h.start_with_friends_a_b();
    h.core->apply_remote("b", devices(2, 2), nullptr, h.now);
    const ConnId b = h.connect("b");
    auto snaps = h.sink.to(b, FrameKind::Snapshot);
    LONGS_EQUAL(1, snaps.size());
    LONGS_EQUAL(3, snaps[0].self.connections);
    CHECK_ERROR(CoreError::TooMany, h.core->connect(999, "b", h.now));
    // A remote device leaving: the local device learns the new count.
    h.sink.clear();
    h.core->apply_remote("b", devices(1, 1), nullptr, h.now);
    auto selfs = h.sink.to(b, FrameKind::Self);
    LONGS_EQUAL(1, selfs.size());
    LONGS_EQUAL(2, selfs[0].self.connections);
}

TEST(RemotePresence, RemoteRecordChangeReachesFriendsAndOwnDevices) {
    const ConnId a = h.connect("a");
    const ConnId b = h.connect("b");
    h.drain();
    drain_shared();
    h.sink.clear();
    UserRecord r;
    r.user_id = "b";
    r.chosen = Status::Dnd;
    r.message = "focus";
    h.core->apply_remote("b", devices(1, 1), &r, h.now);
    auto to_a = h.sink.presence_to(a, "b");
    LONGS_EQUAL(1, to_a.size());
    CHECK_STATUS(Status::Dnd, to_a[0].status);
    STRCMP_EQUAL("focus", to_a[0].message->c_str());
    auto selfs = h.sink.to(b, FrameKind::Self);
    LONGS_EQUAL(1, selfs.size());
    CHECK_STATUS(Status::Dnd, selfs[0].self.chosen);
    LONGS_EQUAL(2, selfs[0].self.connections);
    // Not persisted here and not echoed back: the instance where it happened does both.
    LONGS_EQUAL(0, h.drain().size());
    LONGS_EQUAL(0, drain_shared().size());
}

TEST(RemotePresence, InvisibleElsewhereWithVisibilityList) {
    h.load("c");
    h.friends("b", {"a", "c"});
    const ConnId a = h.connect("a");
    const ConnId c = h.connect("c");
    h.core->apply_remote("b", devices(1, 1), nullptr, h.now);
    h.sink.clear();
    UserRecord r;
    r.user_id = "b";
    r.chosen = Status::Invisible;
    r.visibility = {"c"};
    h.core->apply_remote("b", devices(1, 1), &r, h.now);
    auto to_a = h.sink.presence_to(a, "b");
    LONGS_EQUAL(1, to_a.size());
    CHECK_STATUS(Status::Offline, to_a[0].status);
    LONGS_EQUAL(0, h.sink.presence_to(c, "b").size());  // c still sees online: no frame
    CHECK_STATUS(Status::Online, h.view("c", "b").status);
    // Hidden user's remote devices coming and going: no frame to anyone.
    h.sink.clear();
    h.core->apply_remote("b", devices(2, 2), nullptr, h.now);
    h.core->apply_remote("b", devices(1, 0), nullptr, h.now);
    LONGS_EQUAL(0, h.sink.frames_to(a));
    LONGS_EQUAL(0, h.sink.frames_to(c));
}

TEST(RemotePresence, RemoteUntilExpiresHereToo) {
    const ConnId a = h.connect("a");
    UserRecord r;
    r.user_id = "b";
    r.chosen = Status::Away;
    r.until = h.now + 1000;
    h.core->apply_remote("b", devices(1, 1), &r, h.now);
    h.sink.clear();
    h.advance(1000);
    auto to_a = h.sink.presence_to(a, "b");
    LONGS_EQUAL(1, to_a.size());
    CHECK_STATUS(Status::Online, to_a[0].status);
}

TEST(RemotePresence, LocalChangesAreReportedOnceWithDevices) {
    const ConnId b1 = h.connect("b");
    h.connect("b");
    h.core->heartbeat(b1, true, h.now);
    h.core->heartbeat(b1, true, h.now);  // not a flip: nothing more to report
    auto got = drain_shared();
    LONGS_EQUAL(1, got.size());
    STRCMP_EQUAL("b", got[0].user.c_str());
    LONGS_EQUAL(2, got[0].devices);
    CHECK_FALSE(got[0].record);
    LONGS_EQUAL(0, drain_shared().size());

    CHECK_ERROR(CoreError::None, h.update("b", Status::Dnd));
    got = drain_shared();
    LONGS_EQUAL(1, got.size());
    CHECK(got[0].record);
    CHECK_STATUS(Status::Dnd, got[0].chosen);
}

TEST(RemotePresence, LastLocalDeviceLeavingReportsWhen) {
    const ConnId b = h.connect("b");
    drain_shared();
    h.advance(50);
    const Millis left = h.now;
    h.core->disconnect(b, h.now);
    auto got = drain_shared();
    LONGS_EQUAL(1, got.size());
    LONGS_EQUAL(0, got[0].devices);
    CHECK_MILLIS(left, got[0].left_at);
}

TEST(RemotePresence, LocalLastDeviceWhileRemoteRemainsIsNoOffline) {
    const ConnId a = h.connect("a");
    const ConnId b = h.connect("b");
    h.core->apply_remote("b", devices(1, 1), nullptr, h.now);
    h.sink.clear();
    h.core->disconnect(b, h.now);
    h.advance(h.cfg.offline_grace_ms * 3);
    LONGS_EQUAL(0, h.sink.frames_to(a));
    CHECK_STATUS(Status::Online, h.view("a", "b").status);
}

TEST(RemotePresence, SingleInstanceCoreIgnoresSharing) {
    h.cfg.shared = false;
    h.start_with_friends_a_b();
    h.connect("b");
    LONGS_EQUAL(0, drain_shared().size());
    h.core->apply_remote("a", devices(1, 1), nullptr, h.now);
    CHECK_STATUS(Status::Offline, h.view("b", "a").status);
}

TEST(RemotePresence, InvisibleStampIsTheOriginsNotThisInstancesClock) {
    const ConnId a = h.connect("a");
    h.core->apply_remote("b", devices(1, 1), nullptr, h.now);
    h.sink.clear();
    UserRecord r;
    r.user_id = "b";
    r.chosen = Status::Invisible;
    r.last_seen = h.now - 7;  // stamped where bob went invisible, a moment ago
    h.core->apply_remote("b", devices(1, 1), &r, h.now);
    auto to_a = h.sink.presence_to(a, "b");
    LONGS_EQUAL(1, to_a.size());
    CHECK_MILLIS(h.now - 7, to_a[0].last_seen);
    // The same record again later (another instance's write of bob's record): no new frame.
    h.advance(500);
    h.core->apply_remote("b", devices(1, 1), &r, h.now);
    LONGS_EQUAL(1, h.sink.presence_to(a, "b").size());
}
