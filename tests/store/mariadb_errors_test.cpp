// Bad presence.db_url values and refused logins fail make_mariadb_store with a clear reason.
#include "store_loop.hpp"

// CppUTest last: its leak-detecting new macros must not meet standard headers.
#include <CppUTest/TestHarness.h>

using namespace presence;
using presence::test::server;

namespace {
std::string open_error(const std::string& url) {
    store::MariaDbOptions options;
    options.url = url;
    std::string err;
    auto s = store::make_mariadb_store(
        options, [] {}, {}, &err);
    CHECK_TRUE(s == nullptr);
    return err;
}
bool contains(const std::string& s, const char* part) {
    return s.find(part) != std::string::npos;
}
}  // namespace

TEST_GROUP(MariaDbErrors){};

TEST(MariaDbErrors, MalformedUrlNamesTheSetting) {
    for (const char* url : {"", "mysql://a:b@h/db", "mariadb://a:b@h:port/db", "mariadb://a:b@h"}) {
        const std::string err = open_error(url);
        CHECK_TRUE_TEXT(contains(err, "presence.db_url: "), err.c_str());
    }
}

TEST(MariaDbErrors, WrongPasswordGivesTheServerMessage) {
    const std::string db = test::fresh_database("err_pw");
    const std::string url =
        "mariadb://presence:wrong@127.0.0.1:" + std::to_string(server().port()) + "/" + db;
    const std::string err = open_error(url);
    CHECK_TRUE_TEXT(contains(err, "presence.db_url: "), err.c_str());
    CHECK_TRUE_TEXT(contains(err, "Access denied"), err.c_str());
    CHECK_FALSE(contains(err, "wrong"));  // the password is not echoed
}

TEST(MariaDbErrors, UnknownDatabaseGivesTheServerMessage) {
    const std::string err = open_error(server().url("no_such_database"));
    CHECK_TRUE_TEXT(contains(err, "presence.db_url: "), err.c_str());
    CHECK_TRUE_TEXT(contains(err, "no_such_database"), err.c_str());
}

TEST(MariaDbErrors, NothingListensOnThePort) {
    const std::string err = open_error("mariadb://a:b@127.0.0.1:1/db");
    CHECK_TRUE_TEXT(contains(err, "presence.db_url: cannot connect"), err.c_str());
}

TEST(MariaDbErrors, SocketUrlConnects) {
    const std::string db = test::fresh_database("err_socket");
    store::MariaDbOptions options;
    options.url = std::string("mariadb://presence:") + test::MariaDbServer::password_escaped() +
                  "@/" + db + "?socket=" + server().socket_path();
    std::string err;
    auto s = store::make_mariadb_store(
        options, [] {}, {}, &err);
    CHECK_TEXT(s != nullptr, err.c_str());
    CHECK_TRUE(s->health().ok);
    STRCMP_EQUAL("mariadb", s->health().backend.c_str());
}

TEST(MariaDbErrors, FriendsQueryWithoutAPlaceholderIsRefused) {
    const std::string db = test::fresh_database("err_fq");
    test::StoreLoop loop;
    std::string err;
    auto s = loop.open(db, &err, "SELECT 1");
    CHECK_TRUE(s == nullptr);
    CHECK_TRUE_TEXT(contains(err, "presence.friends_query"), err.c_str());
    s = loop.open(db, &err, "SELEKT friend_id FROM x WHERE user_id = ?");
    CHECK_TRUE(s == nullptr);
    CHECK_TRUE_TEXT(contains(err, "presence.friends_query"), err.c_str());
}
