// Eviction with several instances (SPEC 9): a user nobody watches leaves every instance's
// memory (and its Redis bookkeeping) and comes back from Redis and the store with what it
// chose, on any instance; a user watched from another instance is live there.
#include <chrono>
#include <functional>  // before e2e_fixture.hpp (CppUTest last)

#include "e2e_fixture.hpp"
#include "instances.hpp"

// CppUTest last: its leak-detecting new macros must not meet standard headers.
#include <CppUTest/TestHarness.h>

using namespace presence::scaleout;
using std::chrono::milliseconds;

namespace {

long long sample(HostProcess& host, const std::string& name) {
    HttpResponse r = http_get(host.port(), host.http_prefix() + "/metrics", host.admin_token());
    const std::string key = "\n" + name + " ";
    const auto at = ("\n" + r.body).find(key);
    if (at == std::string::npos) return -1;
    return std::atoll(("\n" + r.body).c_str() + at + key.size());
}

bool all_evicted(Instances& in) {
    return eventually(
        [&] {
            return sample(in.host(0), "presence_loaded_users") == 0 &&
                   sample(in.host(1), "presence_loaded_users") == 0;
        },
        milliseconds{15000});
}

}  // namespace

TEST_GROUP(ScaleoutEviction) {
    Instances in;
    void setup() override {
        HostOptions o = small_timings();
        o.friends({{"alice", "bob"}});
        o.set("presence.offline_grace_s", "0");
        o.set("presence.evict_after_s", "1");
        in.start(2, o);
    }
    void teardown() override {
        in.stop_all();
    }
};

TEST(ScaleoutEviction, AnEvictedUserComesBackWithItsStateOnAnyInstance) {
    {
        WsClient alice;
        connect_user(in.host(0), alice, "alice");
        CHECK(send_update(alice, R"("status":"dnd","message":"focus")"));
        CHECK(alice.read_until_type("presence_self").valid());
    }
    CHECK_TEXT(all_evicted(in), "users still loaded");
    CHECK(sample(in.host(0), "presence_users_evicted_total") >= 1);

    // bob on the other instance: alice is read back (offline, last seen set)...
    WsClient bob;
    Json snap = connect_user(in.host(1), bob, "bob");
    Json seen = snap["friends"].find_by("user_id", "alice");
    STRCMP_EQUAL("offline", status_of(seen).c_str());
    CHECK_FALSE(seen["last_seen"].is_null());
    // ...and alice, back on her instance, has what she chose; bob sees it live.
    WsClient alice;
    Json own = connect_user(in.host(0), alice, "alice");
    STRCMP_EQUAL("dnd", own["self"]["status"].str().c_str());
    STRCMP_EQUAL("focus", own["self"]["message"].str().c_str());
    Json live = next_presence_about(bob, "alice");
    STRCMP_EQUAL("dnd", status_of(live).c_str());
    STRCMP_EQUAL("focus", live["message"].str().c_str());
    // bob watches alice: after the eviction delay she is still live for him. Rather than
    // sleep past evict_after_s: a witness nobody watches, loaded after alice left, is evicted
    // (the queue is in due order, so alice's turn came first), and alice is still there.
    alice.send_close();
    STRCMP_EQUAL("offline", status_of(next_presence_about(bob, "alice")).c_str());
    const long long loaded = sample(in.host(1), "presence_loaded_users");  // bob, alice
    CHECK(loaded >= 2);
    {
        WsClient witness;
        connect_user(in.host(1), witness, "witness");
        LONGS_EQUAL(loaded + 1, sample(in.host(1), "presence_loaded_users"));
    }
    CHECK(eventually([&] { return sample(in.host(1), "presence_loaded_users") <= loaded; },
                     milliseconds{15000}));
    CHECK(sample(in.host(1), "presence_loaded_users") >= 2);
    bob.send_close();
    CHECK_TEXT(all_evicted(in), "users still loaded after everyone left");

    // alice on the instance whose store never saw her change: Redis has it.
    WsClient alice_elsewhere;
    Json other = connect_user(in.host(1), alice_elsewhere, "alice");
    STRCMP_EQUAL("dnd", other["self"]["status"].str().c_str());
    STRCMP_EQUAL("focus", other["self"]["message"].str().c_str());
}
