// Friends come from the host's table through presence.friends_query (SPEC 7/8).
#include <algorithm>

#include "store_loop.hpp"

// CppUTest last: its leak-detecting new macros must not meet standard headers.
#include <CppUTest/TestHarness.h>

using namespace presence;
using presence::test::server;

namespace {
std::vector<std::string> sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
}
}  // namespace

TEST_GROUP(MariaDbFriends){};

TEST(MariaDbFriends, DefaultQueryReadsTheFriendshipsTable) {
    const std::string db = test::fresh_database("friends_default");
    CHECK_TRUE(server().exec(
        db, {"CREATE TABLE friendships (user_id VARCHAR(64) NOT NULL, friend_id VARCHAR(64) NOT "
             "NULL, PRIMARY KEY (user_id, friend_id))",
             "INSERT INTO friendships VALUES ('alice','bob'),('bob','alice'),('alice','carol'),"
             "('carol','alice'),('dave','erin')"}));
    test::StoreLoop loop;
    std::string err;
    auto s = loop.open(db, &err);
    CHECK_TEXT(s != nullptr, err.c_str());
    auto alice = loop.load_friends(*s, "alice");
    CHECK_TRUE(alice.has_value());
    auto want = std::vector<std::string>{"bob", "carol"};
    CHECK_TRUE(sorted(*alice) == want);
    auto bob = loop.load_friends(*s, "bob");
    CHECK_TRUE(bob.has_value());
    CHECK_TRUE(*bob == std::vector<std::string>{"alice"});
    auto nobody = loop.load_friends(*s, "zed");
    CHECK_TRUE(nobody.has_value());
    CHECK_TRUE(nobody->empty());

    // A friendship inserted later is seen by the next load (nothing is cached in the store).
    CHECK_TRUE(server().exec(db, {"INSERT INTO friendships VALUES ('zed','alice')"}));
    nobody = loop.load_friends(*s, "zed");
    CHECK_TRUE(nobody.has_value());
    CHECK_TRUE(*nobody == std::vector<std::string>{"alice"});
}

TEST(MariaDbFriends, CustomQuery) {
    const std::string db = test::fresh_database("friends_custom");
    // One row per friendship (not per direction), with a state column: a custom query copes.
    CHECK_TRUE(server().exec(
        db, {"CREATE TABLE contacts (a VARCHAR(64), b VARCHAR(64), accepted TINYINT)",
             "INSERT INTO contacts VALUES ('u1','u2',1),('u3','u1',1),('u1','u4',0)"}));
    test::StoreLoop loop;
    std::string err;
    auto s = loop.open(db, &err,
                       "SELECT IF(a = ?, b, a) AS friend, 'extra' FROM contacts WHERE accepted = 1 "
                       "AND 'u1' IN (a, b)");
    CHECK_TEXT(s != nullptr, err.c_str());
    auto u1 = loop.load_friends(*s, "u1");
    CHECK_TRUE(u1.has_value());
    auto want = std::vector<std::string>{"u2", "u3"};
    CHECK_TRUE(sorted(*u1) == want);
}

TEST(MariaDbFriends, MissingFriendshipsTableIsNotFatalAtStart) {
    // The host may create its table after the plugin starts: start works, the load reports
    // failure (never an invented empty list), and succeeds once the table exists.
    const std::string db = test::fresh_database("friends_late");
    test::StoreLoop loop;
    std::string err;
    auto s = loop.open(db, &err);
    CHECK_TEXT(s != nullptr, err.c_str());
    CHECK_FALSE(loop.load_friends(*s, "a").has_value());
    CHECK_TRUE(server().exec(db, {"CREATE TABLE friendships (user_id VARCHAR(64), friend_id "
                                  "VARCHAR(64))",
                                  "INSERT INTO friendships VALUES ('a','b')"}));
    auto a = loop.load_friends(*s, "a");
    CHECK_TRUE(a.has_value());
    CHECK_TRUE(*a == std::vector<std::string>{"b"});
}
