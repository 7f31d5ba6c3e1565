// The lws side of a WebSocket: the one protocol callback (HTTP and /ws share the port; the
// HTTP half is http_routes.cpp), the upgrade filter, a connection established, its messages
// received, and its end; the closes the host decides on what lws reads (a ping flood, an
// unmasked frame). How frames leave is lws_writes.cpp.
#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "admin_routes.hpp"
#include "host_server.hpp"
#include "peer_address.hpp"
#include "request_fields.hpp"
#include "token.hpp"

namespace presence_host {
namespace {

// lws hands every callback its context, and the context holds the server it was created for
// (lws_context_creation_info::user, create_context). Before that exists: lws' default.
int protocol_callback(lws* wsi, lws_callback_reasons reason, void* user, void* in, size_t len) {
    auto* server = wsi ? static_cast<HostServer*>(lws_context_user(lws_get_context(wsi))) : nullptr;
    if (!server) return lws_callback_http_dummy(wsi, reason, user, in, len);
    return server->on_lws_event(wsi, static_cast<int>(reason), user, in, len);
}

const lws_protocols kProtocols[] = {
    // rx_buffer_size is small on purpose: lws keeps one per WebSocket, and a benchmark
    // holds ~20,000 of them. Larger messages arrive in pieces and are reassembled.
    // tx_packet_size is what lws hands the kernel per send (it allocates nothing for it);
    // left 0 it would be rx_buffer_size + 20, cutting a batch of frames into 532-byte sends,
    // each a loop turn of its own.
    {"presence", protocol_callback, sizeof(SessionSlot), 512, 0, nullptr, FrameBatch::kMaxBytes},
    {nullptr, nullptr, 0, 0, 0, nullptr, 0}};

int64_t now_seconds() {
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    return now.tv_sec;
}

}  // namespace

const lws_protocols* lws_protocols_of_host() {
    return kProtocols;
}

std::string HostServer::authenticate(lws* wsi, const std::string& bearer,
                                     const std::string& query) {
    std::string token = bearer.empty() ? query_param(query, "token") : bearer;
    if (!token.empty()) {
        if (options_.auth_secret.empty()) return {};
        auto result = verify_token(options_.auth_secret, token, now_seconds());
        if (result.check != TokenCheck::ok) {
            log(PRESENCE_LOG_DEBUG,
                (std::string("token refused: ") + token_check_name(result.check)).c_str());
            return {};
        }
        return result.user_id;
    }
    if (options_.demo) {
        std::string user = query_param(query, "user");
        if (!user.empty() && is_valid_user_id(user) && is_loopback_peer(lws_get_socket_fd(wsi))) {
            return user;
        }
    }
    return {};
}

int HostServer::on_lws_event(lws* wsi, int reason_int, void* user, void* in, size_t len) {
    auto reason = static_cast<lws_callback_reasons>(reason_int);
    auto* slot = static_cast<SessionSlot*>(user);
    switch (reason) {
        case LWS_CALLBACK_HTTP:
            // A plain request: an upgrade later on this connection would not be watched.
            if (mask_guard_) mask_guard_->forget(lws_get_socket_fd(wsi));
            return on_http_request(wsi, slot, static_cast<const char*>(in));
        case LWS_CALLBACK_HTTP_BODY:
            return on_http_body(slot, static_cast<const char*>(in), len);
        case LWS_CALLBACK_HTTP_BODY_COMPLETION:
            if (!slot || !slot->http) return -1;
            return dispatch_http(*slot->http);
        case LWS_CALLBACK_HTTP_WRITEABLE:
            return on_http_writeable(wsi, slot);
        case LWS_CALLBACK_CLOSED_HTTP:
            if (mask_guard_) mask_guard_->forget(lws_get_socket_fd(wsi));
            on_http_closed(slot);
            break;
        case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
            return on_filter_ws(wsi);
        case LWS_CALLBACK_ESTABLISHED:
            on_established(wsi, slot);
            return 0;
        case LWS_CALLBACK_RECEIVE:
            if (slot && slot->connection) {
                Connection& conn = *slot->connection;
                on_receive(conn, static_cast<const char*>(in), len);
            }
            return 0;
        case LWS_CALLBACK_SERVER_WRITEABLE:
            if (!slot || !slot->connection) return -1;
            note_idle_writable(*slot->connection);
            return on_ws_writeable(*slot->connection);
        case LWS_CALLBACK_CLOSED:
            on_ws_closed(slot);
            return 0;
        case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
            // libev: SIGINT and SIGTERM come through our own handler, which can only wake the
            // loop. Finish the stop here, on the loop thread.
            if (stopping_.load() && fast_path()) stop_own_loop();
            if (plugin_ && !stopping_.load()) {
                api_->on_wake(plugin_);
                finish_friendship_writes();
            }
            return 0;
        default:
            break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

namespace {

// RFC 6455 4.2.2: a version the server does not speak is answered 426 with the one it does.
// lws 4.1 upgrades any version (it logs and carries on as 13), so the filter answers here.
int refuse_ws_version(lws* wsi) {
    const std::string body = json_error("upgrade_required", "Sec-WebSocket-Version must be 13");
    unsigned char buffer[LWS_PRE + 512];
    unsigned char* start = buffer + LWS_PRE;
    unsigned char* p = start;
    unsigned char* end = buffer + sizeof buffer - 1;
    static const unsigned char kName[] = "Sec-WebSocket-Version:";
    if (lws_add_http_common_headers(wsi, 426, "application/json", body.size(), &p, end) ||
        lws_add_http_header_by_name(wsi, kName, reinterpret_cast<const unsigned char*>("13"), 2, &p,
                                    end) ||
        lws_finalize_http_header(wsi, &p, end) || static_cast<size_t>(end - p) < body.size()) {
        return -1;
    }
    std::memcpy(p, body.data(), body.size());
    p += body.size();
    // HTTP/1: headers and body in one write, as lws_return_http_status does.
    lws_write(wsi, start, static_cast<size_t>(p - start), LWS_WRITE_HTTP);
    return -1;
}

}  // namespace

int HostServer::on_filter_ws(lws* wsi) {
    // RFC 6455 5.1 is enforced only on a stream read from its start (frame_mask_guard.hpp):
    // an upgrade after another request on the connection, or behind headers over the
    // Acceptor::kPeekBytes the acceptor peeks (lws' own header limit), is refused.
    if (mask_guard_ && !mask_guard_->handed_over(lws_get_socket_fd(wsi))) {
        lws_return_http_status(wsi, HTTP_STATUS_BAD_REQUEST, nullptr);
        return -1;
    }
    if (header_value(wsi, WSI_TOKEN_VERSION) != "13") return refuse_ws_version(wsi);
    if (header_value(wsi, WSI_TOKEN_GET_URI) != "/ws") {
        lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, nullptr);
        return -1;
    }
    const std::string user = authenticate(
        wsi, bearer_token(header_value(wsi, WSI_TOKEN_HTTP_AUTHORIZATION)), query_string(wsi));
    if (user.empty()) {
        // Refused before the upgrade: the client sees 401 and no WebSocket is ever opened.
        lws_return_http_status(wsi, HTTP_STATUS_UNAUTHORIZED, nullptr);
        return -1;
    }
    return 0;
}

void HostServer::on_established(lws* wsi, SessionSlot* slot) {
    if (!slot) return;
    slot->connection = nullptr;
    slot->http = nullptr;
    // Headers are still attached here; the filter already checked them, this only reads the
    // user id back (cheaper to recompute than to keep per connection).
    const std::string user = authenticate(
        wsi, bearer_token(header_value(wsi, WSI_TOKEN_HTTP_AUTHORIZATION)), query_string(wsi));
    auto conn = std::make_unique<Connection>();
    conn->wsi = wsi;
    conn->id = next_conn_id_++;
    Connection& ref = *conn;
    slot->connection = conn.get();
    connections_.emplace(ref.id, std::move(conn));
    if (mask_guard_) mask_guard_->watch(lws_get_socket_fd(wsi), &ref);
    if (user.empty() || !plugin_) {
        ref.close_code = LWS_CLOSE_STATUS_POLICY_VIOLATION;
        ref.close_reason = "unauthenticated";
        lws_callback_on_writable(wsi);
        return;
    }
    // Registered before on_connect so frames the plugin sends from inside it are queued.
    const int verdict = api_->on_connect(plugin_, ref.id, user.data(), user.size());
    if (verdict != 0) {
        ref.close_code = static_cast<uint16_t>(verdict);
        ref.close_reason = "refused";
        lws_callback_on_writable(wsi);
        return;
    }
    ref.accepted = true;
    ++handshakes_since_trim_;
}

// A writable callback with nothing to write: a ping flood past IdleWritables::kMaxPerSecond
// is closed with 1008 (idle_writables.hpp says why that count).
void HostServer::note_idle_writable(Connection& conn) {
    if (!conn.queue.empty() || conn.close_code || conn.close_now) return;
    if (!conn.idle.note(static_cast<uint32_t>(lws_now_usecs() / LWS_US_PER_SEC))) return;
    char line[128];
    std::snprintf(line, sizeof line, "connection %llu: ping flood, closing (1008)",
                  static_cast<unsigned long long>(conn.id));
    log(PRESENCE_LOG_WARN, line);
    begin_close(conn, LWS_CLOSE_STATUS_POLICY_VIOLATION, "too many pings");
}

// RFC 6455 5.1: an unmasked client frame (screened out of what lws reads, so neither lws nor the
// plugin sees it) fails the connection with 1002. Called from inside lws' read (recv_guard.cpp).
void HostServer::refuse_unmasked(Connection& conn) {
    if (conn.close_code || conn.close_now) return;
    char line[128];
    std::snprintf(line, sizeof line, "connection %llu: unmasked frame, closing (1002)",
                  static_cast<unsigned long long>(conn.id));
    log(PRESENCE_LOG_INFO, line);
    begin_close(conn, LWS_CLOSE_STATUS_PROTOCOL_ERR, "unmasked frame");
}

// Binary messages are handed over like text (the plugin answers what is not UTF-8 JSON with
// bad_json), as the ABI header suggests.
void HostServer::on_receive(Connection& conn, const char* data, size_t len) {
    if (conn.close_code || conn.close_now || !conn.accepted) return;
    const bool final = lws_is_final_fragment(conn.wsi);
    const size_t max = options_.max_message_bytes;
    auto count_dropped = [&conn](size_t more) {
        const uint64_t total = uint64_t{conn.oversized_bytes} + more;
        conn.oversized_bytes = static_cast<uint32_t>(std::min<uint64_t>(total, UINT32_MAX));
    };
    if (!conn.oversized && conn.partial.empty() && final) {
        // The common case: a whole small message in one piece, handed over without a copy.
        if (len <= max) {
            api_->on_message(plugin_, conn.id, data, len);
            return;
        }
        conn.oversized = true;
        count_dropped(len);
    } else if (!conn.oversized) {
        if (conn.partial.size() + len > max) {
            conn.oversized = true;
            count_dropped(conn.partial.size() + len);
            std::string().swap(conn.partial);
        } else {
            conn.partial.append(data, len);
        }
    } else {
        count_dropped(len);
    }
    if (!final) return;
    if (conn.oversized) {
        // Past the limit nothing more was buffered; the plugin sends its too_large error.
        conn.oversized = false;
        const size_t dropped = conn.oversized_bytes;
        conn.oversized_bytes = 0;
        if (PRESENCE_HAS_FIELD(api_, presence_plugin_api, on_message_too_large)) {
            api_->on_message_too_large(plugin_, conn.id, dropped);
        } else {  // a plugin older than that hook: the same frame, written here
            const std::string frame =
                "{\"type\":\"error\",\"code\":\"too_large\",\"message\":\"frame is " +
                std::to_string(dropped) + " bytes, the limit is " + std::to_string(max) + "\"}";
            send(conn.id, frame.data(), frame.size());
        }
        return;
    }
    std::string message;
    message.swap(conn.partial);  // leaves the connection's buffer empty and unallocated
    api_->on_message(plugin_, conn.id, message.data(), message.size());
}

void HostServer::on_ws_closed(SessionSlot* slot) {
    // In a burst of closes, waiting new connections go first now and then (note_close says
    // why and when): the acceptor's reader runs right after this callback.
    if (fast_path() && acceptor_->note_close()) ev_loop_->run_reader_next();
    if (!slot || !slot->connection) return;
    Connection* conn = slot->connection;
    slot->connection = nullptr;
    if (mask_guard_) mask_guard_->forget(lws_get_socket_fd(conn->wsi));
    const uint64_t id = conn->id;
    conn->close_now = true;  // sends from inside on_disconnect are refused, not queued
    conn->queue.clear(budget_of(*conn));
    if (conn->accepted && plugin_) api_->on_disconnect(plugin_, id);
    connections_.erase(id);
}

// Fast path: the acceptor's turn (held sockets, new connections), then the snapshots of the
// handshakes it started, at once.
void HostServer::on_listen_ready() {
    acceptor_->accept_ready();
    flush_pending_writes();
}

// The acceptor read the request: lws gets it with the socket and runs the handshake now. What
// follows the request in the socket (a client's first frames) lws reads, screened by the mask
// guard from its first byte (frame_mask_guard.hpp). On failure (e.g. lws at its descriptor
// limit) lws closes the socket.
void HostServer::adopt_with_request(int fd, const char* request, size_t len) {
    if (mask_guard_) mask_guard_->hand_over(fd);
    lws_adopt_socket_vhost_readbuf(vhost_, fd, request, len);
}

// lws reads this one's request from its first byte: not watchable by the mask guard.
void HostServer::adopt_bare(int fd) {
    if (mask_guard_) mask_guard_->forget(fd);
    lws_adopt_socket_vhost(vhost_, fd);
}

void HostServer::pause_accepting(double seconds) {
    ev_loop_->pause_reading_for(seconds);
}

}  // namespace presence_host
