#include "abi_test_host.hpp"

namespace presence::test {

bool AbiTestHost::create(const presence_plugin_api* api, const Settings& settings,
                         bool with_headers, std::string* why) {
    api_ = api;
    if (!api_) {
        *why = "no plugin table";
        return false;
    }
    presence_host_api host{};
    host.struct_size = sizeof host;
    host.host_ctx = this;
    host.send = cb_send;
    host.send_many = cb_send_many;
    host.close = cb_close;
    host.respond = cb_respond;
    host.log = cb_log;
    host.now_ms = cb_now;
    host.wake = cb_wake;
    host.on_presence_change = cb_change;
    if (with_headers) host.respond_with_headers = cb_respond_with_headers;
    std::vector<presence_setting> list;
    list.reserve(settings.size());
    for (const auto& [key, value] : settings) list.push_back({key.c_str(), value.c_str()});
    char reason[256] = "";
    plugin_ = api_->create(&host, list.data(), list.size(), reason, sizeof reason);
    if (!plugin_) *why = reason;
    return plugin_ != nullptr;
}

void AbiTestHost::destroy() {
    if (!plugin_) return;
    destroying_ = true;
    api_->destroy(plugin_);
    plugin_ = nullptr;
    destroying_ = false;
}

bool AbiTestHost::serve_wake() {
    if (!plugin_ || !woken_.exchange(false)) return false;
    api_->on_wake(plugin_);
    return true;
}

presence_http_request AbiTestHost::http_request(std::uint64_t id, const char* method,
                                                const char* path, const char* query,
                                                const char* user, std::string_view body,
                                                const presence_http_header* headers,
                                                std::size_t n_headers) {
    presence_http_request request{};
    request.struct_size = sizeof request;
    request.request_id = id;
    request.method = method;
    request.path = path;
    request.query = query;
    request.user_id = user;
    request.body = body.data();
    request.body_len = body.size();
    request.headers = headers;
    request.n_headers = n_headers;
    return request;
}

std::size_t AbiTestHost::on_send_many(const std::uint64_t* conns, std::size_t n,
                                      std::string_view frame) {
    std::size_t sent = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (on_send(conns[i], frame) == 0) ++sent;
    }
    return sent;
}

// ---- the table's entries: back to the object, then to the subclass ----

int AbiTestHost::cb_send(void* ctx, std::uint64_t conn, const char* data, std::size_t len) {
    return static_cast<AbiTestHost*>(ctx)->on_send(conn, {data, len});
}

std::size_t AbiTestHost::cb_send_many(void* ctx, const std::uint64_t* conns, std::size_t n,
                                      const char* data, std::size_t len) {
    return static_cast<AbiTestHost*>(ctx)->on_send_many(conns, n, {data, len});
}

void AbiTestHost::cb_close(void* ctx, std::uint64_t conn, std::uint16_t code, const char* reason) {
    static_cast<AbiTestHost*>(ctx)->on_close(conn, code, reason);
}

void AbiTestHost::cb_respond(void* ctx, std::uint64_t id, int status, const char* type,
                             const char* body, std::size_t len) {
    static_cast<AbiTestHost*>(ctx)->on_respond(id, status, type, nullptr, 0, {body, len});
}

void AbiTestHost::cb_respond_with_headers(void* ctx, std::uint64_t id, int status, const char* type,
                                          const presence_http_header* headers, std::size_t n,
                                          const char* body, std::size_t len) {
    static_cast<AbiTestHost*>(ctx)->on_respond(id, status, type, headers, n, {body, len});
}

void AbiTestHost::cb_log(void* ctx, int level, const char* message) {
    static_cast<AbiTestHost*>(ctx)->on_log(level, message);
}

std::int64_t AbiTestHost::cb_now(void* ctx) {
    return static_cast<AbiTestHost*>(ctx)->on_now();
}

void AbiTestHost::cb_wake(void* ctx) {
    auto* self = static_cast<AbiTestHost*>(ctx);
    self->woken_ = true;
    self->on_wake_requested();
}

void AbiTestHost::cb_change(void* ctx, const presence_change* change) {
    static_cast<AbiTestHost*>(ctx)->on_change(*change);
}

}  // namespace presence::test
