// SPEC 7: every presence.* key is validated; a bad one stops create with a reason naming it.
#include "service/settings.hpp"

#include <string>

// CppUTest last: its memory-leak macros must not rewrite standard headers.
// clang-format off
#include <CppUTest/TestHarness.h>
// clang-format on

using namespace presence::service;

namespace {
// Returns the error for one setting ("" when accepted).
std::string error_for(const std::string& key, const std::string& value) {
    std::string err;
    auto c = parse_settings({{key, value}}, "inst", err);
    return c ? "" : err;
}
void check_rejected(const std::string& key, const std::string& value) {
    const std::string err = error_for(key, value);
    CHECK_TEXT(err.rfind(key + ":", 0) == 0, (key + "=" + value + " -> '" + err + "'").c_str());
}
}  // namespace

TEST_GROUP(Settings){};

TEST(Settings, DefaultsFollowSpec) {
    std::string err;
    auto c = parse_settings({}, "inst", err);
    CHECK(c.has_value());
    STRCMP_EQUAL("/api/presence", c->http_prefix.c_str());
    STRCMP_EQUAL("inst", c->instance_id.c_str());
    LONGS_EQUAL(60, c->heartbeat_timeout_s);
    LONGS_EQUAL(3, c->offline_grace_s);
    LONGS_EQUAL(500, c->max_batch);
    LONGS_EQUAL(65536, c->max_message_bytes);
    LONGS_EQUAL(1000, c->max_visibility);
    LONGS_EQUAL(10, c->max_connections_per_user);
    LONGS_EQUAL(15, c->instance_ttl_s);
    CHECK_TRUE(c->allow_invisible);
    STRCMP_EQUAL("SELECT friend_id FROM friendships WHERE user_id = ?", c->friends_query.c_str());
    LONGS_EQUAL(10, c->core_config().update_burst);  // burst = 2 x updates_per_s
    LONGS_EQUAL(3000, c->core_config().offline_grace_ms);
}

TEST(Settings, UnknownPresenceKeyIsRejected) {
    check_rejected("presence.bogus", "1");
}

TEST(Settings, HostKeysAreIgnored) {
    STRCMP_EQUAL("", error_for("host.listen", "x").c_str());
}

TEST(Settings, MalformedNumbersNameTheirKey) {
    check_rejected("presence.heartbeat_timeout_s", "abc");
    check_rejected("presence.heartbeat_timeout_s", "-5");
    check_rejected("presence.heartbeat_timeout_s", "0");
    check_rejected("presence.heartbeat_timeout_s", "3601");
    check_rejected("presence.heartbeat_timeout_s", "10s");
    check_rejected("presence.offline_grace_s", "");
    check_rejected("presence.max_batch", "0");
    check_rejected("presence.max_batch", "10001");
    check_rejected("presence.max_message_bytes", "1023");
    check_rejected("presence.max_message_bytes", "16777217");
    check_rejected("presence.max_visibility", "x");
    check_rejected("presence.max_connections_per_user", "0");
    check_rejected("presence.instance_ttl_s", "0");
    check_rejected("presence.updates_per_s", "fast");
    check_rejected("presence.updates_per_s", "-1");
    check_rejected("presence.updates_per_s", "nan");
}

TEST(Settings, OtherMalformedValuesNameTheirKey) {
    check_rejected("presence.allow_invisible", "yes");
    check_rejected("presence.http_prefix", "api");
    check_rejected("presence.http_prefix", "/api/");
    check_rejected("presence.instance_id", "has space");
    check_rejected("presence.instance_id", "");
    check_rejected("presence.friends_query", "SELECT 1");
    check_rejected("presence.db_url", "postgres://x");
}

TEST(Settings, AcceptedValues) {
    std::string err;
    auto c = parse_settings({{"presence.allow_invisible", "0"},
                             {"presence.updates_per_s", "2.5"},
                             {"presence.offline_grace_s", "0"},
                             {"presence.http_prefix", "/p"},
                             {"presence.max_batch", "10000"}},
                            "inst", err);
    CHECK_TEXT(c.has_value(), err.c_str());
    CHECK_FALSE(c->allow_invisible);
    DOUBLES_EQUAL(2.5, c->updates_per_s, 1e-9);
    LONGS_EQUAL(5, c->core_config().update_burst);
    STRCMP_EQUAL("/p", c->http_prefix.c_str());
}

TEST(Settings, FriendsFileNeedsTheMemoryStore) {
    std::string err;
    auto c = parse_settings(
        {{"presence.db_url", "mariadb://u:p@h:1/db"}, {"presence.friends_file", "/tmp/f"}}, "inst",
        err);
    CHECK_FALSE(c.has_value());
    CHECK(err.rfind("presence.friends_file:", 0) == 0);
}

TEST(Settings, JournalPathNeedsTheMariaDbStore) {
    std::string err;
    auto c = parse_settings({{"presence.journal_path", "/var/lib/presence/j"}}, "inst", err);
    CHECK_FALSE(c.has_value());
    CHECK(err.rfind("presence.journal_path:", 0) == 0);
    c = parse_settings(
        {{"presence.db_url", "mariadb://u:p@h:1/db"}, {"presence.journal_path", "/j"}}, "inst",
        err);
    CHECK_TRUE(c.has_value());
    STRCMP_EQUAL("/j", c->journal_path.c_str());
}

TEST(Settings, DefaultInstanceIdIsAValidId) {
    const std::string id = default_instance_id();
    CHECK(!id.empty() && id.size() <= 64);
    STRCMP_EQUAL("", error_for("presence.instance_id", id).c_str());
}
