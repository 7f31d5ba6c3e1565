// User records: round trip, batched loads, coalesced write-behind, flush, and a slow database
// that must never block the loop thread.
#include <condition_variable>
#include <mutex>
#include <thread>

#include "store_loop.hpp"

// CppUTest last: its leak-detecting new macros must not meet standard headers.
#include <CppUTest/TestHarness.h>

using namespace presence;
using presence::test::server;

namespace {

core::UserRecord full_record(const std::string& id) {
    core::UserRecord r;
    r.user_id = id;
    r.chosen = core::Status::Invisible;
    r.message = "\xF0\x9F\x8C\xB4 on holiday \xE2\x80\x94 back monday";  // palm tree emoji
    r.until = 1'900'000'000'000;
    r.last_seen = 1'800'000'000'123;
    r.last_seen_listed = 1'800'000'000'456;
    r.visibility = {"best.friend", "mom@home", "x-1"};
    return r;
}

void check_equal(const core::UserRecord& want, const core::UserRecord& got) {
    STRCMP_EQUAL(want.user_id.c_str(), got.user_id.c_str());
    LONGS_EQUAL(static_cast<int>(want.chosen), static_cast<int>(got.chosen));
    CHECK_EQUAL(want.message.has_value(), got.message.has_value());
    if (want.message) STRCMP_EQUAL(want.message->c_str(), got.message->c_str());
    CHECK_TRUE(want.until == got.until);
    CHECK_TRUE(want.last_seen == got.last_seen);
    CHECK_TRUE(want.last_seen_listed == got.last_seen_listed);
    CHECK_TRUE(want.visibility == got.visibility);
}

}  // namespace

TEST_GROUP(MariaDbRecords){};

TEST(MariaDbRecords, RoundTripThroughARestart) {
    const std::string db = test::fresh_database("records_rt");
    const core::UserRecord a = full_record("alice");
    core::UserRecord b;
    b.user_id = "bob";
    b.chosen = core::Status::Dnd;
    b.message = std::string(128, 'm');  // the longest message, in code points...
    core::UserRecord c;
    c.user_id = "carol";
    c.chosen = core::Status::Away;
    c.message = "";
    for (int i = 0; i < 120; ++i) c.message->append("\xF0\x9F\x98\x80");  // ...and 4-byte ones
    {
        test::StoreLoop loop;
        std::string err;
        auto s = loop.open(db, &err);
        CHECK_TEXT(s != nullptr, err.c_str());
        s->save_user(a);
        s->save_user(b);
        s->save_user(c);
        CHECK_TRUE(s->flush(10'000));
        LONGS_EQUAL(0, s->health().queue_depth);
    }
    test::StoreLoop loop;
    std::string err;
    auto s = loop.open(db, &err);
    CHECK_TEXT(s != nullptr, err.c_str());
    auto got = loop.load_users(*s, {"carol", "alice", "nobody", "bob", "alice"});
    CHECK_TRUE(got.has_value());
    LONGS_EQUAL(5, got->size());  // in the order asked, unknown ids with defaults
    check_equal(c, got->at(0));
    check_equal(a, got->at(1));
    core::UserRecord fresh;
    fresh.user_id = "nobody";
    check_equal(fresh, got->at(2));
    check_equal(b, got->at(3));
    check_equal(a, got->at(4));
}

TEST(MariaDbRecords, ClearingTheMessageAndTheVisibilityListIsWritten) {
    const std::string db = test::fresh_database("records_clear");
    test::StoreLoop loop;
    std::string err;
    auto s = loop.open(db, &err);
    CHECK_TEXT(s != nullptr, err.c_str());
    core::UserRecord a = full_record("alice");
    s->save_user(a);
    CHECK_TRUE(s->flush(10'000));
    a.message.reset();
    a.until.reset();
    a.chosen = core::Status::Online;
    a.visibility.clear();
    s->save_user(a);
    CHECK_TRUE(s->flush(10'000));
    STRCMP_EQUAL("NULL", server().column(db, "SELECT message FROM user_presence")[0].c_str());
    STRCMP_EQUAL("0", server().column(db, "SELECT COUNT(*) FROM presence_visibility")[0].c_str());
}

TEST(MariaDbRecords, ManyUsersLoadInOneCall) {
    const std::string db = test::fresh_database("records_many");
    test::StoreLoop loop;
    std::string err;
    auto s = loop.open(db, &err);
    CHECK_TEXT(s != nullptr, err.c_str());
    std::vector<std::string> ids;
    for (int i = 0; i < 700; ++i) {
        core::UserRecord r;
        r.user_id = "u" + std::to_string(i);
        r.last_seen = i;
        ids.push_back(r.user_id);
        s->save_user(r);
    }
    CHECK_TRUE(s->flush(20'000));
    STRCMP_EQUAL("700", server().column(db, "SELECT COUNT(*) FROM user_presence")[0].c_str());
    auto got = loop.load_users(*s, ids);
    CHECK_TRUE(got.has_value());
    LONGS_EQUAL(700, got->size());
    for (int i = 0; i < 700; ++i) LONGS_EQUAL(i, got->at(i).last_seen.value_or(-1));
}

// With the table locked by another session the store cannot write; everything it accepts
// meanwhile coalesces into one pending record per user; after the unlock, one flush writes the
// latest of each.
TEST(MariaDbRecords, WriteBehindCoalescesAndFlushWritesTheLatest) {
    const std::string db = test::fresh_database("records_coalesce");
    test::StoreLoop loop;
    std::string err;
    auto s = loop.open(db, &err);
    CHECK_TEXT(s != nullptr, err.c_str());
    test::RootConnection other(server(), db);
    CHECK_TRUE(other.exec("LOCK TABLES user_presence WRITE", &err));
    for (int i = 1; i <= 5000; ++i) {
        core::UserRecord r;
        r.user_id = (i % 2) ? "a" : "b";
        r.last_seen = i;
        s->save_user(r);
    }
    // 5000 accepted changes: at most 2 users pending plus at most one batch of 2 in flight.
    const auto depth = s->health().queue_depth;
    CHECK_TRUE_TEXT(depth >= 1 && depth <= 4, std::to_string(depth).c_str());
    CHECK_FALSE(s->flush(0));  // nothing can be written while the table is locked
    CHECK_TRUE(other.exec("UNLOCK TABLES", &err));
    CHECK_TRUE(s->flush(10'000));
    LONGS_EQUAL(0, s->health().queue_depth);
    auto rows = server().column(db, "SELECT last_seen_ms FROM user_presence ORDER BY user_id");
    LONGS_EQUAL(2, rows.size());
    STRCMP_EQUAL("4999", rows[0].c_str());
    STRCMP_EQUAL("5000", rows[1].c_str());
}

// A slow database (a table lock held by another session) never blocks the loop thread: the
// calls return, and their results arrive through pump() only after the lock is released.
TEST(MariaDbRecords, SlowDatabaseNeverBlocksTheLoopThread) {
    const std::string db = test::fresh_database("records_slow");
    test::StoreLoop loop;
    std::string err;
    auto s = loop.open(db, &err);
    CHECK_TEXT(s != nullptr, err.c_str());
    test::RootConnection other(server(), db);
    CHECK_TRUE(other.exec("LOCK TABLES user_presence WRITE, presence_visibility WRITE", &err));

    std::mutex mu;
    std::condition_variable cv;
    bool calls_returned = false, release_now = false, released_after_calls = false;
    // Releases the lock when told, or after a long bound so a blocking store cannot hang the
    // test: then released_after_calls stays false and the test fails.
    std::thread unlocker([&] {
        std::unique_lock lk(mu);
        cv.wait_for(lk, std::chrono::seconds(20), [&] { return release_now; });
        released_after_calls = calls_returned;
        lk.unlock();
        other.exec("UNLOCK TABLES");
    });

    bool loaded = false, load_ok = false;
    std::vector<core::UserRecord> records;
    core::UserRecord r = full_record("slowpoke");
    s->save_user(r);
    s->load_users({"slowpoke", "other"}, [&](bool ok, std::vector<core::UserRecord> got) {
        loaded = true;
        load_ok = ok;
        records = std::move(got);
    });
    s->load_friends("slowpoke", [](bool, std::vector<std::string>) {});
    (void)s->health();
    {
        std::lock_guard lk(mu);
        calls_returned = true;
    }
    s->pump();
    CHECK_FALSE(loaded);  // the database has not answered: nothing to run yet
    {
        std::lock_guard lk(mu);
        release_now = true;
    }
    cv.notify_all();
    unlocker.join();
    CHECK_TRUE(released_after_calls);
    CHECK_TRUE(loop.run_until(*s, [&] { return loaded; }));
    CHECK_TRUE(load_ok);
    LONGS_EQUAL(2, records.size());
    check_equal(r, records[0]);
    CHECK_TRUE(s->flush(10'000));
}

TEST(MariaDbRecords, LoadSeesAWriteStillQueued) {
    const std::string db = test::fresh_database("records_overlay");
    test::StoreLoop loop;
    std::string err;
    auto s = loop.open(db, &err);
    CHECK_TEXT(s != nullptr, err.c_str());
    const core::UserRecord a = full_record("alice");
    s->save_user(a);
    auto got = loop.load_users(*s, {"alice"});  // whether written yet or not
    CHECK_TRUE(got.has_value());
    check_equal(a, got->at(0));
}

// store.hpp: results come back only through pump() on the loop thread, after a wake-up.
TEST(MariaDbRecords, CallbacksRunOnlyFromPumpOnTheCallingThread) {
    const std::string db = test::fresh_database("records_pump");
    test::StoreLoop loop;
    std::string err;
    auto s = loop.open(db, &err);
    CHECK_TEXT(s != nullptr, err.c_str());
    bool called = false;
    std::thread::id where;
    s->load_users({"x"}, [&](bool, std::vector<core::UserRecord>) {
        called = true;
        where = std::this_thread::get_id();
    });
    CHECK_FALSE(called);
    CHECK_TRUE(loop.wait_woken(std::chrono::seconds(20)));
    CHECK_FALSE(called);  // woken, but nothing runs until the loop pumps
    s->pump();
    CHECK_TRUE(called);
    CHECK_TRUE(where == std::this_thread::get_id());
}
