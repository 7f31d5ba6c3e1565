// --demo: demo users and friends in the in-memory store, ?user=NAME from loopback, the page.
#include "e2e_fixture.hpp"

using namespace presence::e2e;

TEST_GROUP(Demo) {
    std::unique_ptr<HostProcess> host;
    void setup() override {
        HostOptions o = small_timings();
        o.extra_args = {"--demo"};
        host = start_host(o);
    }
    void teardown() override {
        stop_cleanly(host);
    }
};

TEST(Demo, LoopbackUserParameterConnectsADemoUser) {
    WsClient bob, alice;
    CHECK_TEXT(bob.connect(host->port(), "/ws?user=bob"), bob.error().c_str());
    Json snap = bob.read_until_type("presence_snapshot");
    STRCMP_EQUAL("bob", snap["self"]["user_id"].str().c_str());
    CHECK(snap["friends"].find_by("user_id", "alice").valid());
    sync(bob);
    CHECK_TEXT(alice.connect(host->port(), "/ws?user=alice"), alice.error().c_str());
    STRCMP_EQUAL("online", status_of(next_presence_about(bob, "alice")).c_str());
}

TEST(Demo, InvalidDemoUserIsRefused) {
    WsClient ws;
    if (ws.connect(host->port(), "/ws?user=bad%20name!")) {
        CHECK_TEXT(ws.wait_closed(milliseconds{3000}), "an invalid user id stayed connected");
    }
}

TEST(Demo, ServesTheDemoPage) {
    HttpResponse r = http_get(host->port(), "/");
    LONGS_EQUAL(200, r.status);
    CHECK(r.headers["content-type"].find("text/html") != std::string::npos);
    CHECK(r.body.find("<html") != std::string::npos ||
          r.body.find("<!DOCTYPE") != std::string::npos ||
          r.body.find("<!doctype") != std::string::npos);
}

// --demo with presence.friends_file set uses that file instead of the demo users' graph.
TEST_GROUP(DemoWithFriendsFile) {
    std::unique_ptr<HostProcess> host;
    void setup() override {
        HostOptions o = small_timings();
        o.friends({{"zoe", "yan"}});
        o.extra_args = {"--demo"};
        host = start_host(o);
    }
    void teardown() override {
        stop_cleanly(host);
    }
};

TEST(DemoWithFriendsFile, TheConfiguredFriendsFileReplacesTheDemoGraph) {
    WsClient zoe, alice;
    CHECK_TEXT(zoe.connect(host->port(), "/ws?user=zoe"), zoe.error().c_str());
    Json snap = zoe.read_until_type("presence_snapshot");
    LONGS_EQUAL(1, snap["friends"].size());
    CHECK(snap["friends"].find_by("user_id", "yan").valid());
    CHECK_TEXT(alice.connect(host->port(), "/ws?user=alice"), alice.error().c_str());
    LONGS_EQUAL(0, alice.read_until_type("presence_snapshot")["friends"].size());
}
