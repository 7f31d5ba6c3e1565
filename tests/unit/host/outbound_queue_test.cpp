#include "outbound_queue.hpp"

#include <cstring>
#include <string>

// CppUTest last: its leak-detecting operator new macros break STL headers after it.
#include <CppUTest/TestHarness.h>

using namespace presence_host;

TEST_GROUP(OutboundQueue) {
    OutboundBudget budget;
};

TEST(OutboundQueue, FramesComeOutInOrderWithHeadroom) {
    OutboundQueue queue;
    QueueBounds bounds;
    CHECK_TRUE(queue.push(SharedFrame::copy_of("one", 3), bounds, budget));
    CHECK_TRUE(queue.push(SharedFrame::copy_of("two!", 4), bounds, budget));
    LONGS_EQUAL(7, queue.queued_bytes());
    LONGS_EQUAL(2, queue.queued_frames());
    const SharedFrame& first = queue.front();
    MEMCMP_EQUAL("one", first.payload(), 3);
    // The headroom before the payload is ours to scribble on (lws writes its header there).
    std::memset(first.payload() - SharedFrame::kHeadroom, 0xff, SharedFrame::kHeadroom);
    queue.pop(budget);
    MEMCMP_EQUAL("two!", queue.front().payload(), 4);
    queue.pop(budget);
    CHECK_TRUE(queue.empty());
    LONGS_EQUAL(0, queue.queued_bytes());
}

TEST(OutboundQueue, SharedFrameIsStoredOnceAcrossQueues) {
    OutboundQueue a, b, c;
    QueueBounds bounds;
    const SharedFrame frame = SharedFrame::copy_of("hello", 5);
    CHECK_TRUE(a.push(frame, bounds, budget));
    CHECK_TRUE(b.push(frame, bounds, budget));
    CHECK_TRUE(c.push(frame, bounds, budget));
    LONGS_EQUAL(4, frame.use_count());
    POINTERS_EQUAL(a.front().payload(), c.front().payload());
    a.pop(budget);
    b.pop(budget);
    LONGS_EQUAL(2, frame.use_count());
}

// The bound counts what waits behind the oldest frame (the one being sent).
TEST(OutboundQueue, ByteBoundRefusesThePushThatWouldPassIt) {
    OutboundQueue queue;
    QueueBounds bounds{10, 100};
    CHECK_TRUE(queue.push(SharedFrame::copy_of("123", 3), bounds, budget));
    CHECK_TRUE(queue.push(SharedFrame::copy_of("12345", 5), bounds, budget));
    CHECK_TRUE(queue.push(SharedFrame::copy_of("12345", 5), bounds, budget));
    CHECK_FALSE(queue.push(SharedFrame::copy_of("1", 1), bounds, budget));
    LONGS_EQUAL(13, queue.queued_bytes());
    LONGS_EQUAL(3, queue.queued_frames());
    LONGS_EQUAL(13, budget.used());
}

// A frame larger than the bound (a 100,000-friend snapshot) is taken when it is the one being
// sent; what comes behind it is bounded as before, and pieces of it count as sent.
TEST(OutboundQueue, OneFrameLargerThanTheBoundIsTakenIntoAnEmptyQueue) {
    OutboundQueue queue;
    QueueBounds bounds{10, 100};
    const std::string big(25, 'b');
    CHECK_TRUE(queue.push(SharedFrame::copy_of(big.data(), big.size()), bounds, budget));
    CHECK_FALSE(queue.push(SharedFrame::copy_of(big.data(), big.size()), bounds, budget));
    CHECK_TRUE(queue.push(SharedFrame::copy_of("123456", 6), bounds, budget));
    CHECK_FALSE(queue.push(SharedFrame::copy_of("12345", 5), bounds, budget));
    LONGS_EQUAL(31, budget.used());
    queue.advance_front(10, budget);
    LONGS_EQUAL(10, queue.front_sent());
    LONGS_EQUAL(2, queue.queued_frames());
    queue.advance_front(15, budget);  // the whole frame: popped
    LONGS_EQUAL(0, queue.front_sent());
    LONGS_EQUAL(1, queue.queued_frames());
    LONGS_EQUAL(6, budget.used());
    MEMCMP_EQUAL("123456", queue.front().payload(), 6);
}

TEST(OutboundQueue, BudgetCountsEveryQueueAndClearGivesItBack) {
    OutboundQueue a, b;
    QueueBounds bounds;
    OutboundBudget small(8);
    const SharedFrame frame = SharedFrame::copy_of("hello", 5);
    CHECK_TRUE(a.push(frame, bounds, small));
    CHECK_FALSE(small.exceeded());
    CHECK_TRUE(b.push(frame, bounds, small));  // the budget is the server's to enforce
    CHECK_TRUE(small.exceeded());
    LONGS_EQUAL(10, small.used());
    b.clear(small);
    LONGS_EQUAL(5, small.used());
    a.pop(small);
    LONGS_EQUAL(0, small.used());
}

TEST(OutboundQueue, FrameBoundRefusesThePushThatWouldPassIt) {
    OutboundQueue queue;
    QueueBounds bounds{1 << 20, 3};
    for (int i = 0; i < 3; ++i)
        CHECK_TRUE(queue.push(SharedFrame::copy_of("x", 1), bounds, budget));
    CHECK_FALSE(queue.push(SharedFrame::copy_of("x", 1), bounds, budget));
    queue.pop(budget);
    CHECK_TRUE(queue.push(SharedFrame::copy_of("y", 1), bounds, budget));
}

TEST(OutboundQueue, LongRunsKeepOrderThroughCompaction) {
    OutboundQueue queue;
    QueueBounds bounds;
    int next_out = 0;
    for (int i = 0; i < 1000; ++i) {
        const std::string text = std::to_string(i);
        CHECK_TRUE(queue.push(SharedFrame::copy_of(text.data(), text.size()), bounds, budget));
        if (i % 3 != 0) {
            const std::string expected = std::to_string(next_out++);
            const SharedFrame& front = queue.front();
            CHECK_EQUAL(expected,
                        std::string(reinterpret_cast<char*>(front.payload()), front.size()));
            queue.pop(budget);
        }
    }
    LONGS_EQUAL(1000 - next_out, queue.queued_frames());
}

TEST(OutboundQueue, ClearDropsEverything) {
    OutboundQueue queue;
    QueueBounds bounds;
    const SharedFrame frame = SharedFrame::copy_of("abc", 3);
    CHECK_TRUE(queue.push(frame, bounds, budget));
    queue.clear(budget);
    CHECK_TRUE(queue.empty());
    LONGS_EQUAL(1, frame.use_count());
}

// A cut keeps the rest of a frame already partly on the wire (the stream must not end inside
// a frame) and drops everything behind it; with nothing partly sent it drops everything.
TEST(OutboundQueue, ClearBehindSendingKeepsOnlyAPartlySentFront) {
    OutboundQueue queue;
    QueueBounds bounds;
    const std::string big(100, 'b');
    CHECK_TRUE(queue.push(SharedFrame::copy_of(big.data(), big.size()), bounds, budget));
    CHECK_TRUE(queue.push(SharedFrame::copy_of("next", 4), bounds, budget));
    queue.clear_behind_sending(budget);
    CHECK_TRUE(queue.empty());
    LONGS_EQUAL(0, budget.used());

    CHECK_TRUE(queue.push(SharedFrame::copy_of(big.data(), big.size()), bounds, budget));
    CHECK_TRUE(queue.push(SharedFrame::copy_of("next", 4), bounds, budget));
    queue.advance_front(40, budget);
    queue.clear_behind_sending(budget);
    LONGS_EQUAL(1, queue.queued_frames());
    LONGS_EQUAL(40, queue.front_sent());
    LONGS_EQUAL(100, budget.used());
    queue.advance_front(60, budget);
    CHECK_TRUE(queue.empty());
    LONGS_EQUAL(0, budget.used());
}
