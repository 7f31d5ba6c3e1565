#include "acceptor.hpp"

#include <libwebsockets.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <string_view>

#include "admin_routes.hpp"
#include "bad_request_refusal.hpp"
#include "presence_plugin.h"
#include "request_peek.hpp"

namespace presence_host {

bool Acceptor::listen(const ListenAddress& where, bool reuse_port, std::string& error) {
    if (listener_.open(where, error, reuse_port)) return true;
    const bool in_use = errno == EADDRINUSE;
    error = "cannot listen on " + where.host + ":" + std::to_string(where.port) + ": " + error;
    if (in_use) {
        error += reuse_port ? " (host.reuse_port = true, but the listener there does not share "
                              "the port, or is another user's)"
                            : " (hosts sharing a port need host.reuse_port = true, each)";
    }
    return false;
}

// One descriptor for the loop: the listener and the sockets held for their request.
bool Acceptor::watch(std::string& error) {
    if (!pending_.open(error) || !pending_.watch_listener(listener_.fd())) {
        error = "cannot watch new connections: " + error;
        return false;
    }
    return true;
}

// Log pacing for floods: true (and `last_us` moved to now) at most once a second.
static bool once_a_second(int64_t& last_us) {
    const int64_t now = lws_now_usecs();
    if (now - last_us < LWS_US_PER_SEC) return false;
    last_us = now;
    return true;
}

// New connections, taken by the host (libev) instead of lws' own listener. Why:
// - lws 4.1 accepts everything queued on its listening socket at once and gives each new
//   connection a timeout in one sorted list, walked from the head on every insert, so a
//   backlog of k connections costs O(k^2) until their handshakes end. After the 19,500
//   disconnects of a reconnect storm ~3,000 connections are queued; accepted at once, the
//   walks outgrew the arrivals and the host spiralled (perf: 90 % in lws_dll2_add_sorted,
//   snapshots 13-16 s late, one storm in three).
// - The upgrade request of a queued connection is usually already in its socket. Read here
//   and handed over with the socket, lws runs the handshake right away, inside this call
//   (the host's watcher runs before lws' own, EV_MAXPRI), and the snapshot leaves before this
//   turn's other events: a reconnect no longer waits behind thousands of queued disconnects.
// - A connection whose request has not arrived yet is held by the host (pending_, see
//   pending_sockets.hpp) until it has, then handed over with it; it never reaches lws without
//   its request. Adopted bare, lws would read it only when its event came up, behind the rest
//   of a burst (in a storm ~12 % of reconnects were accepted before their request; the slowest
//   waited 1-1.5 s); and idle sockets in lws each wait for a header table in lws' O(waiters)
//   lists (~9,000 of them held new connections back 6-9 s). Held sockets are capped per
//   source address and in total, and closed after host.pending_timeout_ms.
// At most kBareAdoptions bare adoptions per turn (a whole header block that lws reads itself:
// a request with a body, or headers over the peek buffer). Out of descriptors: no accept for
// 100 ms, rather than a hot loop.
void Acceptor::accept_ready() {
    serve_pending();
    int bare = 0;
    for (int i = 0; i < kAcceptsPerCall && bare < kBareAdoptions; ++i) {
        sockaddr_storage peer{};
        socklen_t peer_len = sizeof peer;
        const int fd = accept4(listener_.fd(), reinterpret_cast<sockaddr*>(&peer), &peer_len,
                               SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                sink_.log(PRESENCE_LOG_WARN, "out of descriptors: not accepting for 100 ms");
                sink_.pause_accepting(0.1);
            }
            break;  // EAGAIN: nothing more queued
        }
        if (fd >= fd_ceiling_) {
            refuse_over_ceiling(fd);
            break;
        }
        const bool near_ceiling = fd >= fd_ceiling_ - kFdHeadroom;
        // No Nagle delay on small frames, as lws' own listener sets it (not left to adoption):
        // otherwise a frame could wait ~40 ms for the peer's delayed ACK.
        const int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        switch (adopt_when_ready(fd, false)) {
            case Adoption::Waiting:
                if (pending_.hold(fd, reinterpret_cast<const sockaddr*>(&peer), peer_len,
                                  lws_now_usecs()) != PendingSockets::Hold::Held ||
                    pending_.size() >= pending_.limits().total) {
                    note_pending_pressure();
                }
                break;
            case Adoption::Bare:
                ++bare;
                break;
            case Adoption::WithRequest:
                break;
        }
        if (near_ceiling) {
            sink_.pause_accepting(kCeilingPauseS);
            break;
        }
    }
}

// A socket whose number lws cannot take: closed (the client sees the connection end and may
// retry), accepting paused so queued closes free descriptors first; logged at most once a
// second.
void Acceptor::refuse_over_ceiling(int fd) {
    ::close(fd);
    ++over_ceiling_;
    sink_.pause_accepting(kCeilingPauseS);
    if (!once_a_second(last_ceiling_log_us_)) return;
    char line[160];
    std::snprintf(line, sizeof line,
                  "descriptors at lws' limit (%d): %llu new connections closed so far", fd_ceiling_,
                  static_cast<unsigned long long>(over_ceiling_));
    sink_.log(PRESENCE_LOG_WARN, line);
}

// Sockets refused at their address' cap, or held with the set full (the oldest are being
// closed), are logged at most once a second: a flood would otherwise write a line each.
void Acceptor::note_pending_pressure() {
    if (!once_a_second(last_refusal_log_us_)) return;
    char line[200];
    std::snprintf(line, sizeof line,
                  "sockets without a request: %llu refused at host.max_pending_per_address "
                  "(%zu), %llu closed at host.max_pending_sockets, %llu timed out",
                  static_cast<unsigned long long>(pending_.refused()),
                  pending_.limits().per_address,
                  static_cast<unsigned long long>(pending_.evicted()),
                  static_cast<unsigned long long>(pending_.expired()));
    sink_.log(PRESENCE_LOG_WARN, line);
}

// What a connection has sent so far decides (decide_peek, request_peek.hpp): a GET header block
// without a body (an upgrade, or a plain GET) goes to lws with the socket and is served at once;
// any other (a body follows, or more than the kPeekBytes peek) lws reads from the socket itself;
// a request line with a bad %-escape gets our JSON 400; less than a header block waits (held in
// pending_). A socket gone before it said anything is closed. `held`: the socket is in pending_
// (let go of before it is handed on).
Acceptor::Adoption Acceptor::adopt_when_ready(int fd, bool held) {
    auto let_go = [&] {
        if (held) pending_.release(fd);
    };
    char first[kPeekBytes];
    const ssize_t seen = recv(fd, first, sizeof first, MSG_PEEK);
    if (seen == 0 || (seen < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
        let_go();
        ::close(fd);
        return Adoption::WithRequest;  // nothing left to do with it
    }
    const std::string_view head(first, seen > 0 ? static_cast<size_t>(seen) : 0);
    const PeekDecision decision = decide_peek(head, sizeof first);
    if (decision.verdict == PeekVerdict::Wait) return Adoption::Waiting;
    let_go();
    if (decision.verdict == PeekVerdict::BadEscape) {
        refuse_bad_request(fd, decision.request_bytes,
                           json_error("bad_request", "malformed %-escape in the request path"));
        return Adoption::WithRequest;
    }
    // Bytes after a header without a body (a client's first frames, sent with its upgrade
    // request) stay in the socket: lws reads them after the upgrade, where the mask guard sees
    // them (frame_mask_guard.hpp).
    if (decision.verdict == PeekVerdict::WholeGet) {
        const size_t n = decision.request_bytes;
        const ssize_t got = recv(fd, first, n, 0);  // the header, exactly
        if (got == static_cast<ssize_t>(n)) {
            sink_.adopt_with_request(fd, first, n);
        } else {
            ::close(fd);
        }
        return Adoption::WithRequest;
    }
    sink_.adopt_bare(fd);
    return Adoption::Bare;
}

// The held sockets that received something are decided now (the rest keep waiting), and those
// past host.pending_timeout_ms are closed.
void Acceptor::serve_pending() {
    if (pending_.size() == 0) return;
    ready_scratch_.clear();
    pending_.take_ready(ready_scratch_);
    for (const int fd : ready_scratch_) {
        if (pending_.holds(fd)) adopt_when_ready(fd, true);
    }
    pending_.expire(lws_now_usecs());
}

// Whether accept_ready has anything to do: a connection queued on the listening socket, a
// held socket that received something, or one past its deadline. Checked during a burst of
// disconnects, where accepting is not safe (inside an lws callback). The epoll set is only
// polled here (not read), so its edge-triggered reports are kept for accept_ready.
bool Acceptor::work_waiting() {
    const int64_t deadline = pending_.next_deadline_us();
    if (deadline && deadline <= lws_now_usecs()) return true;
    pollfd ready{pending_.ready_fd(), POLLIN, 0};
    return poll(&ready, 1, 0) > 0;
}

// Thousands of disconnects at once (a reconnect storm) arrive in one loop turn and take ~80 us
// each in lws (mostly its _DEBUG scan of the descriptor table on every close). Every
// kClosesPerCheck of them (~2.5 ms), waiting new connections (and accepted ones whose request
// has arrived since) go first, so a reconnect does not wait for the whole burst. Counted on
// closes, not on every event: a check on every event tried in five storms gave p99
// 0.08-0.6 s against 0.08-0.27 s (before the host held such sockets, likely by taking
// connections before their request had arrived).
bool Acceptor::note_close() {
    if (++closes_since_check_ < kClosesPerCheck) return false;
    closes_since_check_ = 0;
    return work_waiting();
}

}  // namespace presence_host
