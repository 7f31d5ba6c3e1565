// Snapshots, own devices, and fan-out grouping (one send_presence per distinct view).
#include <string>
#include <vector>

#include "core_harness.hpp"

using namespace presence::core;
using namespace presence::core::test;

TEST_GROUP(Snapshot) {
    CoreHarness h;
    void setup() override {
        h.start();
        for (const char* u : {"me", "zoe", "adam", "mia", "bob"}) h.load(u);
        h.friends("me", {"zoe", "adam", "mia", "bob"});
        for (const char* u : {"zoe", "adam", "mia", "bob"}) h.friends(u, {"me"});
        h.sink.clear();
    }
};

TEST(Snapshot, SnapshotListsFriendsSorted) {
    h.connect("zoe");
    const ConnId mia = h.connect("mia");
    h.update_msg("mia", Status::Dnd, "focus", mia);
    const ConnId me = h.connect("me");
    auto snap = h.sink.to(me, FrameKind::Snapshot);
    LONGS_EQUAL(1, snap.size());
    const auto& f = snap[0].friends;
    LONGS_EQUAL(4, f.size());
    STRCMP_EQUAL("adam", f[0].user_id.c_str());
    STRCMP_EQUAL("bob", f[1].user_id.c_str());
    STRCMP_EQUAL("mia", f[2].user_id.c_str());
    STRCMP_EQUAL("zoe", f[3].user_id.c_str());
    CHECK_STATUS(Status::Offline, f[0].status);
    CHECK_STATUS(Status::Dnd, f[2].status);
    STRCMP_EQUAL("focus", f[2].message->c_str());
    CHECK_STATUS(Status::Online, f[3].status);
    STRCMP_EQUAL("me", snap[0].self.user_id.c_str());
    LONGS_EQUAL(1, snap[0].self.connections);
    // friends_view() answers the same, sorted.
    auto fv = h.core->friends_view("me");
    LONGS_EQUAL(4, fv.size());
    STRCMP_EQUAL("adam", std::string(fv[0].user_id).c_str());
    STRCMP_EQUAL("zoe", std::string(fv[3].user_id).c_str());
}

TEST(Snapshot, NewDeviceGetsSnapshotOthersGetSelfWithCount) {
    const ConnId d1 = h.connect("me");
    const ConnId d2 = h.connect("me");
    h.sink.clear();
    const ConnId d3 = h.connect("me");
    LONGS_EQUAL(1, h.sink.to(d3, FrameKind::Snapshot).size());
    LONGS_EQUAL(0, h.sink.to(d3, FrameKind::Self).size());
    for (ConnId d : {d1, d2}) {
        auto self = h.sink.to(d, FrameKind::Self);
        LONGS_EQUAL(1, self.size());
        LONGS_EQUAL(3, self[0].self.connections);
        LONGS_EQUAL(0, h.sink.to(d, FrameKind::Snapshot).size());
    }
}

TEST(Snapshot, ClosingDeviceSendsSelfToRemaining) {
    const ConnId d1 = h.connect("me");
    const ConnId d2 = h.connect("me");
    h.sink.clear();
    h.core->disconnect(d1, h.now);
    auto self = h.sink.to(d2, FrameKind::Self);
    LONGS_EQUAL(1, self.size());
    LONGS_EQUAL(1, self[0].self.connections);
    LONGS_EQUAL(0, h.sink.frames_to(d1));
    LONGS_EQUAL(0, h.sink.empty_spans);
}

TEST(Snapshot, SelfOfUnknownUserIsDefault) {
    auto s = h.core->self("ghost");
    STRCMP_EQUAL("ghost", std::string(s.user_id).c_str());
    CHECK_STATUS(Status::Online, s.chosen);
    LONGS_EQUAL(0, s.connections);
}

TEST_GROUP(FanOut) {
    CoreHarness h;
    std::vector<std::string> viewers{"v1", "v2", "v3", "l1", "l2"};
    void setup() override {
        h.start();
        h.load("s");
        for (const auto& v : viewers) {
            h.load(v);
            h.friends(v, {"s"});
        }
        h.friends("s", viewers);
        h.sink.clear();
    }
};

TEST(FanOut, OneSendPresencePerDistinctView) {
    for (const auto& v : viewers) {
        h.connect(v);
        h.connect(v);  // two devices each
    }
    h.sink.clear();
    h.connect("s");
    LONGS_EQUAL(1, h.sink.presence_calls);  // everyone sees the same "online"
    LONGS_EQUAL(10, h.sink.presence_call_sizes[0]);
}

TEST(FanOut, ListedAndOthersGetOneCallEach) {
    std::vector<std::string> list{"l1", "l2"};
    h.core->set_visibility("s", list, nullptr, h.now);
    for (const auto& v : viewers) h.connect(v);
    const ConnId s = h.connect("s");
    h.update_msg("s", Status::Invisible, "m", s);
    h.sink.clear();
    // Swap the list: l1, l2 drop to offline; v1, v2 come up online. Two distinct views.
    std::vector<std::string> swapped{"v1", "v2"};
    CHECK_ERROR(CoreError::None, h.core->set_visibility("s", swapped, nullptr, h.now));
    LONGS_EQUAL(2, h.sink.presence_calls);
    LONGS_EQUAL(2, h.sink.presence_call_sizes[0]);
    LONGS_EQUAL(2, h.sink.presence_call_sizes[1]);
    const ConnId v1 = 100, l1 = 103, v3 = 102;  // connection ids in connect order
    CHECK_STATUS(Status::Online, h.sink.presence_to(v1, "s")[0].status);
    CHECK_STATUS(Status::Offline, h.sink.presence_to(l1, "s")[0].status);
    LONGS_EQUAL(0, h.sink.frames_to(v3));  // stayed unlisted: no change, no frame
}

TEST(FanOut, OfflineViewersCostNoFrames) {
    h.connect("v1");
    h.sink.clear();
    h.connect("s");
    LONGS_EQUAL(1, h.sink.presence_calls);
    LONGS_EQUAL(1, h.sink.presence_call_sizes[0]);
    LONGS_EQUAL(0, h.sink.empty_spans);
}
