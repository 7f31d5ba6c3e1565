// SPEC 8: an accepted change is never lost during a database outage. The store queues writes,
// says degraded, reconnects with backoff and writes everything when the database returns.
#include <mutex>

#include "store_loop.hpp"

// CppUTest last: its leak-detecting new macros must not meet standard headers.
#include <CppUTest/TestHarness.h>

using namespace presence;
using presence::test::server;

TEST_GROUP(MariaDbOutage){};

TEST(MariaDbOutage, NothingAcceptedIsLostWhileTheDatabaseIsDown) {
    const std::string db = test::fresh_database("outage");
    test::StoreLoop loop;
    std::string err;
    auto s = loop.open(db, &err);
    CHECK_TEXT(s != nullptr, err.c_str());
    for (int i = 0; i < 100; ++i) {
        core::UserRecord r;
        r.user_id = "u" + std::to_string(i);
        r.chosen = core::Status::Online;
        r.last_seen = 1;
        s->save_user(r);
    }
    CHECK_TRUE(s->flush(10'000));
    CHECK_TRUE(s->health().ok);
    STRCMP_EQUAL("connected", s->health().detail.c_str());

    server().stop();
    // Writes keep coming while the database is down, all accepted.
    for (int i = 0; i < 100; ++i) {
        core::UserRecord r;
        r.user_id = "u" + std::to_string(i);
        r.chosen = (i % 2) ? core::Status::Dnd : core::Status::Away;
        r.message = "during outage " + std::to_string(i);
        r.last_seen = 2;
        if (i == 7) r.visibility = {"u8", "u9"};
        s->save_user(r);
    }
    CHECK_TRUE(loop.poll_until(*s, [&] { return !s->health().ok; }));
    STRCMP_EQUAL("reconnecting", s->health().detail.c_str());
    CHECK_TRUE(s->health().queue_depth >= 1);
    CHECK_FALSE(s->flush(200));  // cannot be written yet

    // A load while down retries for a while, then answers not-ok (never an invented record).
    CHECK_FALSE(loop.load_users(*s, {"u1"}).has_value());

    // More writes during the outage, then the database returns.
    core::UserRecord late;
    late.user_id = "late";
    late.chosen = core::Status::Invisible;
    s->save_user(late);
    CHECK_TRUE(server().restart(&err));
    CHECK_TRUE(loop.poll_until(
        *s, [&] { return s->health().ok && s->health().queue_depth == 0; },
        std::chrono::seconds(30)));
    CHECK_TRUE(s->flush(10'000));
    STRCMP_EQUAL("connected", s->health().detail.c_str());

    STRCMP_EQUAL("101", server().column(db, "SELECT COUNT(*) FROM user_presence")[0].c_str());
    STRCMP_EQUAL("100", server()
                            .column(db,
                                    "SELECT COUNT(*) FROM user_presence WHERE last_seen_ms = 2 "
                                    "AND message LIKE 'during outage %'")[0]
                            .c_str());
    STRCMP_EQUAL(
        "3",
        server().column(db, "SELECT status FROM user_presence WHERE user_id = 'u7'")[0].c_str());
    STRCMP_EQUAL("2", server().column(db, "SELECT COUNT(*) FROM presence_visibility")[0].c_str());
    auto late_loaded = loop.load_users(*s, {"late"});
    CHECK_TRUE(late_loaded.has_value());
    CHECK_TRUE(late_loaded->at(0).chosen == core::Status::Invisible);
}

// Past max_queue during an outage, the oldest last-seen-only refreshes are dropped (and logged);
// status changes are kept even beyond the bound.
TEST(MariaDbOutage, OverTheBoundOnlyLastSeenRefreshesAreDropped) {
    const std::string db = test::fresh_database("outage_bound");
    test::StoreLoop loop;
    std::mutex log_mu;
    std::vector<std::string> warnings;
    store::MariaDbOptions options;
    options.url = server().url(db);
    options.max_queue = 2;
    std::string err;
    auto s = store::make_mariadb_store(
        options, loop.wake(),
        [&](int level, const std::string& line) {
            std::lock_guard lk(log_mu);
            if (level == 1) warnings.push_back(line);
        },
        &err);
    CHECK_TEXT(s != nullptr, err.c_str());
    auto record = [](const char* id, core::Status st, core::Millis seen) {
        core::UserRecord r;
        r.user_id = id;
        r.chosen = st;
        r.last_seen = seen;
        return r;
    };
    s->save_user(record("a", core::Status::Away, 1));
    s->save_user(record("b", core::Status::Away, 1));
    CHECK_TRUE(s->flush(10'000));

    server().stop();
    s->save_user(record("a", core::Status::Away, 2));  // refresh only: droppable
    s->save_user(record("b", core::Status::Away, 2));  // refresh only: droppable
    s->save_user(record("c", core::Status::Dnd, 2));   // new state: kept
    s->save_user(record("d", core::Status::Dnd, 2));   // new state: kept, past the bound
    CHECK_TRUE(loop.poll_until(*s, [&] { return !s->health().ok; }));
    LONGS_EQUAL(2, s->health().queue_depth);  // c and d; a and b went first
    {
        std::lock_guard lk(log_mu);
        CHECK_FALSE(warnings.empty());
    }
    CHECK_TRUE(server().restart(&err));
    CHECK_TRUE(loop.poll_until(
        *s, [&] { return s->health().ok && s->health().queue_depth == 0; },
        std::chrono::seconds(30)));
    auto rows = server().column(
        db,
        "SELECT CONCAT(user_id, ':', status, ':', last_seen_ms) FROM user_presence ORDER BY "
        "user_id");
    LONGS_EQUAL(4, rows.size());
    STRCMP_EQUAL("a:2:1", rows[0].c_str());  // the dropped refreshes: an older last_seen only
    STRCMP_EQUAL("b:2:1", rows[1].c_str());
    STRCMP_EQUAL("c:3:2", rows[2].c_str());
    STRCMP_EQUAL("d:3:2", rows[3].c_str());
}
