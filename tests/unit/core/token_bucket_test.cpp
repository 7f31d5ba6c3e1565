// The token bucket on its own: a burst, then a refill at the rate.
#include "core/token_bucket.hpp"

#include "core_harness.hpp"

using namespace presence::core;

TEST_GROUP(TokenBucket){};

TEST(TokenBucket, BurstThenRefillAtRate) {
    TokenBucket b(3, 0);
    for (int i = 0; i < 3; ++i) CHECK(b.take(2.0, 3, 0));
    CHECK_FALSE(b.take(2.0, 3, 0));
    LONGLONGS_EQUAL(500, b.ms_until_token(2.0));
    CHECK_FALSE(b.take(2.0, 3, 499));
    CHECK(b.take(2.0, 3, 500));
    // A long pause refills up to the burst, not beyond.
    for (int i = 0; i < 3; ++i) CHECK(b.take(2.0, 3, 100'000));
    CHECK_FALSE(b.take(2.0, 3, 100'000));
}

TEST(TokenBucket, ZeroRateMeansUnlimited) {
    TokenBucket b(0, 0);
    for (int i = 0; i < 100; ++i) CHECK(b.take(0.0, 0, 0));
}
