// Many sockets' sends (or receives) handed to the kernel in ONE system call (io_uring),
// instead of one send()/recv() each. On this 2-core PVM guest a system call costs ~1 us before
// it does anything, and a small loopback send() ~6.7 us in all; the same sends through one
// io_uring_enter cost ~4.2 us each (measured with 1,000 sockets, 300 per turn). The host sends
// its end-of-turn writes through one; the load tool (tests/bench/load) receives through one.
//
// Use: stage one operation per socket (room(), then stage_send() or stage_recv()), then
// submit(), which issues every staged operation and reports each result before it returns.
// Operations are non-blocking (MSG_DONTWAIT): the kernel completes every one inline, fully,
// partly, or with -EAGAIN (a full socket to send to, nothing to receive), so nothing is in
// flight once submit() returns and the buffer can be reused. At most one operation per socket
// between two submits: two sends to one socket in one submit could land out of order if the
// first were partial.
//
// Where io_uring is unavailable (an old kernel, kernel.io_uring_disabled, a seccomp filter),
// open() fails with the reason and the caller uses send()/recv() as before.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

struct io_uring;

namespace presence_host {

class SocketRing {
  public:
    static constexpr size_t kDefaultBufferBytes = 256 * 1024;
    static constexpr unsigned kEntries = 1024;  // operations per submit at most

    // The staged bytes of one submit (sent or received) live in one buffer of this size,
    // allocated by open().
    explicit SocketRing(size_t buffer_bytes = kDefaultBufferBytes);
    ~SocketRing();
    SocketRing(const SocketRing&) = delete;
    SocketRing& operator=(const SocketRing&) = delete;

    // Sets up the ring; false with the kernel's reason when io_uring cannot be used.
    bool open(std::string& why);
    bool is_open() const { return ring_ != nullptr; }
    size_t buffer_bytes() const { return buffer_bytes_; }

    // Free room in the buffer for the next operation (possibly less than a caller needs: then
    // submit() first; an empty buffer offers buffer_bytes()). Valid until the next stage or
    // submit.
    std::span<unsigned char> room();
    // Stages a send of the `len` bytes written at the start of room(), or a receive of at most
    // `len` bytes into it, to or from `fd`; `tag` comes back with its result. False (nothing
    // staged) when the ring or the buffer is full: submit() first.
    bool stage_send(int fd, size_t len, uint64_t tag) { return stage(fd, len, tag, false); }
    bool stage_recv(int fd, size_t len, uint64_t tag) { return stage(fd, len, tag, true); }
    size_t staged() const { return ops_.size(); }

    // What became of one staged operation: `result` bytes sent or received (possibly fewer
    // than `len`; 0 received is end of stream), or a negative errno (-EAGAIN: the socket was
    // full, or had nothing to read).
    struct Outcome {
        uint64_t tag;
        int result;
        const unsigned char* data;  // the staged / received bytes, valid until the next submit
        size_t len;
    };
    // Issues every staged operation and calls done(outcome) for each, in no particular order.
    // `done` must not stage (the outcomes' bytes are still in the buffer).
    template <typename Done>
    void submit(Done&& done) {
        issue();
        for (const Outcome& outcome : outcomes_) done(outcome);
        outcomes_.clear();
        used_ = 0;
    }

  private:
    struct Staged {
        int fd;
        size_t offset;
        size_t len;
        uint64_t tag;
        bool recv;
    };
    bool stage(int fd, size_t len, uint64_t tag, bool recv);
    void issue();

    size_t buffer_bytes_;
    std::unique_ptr<io_uring> ring_;
    std::vector<unsigned char> buffer_;
    size_t used_ = 0;
    std::vector<Staged> ops_;
    std::vector<Outcome> outcomes_;
    std::vector<bool> answered_;  // per staged operation, during issue()
};

}  // namespace presence_host
