// Per-connection flood protection: the frame bucket refills on the host clock, and more than
// 30 errors within 10 s asks for a close (1008).
#include "service/abuse_guard.hpp"

// CppUTest last: its memory-leak macros must not rewrite standard headers.
// clang-format off
#include <CppUTest/TestHarness.h>
// clang-format on

using presence::service::AbuseGuard;
using presence::service::TokenBucket;

TEST_GROUP(AbuseGuard){};

TEST(AbuseGuard, BucketAllowsBurstThenRefillsWithTime) {
    TokenBucket b(10, 3);
    CHECK_TRUE(b.take(1000));
    CHECK_TRUE(b.take(1000));
    CHECK_TRUE(b.take(1000));
    CHECK_FALSE(b.take(1000));
    CHECK_TRUE(b.take(1100));  // 100 ms at 10/s: one token back
    CHECK_FALSE(b.take(1100));
}

TEST(AbuseGuard, ClockSteppingBackRefillsNothing) {
    TokenBucket b(10, 1);
    CHECK_TRUE(b.take(5000));
    CHECK_FALSE(b.take(1000));
}

TEST(AbuseGuard, FrameFloodIsLimitedAfterTheBurst) {
    AbuseGuard g;
    int allowed = 0;
    for (int i = 0; i < 200; ++i) allowed += g.allow_frame(0) ? 1 : 0;
    LONGS_EQUAL(100, allowed);
}

TEST(AbuseGuard, MoreThan30ErrorsIn10sCloses) {
    AbuseGuard g;
    for (int i = 0; i < 30; ++i) CHECK_FALSE(g.record_error(1000 + i));
    CHECK_TRUE(g.record_error(2000));
}

TEST(AbuseGuard, ErrorsSpreadOverTimeDoNotClose) {
    AbuseGuard g;
    for (int i = 0; i < 100; ++i) CHECK_FALSE(g.record_error(i * 1000));  // 10 per window
}
