// The fast path's writer: frames queued during a loop turn leave at its end, one write per
// connection owed something (everything it is owed, framed back to back), and the writes of
// all connections in one io_uring submit (host.io_uring; else one send() each). A connection
// written less than host.write_interval_ms ago waits for it. What a full socket does not take
// goes to lws (lws_writes.cpp), which finishes it from the writable callback.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "host_server.hpp"

namespace presence_host {

// libev: after every callback of a loop turn. Held sockets are looked at every turn, and the
// loop wakes for the oldest one's deadline; then every connection owed frames is written.
void HostServer::on_turn_end() {
    acceptor_->serve_pending();
    flush_pending_writes();
    const int64_t deadline = acceptor_->next_deadline_us();
    if (deadline) {
        const int64_t wait_us = std::max<int64_t>(deadline - lws_now_usecs(), 1000);
        ev_loop_->wake_within(static_cast<double>(wait_us) / 1e6);
    }
}

void HostServer::request_write(Connection& conn) {
    if (!fast_path()) {  // the plain path: lws calls back when the socket takes it
        lws_callback_on_writable(conn.wsi);
        return;
    }
    if (conn.flush_pending) return;
    conn.flush_pending = true;
    pending_flush_.push_back(conn.id);
}

// End of a loop turn: every connection owed frames gets them in one write, straight away.
// The socket is almost always writable, so this skips what the writable callback costs per
// frame (POLLOUT on, a wake-up, POLLOUT off: two epoll_ctl calls and a loop pass), and frames
// owed to one connection from several messages of the turn share one send(). lws_write
// outside the writable callback is safe here: it is the loop thread, between callbacks, and a
// partial send stays in lws' buffer, which lws finishes before anything else.
void HostServer::flush_pending_writes() {
    const int64_t interval = options_.write_interval_us;
    const int64_t now = interval ? lws_now_usecs() : 0;
    int64_t wake_at = 0;
    for (size_t i = 0; i < pending_flush_.size(); ++i) {
        const auto it = connections_.find(pending_flush_[i]);
        if (it == connections_.end()) continue;  // closed during the turn
        Connection& conn = *it->second;
        if (interval && now < conn.next_write_us && !conn.close_code && !conn.close_now) {
            held_back_.push_back(conn.id);  // stays flush_pending: later frames join these
            if (!wake_at || conn.next_write_us < wake_at) wake_at = conn.next_write_us;
            continue;
        }
        conn.flush_pending = false;
        if (conn.queue.empty()) continue;
        if (interval) conn.next_write_us = now + interval;
        if (conn.close_now || conn.close_code || lws_partial_buffered(conn.wsi)) {
            // Closing, or the socket is full: the writable callback takes it from here.
            lws_callback_on_writable(conn.wsi);
            continue;
        }
        if (ring_.is_open() && stage_queued(conn)) continue;
        if (write_queued(conn) < 0) drop_failed_socket(conn);
    }
    submit_staged_writes();
    pending_flush_.clear();
    pending_flush_.swap(held_back_);
    if (wake_at) ev_loop_->wake_within(static_cast<double>(wake_at - now) / 1e6);
}

// The socket failed: nothing more is queued for it and lws closes it on its next pass (no
// close frame: there is no one to read it).
void HostServer::drop_failed_socket(Connection& conn) {
    conn.queue.clear(budget_of(conn));
    conn.close_now = true;
    lws_set_timeout(conn.wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

// Frames what the connection is owed (within FrameBatch's bounds) straight into the ring's
// buffer, to be sent with every other connection's at submit_staged_writes(). False, with
// nothing taken, when its first frame is larger than the ring's whole buffer (a snapshot of
// thousands of friends): write_queued() sends that one.
bool HostServer::stage_queued(Connection& conn) {
    // A large frame goes in pieces through lws (write_large_frame_piece).
    if (conn.queue.front_sent() || conn.queue.front().size() > FrameBatch::kMaxBytes) {
        return false;
    }
    const size_t first = conn.queue.front().size() + kMaxFrameHeader;
    if (ring_.room().size() < first || ring_.staged() >= SocketRing::kEntries) {
        submit_staged_writes();
        if (!ring_.is_open() || ring_.room().size() < first) return false;
    }
    const std::span<unsigned char> room = ring_.room();
    size_t used = 0;
    size_t frames = 0;
    while (!conn.queue.empty()) {
        const SharedFrame& frame = conn.queue.front();
        if (!FrameBatch::accepts(frames, used, frame.size()) ||
            used + kMaxFrameHeader + frame.size() > room.size()) {
            break;
        }
        used += write_text_frame(room.data() + used, frame.payload(), frame.size());
        ++frames;
        conn.queue.pop(budget_of(conn));
    }
    ring_.stage_send(lws_get_socket_fd(conn.wsi), used, reinterpret_cast<uintptr_t>(&conn));
    return true;
}

// Every staged write in one system call. Nothing runs between staging and here that could
// close a connection, so the tags (Connection pointers) are still good.
void HostServer::submit_staged_writes() {
    if (!ring_.is_open() || ring_.staged() == 0) return;
    ring_.submit([this](const SocketRing::Outcome& outcome) {
        Connection& conn = *reinterpret_cast<Connection*>(outcome.tag);
        if (outcome.result < 0 && outcome.result != -EAGAIN && outcome.result != -EINTR) {
            drop_failed_socket(conn);
            return;
        }
        const size_t sent = outcome.result > 0 ? static_cast<size_t>(outcome.result) : 0;
        if (sent < outcome.len) {
            // A full socket took part or none of it: lws keeps the rest in its own buffer
            // (LWS_WRITE_RAW, as in write_queued) and finishes it before anything else.
            const size_t rest = outcome.len - sent;
            if (options_.log_level >= PRESENCE_LOG_DEBUG) {
                char line[128];
                std::snprintf(line, sizeof line,
                              "connection %llu: socket full, %zu of %zu bytes left to lws",
                              static_cast<unsigned long long>(conn.id), rest, outcome.len);
                log(PRESENCE_LOG_DEBUG, line);
            }
            if (leftover_.size() < LWS_PRE + rest) leftover_.resize(LWS_PRE + rest);
            std::memcpy(leftover_.data() + LWS_PRE, outcome.data + sent, rest);
            if (lws_write(conn.wsi, leftover_.data() + LWS_PRE, rest, LWS_WRITE_RAW) < 0) {
                drop_failed_socket(conn);
                return;
            }
        }
        if (!conn.queue.empty() || conn.close_code) lws_callback_on_writable(conn.wsi);
    });
}

}  // namespace presence_host
