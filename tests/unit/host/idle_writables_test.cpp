#include "idle_writables.hpp"

// CppUTest last: its leak-detecting operator new macros break STL headers after it.
#include <CppUTest/TestHarness.h>

using namespace presence_host;

TEST_GROUP(IdleWritables){};

// The ping-flood cut-off: kMaxPerSecond idle writable callbacks in one second are allowed, the
// next one is a flood.
TEST(IdleWritables, MoreThanTheMaximumInOneSecondIsAFlood) {
    IdleWritables idle;
    for (uint32_t i = 0; i < IdleWritables::kMaxPerSecond; ++i) CHECK_FALSE(idle.note(7));
    CHECK_TRUE(idle.note(7));
}

// A new second starts a new count: honest traffic spread over seconds never adds up.
TEST(IdleWritables, EachSecondCountsAlone) {
    IdleWritables idle;
    for (uint32_t second = 1; second <= 5; ++second) {
        for (uint32_t i = 0; i < IdleWritables::kMaxPerSecond; ++i) CHECK_FALSE(idle.note(second));
    }
    CHECK_EQUAL(5u, idle.window_s);
    CHECK_EQUAL(IdleWritables::kMaxPerSecond, idle.count);
}
