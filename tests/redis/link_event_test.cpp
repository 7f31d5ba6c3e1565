// Reading the change feed and user hashes never trusts Redis: well-formed entries come through,
// anything else is skipped, and random reply trees never crash the parsers.
#include "redis/link_event.hpp"

#include <random>

// Last: CppUTest redefines `new` for leak detection, which breaks standard headers after it.
#include <CppUTest/TestHarness.h>

using namespace presence::redis;

namespace {

Reply str(std::string s) {
    Reply r;
    r.type = Reply::Type::String;
    r.str = std::move(s);
    return r;
}

Reply arr(std::vector<Reply> e) {
    Reply r;
    r.type = Reply::Type::Array;
    r.elements = std::move(e);
    return r;
}

Reply entry(const std::string& id, std::vector<std::string> fields) {
    std::vector<Reply> f;
    for (auto& s : fields) f.push_back(str(s));
    return arr({str(id), arr(std::move(f))});
}

Reply feed(std::vector<Reply> entries) {
    return arr({arr({str("{presence}:feed"), arr(std::move(entries))})});
}

// A random reply tree: strings from a small alphabet of feed words, integers, nils, errors.
Reply random_reply(std::mt19937& rng, int depth) {
    static const char* words[] = {"o",
                                  "k",
                                  "u",
                                  "f",
                                  "op",
                                  "a",
                                  "b",
                                  "r",
                                  "v",
                                  "s",
                                  "d|A|1",
                                  "1-1",
                                  "bob",
                                  "A",
                                  "12",
                                  "",
                                  "d|",
                                  "g",
                                  "9999999999999999999"};
    Reply r;
    switch (depth > 3 ? rng() % 4 : rng() % 6) {
        case 0:
            r.type = Reply::Type::Nil;
            break;
        case 1:
            r.type = Reply::Type::Integer;
            r.integer = static_cast<long long>(rng());
            break;
        case 2:
            r.type = Reply::Type::Error;
            r.str = "ERR odd";
            break;
        case 3:
            r = str(words[rng() % (sizeof words / sizeof *words)]);
            break;
        default: {
            r.type = Reply::Type::Array;
            const int n = static_cast<int>(rng() % 12);
            for (int i = 0; i < n; ++i) r.elements.push_back(random_reply(rng, depth + 1));
        }
    }
    return r;
}

}  // namespace

TEST_GROUP(FeedEntries){};

TEST(FeedEntries, UserAndFriendshipEntriesOfOthersBecomeEvents) {
    std::string last = "0-0";
    std::vector<LinkEvent> out;
    const Reply r = feed({
        entry("5-0", {"o", "B", "k", "u", "u", "bob", "v", "42", "d|B|7", "0", "s", "3"}),
        entry("5-1", {"o", "A", "k", "u", "u", "alice", "v", "1"}),  // our own: skipped
        entry("6-0", {"o", "B", "k", "f", "op", "a", "a", "alice", "b", "dave"}),
    });
    LONGS_EQUAL(3, parse_feed_reply(r, "A", last, out));
    STRCMP_EQUAL("6-0", last.c_str());
    LONGS_EQUAL(2, out.size());
    CHECK(out[0].kind == LinkEvent::Kind::User);
    STRCMP_EQUAL("bob", out[0].user.c_str());
    LONGS_EQUAL(42, out[0].hash.version);
    LONGS_EQUAL(1, out[0].hash.remote_for("A").devices);
    CHECK(out[1].kind == LinkEvent::Kind::Friendship);
    CHECK(out[1].add);
    STRCMP_EQUAL("alice", out[1].a.c_str());
    STRCMP_EQUAL("dave", out[1].b.c_str());
}

// One Redis: the batched put writes the hash packed (packed_hash.hpp) in one field.
TEST(FeedEntries, PackedUserEntriesBecomeEventsAndBadPacksAreSkipped) {
    // fixarray of 4 fixstr: v 42 d|B|7 0
    const std::string packed(
        "\x94\xa1v\xa2"
        "42\xa5"
        "d|B|7\xa1"
        "0",
        14);
    std::string last = "0-0";
    std::vector<LinkEvent> out;
    const Reply r = feed({
        entry("5-0", {"o", "B", "k", "p", "u", "bob", "h", packed}),
        entry("5-1", {"o", "B", "k", "p", "u", "bob", "h", packed.substr(0, 9)}),  // cut short
        entry("5-2", {"o", "B", "k", "p", "u", "bob", "x", packed}),               // not h
        entry("5-3", {"o", "B", "k", "p", "u", "bad id!", "h", packed}),
        entry("5-4", {"o", "B", "k", "p", "u", "bob"}),               // no hash at all
        entry("5-5", {"o", "A", "k", "p", "u", "ann", "h", packed}),  // our own: skipped
    });
    LONGS_EQUAL(6, parse_feed_reply(r, "A", last, out));
    STRCMP_EQUAL("5-5", last.c_str());
    LONGS_EQUAL(1, out.size());
    CHECK(out[0].kind == LinkEvent::Kind::User);
    STRCMP_EQUAL("bob", out[0].user.c_str());
    LONGS_EQUAL(42, out[0].hash.version);
    LONGS_EQUAL(1, out[0].hash.remote_for("A").active_devices);
}

TEST(FeedEntries, MalformedEntriesAreSkippedAndNeverMoveTheIdBackOrToGarbage) {
    std::string last = "5-0";
    std::vector<LinkEvent> out;
    const Reply r = feed({
        entry("not-an-id", {"o", "B", "k", "u", "u", "bob"}),
        entry("7-0", {"o", "B", "k", "u", "u", "bad id!"}),  // invalid user id
        entry("7-1", {"o", "B", "k", "x", "u", "bob"}),      // unknown kind
        entry("7-2", {"o", "B"}),                            // too short
        arr({str("8-0")}),                                   // no fields
    });
    parse_feed_reply(r, "A", last, out);
    LONGS_EQUAL(0, out.size());
    STRCMP_EQUAL("7-2", last.c_str());
    LONGS_EQUAL(0, parse_feed_reply(str("OK"), "A", last, out));
    LONGS_EQUAL(0, parse_feed_reply(Reply{}, "A", last, out));
    STRCMP_EQUAL("7-2", last.c_str());
}

TEST(FeedEntries, RandomRepliesNeverCrashTheParsers) {
    std::mt19937 rng(20261206);
    std::string last = "0-0";
    std::vector<LinkEvent> out;
    for (int i = 0; i < 20000; ++i) {
        const Reply r = random_reply(rng, 0);
        parse_feed_reply(r, "A", last, out);
        parse_feed_reply(feed({r}), "A", last, out);
        (void)parse_user_hash(r, rng() % 3);
        std::pair<std::uint64_t, std::uint64_t> id;
        if (!last.empty()) CHECK(parse_stream_id(last, id) || last == "0-0");
        out.clear();
    }
}
