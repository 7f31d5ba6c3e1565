// The fast path's acceptor: the host's own listening socket, the sockets it holds until their
// request has arrived (pending_sockets.hpp), and the hand-over of each connection, with that
// request, to whoever serves it (the host: lws, through AcceptorSink). Why the host accepts
// instead of lws: acceptor.cpp, Acceptor::accept_ready.
//
// No event loop in here: the loop watches ready_fd() and calls accept_ready(), and calls
// serve_pending() once per turn (waking for next_deadline_us()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "listen_address.hpp"
#include "listen_socket.hpp"
#include "pending_sockets.hpp"

namespace presence_host {

// Where accepted connections go, and what the acceptor asks of the loop.
class AcceptorSink {
  public:
    virtual ~AcceptorSink() = default;
    // `fd` with its whole GET header block, already read off it (`request`, `len` bytes).
    virtual void adopt_with_request(int fd, const char* request, size_t len) = 0;
    // `fd` whose request is read by whoever adopts it (a body follows, or the headers pass
    // Acceptor::kPeekBytes).
    virtual void adopt_bare(int fd) = 0;
    // Out of descriptors: no accept_ready() for `seconds`.
    virtual void pause_accepting(double seconds) = 0;
    virtual void log(int level, const char* line) const = 0;
};

class Acceptor {
  public:
    // How much of a new connection's first bytes the acceptor peeks at: lws 4.1's own header
    // buffer (max_http_header_data, 4096 by default), so a request lws could parse whole (long
    // cookies included) is never one the host gives up on for its size.
    static constexpr size_t kPeekBytes = 4096;
    // Per accept_ready(): at most this many accepts, and this many bare adoptions (a whole
    // header block that lws reads itself).
    static constexpr int kAcceptsPerCall = 1024;
    static constexpr int kBareAdoptions = 128;
    // During a burst of closes, every this many the loop asks work_waiting() (note_close).
    static constexpr int kClosesPerCheck = 32;
    // Near the descriptor ceiling (set_fd_ceiling): accepting stops for kCeilingPauseS once a
    // new socket's number is within kFdHeadroom of it, so the closes queued behind this turn
    // are served (their descriptors freed) before more connections come in.
    static constexpr int kFdHeadroom = 256;
    static constexpr double kCeilingPauseS = 0.05;

    Acceptor(PendingLimits limits, AcceptorSink& sink) : pending_(limits), sink_(sink) {}
    Acceptor(const Acceptor&) = delete;
    Acceptor& operator=(const Acceptor&) = delete;

    // Descriptors from `ceiling` up are never handed on: lws sizes its descriptor table at
    // creation and fails (logging "is too high") on any number past it; lws 4.1.6 was seen to
    // crash (free(): invalid pointer) after a run of such failures in a reconnect storm on a
    // starved CPU, when accepts outran the closes still queued. Such a socket is closed at once.
    void set_fd_ceiling(int ceiling) { fd_ceiling_ = ceiling; }

    // Binds and listens (ListenSocket::open); false with a reason naming the address.
    bool listen(const ListenAddress& where, bool reuse_port, std::string& error);
    // The epoll set of the listener and the held sockets; false with a reason.
    bool watch(std::string& error);
    // Readable when there is work for accept_ready().
    int ready_fd() const { return pending_.ready_fd(); }
    int port() const { return listener_.port(); }

    // The held sockets that received something, then the new connections.
    void accept_ready();
    // The held sockets that received something are decided, those past their deadline closed.
    void serve_pending();
    // Deadline of the oldest held socket (0: none); the loop wakes for it.
    int64_t next_deadline_us() { return pending_.next_deadline_us(); }
    // Whether accept_ready() has anything to do (see acceptor.cpp).
    bool work_waiting();
    // A WebSocket closed: true, every kClosesPerCheck closes, when work_waiting().
    bool note_close();

    const PendingSockets& pending() const { return pending_; }

  private:
    // What became of a new socket: handed on with its request (or answered, or closed),
    // handed on bare, or kept waiting for its request.
    enum class Adoption { WithRequest, Bare, Waiting };
    Adoption adopt_when_ready(int fd, bool held);
    void note_pending_pressure();
    void refuse_over_ceiling(int fd);

    ListenSocket listener_;
    PendingSockets pending_;
    AcceptorSink& sink_;
    std::vector<int> ready_scratch_;  // serve_pending()'s, reused
    int64_t last_refusal_log_us_ = 0;
    int closes_since_check_ = 0;
    int fd_ceiling_ = 1 << 30;
    uint64_t over_ceiling_ = 0;  // sockets closed at the ceiling, for the log line
    int64_t last_ceiling_log_us_ = 0;
};

}  // namespace presence_host
