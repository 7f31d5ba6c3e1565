// Reading CLUSTER SLOTS replies and MOVED / ASK redirections, without a server.
#include "redis/cluster_slots.hpp"

// CppUTest last: its leak-detecting new macros must not meet standard headers.
#include <CppUTest/TestHarness.h>

using presence::redis::parse_cluster_slots;
using presence::redis::parse_redirect;
using presence::redis::Reply;
using presence::redis::SlotRange;

namespace {

Reply integer(long long v) {
    Reply r;
    r.type = Reply::Type::Integer;
    r.integer = v;
    return r;
}

Reply string(const char* s) {
    Reply r;
    r.type = Reply::Type::String;
    r.str = s;
    return r;
}

Reply array(std::vector<Reply> elements) {
    Reply r;
    r.type = Reply::Type::Array;
    r.elements = std::move(elements);
    return r;
}

Reply entry(long long first, long long last, const char* host, long long port) {
    return array({integer(first), integer(last),
                  array({string(host), integer(port), string("id-master")}),
                  array({string("10.9.9.9"), integer(1), string("id-replica")})});
}

}  // namespace

TEST_GROUP(ClusterSlots){};

TEST(ClusterSlots, ParsesMastersAndIgnoresReplicas) {
    std::vector<SlotRange> ranges;
    std::string why;
    CHECK_TRUE(parse_cluster_slots(
        array({entry(0, 5460, "10.0.0.1", 7000), entry(5461, 16383, "10.0.0.2", 7001)}), "seed",
        ranges, why));
    LONGS_EQUAL(2, ranges.size());
    LONGS_EQUAL(0, ranges[0].first);
    LONGS_EQUAL(5460, ranges[0].last);
    STRCMP_EQUAL("10.0.0.1", ranges[0].master.host.c_str());
    LONGS_EQUAL(7000, ranges[0].master.port);
    STRCMP_EQUAL("10.0.0.2", ranges[1].master.host.c_str());
}

TEST(ClusterSlots, UnknownHostIsTheNodeAsked) {
    std::vector<SlotRange> ranges;
    std::string why;
    CHECK_TRUE(parse_cluster_slots(array({entry(0, 1, "", 7000), entry(2, 3, "?", 7001)}),
                                   "10.1.1.1", ranges, why));
    STRCMP_EQUAL("10.1.1.1", ranges[0].master.host.c_str());
    STRCMP_EQUAL("10.1.1.1", ranges[1].master.host.c_str());
}

TEST(ClusterSlots, ErrorsAndMalformedReplies) {
    std::vector<SlotRange> ranges;
    std::string why;
    CHECK_FALSE(parse_cluster_slots(Reply::error("ERR This instance has cluster support disabled"),
                                    "h", ranges, why));
    CHECK_TRUE(why.find("cluster support disabled") != std::string::npos);
    CHECK_FALSE(parse_cluster_slots(string("x"), "h", ranges, why));
    CHECK_FALSE(parse_cluster_slots(array({array({integer(0)})}), "h", ranges, why));
    CHECK_FALSE(parse_cluster_slots(array({entry(5, 4, "h", 1)}), "h", ranges, why));
    CHECK_FALSE(parse_cluster_slots(array({entry(0, 16384, "h", 1)}), "h", ranges, why));
    CHECK_FALSE(parse_cluster_slots(array({entry(0, 1, "h", 0)}), "h", ranges, why));
    CHECK_FALSE(parse_cluster_slots(array({entry(0, 1, "h", 70000)}), "h", ranges, why));
    CHECK_TRUE(parse_cluster_slots(array({}), "h", ranges, why));
    LONGS_EQUAL(0, ranges.size());
}

TEST(ClusterSlots, Moved) {
    auto r = parse_redirect(Reply::error("MOVED 3999 127.0.0.1:6381"), "x");
    CHECK_TRUE(r.has_value());
    CHECK_FALSE(r->ask);
    LONGS_EQUAL(3999, r->slot);
    STRCMP_EQUAL("127.0.0.1", r->target.host.c_str());
    LONGS_EQUAL(6381, r->target.port);
}

TEST(ClusterSlots, AskAndIpv6AndEmptyHost) {
    auto r = parse_redirect(Reply::error("ASK 1 ::1:6381"), "x");
    CHECK_TRUE(r.has_value());
    CHECK_TRUE(r->ask);
    STRCMP_EQUAL("::1", r->target.host.c_str());
    LONGS_EQUAL(6381, r->target.port);
    r = parse_redirect(Reply::error("ASK 1 [::1]:6382"), "x");
    CHECK_TRUE(r.has_value());
    STRCMP_EQUAL("::1", r->target.host.c_str());
    r = parse_redirect(Reply::error("MOVED 16383 :7000"), "10.2.2.2");
    CHECK_TRUE(r.has_value());
    STRCMP_EQUAL("10.2.2.2", r->target.host.c_str());
    LONGS_EQUAL(16383, r->slot);
}

TEST(ClusterSlots, NotRedirects) {
    CHECK_FALSE(parse_redirect(Reply::error("ERR MOVED 1 h:1"), "x").has_value());
    CHECK_FALSE(parse_redirect(string("MOVED 1 h:1"), "x").has_value());
    CHECK_FALSE(parse_redirect(Reply::error("MOVED"), "x").has_value());
    CHECK_FALSE(parse_redirect(Reply::error("MOVED 1"), "x").has_value());
    CHECK_FALSE(parse_redirect(Reply::error("MOVED 16384 h:1"), "x").has_value());
    CHECK_FALSE(parse_redirect(Reply::error("MOVED x h:1"), "x").has_value());
    CHECK_FALSE(parse_redirect(Reply::error("MOVED 1 h"), "x").has_value());
    CHECK_FALSE(parse_redirect(Reply::error("MOVED 1 h:0"), "x").has_value());
    CHECK_FALSE(parse_redirect(Reply::error("ASK 1 h:1x"), "x").has_value());
}
