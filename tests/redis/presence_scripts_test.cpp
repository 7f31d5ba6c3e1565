// The Redis-side steps of SPEC 9 against a real redis-server: the user script (devices of
// several instances aggregated, the durable part, versions that keep growing across a Redis
// restart, an idempotent disconnect), the drop of a dead instance, the heartbeat; and the
// parser of user hashes on odd replies.
#include "redis/presence_scripts.hpp"

#include <map>
#include <string>

#include "redis/packed_hash.hpp"
#include "redis/user_hash.hpp"
#include "redis_env.hpp"

// Last: CppUTest redefines `new` for leak detection, which breaks standard headers after it.
#include <CppUTest/TestHarness.h>

using namespace presence;
using namespace presence::test;

namespace {

struct Device {
    std::uint64_t conn;
    bool idle;
};

// put_user for `user` from `instance`: devices of that instance, and optionally the record.
redis::Command put(const std::string& user, const std::string& instance,
                   std::vector<Device> devices, const std::string& mode = "",
                   const std::string& status = "1", const std::string& message = "",
                   const std::string& last_seen = "", const std::string& left_at = "") {
    redis::Argv a = {"1",
                     redis::user_key(user),
                     instance,
                     left_at,
                     "0",
                     mode,
                     status,
                     message,
                     "",
                     last_seen,
                     "",
                     "",
                     std::to_string(devices.size())};
    for (const auto& d : devices) {
        a.push_back(std::to_string(d.conn));
        a.push_back(d.idle ? "1" : "0");
    }
    return {redis::user_key(user), a, &redis::put_user_script()};
}

// Several puts as one batched call (one Redis: the link's way), which also appends each new
// state to the feed.
redis::Command batched(const std::vector<redis::Command>& puts) {
    redis::Argv a = {std::to_string(puts.size() + 1), "{presence}:feed"};
    for (const auto& p : puts) a.push_back(p.argv[1]);
    a.push_back(puts.at(0).argv[2]);  // the instance (the same for every put)
    for (const auto& p : puts) a.insert(a.end(), p.argv.begin() + 3, p.argv.end());
    return {"{presence}:feed", a, &redis::put_users_script()};
}

// field -> value of a packed hash (packed_hash.hpp); fails the test when it does not unpack.
std::map<std::string, std::string> unpacked(const std::string& packed,
                                            std::size_t* pairs = nullptr) {
    std::map<std::string, std::string> m;
    std::size_t n = 0;
    CHECK(redis::unpack_pairs(packed, [&](std::string_view f, std::string_view v) {
        m[std::string(f)] = std::string(v);
        ++n;
    }));
    if (pairs) *pairs = n;
    return m;
}

// field -> value of a flat field/value array (order does not matter).
std::map<std::string, std::string> as_map(const redis::Reply& r, std::size_t from = 0) {
    std::map<std::string, std::string> m;
    for (std::size_t i = from; i + 1 < r.elements.size(); i += 2)
        m[r.elements[i].str] = r.elements[i + 1].str;
    return m;
}

redis::Command drop(const std::string& user, const std::string& instance, const std::string& at) {
    return {redis::user_key(user),
            {"1", redis::user_key(user), instance, at},
            &redis::drop_instance_script()};
}

}  // namespace

TEST_GROUP(PresenceScripts) {
    RedisServer server;
    std::unique_ptr<redis::RedisClient> client;
    void setup() override {
        std::string err;
        CHECK_TEXT(server.start(&err), err.c_str());
        connect();
    }
    void connect() {
        client =
            std::make_unique<redis::RedisClient>(must_parse(server.url()), redis::ClientOptions{});
        std::string why;
        CHECK_TEXT(client->connect(why) == redis::ConnectResult::Ok, why.c_str());
    }
    redis::UserHash run(const redis::Command& c) {
        redis::Reply r;
        CHECK(client->run_one(c, r));
        CHECK_TEXT(r.is_array(), r.str.c_str());
        return redis::parse_user_hash(r);
    }
};

TEST(PresenceScripts, DevicesOfSeveralInstancesAggregate) {
    run(put("bob", "A", {{1, false}, {2, true}}));
    redis::UserHash h = run(put("bob", "B", {{7, true}}));
    LONGS_EQUAL(3, h.devices.size());
    // Seen from A: B's one idle device. From B: A's two, one active. From C: all three.
    core::RemotePresence from_a = h.remote_for("A");
    LONGS_EQUAL(1, from_a.devices);
    LONGS_EQUAL(0, from_a.active_devices);
    core::RemotePresence from_b = h.remote_for("B");
    LONGS_EQUAL(2, from_b.devices);
    LONGS_EQUAL(1, from_b.active_devices);
    LONGS_EQUAL(3, h.remote_for("C").devices);
    CHECK_FALSE(h.gone_since.has_value());
    // A replaces its own devices, B's stay.
    h = run(put("bob", "A", {{3, false}}));
    LONGS_EQUAL(2, h.devices.size());
    LONGS_EQUAL(1, h.remote_for("B").active_devices);
}

TEST(PresenceScripts, LastDeviceLeavingRecordsWhenAndDisconnectIsIdempotent) {
    run(put("bob", "A", {{1, true}}));
    redis::UserHash h = run(put("bob", "A", {}, "", "1", "", "", "123456"));
    LONGS_EQUAL(0, h.devices.size());
    CHECK(h.gone_since.has_value());
    LONGS_EQUAL(123456, *h.gone_since);
    CHECK(h.remote_for("B").gone_since.has_value());
    // The same disconnect again (a retry): the moment stays the first one.
    const std::uint64_t v = h.version;
    h = run(put("bob", "A", {}, "", "1", "", "", "999999"));
    LONGS_EQUAL(123456, *h.gone_since);
    CHECK(h.version > v);
    // The hash of a user with no device expires; with a device it does not.
    CHECK(std::stoll(server.cli({"TTL", redis::user_key("bob")})) > 0);
    run(put("bob", "A", {{5, false}}));
    STRCMP_EQUAL("-1", server.cli({"TTL", redis::user_key("bob")}).c_str());
    CHECK_FALSE(run(put("bob", "A", {{5, false}})).gone_since.has_value());
}

TEST(PresenceScripts, RecordIsSetOrOnlyInitialised) {
    redis::UserHash h = run(put("bob", "A", {{1, false}}, "i", "3", "first", "1000"));
    CHECK(h.has_record);
    CHECK(core::Status::Dnd == h.record.chosen);
    STRCMP_EQUAL("first", h.record.message->c_str());
    // "i" (a connect) never overwrites what another instance wrote.
    h = run(put("bob", "B", {{2, false}}, "i", "2", "other"));
    CHECK(core::Status::Dnd == h.record.chosen);
    STRCMP_EQUAL("first", h.record.message->c_str());
    // "1" (a change) does; last seen only moves forward.
    h = run(put("bob", "B", {{2, false}}, "1", "2", "lunch", "500"));
    CHECK(core::Status::Away == h.record.chosen);
    STRCMP_EQUAL("lunch", h.record.message->c_str());
    LONGS_EQUAL(1000, *h.record.last_seen);
    h = run(put("bob", "B", {{2, false}}, "1", "2", "", "2000"));
    LONGS_EQUAL(2000, *h.record.last_seen);
}

TEST(PresenceScripts, VersionsKeepGrowingAcrossARedisRestart) {
    std::uint64_t last = 0;
    for (int i = 0; i < 5; ++i) {
        const auto v = run(put("bob", "A", {{1, false}})).version;
        CHECK(v > last);
        last = v;
    }
    std::string err;
    CHECK_TEXT(server.restart(&err), err.c_str());
    connect();
    STRCMP_EQUAL("0", server.cli({"EXISTS", redis::user_key("bob")}).c_str());  // empty
    const auto after = run(put("bob", "A", {{1, false}})).version;
    CHECK_TEXT(after > last, (std::to_string(after) + " <= " + std::to_string(last)).c_str());
}

TEST(PresenceScripts, DropInstanceIsIdempotent) {
    run(put("bob", "A", {{1, false}}));
    run(put("bob", "B", {{2, true}}));
    redis::UserHash h = run(drop("bob", "A", "777"));
    LONGS_EQUAL(1, h.devices.size());
    CHECK_FALSE(h.gone_since.has_value());  // B's device remains
    redis::Reply again;
    CHECK(client->run_one(drop("bob", "A", "888"), again));
    CHECK(again.is_array());
    LONGS_EQUAL(0, again.elements.size());  // nothing of A left: nothing to announce
    h = run(drop("bob", "B", "999"));
    LONGS_EQUAL(0, h.devices.size());
    LONGS_EQUAL(999, *h.gone_since);
    CHECK(h.gone_idle);  // B's last device was idle
}

TEST(PresenceScripts, HeartbeatSaysNewAndNamesTheSilent) {
    const auto beat = [&](const std::string& inst, const std::string& dead_after) {
        redis::Reply r;
        CHECK(client->run_one({"{presence}:instances",
                               {"1", "{presence}:instances", inst, dead_after},
                               &redis::heartbeat_script()},
                              r));
        CHECK_TEXT(r.is_array() && r.elements.size() >= 2, r.str.c_str());
        return r;
    };
    LONGS_EQUAL(1, beat("A", "1000").elements[0].integer);  // new
    LONGS_EQUAL(0, beat("A", "1000").elements[0].integer);  // known
    beat("B", "1000");
    // B's last beat moved 300 ms into the past instead of waiting 300 ms for it to age.
    const std::string score = server.cli({"ZINCRBY", "{presence}:instances", "-300", "B"});
    CHECK_TEXT(!score.empty() && score.find_first_not_of("0123456789") == std::string::npos,
               score.c_str());
    redis::Reply r = beat("A", "200");  // B silent for 300 ms > 200
    LONGS_EQUAL(4, r.elements.size());
    STRCMP_EQUAL("B", r.elements[2].str.c_str());
    LONGS_EQUAL(2, beat("A", "5000").elements.size());  // nobody silent that long
}

// After every kind of step the answer is exactly the stored hash: put_user's as fields, the
// batched put's packed, and the batched put's feed entry (its newest) carries that same packed
// hash; put_user alone appends nothing (a cluster: the link writes the feed).
TEST(PresenceScripts, AnswerIsTheStoredHashAndTheFeedEntryCarriesIt) {
    const std::vector<redis::Command> steps = {
        put("bob", "A", {{1, false}, {2, true}}, "i", "3", "first", "1000"),
        put("bob", "B", {{7, true}}, "i", "2", "other"),
        put("bob", "A", {{3, false}}, "1", "2", "lunch", "500"),  // l stays 1000
        put("bob", "A", {}, "1", "1", "", "2000"),                // B's device stays: no g
        put("bob", "B", {}, "", "1", "", "", "4242"),             // last device: g, gi
        put("bob", "B", {}, "", "1", "", "", "9999"),             // again: g stays
        put("bob", "A", {{4, true}}, "1", "4", "back", "3000"),   // g, gi go
    };
    std::size_t entries = 0;
    for (std::size_t i = 0; i < steps.size(); ++i) {
        const bool feed = i % 2 == 0;
        const std::string step = "step " + std::to_string(i);
        redis::Reply answer, stored, last;
        CHECK(client->run_one(feed ? batched({steps[i]}) : steps[i], answer));
        CHECK_TEXT(answer.is_array(), answer.str.c_str());
        CHECK(client->run_one({"", {"HGETALL", redis::user_key("bob")}}, stored));
        const auto want = as_map(stored);
        if (feed) {
            LONGS_EQUAL(1, answer.elements.size());
            std::size_t pairs = 0;
            CHECK_TEXT(unpacked(answer.elements[0].str, &pairs) == want, step.c_str());
            LONGS_EQUAL(want.size(), pairs);  // no field twice
            ++entries;
        } else {
            CHECK_TEXT(as_map(answer) == want, step.c_str());
            LONGS_EQUAL(want.size() * 2, answer.elements.size());  // no field twice
        }
        STRCMP_EQUAL(std::to_string(entries).c_str(),
                     server.cli({"XLEN", "{presence}:feed"}).c_str());
        if (!feed) continue;
        CHECK(
            client->run_one({"", {"XREVRANGE", "{presence}:feed", "+", "-", "COUNT", "1"}}, last));
        CHECK(last.is_array() && last.elements.size() == 1);
        const redis::Reply& fields = last.elements[0].elements[1];
        LONGS_EQUAL(8, fields.elements.size());
        const std::vector<std::string> head = {"o", "A", "k", "p", "u", "bob", "h"};
        const std::string& inst = steps[i].argv[2];
        for (std::size_t k = 0; k < head.size(); ++k)
            STRCMP_EQUAL(k == 1 ? inst.c_str() : head[k].c_str(), fields.elements[k].str.c_str());
        STRCMP_EQUAL(answer.elements[0].str.c_str(), fields.elements[7].str.c_str());
    }
    redis::UserHash h = run(put("bob", "A", {{4, true}}));
    CHECK_FALSE(h.gone_since.has_value());
    LONGS_EQUAL(3000, *h.record.last_seen);  // untouched by a put without the record
}

// One batched call: every user's change as if each had been its own put, in order (the same
// user twice included: the second sees the first), one feed entry per change in that order.
TEST(PresenceScripts, ABatchIsItsPutsInOrderWithOneFeedEntryEach) {
    run(put("carol", "B", {{9, true}}));
    redis::Reply answer;
    CHECK(client->run_one(
        batched({put("bob", "A", {{1, false}}, "1", "3", "busy"), put("carol", "A", {{2, false}}),
                 put("bob", "A", {{1, true}}, "1", "2", "later")}),
        answer));
    CHECK_TEXT(answer.is_array(), answer.str.c_str());
    LONGS_EQUAL(3, answer.elements.size());
    std::vector<redis::UserHash> got(3);
    for (std::size_t k = 0; k < 3; ++k)
        CHECK(redis::unpack_user_hash(answer.elements[k].str, got[k]));
    CHECK(core::Status::Dnd == got[0].record.chosen);
    LONGS_EQUAL(2, got[1].devices.size());  // B's device kept
    CHECK(core::Status::Away == got[2].record.chosen);
    STRCMP_EQUAL("later", got[2].record.message->c_str());
    CHECK(got[2].devices.at(0).idle);
    CHECK(got[2].version > got[0].version);
    redis::Reply stored;
    CHECK(client->run_one({"", {"HGETALL", redis::user_key("bob")}}, stored));
    CHECK(unpacked(answer.elements[2].str) == as_map(stored));

    redis::Reply entries;
    CHECK(client->run_one({"", {"XRANGE", "{presence}:feed", "-", "+"}}, entries));
    LONGS_EQUAL(3, entries.elements.size());
    const char* users[] = {"bob", "carol", "bob"};
    for (std::size_t k = 0; k < 3; ++k) {
        const auto& f = entries.elements[k].elements[1].elements;
        STRCMP_EQUAL(users[k], f.at(5).str.c_str());
        STRCMP_EQUAL(answer.elements[k].str.c_str(), f.at(7).str.c_str());
    }
}

// A user whose step fails (the key holds another type, written by someone else) gets that
// error in its place and no feed entry; the users before and after it are written as usual.
TEST(PresenceScripts, OneUsersFailureInABatchIsItsAlone) {
    server.cli({"SET", redis::user_key("mallory"), "not a hash"});
    redis::Reply answer;
    CHECK(client->run_one(batched({put("bob", "A", {{1, false}}), put("mallory", "A", {{2, false}}),
                                   put("carol", "A", {{3, true}})}),
                          answer));
    CHECK_TEXT(answer.is_array(), answer.str.c_str());
    LONGS_EQUAL(3, answer.elements.size());
    redis::UserHash h;
    CHECK(redis::unpack_user_hash(answer.elements[0].str, h));
    LONGS_EQUAL(1, h.devices.size());
    CHECK(answer.elements[1].is_error_with("WRONGTYPE"));
    CHECK(redis::unpack_user_hash(answer.elements[2].str, h));
    CHECK(h.devices.at(0).idle);
    STRCMP_EQUAL("not a hash", server.cli({"GET", redis::user_key("mallory")}).c_str());
    redis::Reply entries;
    CHECK(client->run_one({"", {"XRANGE", "{presence}:feed", "-", "+"}}, entries));
    LONGS_EQUAL(2, entries.elements.size());
    STRCMP_EQUAL("bob", entries.elements[0].elements[1].elements.at(5).str.c_str());
    STRCMP_EQUAL("carol", entries.elements[1].elements[1].elements.at(5).str.c_str());
}

TEST(PresenceScripts, ScriptsRunAgainAfterTheScriptCacheIsFlushed) {
    run(put("bob", "A", {{1, false}}));
    server.cli({"SCRIPT", "FLUSH"});
    LONGS_EQUAL(1, run(put("bob", "A", {{1, false}})).devices.size());
}

TEST_GROUP(UserHashParser){};

TEST(UserHashParser, OddRepliesNeverThrowAndKeepWhatIsGood) {
    using R = redis::Reply;
    auto str = [](std::string s) {
        R r;
        r.type = R::Type::String;
        r.str = std::move(s);
        return r;
    };
    R arr;
    arr.type = R::Type::Array;
    for (const char* s : {"v", "12", "d|A|x", "1", "d|noconn", "0", "d|A|5", "1", "s", "9", "t",
                          "soon", "l", "77", "w", "ok bad!id  also_ok", "odd"}) {
        arr.elements.push_back(str(s));
    }
    R integer;
    integer.type = R::Type::Integer;
    arr.elements.insert(arr.elements.begin() + 2, integer);  // a stray non-string
    redis::UserHash h = redis::parse_user_hash(arr);
    // The stray integer shifts the pairs: whatever is misread is skipped, nothing crashes.
    CHECK(h.devices.size() <= 1);
    redis::UserHash none = redis::parse_user_hash(str("not an array"));
    LONGS_EQUAL(0, none.version);
    CHECK_FALSE(none.has_record);

    R good;
    good.type = R::Type::Array;
    for (const char* s :
         {"v", "12", "d|A|5", "1", "s", "9", "t", "soon", "l", "77", "w", "ok bad!id  also_ok"}) {
        good.elements.push_back(str(s));
    }
    h = redis::parse_user_hash(good);
    LONGS_EQUAL(12, h.version);
    LONGS_EQUAL(1, h.devices.size());
    CHECK(h.devices[0].idle);
    CHECK_FALSE(h.has_record);  // status 9 is no status
    CHECK_FALSE(h.record.until.has_value());
    LONGS_EQUAL(77, *h.record.last_seen);
    LONGS_EQUAL(2, h.record.visibility.size());  // the invalid id is dropped
}
