// SPEC 9 on a Redis Cluster only (scaleout_tests --cluster): slots moving under traffic (a
// user's hash slot and the feed's slot), a master killed and restarted empty, and one restarted
// empty while the instance of a user it held is paused.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "instances.hpp"

using namespace presence::scaleout;

namespace {

// Reads presence events about `subject` until one carries `message`; fails after `timeout`.
Json wait_message(WsClient& ws, const std::string& subject, const std::string& message,
                  milliseconds timeout = milliseconds{6000}) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const auto left =
            std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
        CHECK_TEXT(left.count() > 0, ("no presence with message " + message).c_str());
        Json j = ws.read_json(left);
        CHECK_TEXT(j.valid(), ("no presence with message " + message).c_str());
        if (j["type"].str() != "presence") continue;
        CHECK_TEXT(j["user_id"].str() == subject, j.dump().c_str());
        if (j["message"].str() == message) return j;
    }
}

HostOptions two_friends() {
    HostOptions o = small_timings();
    o.friends({{"alice", "bob"}});
    o.set("presence.heartbeat_timeout_s", "30");
    o.set("presence.updates_per_s", "1000");  // traffic, not abuse
    return o;
}

}  // namespace

TEST_GROUP(ClusterFaults) {
    Instances in;
    void teardown() override {
        in.stop_all();
    }
};

TEST(ClusterFaults, SlotsMovingUnderTrafficLoseNoChange) {
    if (!cluster_mode()) return;
    in.start(2, two_friends());
    WsClient alice, bob;
    connect_alice_then_bob(in, alice, bob);
    RedisCluster& c = *in.cluster();
    // Move bob's slot and the feed's slot to other nodes while bob keeps changing.
    for (const std::string key : {"presence:{bob}", "{presence}:feed"}) {
        const int slot = c.key_slot(key);
        const int to = (c.owner_of_slot(slot) + 1) % c.size();
        std::atomic<bool> moved{false};
        std::string err;
        std::thread mover([&] {
            std::this_thread::sleep_for(milliseconds{50});  // the move starts mid-traffic
            moved = c.migrate_slot(slot, to, &err);
        });
        std::string last;
        bool sent = true;
        for (int i = 0; i < 30; ++i) {
            last = key + " m" + std::to_string(i);
            sent = sent && send_update(bob, R"("status":")" + std::string(i % 2 ? "away" : "dnd") +
                                                R"(","message":")" + last + R"(")");
            std::this_thread::sleep_for(milliseconds{10});  // the changes span the move
        }
        mover.join();
        CHECK(sent);
        CHECK_TEXT(moved.load(), err.c_str());
        LONGS_EQUAL(to, c.owner_of_slot(slot));
        // Alice ends with bob's last change; Redis holds it too.
        wait_message(alice, "bob", last);
        expect_no_frame(alice, milliseconds{300});
        std::string hash = in.cli("presence:{bob}", {"HGET", "presence:{bob}", "m"});
        STRCMP_EQUAL(last.c_str(), hash.c_str());
    }
    // And after the moves, changes keep flowing both ways.
    CHECK(send_update(alice, R"("status":"away","message":"after moves")"));
    wait_message(bob, "alice", "after moves");
}

TEST(ClusterFaults, MasterKilledAndRestartedEmptyConverges) {
    if (!cluster_mode()) return;
    in.start(2, two_friends());
    RedisCluster& c = *in.cluster();
    const int feed_node = c.owner_of_slot(c.key_slot("{presence}:feed"));
    // A user whose hash lives on another master than the feed: that master is killed.
    std::string user;
    int victim = -1;
    for (int i = 0; i < 200 && victim < 0; ++i) {
        const std::string candidate = "bob" + std::to_string(i);
        const int owner = c.owner_of_slot(c.key_slot("presence:{" + candidate + "}"));
        if (owner != feed_node) {
            user = candidate;
            victim = owner;
        }
    }
    CHECK(victim >= 0);
    HttpResponse add = admin_friendship(in.host(0), "add", "alice", user);
    LONGS_EQUAL(200, add.status);
    WsClient alice, bob;
    connect_user(in.host(0), alice, "alice");
    connect_user(in.host(1), bob, user);
    wait_presence(alice, user, "online");

    c.node(victim).kill_hard();
    // While the master is away, the change waits; nothing crashes, alice's instance serves.
    CHECK(send_update(bob, R"("status":"dnd","message":"during")"));
    bob.read_until_type("presence_self");
    std::string err;
    CHECK_TEXT(c.node(victim).restart_keep_config(&err), err.c_str());
    // Back (empty): bob's instance registers him again; alice sees the change, and Redis has
    // bob's device again.
    wait_message(alice, user, "during", milliseconds{20000});
    CHECK(eventually(
        [&] {
            return in.cli("presence:{" + user + "}", {"HKEYS", "presence:{" + user + "}"})
                       .find("d|i1|") != std::string::npos;
        },
        milliseconds{5000}));
    CHECK(send_update(bob, R"("status":"away","message":"after")"));
    wait_message(alice, user, "after");
}

TEST(ClusterFaults, MasterRestartedEmptyKeepsUsersOfAnInstanceSlowToRegisterAgain) {
    if (!cluster_mode()) return;
    HostOptions o = two_friends();
    o.set("presence.instance_ttl_s", "45");  // a pause of seconds is far from a reap period
    in.start(2, o);
    RedisCluster& c = *in.cluster();
    const int feed_node = c.owner_of_slot(c.key_slot("{presence}:feed"));
    // A user of instance 0 whose hash lives on another master than the feed and the
    // heartbeats: that master restarts empty.
    std::string user;
    int victim = -1;
    for (int i = 0; i < 200 && victim < 0; ++i) {
        const std::string candidate = "alice" + std::to_string(i);
        const int owner = c.owner_of_slot(c.key_slot("presence:{" + candidate + "}"));
        if (owner != feed_node) {
            user = candidate;
            victim = owner;
        }
    }
    CHECK(victim >= 0);
    LONGS_EQUAL(200, admin_friendship(in.host(0), "add", user, "bob").status);
    WsClient alice, bob;
    connect_user(in.host(0), alice, user);
    connect_user(in.host(1), bob, "bob");
    wait_presence(alice, "bob", "online");

    // Alice's instance is slow to register again (paused) while bob's finds her hash gone.
    ::kill(in.host(0).pid(), SIGSTOP);
    c.node(victim).kill_hard();
    std::string err;
    const bool restarted = c.node(victim).restart_keep_config(&err);
    if (restarted) std::this_thread::sleep_for(milliseconds{5000});
    ::kill(in.host(0).pid(), SIGCONT);
    CHECK_TEXT(restarted, err.c_str());
    expect_no_frame(bob, milliseconds{100});  // nothing about alice came meanwhile
    expect_no_frame(bob, milliseconds{3000});
    CHECK(send_update(alice, R"("status":"away","message":"back")"));
    wait_message(bob, user, "back", milliseconds{20000});
}
