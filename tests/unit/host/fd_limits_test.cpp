#include "fd_limits.hpp"

#include <sys/resource.h>

// CppUTest last: its leak-detecting operator new macros break STL headers after it.
#include <CppUTest/TestHarness.h>

using namespace presence_host;

TEST_GROUP(FdLimits){};

// lws gets kSpareFds fewer descriptors than the process, so it stops accepting before the
// kernel refuses accept() with EMFILE; a tiny limit is halved instead of going to zero.
TEST(FdLimits, LwsGetsTheHardLimitLessTheSpareOnes) {
    CHECK_EQUAL(65536u - kSpareFds, fd_limit_for_lws(65536));
    CHECK_EQUAL(1024u - kSpareFds, fd_limit_for_lws(1024));
    CHECK_EQUAL(64u, fd_limit_for_lws(2 * kSpareFds));
    CHECK_EQUAL(50u, fd_limit_for_lws(100));
}

// Lowered for lws' context, then raised back: the process ends with the hard limit.
TEST(FdLimits, LoweredForLwsThenRaisedBackToTheHardLimit) {
    rlimit before{};
    CHECK_EQUAL(0, getrlimit(RLIMIT_NOFILE, &before));
    const unsigned int hard =
        before.rlim_max == RLIM_INFINITY ? 65536u : static_cast<unsigned int>(before.rlim_max);
    const unsigned int lowered = lower_fd_limit_for_lws();
    rlimit during{};
    CHECK_EQUAL(0, getrlimit(RLIMIT_NOFILE, &during));
    if (before.rlim_max != RLIM_INFINITY) {
        CHECK_EQUAL(fd_limit_for_lws(hard), lowered);
        CHECK_EQUAL(static_cast<rlim_t>(lowered), during.rlim_cur);
    }
    CHECK_EQUAL(hard, raise_fd_limit());
    rlimit after{};
    CHECK_EQUAL(0, getrlimit(RLIMIT_NOFILE, &after));
    CHECK_TRUE(after.rlim_cur == after.rlim_max);
}
