// Store::release (eviction): the core may drop a user only once everything saved for them is
// in the database; a queued or in-flight write keeps them. After release, a load reads back
// exactly what was saved.
#include "store_loop.hpp"

// CppUTest last: its leak-detecting new macros must not meet standard headers.
#include <CppUTest/TestHarness.h>

using namespace presence;
using presence::test::server;

TEST_GROUP(MariaDbRelease){};

TEST(MariaDbRelease, AUserWithAWriteNotYetInTheDatabaseIsNotReleased) {
    const std::string db = test::fresh_database("release");
    test::StoreLoop loop;
    std::string err;
    auto s = loop.open(db, &err);
    CHECK_TEXT(s != nullptr, err.c_str());
    test::RootConnection other(server(), db);
    CHECK_TRUE(other.exec("LOCK TABLES user_presence WRITE", &err));
    core::UserRecord a;
    a.user_id = "ann";
    a.chosen = core::Status::Invisible;
    a.message = "away";
    a.last_seen = 1'800'000'000'000;
    a.last_seen_listed = 1'800'000'000'500;
    s->save_user(a);
    CHECK_FALSE(s->release("ann"));  // queued, or in the batch blocked on the lock
    CHECK_TRUE(s->release("zed"));   // nothing saved for zed
    CHECK_TRUE(other.exec("UNLOCK TABLES", &err));
    CHECK_TRUE(s->flush(10'000));
    CHECK_TRUE(s->release("ann"));
    auto got = loop.load_users(*s, {"ann"});
    CHECK_TRUE(got.has_value());
    LONGS_EQUAL(static_cast<int>(core::Status::Invisible), static_cast<int>(got->at(0).chosen));
    STRCMP_EQUAL("away", got->at(0).message.value_or("").c_str());
    CHECK_TRUE(got->at(0).last_seen == a.last_seen);
    CHECK_TRUE(got->at(0).last_seen_listed == a.last_seen_listed);
}
