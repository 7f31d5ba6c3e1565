// The link's writer against a real redis-server: however the loop side's changes fall into one
// batch, the instance's own user set (what a survivor reaps when this instance dies) ends as the
// devices do.
#include "redis/redis_link.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "redis_env.hpp"

// Last: CppUTest redefines `new` for leak detection, which breaks standard headers after it.
#include <CppUTest/TestHarness.h>

using namespace presence;
using namespace presence::test;

namespace {

core::SharedUser user_with(const char* id, std::size_t devices) {
    core::SharedUser u;
    u.user_id = id;
    for (std::size_t k = 0; k < devices; ++k) u.devices.push_back({k + 1, false});
    if (devices == 0) u.left_at = 1000;
    return u;
}

// Takes link events until `puts` Put answers came (at most 10 s); returns how many were ok.
// `failed`, when given, collects the users whose change was not taken.
int await_puts(redis::RedisLink& link, int puts, std::vector<std::string>* failed = nullptr) {
    int seen = 0, ok = 0;
    const auto start = std::chrono::steady_clock::now();
    std::vector<redis::LinkEvent> events;
    while (seen < puts && elapsed_ms(start) < 10'000) {
        events.clear();
        link.take(events);
        for (const auto& e : events) {
            if (e.kind != redis::LinkEvent::Kind::Put) continue;
            ++seen;
            if (e.ok) ++ok;
            if (!e.ok && failed) failed->push_back(e.user);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return ok;
}

}  // namespace

TEST_GROUP(RedisLinkWriter) {
    RedisServer server;
    std::unique_ptr<redis::RedisLink> link;
    void setup() override {
        std::string err;
        CHECK_TEXT(server.start(&err), err.c_str());
        // Built, not assigned: g++ 12 warns falsely (-Wrestrict) on assigning a short literal.
        redis::LinkOptions o{.url = must_parse(server.url()),
                             .instance = std::string("A"),
                             .instance_ttl_ms = 15'000,
                             .heartbeat_ms = 1'000,
                             .wake = [] {}};
        std::string why;
        link = redis::RedisLink::start(o, why);
        CHECK_TEXT(link != nullptr, why.c_str());
    }
    void teardown() override {
        if (link) link->stop(false, 0);
    }
    // The writer blocks on the paused server with a change of `first`; what `queue` then puts
    // waits behind it and goes as one batch once the server answers again (300 ms: well inside
    // the writer's 2 s command timeout, so the link stays up).
    template <typename Queue>
    void one_batch_after(const char* first, Queue queue) {
        server.pause();
        link->put(user_with(first, 1));
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        queue();
        server.resume();
    }
};

// A user leaves and comes back while Redis is busy with an earlier batch: both changes go in
// the next batch, whose SREM (sent after the batch's script) must not undo the SADD of the
// return (sent before it).
TEST(RedisLinkWriter, OwnSetEndsAsTheDevicesDoWhateverTheBatch) {
    link->put(user_with("bob", 1));
    LONGS_EQUAL(1, await_puts(*link, 1));
    STRCMP_EQUAL("1", server.cli({"SISMEMBER", "{presence}:inst:A", "bob"}).c_str());
    one_batch_after("carol", [&] {
        link->put(user_with("bob", 0));
        link->put(user_with("bob", 2));
    });
    LONGS_EQUAL(3, await_puts(*link, 3));
    STRCMP_EQUAL("1", server.cli({"SISMEMBER", "{presence}:inst:A", "bob"}).c_str());
    STRCMP_EQUAL("1", server.cli({"HEXISTS", "presence:{bob}", "d|A|2"}).c_str());
}

// A user whose key holds another type fails alone: the rest of the same batch is taken.
TEST(RedisLinkWriter, OneUsersRefusedChangeLeavesTheBatchsOthersTaken) {
    server.cli({"SET", "presence:{mallory}", "not a hash"});
    std::vector<std::string> failed;
    one_batch_after("carol", [&] {
        link->put(user_with("bob", 1));
        link->put(user_with("mallory", 1));
        link->put(user_with("dave", 1));
    });
    LONGS_EQUAL(3, await_puts(*link, 4, &failed));
    LONGS_EQUAL(1, failed.size());
    STRCMP_EQUAL("mallory", failed[0].c_str());
    STRCMP_EQUAL("1", server.cli({"HEXISTS", "presence:{dave}", "d|A|1"}).c_str());
}
