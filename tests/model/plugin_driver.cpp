#include "plugin_driver.hpp"

#include <dlfcn.h>

namespace presence::model {

const presence_plugin_api* PluginDriver::api(std::string& why) {
    static const presence_plugin_api* table = nullptr;
    static std::string reason;
    if (!table && reason.empty()) {
        // Never dlclosed: the table must outlive every driver, and the process is a test.
        void* so = dlopen(PRESENCE_PLUGIN_PATH, RTLD_NOW | RTLD_LOCAL);
        if (!so) {
            reason = dlerror();
        } else {
            auto entry = reinterpret_cast<presence_entry_fn>(dlsym(so, PRESENCE_ENTRY_SYMBOL));
            char err[256] = "";
            table = entry ? entry(PRESENCE_ABI_VERSION, err, sizeof err) : nullptr;
            if (!table) reason = entry ? err : "no entry symbol";
        }
    }
    why = reason;
    return table;
}

PluginDriver::PluginDriver(std::int64_t start_ms,
                           std::vector<std::pair<std::string, std::string>> settings)
    : now(start_ms) {
    api_ = api(error_);
    if (!api_) return;
    presence_host_api t{};
    t.struct_size = sizeof t;
    t.host_ctx = this;
    t.send = on_send;
    t.send_many = on_send_many;
    t.close = on_close;
    t.respond = on_respond;
    t.now_ms = on_now;
    t.wake = on_wake;
    t.on_presence_change = on_change;
    std::vector<presence_setting> s;
    for (const auto& [k, v] : settings) s.push_back({k.c_str(), v.c_str()});
    char err[256] = "";
    plugin_ = api_->create(&t, s.data(), s.size(), err, sizeof err);
    if (!plugin_) error_ = err;
}

PluginDriver::~PluginDriver() {
    if (plugin_) api_->destroy(plugin_);
}

int PluginDriver::on_send(void* ctx, std::uint64_t conn, const char* data, std::size_t len) {
    static_cast<PluginDriver*>(ctx)->frames_.emplace_back(conn, std::string(data, len));
    return 0;
}

std::size_t PluginDriver::on_send_many(void* ctx, const std::uint64_t* conns, std::size_t n,
                                       const char* data, std::size_t len) {
    auto* d = static_cast<PluginDriver*>(ctx);
    for (std::size_t i = 0; i < n; ++i) d->frames_.emplace_back(conns[i], std::string(data, len));
    return n;
}

void PluginDriver::on_close(void* ctx, std::uint64_t conn, std::uint16_t code, const char*) {
    static_cast<PluginDriver*>(ctx)->closes_.emplace_back(conn, code);
}

void PluginDriver::on_respond(void* ctx, std::uint64_t id, int status, const char*,
                              const char* body, std::size_t len) {
    auto& a = static_cast<PluginDriver*>(ctx)->answers_[id];
    a.status = status;
    a.body.assign(body, len);
}

std::int64_t PluginDriver::on_now(void* ctx) {
    return static_cast<PluginDriver*>(ctx)->now;
}

void PluginDriver::on_change(void* ctx, const presence_change* c) {
    static_cast<PluginDriver*>(ctx)->changes_.push_back(Change{
        std::string(c->user_id, c->user_id_len), c->status, c->chosen_status, c->connections});
}

void PluginDriver::on_wake(void* ctx) {
    static_cast<PluginDriver*>(ctx)->woken_ = true;
}

void PluginDriver::drain_wakes() {
    // The in-memory store answers inline; a wake (if any) is served at once, as a loop would.
    for (int i = 0; i < 100 && woken_.exchange(false); ++i) api_->on_wake(plugin_);
}

int PluginDriver::connect(std::uint64_t conn, const std::string& user) {
    const int rc = api_->on_connect(plugin_, conn, user.data(), user.size());
    drain_wakes();
    return rc;
}

void PluginDriver::disconnect(std::uint64_t conn) {
    api_->on_disconnect(plugin_, conn);
    drain_wakes();
}

void PluginDriver::message(std::uint64_t conn, const std::string& text) {
    api_->on_message(plugin_, conn, text.data(), text.size());
    drain_wakes();
}

HttpAnswer PluginDriver::http(const char* method, const std::string& path, const std::string& user,
                              const std::string& body) {
    presence_http_request r{};
    r.struct_size = sizeof r;
    r.request_id = next_request_++;
    r.method = method;
    r.path = path.c_str();
    r.user_id = user.c_str();
    r.body = body.data();
    r.body_len = body.size();
    if (api_->on_http(plugin_, &r) != PRESENCE_HTTP_HANDLED) return HttpAnswer{-1, "not mine"};
    drain_wakes();
    auto it = answers_.find(r.request_id);
    if (it == answers_.end()) return HttpAnswer{-2, "no answer"};
    HttpAnswer a = it->second;
    answers_.erase(it);
    return a;
}

int PluginDriver::friendship(int op, const std::string& a, const std::string& b) {
    char err[256] = "";
    const int rc =
        api_->friendship(plugin_, op, a.data(), a.size(), b.data(), b.size(), err, sizeof err);
    drain_wakes();
    return rc;
}

int PluginDriver::friendships(const std::vector<presence_friendship>& ops) {
    char err[256] = "";
    const int rc = api_->friendships(plugin_, ops.data(), ops.size(), err, sizeof err);
    drain_wakes();
    return rc;
}

void PluginDriver::tick() {
    api_->tick(plugin_);
    drain_wakes();
}

std::vector<std::pair<std::uint64_t, std::string>> PluginDriver::take_frames() {
    return std::exchange(frames_, {});
}

std::vector<Change> PluginDriver::take_changes() {
    return std::exchange(changes_, {});
}

std::vector<std::pair<std::uint64_t, std::uint16_t>> PluginDriver::take_closes() {
    return std::exchange(closes_, {});
}

}  // namespace presence::model
