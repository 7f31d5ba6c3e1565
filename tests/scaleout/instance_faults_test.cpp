// SPEC 9 faults: an instance killed (kill -9) or paused (SIGSTOP), Redis paused, killed and
// restarted empty, and Redis dropping the instances' connections (CLIENT KILL).
#include <signal.h>

#include <chrono>
#include <thread>

#include "instances.hpp"

using namespace presence::scaleout;
using Clock = std::chrono::steady_clock;

namespace {

HostOptions fault_timings(const char* ttl_s) {
    HostOptions o = small_timings();
    o.friends({{"alice", "bob"}, {"alice", "carol"}, {"bob", "carol"}});
    o.set("presence.instance_ttl_s", ttl_s);
    o.set("presence.heartbeat_timeout_s", "30");  // the clients stay quiet for long stretches
    return o;
}

// One Prometheus sample of `host`, -1 when absent.
long long metric(HostProcess& host, const std::string& name) {
    HttpResponse r = http_get(host.port(), host.http_prefix() + "/metrics", host.admin_token());
    const std::string key = "\n" + name + " ";
    const auto at = ("\n" + r.body).find(key);
    if (at == std::string::npos) return -1;
    return std::stoll(("\n" + r.body).substr(at + key.size()));
}

Json health(HostProcess& host) {
    return Json::parse(http_get(host.port(), host.http_prefix() + "/health").body);
}

}  // namespace

TEST_GROUP(InstanceFaults) {
    Instances in;
    void teardown() override {
        in.stop_all();
    }
};

TEST(InstanceFaults, KilledInstanceUsersGoOfflineWithinTheTtlReapedOnce) {
    in.start(3, fault_timings("6"));
    WsClient alice, carol, bob;
    connect_alice_carol_then_bob(in, alice, carol, bob);

    const auto killed = Clock::now();
    in.host(1).kill_hard();
    in.slot(1).reset();
    Json off = wait_presence(alice, "bob", "offline", milliseconds{8000});
    const auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - killed);
    CHECK_TEXT(took.count() <= 6000, ("offline after " + std::to_string(took.count())).c_str());
    CHECK_TEXT(off["last_seen"].is_number(), off.dump().c_str());
    wait_presence(carol, "bob", "offline", milliseconds{2000});
    // Exactly one survivor reaped it.
    CHECK(eventually(
        [&] {
            return metric(in.host(0), "presence_redis_instances_reaped_total") +
                       metric(in.host(2), "presence_redis_instances_reaped_total") ==
                   1;
        },
        milliseconds{3000}));
    // Kept: no event says "nobody else will reap it"; 1.5 s is more than a heartbeat (1 s) of
    // the other survivor, which would have named i1 dead too had it still been listed.
    std::this_thread::sleep_for(milliseconds{1500});
    LONGS_EQUAL(1, metric(in.host(0), "presence_redis_instances_reaped_total") +
                       metric(in.host(2), "presence_redis_instances_reaped_total"));
    expect_no_frame(alice, milliseconds{300});
    // Nothing of the dead instance is left in Redis.
    STRCMP_EQUAL("(nil)", in.cli("{presence}", {"ZSCORE", "{presence}:instances", "i1"}).c_str());
    STRCMP_EQUAL("0", in.cli("{presence}", {"EXISTS", "{presence}:inst:i1"}).c_str());
}

TEST(InstanceFaults, PausedInstanceIsReapedThenRegistersAgain) {
    in.start(2, fault_timings("6"));
    WsClient alice, bob;
    connect_alice_then_bob(in, alice, bob);
    ::kill(in.host(1).pid(), SIGSTOP);
    wait_presence(alice, "bob", "offline", milliseconds{8000});
    ::kill(in.host(1).pid(), SIGCONT);
    // Back: its connection is still there, so bob is online again for alice, without bob
    // doing anything.
    wait_presence(alice, "bob", "online", milliseconds{5000});
    CHECK(bob.heartbeat_roundtrip(false));
    expect_no_frame(alice, milliseconds{1500});
}

TEST(InstanceFaults, RedisPausedThreeSecondsReapsNobody) {
    in.start(2, fault_timings("15"));
    WsClient alice, bob;
    connect_alice_then_bob(in, alice, bob);
    in.feed_redis().pause();
    std::this_thread::sleep_for(milliseconds{3000});  // the fault under test: a 3 s pause
    in.feed_redis().resume();
    // Nobody is reaped, nobody sees a change, and the link comes back.
    expect_no_frame(alice, milliseconds{7000});
    LONGS_EQUAL(0, metric(in.host(0), "presence_redis_instances_reaped_total") +
                       metric(in.host(1), "presence_redis_instances_reaped_total"));
    CHECK(
        eventually([&] { return health(in.host(0))["redis"].str() == "ok"; }, milliseconds{5000}));
    // And changes flow again.
    CHECK(send_update(bob, R"("status":"away")"));
    wait_presence(alice, "bob", "away");
}

TEST(InstanceFaults, RedisRestartedEmptyViewsConvergeWithoutReconnecting) {
    if (cluster_mode()) return;  // the cluster variant kills a master (ClusterFaults)
    in.start(2, fault_timings("6"));
    WsClient alice, bob, carol, dave;
    connect_alice_then_bob(in, alice, bob);

    in.single()->kill_hard();
    // Degraded: each instance keeps serving its own users; friends on one instance still see
    // each other change.
    CHECK(eventually([&] { return health(in.host(0))["redis"].str() == "down"; },
                     milliseconds{5000}));
    Json h = health(in.host(0));
    STRCMP_EQUAL("degraded", h["status"].str().c_str());
    connect_user(in.host(0), carol, "carol");
    STRCMP_EQUAL("online", status_of(next_presence_about(alice, "carol")).c_str());
    // Meanwhile bob changes status on his instance (alice cannot learn it yet).
    CHECK(send_update(bob, R"("status":"dnd","message":"outage")"));
    bob.read_until_type("presence_self");

    std::string err;
    const auto back = Clock::now();
    CHECK_TEXT(in.single()->restart(&err), err.c_str());
    // Within 20 s, with nobody reconnecting: alice sees bob's dnd, bob sees carol online.
    Json dnd = wait_presence(alice, "bob", "dnd", milliseconds{20000});
    STRCMP_EQUAL("outage", dnd["message"].str().c_str());
    wait_presence(bob, "carol", "online", milliseconds{20000});
    const auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - back);
    CHECK_TEXT(took.count() < 20000, std::to_string(took.count()).c_str());
    CHECK(
        eventually([&] { return health(in.host(0))["status"].str() == "ok"; }, milliseconds{5000}));
    // Nobody was reaped for the silence.
    expect_no_frame(alice, milliseconds{3000});
    LONGS_EQUAL(0, metric(in.host(0), "presence_redis_instances_reaped_total") +
                       metric(in.host(1), "presence_redis_instances_reaped_total"));
}

TEST(InstanceFaults, RedisRestartedEmptyKeepsUsersOfAnInstanceSlowToRegisterAgain) {
    if (cluster_mode()) return;  // one Redis restarted empty; the cluster kills a master
    in.start(2, fault_timings("15"));
    WsClient alice, bob;
    connect_alice_then_bob(in, alice, bob);

    in.single()->kill_hard();
    CHECK(eventually([&] { return health(in.host(1))["redis"].str() == "down"; },
                     milliseconds{5000}));
    // Alice's instance is slow to come back (here: paused) while bob's is back at once and
    // finds Redis empty: alice is missing from Redis, yet her instance is alive (paused far
    // less than a reap period), so bob must keep seeing her online.
    ::kill(in.host(0).pid(), SIGSTOP);
    std::string err;
    const bool restarted = in.single()->restart(&err);
    if (!restarted) ::kill(in.host(0).pid(), SIGCONT);
    CHECK_TEXT(restarted, err.c_str());
    const bool up =
        eventually([&] { return health(in.host(1))["redis"].str() == "ok"; }, milliseconds{5000});
    std::this_thread::sleep_for(milliseconds{4000});  // bob's instance alone with empty Redis
    ::kill(in.host(0).pid(), SIGCONT);
    CHECK(up);
    expect_no_frame(bob, milliseconds{100});  // nothing about alice came meanwhile
    // Alice's instance registers her again: nothing changes for bob, and changes flow again.
    expect_no_frame(bob, milliseconds{3000});
    CHECK(send_update(alice, R"("status":"away","message":"back")"));
    Json away = wait_presence(bob, "alice", "away", milliseconds{10000});
    STRCMP_EQUAL("back", away["message"].str().c_str());
    CHECK(send_update(bob, R"("status":"dnd")"));
    wait_presence(alice, "bob", "dnd", milliseconds{10000});
    LONGS_EQUAL(0, metric(in.host(0), "presence_redis_instances_reaped_total") +
                       metric(in.host(1), "presence_redis_instances_reaped_total"));
}

TEST(InstanceFaults, InstanceKilledWhileRedisWasDownGoesOfflineOnceRedisReturnsEmpty) {
    if (cluster_mode()) return;
    in.start(2, fault_timings("6"));
    WsClient alice, bob;
    connect_alice_then_bob(in, alice, bob);

    in.single()->kill_hard();
    CHECK(eventually([&] { return health(in.host(1))["redis"].str() == "down"; },
                     milliseconds{5000}));
    in.host(0).kill_hard();
    in.slot(0).reset();
    std::string err;
    CHECK_TEXT(in.single()->restart(&err), err.c_str());
    // Redis lost alice's instance with everything else: bob's instance waits for it to
    // register again, and once it stayed silent past the reap period alice is offline.
    Json off = wait_presence(bob, "alice", "offline", milliseconds{15000});
    CHECK_TEXT(off["last_seen"].is_number(), off.dump().c_str());
    expect_no_frame(bob, milliseconds{1500});
}

TEST(InstanceFaults, ConnectionsKilledByRedisResumeTheFeedWithoutResync) {
    in.start(2, fault_timings("15"));
    WsClient alice, bob;
    connect_alice_then_bob(in, alice, bob);
    const long long resyncs = metric(in.host(0), "presence_redis_resyncs_total");
    // Every client connection of every node (the instances' writers and feed readers).
    if (in.single()) {
        in.single()->cli({"CLIENT", "KILL", "TYPE", "normal"});
    } else {
        for (int i = 0; i < in.cluster()->size(); ++i) {
            in.cluster()->node(i).cli({"CLIENT", "KILL", "TYPE", "normal"});
        }
    }
    CHECK(send_update(bob, R"("status":"away","message":"after kill")"));
    Json away = wait_presence(alice, "bob", "away", milliseconds{5000});
    STRCMP_EQUAL("after kill", away["message"].str().c_str());
    CHECK(send_update(bob, R"("status":"dnd")"));
    wait_presence(alice, "bob", "dnd", milliseconds{5000});
    expect_no_frame(alice, milliseconds{300});
    LONGS_EQUAL(resyncs, metric(in.host(0), "presence_redis_resyncs_total"));
}

TEST(InstanceFaults, CleanStopLeavesNothingBehind) {
    in.start(2, fault_timings("15"));
    WsClient alice, bob;
    connect_alice_then_bob(in, alice, bob);
    stop_cleanly(in.slot(1));
    wait_presence(alice, "bob", "offline", milliseconds{4000});
    STRCMP_EQUAL("(nil)", in.cli("{presence}", {"ZSCORE", "{presence}:instances", "i1"}).c_str());
    STRCMP_EQUAL("0", in.cli("{presence}", {"EXISTS", "{presence}:inst:i1"}).c_str());
    const std::string fields = in.cli("presence:{bob}", {"HKEYS", "presence:{bob}"});
    CHECK_TEXT(fields.find("d|") == std::string::npos, fields.c_str());
}
