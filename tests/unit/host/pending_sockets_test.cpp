#include "pending_sockets.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

// CppUTest last: its leak-detecting operator new macros break STL headers after it.
#include <CppUTest/TestHarness.h>

using namespace presence_host;

namespace {

bool is_open(int fd) {
    return fcntl(fd, F_GETFD) != -1;
}

sockaddr_in v4(const char* text) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    inet_pton(AF_INET, text, &a.sin_addr);
    return a;
}

}  // namespace

// Real descriptors (socket pairs): `ours` is what the host would hold, `peers` the clients.
TEST_GROUP(PendingSockets) {
    std::vector<int> peers;
    std::vector<int> ours;
    int make() {
        int pair[2];
        CHECK_EQUAL(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair));
        peers.push_back(pair[1]);
        ours.push_back(pair[0]);
        return pair[0];
    }
    PendingSockets::Hold hold(PendingSockets & p, int fd, const char* from, int64_t now) {
        const sockaddr_in a = v4(from);
        return p.hold(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a, now);
    }
    void teardown() override {
        for (const int fd : peers) ::close(fd);
    }
};

TEST(PendingSockets, CapsOneAddressAndClosesWhatItRefuses) {
    PendingSockets p({100, 2, 1'000'000});
    std::string why;
    CHECK_TEXT(p.open(why), why.c_str());
    CHECK(hold(p, make(), "10.0.0.1", 0) == PendingSockets::Hold::Held);
    CHECK(hold(p, make(), "10.0.0.1", 0) == PendingSockets::Hold::Held);
    const int third = make();
    CHECK(hold(p, third, "10.0.0.1", 0) == PendingSockets::Hold::RefusedAddress);
    CHECK_FALSE(is_open(third));
    CHECK(hold(p, make(), "10.0.0.2", 0) == PendingSockets::Hold::Held);
    LONGS_EQUAL(3, p.size());
    LONGS_EQUAL(1, p.refused());
    // Once one of them is let go, that address has room again.
    p.release(ours[0]);
    CHECK(is_open(ours[0]));
    CHECK_FALSE(p.holds(ours[0]));
    CHECK(hold(p, make(), "10.0.0.1", 0) == PendingSockets::Hold::Held);
    ::close(ours[0]);
}

TEST(PendingSockets, AFullSetClosesTheOldestForTheNewest) {
    PendingSockets p({3, 3, 1'000'000});
    std::string why;
    CHECK(p.open(why));
    for (int i = 0; i < 3; ++i) hold(p, make(), "10.0.0.1", i);
    const int newest = make();
    CHECK(hold(p, newest, "10.0.0.2", 10) == PendingSockets::Hold::Held);
    CHECK_FALSE(is_open(ours[0]));
    CHECK(is_open(ours[1]));
    CHECK(p.holds(newest));
    LONGS_EQUAL(3, p.size());
    LONGS_EQUAL(1, p.evicted());
}

TEST(PendingSockets, ReportsSocketsThatReceivedSomething) {
    PendingSockets p;
    std::string why;
    CHECK(p.open(why));
    const int quiet = make();
    const int talker = make();
    hold(p, quiet, "10.0.0.1", 0);
    hold(p, talker, "10.0.0.1", 0);
    std::vector<int> ready;
    p.take_ready(ready);
    CHECK(ready.empty());
    CHECK_EQUAL(3, ::write(peers[1], "GET", 3));
    p.take_ready(ready);
    LONGS_EQUAL(1, ready.size());
    LONGS_EQUAL(talker, ready[0]);
    // Edge-triggered: bytes left unread are not reported again until more arrive.
    ready.clear();
    p.take_ready(ready);
    CHECK(ready.empty());
    CHECK_EQUAL(1, ::write(peers[1], " ", 1));
    p.take_ready(ready);
    LONGS_EQUAL(1, ready.size());
}

TEST(PendingSockets, ClosesSocketsPastTheirDeadline) {
    PendingSockets p({100, 100, 1000});
    std::string why;
    CHECK(p.open(why));
    hold(p, make(), "10.0.0.1", 0);
    hold(p, make(), "10.0.0.1", 500);
    p.release(ours[1]);  // handed on: its deadline no longer counts
    hold(p, make(), "10.0.0.1", 800);
    LONGS_EQUAL(1000, p.next_deadline_us());
    LONGS_EQUAL(0, p.expire(999));
    LONGS_EQUAL(1, p.expire(1000));
    CHECK_FALSE(is_open(ours[0]));
    CHECK(is_open(ours[1]));
    LONGS_EQUAL(1800, p.next_deadline_us());
    LONGS_EQUAL(1, p.expire(5000));
    LONGS_EQUAL(0, p.size());
    LONGS_EQUAL(0, p.next_deadline_us());
    ::close(ours[1]);
}
