// presence.db_url parsing (SPEC 7): every part, percent-escapes, and errors that name the key.
#include "store/mariadb_url.hpp"

// CppUTest last: its leak-detecting new macros must not meet standard headers.
#include <CppUTest/TestHarness.h>

using presence::store::parse_mariadb_url;

TEST_GROUP(MariaDbUrl){};

TEST(MariaDbUrl, TcpUrlGivesEveryPart) {
    std::string err;
    auto url = parse_mariadb_url("mariadb://app:secret@db.example:3307/presence", &err);
    CHECK_TRUE(url.has_value());
    STRCMP_EQUAL("app", url->user.c_str());
    STRCMP_EQUAL("secret", url->password.c_str());
    STRCMP_EQUAL("db.example", url->host.c_str());
    LONGS_EQUAL(3307, url->port);
    STRCMP_EQUAL("presence", url->database.c_str());
    CHECK_TRUE(url->socket.empty());
}

TEST(MariaDbUrl, PortDefaultsTo3306) {
    auto url = parse_mariadb_url("mariadb://app:x@localhost/db", nullptr);
    CHECK_TRUE(url.has_value());
    LONGS_EQUAL(3306, url->port);
}

TEST(MariaDbUrl, PasswordIsPercentDecoded) {
    auto url = parse_mariadb_url("mariadb://app:p%40ss%3Aw%2Frd%25+%201@h/db", nullptr);
    CHECK_TRUE(url.has_value());
    STRCMP_EQUAL("p@ss:w/rd%+ 1", url->password.c_str());
}

TEST(MariaDbUrl, SocketOption) {
    auto url = parse_mariadb_url("mariadb://app:x@/db?socket=/run/mysqld/mysqld.sock", nullptr);
    CHECK_TRUE(url.has_value());
    STRCMP_EQUAL("/run/mysqld/mysqld.sock", url->socket.c_str());
    STRCMP_EQUAL("db", url->database.c_str());
}

TEST(MariaDbUrl, UserWithoutPassword) {
    auto url = parse_mariadb_url("mariadb://app@h:1/db", nullptr);
    CHECK_TRUE(url.has_value());
    STRCMP_EQUAL("app", url->user.c_str());
    CHECK_TRUE(url->password.empty());
}

TEST(MariaDbUrl, Ipv6Host) {
    auto url = parse_mariadb_url("mariadb://app:x@[::1]:3310/db", nullptr);
    CHECK_TRUE(url.has_value());
    STRCMP_EQUAL("::1", url->host.c_str());
    LONGS_EQUAL(3310, url->port);
}

static void expect_error(const char* text, const char* fragment) {
    std::string err;
    auto url = parse_mariadb_url(text, &err);
    CHECK_FALSE(url.has_value());
    CHECK_TRUE_TEXT(err.rfind("presence.db_url: ", 0) == 0, err.c_str());
    CHECK_TRUE_TEXT(err.find(fragment) != std::string::npos, err.c_str());
}

TEST(MariaDbUrl, BadValuesNameTheProblem) {
    expect_error("mysql://a:b@h/db", "mariadb://");
    expect_error("mariadb://h/db", "missing user");
    expect_error("mariadb://a:b@h", "missing database");
    expect_error("mariadb://a:b@h/", "missing database");
    expect_error("mariadb://a:b@h:notaport/db", "bad port");
    expect_error("mariadb://a:b@h:70000/db", "bad port");
    expect_error("mariadb://a:b@h:/db", "bad port");
    expect_error("mariadb://a:b%zz@h/db", "password");
    expect_error("mariadb://a:b@/db", "missing host");
    expect_error("mariadb://a:b@h/db?sslmode=on", "unknown option");
}

TEST(MariaDbUrl, PasswordNeverInErrors) {
    std::string err;
    CHECK_FALSE(parse_mariadb_url("mariadb://a:topsecret@h:bad/db", &err).has_value());
    CHECK_TRUE(err.find("topsecret") == std::string::npos);
}
