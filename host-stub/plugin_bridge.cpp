// The plugin's side of the host: the presence_host_api table (thin trampolines from the C ABI
// into HostServer; none lets an exception reach the plugin's C frames, guarded below), and
// what its send, send_many and close do on the host's side. The plugin's hooks are called
// from lws_bridge.cpp and http_routes.cpp.
#include <time.h>

#include <cstdio>
#include <mutex>

#include "host_server.hpp"

namespace presence_host {
namespace {

HostServer& server_of(void* ctx) {
    return *static_cast<HostServer*>(ctx);
}

// Runs a HostServer call for the plugin and keeps every exception on this side of the C
// boundary: the calls that copy (a frame, a body, a reason) can only fail with
// std::bad_alloc, which becomes the ABI's failure answer (-1, 0 frames queued, or nothing).
template <typename Result, typename Call>
Result guarded(Result on_failure, Call&& call) noexcept {
    try {
        return call();
    } catch (...) {
        return on_failure;
    }
}

int host_send(void* ctx, uint64_t conn_id, const char* data, size_t len) noexcept {
    return guarded(-1, [&] { return server_of(ctx).send(conn_id, data, len); });
}

size_t host_send_many(void* ctx, const uint64_t* ids, size_t n, const char* data,
                      size_t len) noexcept {
    return guarded(size_t{0}, [&] { return server_of(ctx).send_many(ids, n, data, len); });
}

void host_close(void* ctx, uint64_t conn_id, uint16_t code, const char* reason) noexcept {
    guarded(0, [&] {
        server_of(ctx).close(conn_id, code, reason);
        return 0;
    });
}

void host_respond(void* ctx, uint64_t request_id, int status, const char* content_type,
                  const char* body, size_t len) noexcept {
    guarded(0, [&] {
        server_of(ctx).respond(request_id, status, content_type, body, len);
        return 0;
    });
}

void host_respond_with_headers(void* ctx, uint64_t request_id, int status, const char* content_type,
                               const presence_http_header* headers, size_t n_headers,
                               const char* body, size_t len) noexcept {
    guarded(0, [&] {
        server_of(ctx).respond(request_id, status, content_type, body, len, headers, n_headers);
        return 0;
    });
}

void host_log(void* ctx, int level, const char* message) noexcept {
    guarded(0, [&] {
        server_of(ctx).log(level, message);
        return 0;
    });
}

int64_t host_now_ms(void*) noexcept {
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    return static_cast<int64_t>(now.tv_sec) * 1000 + now.tv_nsec / 1000000;
}

void host_wake(void* ctx) noexcept {
    server_of(ctx).wake();
}

void host_on_presence_change(void* ctx, const presence_change* change) noexcept {
    HostServer& server = server_of(ctx);
    if (server.options().log_level >= PRESENCE_LOG_DEBUG && change && change->user_id) {
        char line[160];
        std::snprintf(line, sizeof line, "presence change: %.64s status=%d connections=%d",
                      change->user_id, change->status, change->connections);
        server.log(PRESENCE_LOG_DEBUG, line);
    }
}

const char* level_name(int level) {
    switch (level) {
        case PRESENCE_LOG_ERROR:
            return "error";
        case PRESENCE_LOG_WARN:
            return "warn";
        case PRESENCE_LOG_INFO:
            return "info";
        default:
            return "debug";
    }
}

// log() may come from the plugin's worker threads; one lock keeps lines whole.
std::mutex log_mutex;

}  // namespace

void HostServer::log(int level, const char* message) const {
    if (level > options_.log_level) return;
    std::lock_guard lock(log_mutex);
    std::fprintf(stderr, "[%s] %s\n", level_name(level), message ? message : "");
    std::fflush(stderr);
}

void HostServer::wake() {
    // Thread-safe in lws: it writes to the loop's wake pipe, and the loop then delivers
    // LWS_CALLBACK_EVENT_WAIT_CANCELLED, where on_wake runs.
    if (context_) lws_cancel_service(context_);
}

presence_host_api make_host_api(HostServer& server) {
    presence_host_api api{};
    api.struct_size = sizeof api;
    api.host_ctx = &server;
    api.send = host_send;
    api.close = host_close;
    api.respond = host_respond;
    api.log = host_log;
    api.now_ms = host_now_ms;
    api.wake = host_wake;
    api.on_presence_change = host_on_presence_change;
    api.send_many = host_send_many;
    api.respond_with_headers = host_respond_with_headers;
    return api;
}

int HostServer::send(uint64_t conn_id, const char* data, size_t len) {
    const auto it = connections_.find(conn_id);
    if (it == connections_.end()) return -1;
    Connection& conn = *it->second;
    if (conn.close_code || conn.close_now) return -1;
    return enqueue(conn, SharedFrame::copy_of(data, len)) ? 0 : -1;
}

size_t HostServer::send_many(const uint64_t* ids, size_t n, const char* data, size_t len) {
    if (!ids || n == 0) return 0;
    SharedFrame frame;  // copied once, on the first live connection, shared by the rest
    size_t delivered = 0;
    for (size_t i = 0; i < n; ++i) {
        const auto it = connections_.find(ids[i]);
        if (it == connections_.end()) continue;
        Connection& conn = *it->second;
        if (conn.close_code || conn.close_now) continue;
        if (!frame) frame = SharedFrame::copy_of(data, len);
        if (enqueue(conn, frame)) ++delivered;
    }
    return delivered;
}

void HostServer::close(uint64_t conn_id, uint16_t code, const char* reason) {
    const auto it = connections_.find(conn_id);
    if (it == connections_.end()) return;
    Connection& conn = *it->second;
    if (conn.close_code || conn.close_now) return;
    begin_close(conn, code ? code : static_cast<uint16_t>(LWS_CLOSE_STATUS_NORMAL),
                reason ? reason : "");
}

}  // namespace presence_host
