// The write-behind queue: coalescing per user, oldest-first batches, failed batches given back,
// and the bound that drops only last-seen refreshes (never a status/visibility change).
#include "store/mariadb_write_queue.hpp"

// CppUTest last: its leak-detecting new macros must not meet standard headers.
#include <CppUTest/TestHarness.h>

using presence::core::Status;
using presence::core::UserRecord;
using presence::store::MariaDbWriteQueue;

static UserRecord rec(const std::string& id, Status s, long long last_seen) {
    UserRecord r;
    r.user_id = id;
    r.chosen = s;
    r.last_seen = last_seen;
    return r;
}

TEST_GROUP(MariaDbWriteQueue){};

TEST(MariaDbWriteQueue, ManyRefreshesOfOneUserBecomeOneWrite) {
    MariaDbWriteQueue q(100);
    for (int i = 0; i < 1000; ++i) q.accept(rec("a", Status::Online, i));
    LONGS_EQUAL(1, q.size());
    auto batch = q.take_batch(10);
    LONGS_EQUAL(1, batch.size());
    LONGS_EQUAL(999, *batch[0].record.last_seen);
    CHECK_TRUE(q.empty());
}

TEST(MariaDbWriteQueue, BatchesAreOldestFirst) {
    MariaDbWriteQueue q(100);
    q.accept(rec("c", Status::Online, 1));
    q.accept(rec("a", Status::Online, 1));
    q.accept(rec("b", Status::Away, 1));
    q.accept(rec("c", Status::Dnd, 2));  // coalesced: keeps c's place
    auto batch = q.take_batch(2);
    LONGS_EQUAL(2, batch.size());
    STRCMP_EQUAL("c", batch[0].record.user_id.c_str());
    STRCMP_EQUAL("a", batch[1].record.user_id.c_str());
    LONGS_EQUAL(1, q.size());
}

TEST(MariaDbWriteQueue, FailedBatchComesBackAndNewerRecordWins) {
    MariaDbWriteQueue q(100);
    UserRecord a = rec("a", Status::Invisible, 1);
    a.visibility = {"b"};
    q.accept(a);
    auto batch = q.take_batch(10);
    q.accept(rec("a", Status::Invisible, 5));  // newer, but visibility [] differs too
    UserRecord latest = rec("a", Status::Invisible, 6);
    latest.visibility = {"b"};
    q.accept(latest);  // same visibility as the failed batch's record
    q.give_back(std::move(batch));
    LONGS_EQUAL(1, q.size());
    auto again = q.take_batch(10);
    LONGS_EQUAL(6, *again[0].record.last_seen);
    CHECK_TRUE(again[0].state_dirty);  // the failed write's flags are kept
    CHECK_TRUE(again[0].visibility_dirty);
}

TEST(MariaDbWriteQueue, LastSeenOnlyRefreshIsNotDirty) {
    MariaDbWriteQueue q(100);
    q.accept(rec("a", Status::Away, 1));
    q.take_batch(10);
    q.accept(rec("a", Status::Away, 2));
    auto batch = q.take_batch(10);
    CHECK_FALSE(batch[0].state_dirty);
    CHECK_FALSE(batch[0].visibility_dirty);
}

TEST(MariaDbWriteQueue, OverTheBoundDropsOldestRefreshOnly) {
    MariaDbWriteQueue q(3);
    // Known users (already written once), now only refreshing last_seen.
    for (const char* id : {"r1", "r2"}) q.remember_loaded(rec(id, Status::Online, 0));
    q.accept(rec("r1", Status::Online, 10));
    q.accept(rec("s1", Status::Dnd, 10));  // unknown user: a real change
    q.accept(rec("r2", Status::Online, 10));
    auto result = q.accept(rec("s2", Status::Away, 10));
    LONGS_EQUAL(1, result.dropped);
    LONGS_EQUAL(3, q.size());
    CHECK_TRUE(q.find("r1") == nullptr);  // the oldest refresh went first
    CHECK_TRUE(q.find("r2") != nullptr);
    result = q.accept(rec("s3", Status::Away, 10));
    LONGS_EQUAL(1, result.dropped);
    CHECK_TRUE(q.find("r2") == nullptr);
    result = q.accept(rec("s4", Status::Away, 10));  // nothing droppable: grow instead
    LONGS_EQUAL(0, result.dropped);
    CHECK_TRUE(result.over_bound);
    LONGS_EQUAL(4, q.size());
    for (const char* id : {"s1", "s2", "s3", "s4"}) CHECK_TRUE(q.find(id) != nullptr);
}

TEST(MariaDbWriteQueue, StatusChangeOfARefreshingUserIsNeverDropped) {
    MariaDbWriteQueue q(1);
    q.remember_loaded(rec("a", Status::Online, 0));
    q.accept(rec("a", Status::Online, 1));  // refresh only
    q.accept(rec("a", Status::Dnd, 2));     // now a real change, same entry
    auto result = q.accept(rec("b", Status::Away, 1));
    LONGS_EQUAL(0, result.dropped);
    CHECK_TRUE(q.find("a") != nullptr);
}
