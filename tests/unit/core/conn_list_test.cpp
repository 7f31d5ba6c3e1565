// ConnList (a user's connections, inline up to two) alone and through fan-out with many devices.
#include "core/conn_list.hpp"

#include <set>
#include <string>
#include <vector>

#include "core_harness.hpp"

using namespace presence::core;
using namespace presence::core::test;

namespace {
std::vector<ConnId> items(const ConnList& l) {
    return {l.begin(), l.end()};
}
}  // namespace

TEST_GROUP(ConnList){};

TEST(ConnList, KeepsOrderAcrossInlineAndHeap) {
    ConnList l;
    CHECK(l.empty());
    for (ConnId c : {7, 8, 9, 10}) l.push_back(c);
    LONGS_EQUAL(4, l.size());
    CHECK((std::vector<ConnId>{7, 8, 9, 10}) == items(l));
    l.erase(8);
    CHECK((std::vector<ConnId>{7, 9, 10}) == items(l));
    l.erase(10);  // back to two: inline again
    CHECK((std::vector<ConnId>{7, 9}) == items(l));
    l.push_back(11);
    CHECK((std::vector<ConnId>{7, 9, 11}) == items(l));
    l.erase(42);  // absent: nothing happens
    LONGS_EQUAL(3, l.size());
    l.erase(7);
    l.erase(9);
    l.erase(11);
    CHECK(l.empty());
    const std::span<const ConnId> s = l;
    LONGS_EQUAL(0, s.size());
}

TEST(ConnList, FanOutReachesEveryDeviceOfAViewer) {
    CoreHarness h;
    h.start();
    h.load("s");
    h.load("v");
    h.befriend("s", "v");
    std::set<ConnId> devices;
    for (int i = 0; i < 5; ++i) devices.insert(h.connect("v"));
    const ConnId s = h.connect("s");
    h.core->disconnect(*devices.begin(), h.now);  // one device leaves the heap list
    devices.erase(devices.begin());
    h.sink.clear();
    h.update("s", Status::Dnd, s);
    std::set<ConnId> got;
    for (const auto& f : h.sink.frames) {
        if (f.kind == FrameKind::Presence && f.presence.user_id == "s") got.insert(f.conn);
    }
    CHECK(devices == got);
    LONGS_EQUAL(4, got.size());
}
