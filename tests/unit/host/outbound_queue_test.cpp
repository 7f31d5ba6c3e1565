#include "outbound_queue.hpp"

#include <cstring>
#include <string>

// CppUTest last: its leak-detecting operator new macros break STL headers after it.
#include <CppUTest/TestHarness.h>

using namespace presence_host;

TEST_GROUP(OutboundQueue){};

TEST(OutboundQueue, FramesComeOutInOrderWithHeadroom) {
    OutboundQueue queue;
    QueueBounds bounds;
    CHECK_TRUE(queue.push(SharedFrame::copy_of("one", 3), bounds));
    CHECK_TRUE(queue.push(SharedFrame::copy_of("two!", 4), bounds));
    LONGS_EQUAL(7, queue.queued_bytes());
    LONGS_EQUAL(2, queue.queued_frames());
    const SharedFrame& first = queue.front();
    MEMCMP_EQUAL("one", first.payload(), 3);
    // The headroom before the payload is ours to scribble on (lws writes its header there).
    std::memset(first.payload() - SharedFrame::kHeadroom, 0xff, SharedFrame::kHeadroom);
    queue.pop();
    MEMCMP_EQUAL("two!", queue.front().payload(), 4);
    queue.pop();
    CHECK_TRUE(queue.empty());
    LONGS_EQUAL(0, queue.queued_bytes());
}

TEST(OutboundQueue, SharedFrameIsStoredOnceAcrossQueues) {
    OutboundQueue a, b, c;
    QueueBounds bounds;
    const SharedFrame frame = SharedFrame::copy_of("hello", 5);
    CHECK_TRUE(a.push(frame, bounds));
    CHECK_TRUE(b.push(frame, bounds));
    CHECK_TRUE(c.push(frame, bounds));
    LONGS_EQUAL(4, frame.use_count());
    POINTERS_EQUAL(a.front().payload(), c.front().payload());
    a.pop();
    b.pop();
    LONGS_EQUAL(2, frame.use_count());
}

TEST(OutboundQueue, ByteBoundRefusesThePushThatWouldPassIt) {
    OutboundQueue queue;
    QueueBounds bounds{10, 100};
    CHECK_TRUE(queue.push(SharedFrame::copy_of("12345", 5), bounds));
    CHECK_TRUE(queue.push(SharedFrame::copy_of("12345", 5), bounds));
    CHECK_FALSE(queue.push(SharedFrame::copy_of("1", 1), bounds));
    LONGS_EQUAL(10, queue.queued_bytes());
    LONGS_EQUAL(2, queue.queued_frames());
}

TEST(OutboundQueue, FrameBoundRefusesThePushThatWouldPassIt) {
    OutboundQueue queue;
    QueueBounds bounds{1 << 20, 3};
    for (int i = 0; i < 3; ++i) CHECK_TRUE(queue.push(SharedFrame::copy_of("x", 1), bounds));
    CHECK_FALSE(queue.push(SharedFrame::copy_of("x", 1), bounds));
    queue.pop();
    CHECK_TRUE(queue.push(SharedFrame::copy_of("y", 1), bounds));
}

TEST(OutboundQueue, LongRunsKeepOrderThroughCompaction) {
    OutboundQueue queue;
    QueueBounds bounds;
    int next_out = 0;
    for (int i = 0; i < 1000; ++i) {
        const std::string text = std::to_string(i);
        CHECK_TRUE(queue.push(SharedFrame::copy_of(text.data(), text.size()), bounds));
        if (i % 3 != 0) {
            const std::string expected = std::to_string(next_out++);
            const SharedFrame& front = queue.front();
            CHECK_EQUAL(expected,
                        std::string(reinterpret_cast<char*>(front.payload()), front.size()));
            queue.pop();
        }
    }
    LONGS_EQUAL(1000 - next_out, queue.queued_frames());
}

TEST(OutboundQueue, ClearDropsEverything) {
    OutboundQueue queue;
    QueueBounds bounds;
    const SharedFrame frame = SharedFrame::copy_of("abc", 3);
    CHECK_TRUE(queue.push(frame, bounds));
    queue.clear();
    CHECK_TRUE(queue.empty());
    LONGS_EQUAL(1, frame.use_count());
}
