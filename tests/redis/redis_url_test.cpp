// presence.redis_url parsing (SPEC 9): both schemes, every part, and a clear error for every
// malformed form.
#include "redis/redis_url.hpp"

// CppUTest last: its leak-detecting new macros must not meet standard headers.
#include <CppUTest/TestHarness.h>

using presence::redis::parse_redis_url;
using presence::redis::RedisUrl;

namespace {

RedisUrl parse_ok(const char* text) {
    std::string why;
    auto url = parse_redis_url(text, why);
    CHECK_TRUE_TEXT(url.has_value(), (std::string(text) + ": " + why).c_str());
    return url ? *url : RedisUrl{};
}

void expect_error(const char* text, const char* fragment) {
    std::string why;
    auto url = parse_redis_url(text, why);
    CHECK_FALSE_TEXT(url.has_value(), text);
    CHECK_TRUE_TEXT(
        why.find(fragment) != std::string::npos,
        (std::string(text) + " -> \"" + why + "\", expected \"" + fragment + "\"").c_str());
}

}  // namespace

TEST_GROUP(RedisUrl){};

TEST(RedisUrl, HostAndPort) {
    const RedisUrl url = parse_ok("redis://redis.example:6380");
    CHECK_FALSE(url.cluster);
    LONGS_EQUAL(1, url.nodes.size());
    STRCMP_EQUAL("redis.example", url.nodes[0].host.c_str());
    LONGS_EQUAL(6380, url.nodes[0].port);
    CHECK_TRUE(url.password.empty());
    LONGS_EQUAL(0, url.db);
}

TEST(RedisUrl, PortDefaultsTo6379) {
    const RedisUrl url = parse_ok("redis://127.0.0.1");
    STRCMP_EQUAL("127.0.0.1", url.nodes[0].host.c_str());
    LONGS_EQUAL(6379, url.nodes[0].port);
    LONGS_EQUAL(6379, parse_ok("redis://h/2").nodes[0].port);
}

TEST(RedisUrl, PasswordAndDb) {
    const RedisUrl url = parse_ok("redis://:s3cret@h:1/5");
    STRCMP_EQUAL("s3cret", url.password.c_str());
    LONGS_EQUAL(5, url.db);
    LONGS_EQUAL(0, parse_ok("redis://h:1/").db);
    LONGS_EQUAL(0, parse_ok("redis://h:1/0").db);
}

TEST(RedisUrl, PasswordIsPercentDecoded) {
    const RedisUrl url = parse_ok("redis://:p%40ss%3Aw%2Frd%25+%201@h:1");
    STRCMP_EQUAL("p@ss:w/rd%+ 1", url.password.c_str());
}

TEST(RedisUrl, UnescapedAtAndSlashInPassword) {
    const RedisUrl url = parse_ok("redis://:a@b/c@h:7/3");
    STRCMP_EQUAL("a@b/c", url.password.c_str());
    STRCMP_EQUAL("h", url.nodes[0].host.c_str());
    LONGS_EQUAL(3, url.db);
}

TEST(RedisUrl, EmptyPasswordMeansNoAuth) {
    CHECK_TRUE(parse_ok("redis://:@h:1").password.empty());
}

TEST(RedisUrl, Ipv6) {
    RedisUrl url = parse_ok("redis://[::1]:6390/1");
    STRCMP_EQUAL("::1", url.nodes[0].host.c_str());
    LONGS_EQUAL(6390, url.nodes[0].port);
    LONGS_EQUAL(1, url.db);
    url = parse_ok("redis://[fe80::1:2]");
    STRCMP_EQUAL("fe80::1:2", url.nodes[0].host.c_str());
    LONGS_EQUAL(6379, url.nodes[0].port);
}

TEST(RedisUrl, ClusterSeeds) {
    const RedisUrl url = parse_ok("redis+cluster://:pw@10.0.0.1:7000,10.0.0.2,[::1]:7002");
    CHECK_TRUE(url.cluster);
    STRCMP_EQUAL("pw", url.password.c_str());
    LONGS_EQUAL(3, url.nodes.size());
    STRCMP_EQUAL("10.0.0.1", url.nodes[0].host.c_str());
    LONGS_EQUAL(7000, url.nodes[0].port);
    STRCMP_EQUAL("10.0.0.2", url.nodes[1].host.c_str());
    LONGS_EQUAL(6379, url.nodes[1].port);
    STRCMP_EQUAL("::1", url.nodes[2].host.c_str());
    LONGS_EQUAL(7002, url.nodes[2].port);
    LONGS_EQUAL(0, url.db);
}

TEST(RedisUrl, ClusterSingleSeedAndTrailingSlash) {
    const RedisUrl url = parse_ok("redis+cluster://h:7000/");
    CHECK_TRUE(url.cluster);
    LONGS_EQUAL(1, url.nodes.size());
}

TEST(RedisUrl, Errors) {
    expect_error("", "not a URL");
    expect_error("localhost:6379", "not a URL");
    expect_error("http://h:1", "unknown scheme \"http\"");
    expect_error("rediss://h:1", "TLS");
    expect_error("redis://", "missing host");
    expect_error("redis://:pw@", "missing host");
    expect_error("redis://:1", "missing host");
    expect_error("redis:///0", "missing host");
    expect_error("redis://h:", "missing port");
    expect_error("redis://h:0", "invalid port");
    expect_error("redis://h:65536", "invalid port");
    expect_error("redis://h:12x", "invalid port");
    expect_error("redis://h:-1", "invalid port");
    expect_error("redis://h:1/x", "must be a number");
    expect_error("redis://h:1/1x", "must be a number");
    expect_error("redis://h:1/-1", "must be a number");
    expect_error("redis://h:1/99999999999", "must be a number");
    expect_error("redis://h:1/0/1", "must be a number");
    expect_error("redis://h:1?timeout=1", "URL options are not supported");
    expect_error("redis://h:1#frag", "URL options are not supported");
    expect_error("redis://user:pw@h:1", "user name is not supported");
    expect_error("redis://pw@h:1", "user name is not supported");
    expect_error("redis://:p%4@h:1", "percent-escape");
    expect_error("redis://:p%zz@h:1", "percent-escape");
    expect_error("redis://::1:6379", "brackets");
    expect_error("redis://[::1:6379", "unclosed '['");
    expect_error("redis://[]:6379", "empty IPv6");
    expect_error("redis://[::g]:6379", "invalid IPv6");
    expect_error("redis://[::1]x", "after ']'");
    expect_error("redis://h a:1", "invalid character in host");
    expect_error("redis://a:1,b:2", "use redis+cluster://");
    expect_error("redis+cluster://a:1/0", "database 0 only");
    expect_error("redis+cluster://a:1,,b:2", "missing host");
    expect_error("redis+cluster://a:1,", "missing host");
    expect_error("redis+cluster://a:1,b:x", "invalid port");
}
