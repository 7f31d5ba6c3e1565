// The timer heap on its own: earliest first, and only when due.
#include "core/timer_queue.hpp"

#include "core_harness.hpp"

using namespace presence::core;

TEST_GROUP(TimerQueue){};

TEST(TimerQueue, PopsEarliestFirstAndOnlyWhenDue) {
    TimerQueue q;
    q.push({30, 3, 0, TimerKind::Grace});
    q.push({10, 1, 0, TimerKind::Until});
    q.push({20, 2, 0, TimerKind::Heartbeat});
    CHECK_FALSE(q.due(9));
    CHECK(q.due(10));
    LONGLONGS_EQUAL(1, q.pop().key);
    LONGLONGS_EQUAL(2, q.pop().key);
    CHECK_FALSE(q.due(29));
    LONGLONGS_EQUAL(3, q.pop().key);
    CHECK(q.empty());
    LONGLONGS_EQUAL(3, q.pops());
}
