// The ring the host sends its end-of-turn writes through (and the load tool receives through):
// every staged operation is issued in one submit and answered before submit() returns (whole,
// partial, -EAGAIN on a full or empty socket, an error for a dead peer, without SIGPIPE, 0 at
// end of stream), and the staging bounds hold. Real sockets, the
// real kernel io_uring: on a kernel that refuses it these tests fail rather than pass empty.
#include "socket_ring.hpp"

#include <CppUTest/TestHarness.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

using presence_host::SocketRing;

namespace {

struct Pair {
    int writer = -1;
    int reader = -1;
    Pair() {
        int fds[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0) {
            writer = fds[0];
            reader = fds[1];
            fcntl(writer, F_SETFL, fcntl(writer, F_GETFL) | O_NONBLOCK);
            fcntl(reader, F_SETFL, fcntl(reader, F_GETFL) | O_NONBLOCK);
        }
    }
    ~Pair() {
        if (writer >= 0) close(writer);
        if (reader >= 0) close(reader);
    }
    std::string drain() const {
        std::string got;
        char buf[65536];
        ssize_t n = 0;
        while ((n = read(reader, buf, sizeof buf)) > 0) got.append(buf, static_cast<size_t>(n));
        return got;
    }
};

constexpr int kUnanswered = -100000;

// Stages `bytes` for `fd`; false when it did not fit.
bool stage(SocketRing& ring, int fd, const std::string& bytes, uint64_t tag) {
    if (ring.room().size() < bytes.size()) return false;
    std::memcpy(ring.room().data(), bytes.data(), bytes.size());
    return ring.stage_send(fd, bytes.size(), tag);
}

// Submits and returns each result by tag (tags below 16; others are dropped).
std::vector<int> submit_all(SocketRing& ring) {
    std::vector<int> results(16, kUnanswered);
    ring.submit([&](const SocketRing::Outcome& o) {
        if (o.tag < results.size()) results[o.tag] = o.result;
    });
    return results;
}

}  // namespace

TEST_GROUP(SocketRing) {
    SocketRing ring;
    void setup() override {
        std::string why;
        CHECK_TRUE_TEXT(ring.open(why), ("io_uring unavailable: " + why).c_str());
    }
};

TEST(SocketRing, EverySendOfOneSubmitArrivesAndIsAnsweredWithItsTag) {
    Pair a, b, c;
    CHECK_TRUE(stage(ring, a.writer, "alpha", 1));
    CHECK_TRUE(stage(ring, b.writer, "bravo!", 2));
    CHECK_TRUE(stage(ring, c.writer, "", 3));
    LONGS_EQUAL(3, ring.staged());
    const auto results = submit_all(ring);
    LONGS_EQUAL(0, ring.staged());
    LONGS_EQUAL(kUnanswered, results.at(0));
    LONGS_EQUAL(5, results.at(1));
    LONGS_EQUAL(6, results.at(2));
    LONGS_EQUAL(0, results.at(3));
    STRCMP_EQUAL("alpha", a.drain().c_str());
    STRCMP_EQUAL("bravo!", b.drain().c_str());
    STRCMP_EQUAL("", c.drain().c_str());
    // The buffer is free again and reused: the next submit carries new bytes.
    LONGS_EQUAL(SocketRing::kDefaultBufferBytes, ring.room().size());
    CHECK_TRUE(stage(ring, a.writer, "again", 4));
    LONGS_EQUAL(5, submit_all(ring).at(4));
    STRCMP_EQUAL("again", a.drain().c_str());
}

// A socket that cannot take everything: the first submit writes part (the result says how
// much), the next finds it full (-EAGAIN, nothing written); the outcome points at the staged
// bytes so the caller can keep the rest.
TEST(SocketRing, FullSocketIsAnsweredWithAPartialCountThenEagain) {
    Pair p;
    const int small = 4096;
    setsockopt(p.writer, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    const std::string big(200 * 1024, 'x');
    CHECK_TRUE(stage(ring, p.writer, big, 7));
    size_t partial = 0;
    std::string rest;
    ring.submit([&](const SocketRing::Outcome& o) {
        LONGS_EQUAL(7, o.tag);
        CHECK_TRUE(o.result > 0);
        partial = static_cast<size_t>(o.result);
        LONGS_EQUAL(big.size(), o.len);
        rest.assign(reinterpret_cast<const char*>(o.data) + partial, o.len - partial);
    });
    CHECK_TRUE(partial < big.size());
    LONGS_EQUAL(big.size() - partial, rest.size());
    CHECK_TRUE(stage(ring, p.writer, "more", 8));
    LONGS_EQUAL(-EAGAIN, submit_all(ring).at(8));
    LONGS_EQUAL(partial, p.drain().size());  // exactly what was reported, nothing of "more"
}

// A peer that has gone: an error for its send (no SIGPIPE kills the test), and the sends
// staged after it in the same submit still go out.
TEST(SocketRing, DeadPeerIsAnErrorAndDoesNotStopTheOthers) {
    Pair dead, alive;
    close(dead.reader);
    dead.reader = -1;
    CHECK_TRUE(stage(ring, dead.writer, "lost", 1));
    CHECK_TRUE(stage(ring, alive.writer, "kept", 2));
    const auto results = submit_all(ring);
    LONGS_EQUAL(-EPIPE, results.at(1));
    LONGS_EQUAL(4, results.at(2));
    STRCMP_EQUAL("kept", alive.drain().c_str());
}

// Receives: what is there (up to the staged size), -EAGAIN when nothing is, 0 at end of
// stream; the bytes are in the outcome.
TEST(SocketRing, ReceivesWhatIsThereAndTellsEmptyFromEnded) {
    Pair full, empty, ended;
    CHECK_EQUAL(11, write(full.reader, "hello world", 11));  // a pair is symmetric
    close(ended.reader);
    ended.reader = -1;
    CHECK_TRUE(ring.stage_recv(full.writer, 5, 1));
    CHECK_TRUE(ring.stage_recv(empty.writer, 64, 2));
    CHECK_TRUE(ring.stage_recv(ended.writer, 64, 3));
    std::string got;
    const auto results = [&] {
        std::vector<int> r(4, kUnanswered);
        ring.submit([&](const SocketRing::Outcome& o) {
            r[o.tag] = o.result;
            if (o.tag == 1) got.assign(reinterpret_cast<const char*>(o.data), o.result);
        });
        return r;
    }();
    LONGS_EQUAL(5, results[1]);
    STRCMP_EQUAL("hello", got.c_str());
    LONGS_EQUAL(-EAGAIN, results[2]);
    LONGS_EQUAL(0, results[3]);
    // The rest is still in the socket for the next receive.
    CHECK_TRUE(ring.stage_recv(full.writer, 64, 1));
    ring.submit([&](const SocketRing::Outcome& o) {
        got.assign(reinterpret_cast<const char*>(o.data), o.result > 0 ? o.result : 0);
    });
    STRCMP_EQUAL(" world", got.c_str());
}

TEST(SocketRing, StagingStopsAtTheBufferAndAtTheEntryBound) {
    Pair p;
    // More than the buffer: refused, nothing staged.
    CHECK_FALSE(ring.stage_send(p.writer, SocketRing::kDefaultBufferBytes + 1, 1));
    LONGS_EQUAL(0, ring.staged());
    // Entry bound: kEntries one-byte sends fit, the next does not until a submit.
    Pair sink;
    const int big = 1 << 20;
    setsockopt(sink.writer, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    for (unsigned i = 0; i < SocketRing::kEntries; ++i) {
        ring.room()[0] = 'a';
        CHECK_TRUE(ring.stage_send(sink.writer, 1, i));
    }
    CHECK_FALSE(ring.stage_send(sink.writer, 1, 9999));
    size_t answered = 0, written = 0;
    ring.submit([&](const SocketRing::Outcome& o) {
        ++answered;
        if (o.result > 0) written += static_cast<size_t>(o.result);
    });
    LONGS_EQUAL(SocketRing::kEntries, answered);
    LONGS_EQUAL(written, sink.drain().size());
    CHECK_TRUE(written > 0);
    CHECK_TRUE(ring.stage_send(sink.writer, 1, 1));  // room again after the submit
    submit_all(ring);
}
