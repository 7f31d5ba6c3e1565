// SPEC 8: the plugin creates and migrates its own tables, also when two instances start at once.
#include "store/mariadb_schema.hpp"

#include <thread>

#include "store_loop.hpp"

// CppUTest last: its leak-detecting new macros must not meet standard headers.
#include <CppUTest/TestHarness.h>

using namespace presence;
using presence::test::server;

namespace {
std::vector<std::string> tables(const std::string& db) {
    return server().column("",
                           "SELECT table_name FROM information_schema.tables WHERE "
                           "table_schema = '" +
                               db + "' ORDER BY table_name");
}
std::string version(const std::string& db) {
    auto v = server().column(db, "SELECT version FROM presence_schema_version WHERE id = 1");
    return v.empty() ? "none" : v.front();
}
std::string latest() {
    return std::to_string(store::mariadb_schema_latest_version());
}
}  // namespace

TEST_GROUP(MariaDbSchema){};

TEST(MariaDbSchema, CreatedOnAnEmptyDatabase) {
    const std::string db = test::fresh_database("schema_empty");
    test::StoreLoop loop;
    std::string err;
    auto s = loop.open(db, &err);
    CHECK_TEXT(s != nullptr, err.c_str());
    const auto t = tables(db);
    LONGS_EQUAL(3, t.size());
    STRCMP_EQUAL("presence_schema_version", t[0].c_str());
    STRCMP_EQUAL("presence_visibility", t[1].c_str());
    STRCMP_EQUAL("user_presence", t[2].c_str());
    STRCMP_EQUAL(latest().c_str(), version(db).c_str());
    // utf8mb4 for the message column, so emoji fit.
    auto cs = server().column("",
                              "SELECT character_set_name FROM information_schema.columns WHERE "
                              "table_schema = '" +
                                  db +
                                  "' AND table_name = 'user_presence' AND column_name = "
                                  "'message'");
    LONGS_EQUAL(1, cs.size());
    STRCMP_EQUAL("utf8mb4", cs[0].c_str());
}

TEST(MariaDbSchema, MigratesFromVersion1AndKeepsData) {
    const std::string db = test::fresh_database("schema_v1");
    // Version 1 as an older build left it, written by hand (no last_seen_listed_ms column).
    std::string err;
    CHECK_TEXT(server().exec(db,
                             {"CREATE TABLE presence_schema_version (id TINYINT UNSIGNED NOT NULL "
                              "PRIMARY KEY, version INT NOT NULL)",
                              "INSERT INTO presence_schema_version VALUES (1, 1)",
                              "CREATE TABLE user_presence (user_id VARCHAR(64) CHARACTER SET ascii "
                              "COLLATE ascii_bin NOT NULL PRIMARY KEY, status TINYINT UNSIGNED NOT "
                              "NULL, message VARCHAR(128) CHARACTER SET utf8mb4 NULL, until_ms "
                              "BIGINT NULL, last_seen_ms BIGINT NULL, updated_at TIMESTAMP(3) NOT "
                              "NULL DEFAULT CURRENT_TIMESTAMP(3))",
                              "CREATE TABLE presence_visibility (user_id VARCHAR(64) CHARACTER SET "
                              "ascii COLLATE ascii_bin NOT NULL, viewer_id VARCHAR(64) CHARACTER "
                              "SET ascii COLLATE ascii_bin NOT NULL, PRIMARY KEY (user_id, "
                              "viewer_id))",
                              "INSERT INTO user_presence (user_id, status, message, until_ms, "
                              "last_seen_ms) VALUES ('old', 3, 'kept', 99, 42)",
                              "INSERT INTO presence_visibility VALUES ('old', 'friend')"},
                             &err),
               err.c_str());
    test::StoreLoop loop;
    auto s = loop.open(db, &err);
    CHECK_TEXT(s != nullptr, err.c_str());
    STRCMP_EQUAL(latest().c_str(), version(db).c_str());
    auto cols = server().column("",
                                "SELECT column_name FROM information_schema.columns WHERE "
                                "table_schema = '" +
                                    db + "' AND column_name = 'last_seen_listed_ms'");
    LONGS_EQUAL(1, cols.size());

    auto loaded = loop.load_users(*s, {"old"});
    CHECK_TRUE(loaded.has_value());
    const core::UserRecord& r = loaded->at(0);
    CHECK(r.chosen == core::Status::Dnd);
    STRCMP_EQUAL("kept", r.message.value_or("").c_str());
    LONGS_EQUAL(99, r.until.value_or(0));
    LONGS_EQUAL(42, r.last_seen.value_or(0));
    CHECK_FALSE(r.last_seen_listed.has_value());
    LONGS_EQUAL(1, r.visibility.size());
    STRCMP_EQUAL("friend", r.visibility[0].c_str());
}

TEST(MariaDbSchema, TwoStoresStartingAtOnceOnAnEmptyDatabase) {
    const std::string db = test::fresh_database("schema_race");
    test::StoreLoop loop_a, loop_b;
    std::unique_ptr<store::Store> a, b;
    std::string err_a, err_b;
    std::thread ta([&] { a = loop_a.open(db, &err_a); });
    std::thread tb([&] { b = loop_b.open(db, &err_b); });
    ta.join();
    tb.join();
    CHECK_TEXT(a != nullptr, err_a.c_str());
    CHECK_TEXT(b != nullptr, err_b.c_str());
    STRCMP_EQUAL(latest().c_str(), version(db).c_str());
    LONGS_EQUAL(1, server().column(db, "SELECT COUNT(*) FROM presence_schema_version").size());
    STRCMP_EQUAL("1",
                 server().column(db, "SELECT COUNT(*) FROM presence_schema_version")[0].c_str());
}

TEST(MariaDbSchema, ANewerSchemaVersionIsRefused) {
    const std::string db = test::fresh_database("schema_newer");
    std::string err;
    CHECK_TRUE(server().exec(db, {"CREATE TABLE presence_schema_version (id TINYINT UNSIGNED NOT "
                                  "NULL PRIMARY KEY, version INT NOT NULL)",
                                  "INSERT INTO presence_schema_version VALUES (1, 999)"}));
    test::StoreLoop loop;
    auto s = loop.open(db, &err);
    CHECK_TRUE(s == nullptr);
    CHECK_TRUE_TEXT(err.find("newer") != std::string::npos, err.c_str());
}
