// How a frame leaves through lws: the writable callback (the plain path's every write, the
// fast path's for a full socket, a large frame or a close), one write of what a connection is
// owed (one frame, a batch framed by us, or a piece of a large frame), and the close: the close
// frame written by us, then a half-close while input drains.
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "host_server.hpp"

namespace presence_host {

int HostServer::on_ws_writeable(Connection& conn) {
    if (conn.closing == Connection::Closing::lingering) return 0;
    if (conn.closing == Connection::Closing::frame_written) {
        close_linger(conn);  // lws' buffer (the close frame's tail) has reached the socket
        return 0;
    }
    // A cut connection may still owe the rest of a large frame it was in the middle of.
    if (!conn.queue.empty()) return write_queued(conn);
    if (conn.close_now) {
        return send_close_frame(conn, LWS_CLOSE_STATUS_POLICY_VIOLATION, conn.close_reason);
    }
    if (conn.close_code) return send_close_frame(conn, conn.close_code, conn.close_reason);
    return 0;
}

// One write with what the connection is owed; asks for a writable callback if more is left
// (past the batch bounds) or a close is due. -1 when the socket failed.
int HostServer::write_queued(Connection& conn) {
    if (conn.queue.front_sent() || conn.queue.front().size() > FrameBatch::kMaxBytes) {
        if (write_large_frame_piece(conn) < 0) return -1;
    } else if (conn.queue.queued_frames() == 1) {
        // One frame: lws frames it in the frame's own headroom, no copy.
        const SharedFrame frame = conn.queue.front();  // keeps the bytes alive over the write
        conn.queue.pop(budget_of(conn));
        if (lws_write(conn.wsi, frame.payload(), frame.size(), LWS_WRITE_TEXT) < 0) return -1;
    } else {
        // Several frames (a fan-out burst, or a backlog while the socket was full): frame them
        // ourselves back to back and hand them over in one write, one send() instead of one
        // per frame. LWS_WRITE_RAW (= LWS_WRITE_HTTP) on a ws wsi goes straight to
        // lws_issue_raw in lws 4.1.6: no header added, and a partial send is kept in lws' own
        // output buffer and finished before anything else is written. No extensions are
        // negotiated (no permessage-deflate), so our frames are exactly what goes on the wire.
        batch_.clear();
        while (!conn.queue.empty()) {
            const SharedFrame& frame = conn.queue.front();
            // A large frame goes in pieces of its own, next time.
            if (frame.size() > FrameBatch::kMaxBytes || !batch_.add(frame.payload(), frame.size()))
                break;
            conn.queue.pop(budget_of(conn));
        }
        if (lws_write(conn.wsi, batch_.data(), batch_.size(), LWS_WRITE_RAW) < 0) return -1;
    }
    if (!conn.queue.empty() || conn.close_code || conn.close_now) {
        lws_callback_on_writable(conn.wsi);
    }
    return 0;
}

// The next piece (at most FrameBatch::kMaxBytes) of a frame too large for one batch: a
// 100,000-friend snapshot (~8 MB) leaves in ~120 writes, each one writable callback, so the
// loop serves the other connections in between and lws never holds a copy of the whole frame
// (it keeps at most one piece of it when the socket is full).
int HostServer::write_large_frame_piece(Connection& conn) {
    const SharedFrame frame = conn.queue.front();  // keeps the bytes alive over the write
    const size_t offset = conn.queue.front_sent();
    const size_t len = std::min(FrameBatch::kMaxBytes, frame.size() - offset);
    batch_.start_piece(frame.payload(), frame.size(), offset, len);
    conn.queue.advance_front(len, budget_of(conn));
    return lws_write(conn.wsi, batch_.data(), batch_.size(), LWS_WRITE_RAW) < 0 ? -1 : 0;
}

// Every close the host or the plugin decides: frames queued before it still go out (e.g. the
// error that explains it), then on_ws_writeable sends the close frame (send_close_frame); a
// peer that never lets it out is dropped after 10 s.
void HostServer::begin_close(Connection& conn, uint16_t code, std::string reason) {
    conn.close_code = code;
    conn.close_reason = std::move(reason);
    lws_callback_on_writable(conn.wsi);
    lws_set_timeout(conn.wsi, PENDING_TIMEOUT_CLOSE_SEND, 10);
}

// The close frame, written by us rather than through lws' close: lws 4.1 closes the socket
// right after its shutdown(SHUT_WR) (its staged close never runs), so when the peer was still
// sending, unread input made the kernel answer with a TCP reset, which can destroy the close
// frame before the peer has read it: the client saw 1006 instead of 1008. Here the frame goes
// out, then close_linger() half-closes the socket and lets input drain until the peer closes
// (or kLingerSeconds pass); only then does lws close the descriptor.
int HostServer::send_close_frame(Connection& conn, uint16_t code, const std::string& reason) {
    unsigned char buffer[LWS_PRE + kMaxCloseFrame];
    unsigned char* frame = buffer + LWS_PRE;
    const size_t len = write_close_frame(frame, code, reason);
    // Raw, like a batch (write_queued): lws adds nothing and keeps what a full socket refuses.
    if (lws_write(conn.wsi, frame, len, LWS_WRITE_RAW) < 0) return -1;
    conn.closing = Connection::Closing::frame_written;
    if (lws_partial_buffered(conn.wsi)) {
        lws_callback_on_writable(conn.wsi);  // called once lws has written it all
        lws_set_timeout(conn.wsi, PENDING_TIMEOUT_CLOSE_SEND, 5);
        return 0;
    }
    close_linger(conn);
    return 0;
}

// Half-close after the close frame: the kernel sends it, then FIN. Input is still read (and
// dropped, on_receive) so the socket is never closed with unread bytes, which is what draws
// the reset. lws closes it when the peer closes (EOF, or its close frame: lws' reply then
// fails on the shut socket) or, for a peer that never does, after kLingerSeconds.
void HostServer::close_linger(Connection& conn) {
    constexpr int kLingerSeconds = 2;
    conn.closing = Connection::Closing::lingering;
    shutdown(lws_get_socket_fd(conn.wsi), SHUT_WR);
    lws_set_timeout(conn.wsi, PENDING_TIMEOUT_USER_OK, kLingerSeconds);
}

}  // namespace presence_host
