#include "plugin_driver.hpp"

#include <dlfcn.h>

namespace presence::model {

const presence_plugin_api* PluginDriver::load_api(std::string& why) {
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
    const presence_plugin_api* table = load_api(error_);
    if (!table) return;
    create(table, settings, false, &error_);
}

PluginDriver::~PluginDriver() {
    destroy();
}

int PluginDriver::on_send(std::uint64_t conn, std::string_view frame) {
    frames_.emplace_back(conn, std::string(frame));
    return 0;
}

std::size_t PluginDriver::on_send_many(const std::uint64_t* conns, std::size_t n,
                                       std::string_view frame) {
    for (std::size_t i = 0; i < n; ++i) frames_.emplace_back(conns[i], std::string(frame));
    return n;
}

void PluginDriver::on_close(std::uint64_t conn, std::uint16_t code, const char*) {
    closes_.emplace_back(conn, code);
}

void PluginDriver::on_respond(std::uint64_t id, int status, const char*,
                              const presence_http_header*, std::size_t, std::string_view body) {
    auto& a = answers_[id];
    a.status = status;
    a.body.assign(body);
}

void PluginDriver::on_change(const presence_change& c) {
    changes_.push_back(
        Change{std::string(c.user_id, c.user_id_len), c.status, c.chosen_status, c.connections});
}

void PluginDriver::drain_wakes() {
    // The in-memory store answers inline; a wake (if any) is served at once, as a loop would.
    for (int i = 0; i < 100 && serve_wake(); ++i) {
    }
}

int PluginDriver::connect(std::uint64_t conn, const std::string& user) {
    const int rc = api()->on_connect(plugin(), conn, user.data(), user.size());
    drain_wakes();
    return rc;
}

void PluginDriver::disconnect(std::uint64_t conn) {
    api()->on_disconnect(plugin(), conn);
    drain_wakes();
}

void PluginDriver::message(std::uint64_t conn, const std::string& text) {
    api()->on_message(plugin(), conn, text.data(), text.size());
    drain_wakes();
}

HttpAnswer PluginDriver::http(const char* method, const std::string& path, const std::string& user,
                              const std::string& body) {
    const presence_http_request r =
        http_request(next_request_++, method, path.c_str(), nullptr, user.c_str(), body);
    if (api()->on_http(plugin(), &r) != PRESENCE_HTTP_HANDLED) return HttpAnswer{-1, "not mine"};
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
        api()->friendship(plugin(), op, a.data(), a.size(), b.data(), b.size(), err, sizeof err);
    drain_wakes();
    return rc;
}

int PluginDriver::friendships(const std::vector<presence_friendship>& ops) {
    char err[256] = "";
    const int rc = api()->friendships(plugin(), ops.data(), ops.size(), err, sizeof err);
    drain_wakes();
    return rc;
}

void PluginDriver::tick() {
    api()->tick(plugin());
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
