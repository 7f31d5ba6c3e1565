// The C entry point: the one exported symbol and the static table of hooks. Each hook turns
// an ABI call into a Service call and catches everything, because no C++ exception may cross
// into the host (a crash of the host is worse than one lost event).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <thread>

#include "presence_plugin.h"
#include "service/make_service.hpp"
#include "service/service.hpp"

struct presence_plugin {
    std::unique_ptr<presence::service::Service> service;
#ifndef NDEBUG
    std::thread::id loop_thread{};  // the thread of the first hook after create
    int hooks_running = 0;          // > 0 inside a hook: another hook now is a re-entry
#endif
};

namespace {

using presence::service::Service;

void write_reason(char* err, size_t cap, const std::string& why) {
    if (!err || cap == 0) return;
    const size_t n = std::min(cap - 1, why.size());
    std::memcpy(err, why.data(), n);
    err[n] = '\0';
}

// Logs a caught exception through the instance's host log (when it has one).
void log_failure(presence_plugin* p, const char* hook, const char* what) noexcept {
    try {
        if (p && p->service) {
            p->service->log(PRESENCE_LOG_ERROR, std::string(hook) + " failed: " + what);
        }
    } catch (...) {
    }
}

// Runs `fn`, turning any exception into a log line and `fallback`.
template <typename R, typename Fn>
R guarded(presence_plugin* p, const char* hook, R fallback, Fn&& fn) noexcept {
    try {
        return fn();
    } catch (const std::exception& e) {
        log_failure(p, hook, e.what());
    } catch (...) {
        log_failure(p, hook, "unknown exception");
    }
    return fallback;
}

// Debug builds check the threading rules of the ABI header on every hook: the instance's
// loop thread only, and never from inside another hook of the same instance (a host
// callback calling back in). A breach is a host bug that corrupts state silently in a
// release build, so here it is logged and stops the process, like an assert.
class HookCheck {
  public:
    enum class Thread { LoopOnly, Any };
    HookCheck(presence_plugin* p, const char* hook, Thread thread = Thread::LoopOnly) noexcept
        : p_(p) {
#ifndef NDEBUG
        if (!p_) return;
        const std::thread::id self = std::this_thread::get_id();
        if (thread == Thread::LoopOnly) {
            if (p_->loop_thread == std::thread::id{}) p_->loop_thread = self;
            if (p_->loop_thread != self) {
                breach(hook,
                       "called on another thread than the instance's loop thread (the "
                       "thread of its first hook)");
            }
        }
        if (p_->hooks_running++ > 0) {
            breach(hook,
                   "called while another hook of the same instance is running (from "
                   "inside a host callback?)");
        }
#else
        (void)hook;
        (void)thread;
#endif
    }
    ~HookCheck() {
#ifndef NDEBUG
        if (p_) --p_->hooks_running;
#endif
    }
    HookCheck(const HookCheck&) = delete;
    HookCheck& operator=(const HookCheck&) = delete;

  private:
#ifndef NDEBUG
    [[noreturn]] void breach(const char* hook, const char* what) noexcept {
        const std::string line = std::string("presence: ABI misuse: ") + hook + " " + what +
                                 " (see abi/presence_plugin.h, Threads)";
        try {
            if (p_->service) p_->service->log(PRESENCE_LOG_ERROR, line);
        } catch (...) {
        }
        std::fprintf(stderr, "%s\n", line.c_str());
        std::abort();
    }
#endif
    presence_plugin* p_;
};

bool host_table_usable(const presence_host_api* host, std::string& why) {
    if (!host) {
        why = "host table is NULL";
        return false;
    }
    if (!PRESENCE_HAS_FIELD(host, presence_host_api, wake)) {
        why = "host table too small (struct_size " + std::to_string(host->struct_size) + ")";
        return false;
    }
    if (!host->send || !host->close || !host->respond || !host->now_ms || !host->wake) {
        why = "host table lacks a required callback (send, close, respond, now_ms, wake)";
        return false;
    }
    return true;
}

presence_plugin* plugin_create(const presence_host_api* host, const presence_setting* settings,
                               size_t n_settings, char* err, size_t err_cap) noexcept {
    try {
        std::string why;
        if (!host_table_usable(host, why)) {
            write_reason(err, err_cap, why);
            return nullptr;
        }
        // Copy what the host's struct holds; fields it does not know stay NULL (append-only).
        presence_host_api copy{};
        std::memcpy(&copy, host, std::min<size_t>(host->struct_size, sizeof copy));
        copy.struct_size = sizeof copy;

        presence::service::SettingList list;
        for (size_t i = 0; i < n_settings; ++i) {
            if (!settings[i].key) continue;
            list.emplace_back(settings[i].key, settings[i].value ? settings[i].value : "");
        }
        auto service = presence::service::make_service(copy, list, why);
        if (!service) {
            write_reason(err, err_cap, why);
            return nullptr;
        }
        auto plugin = std::make_unique<presence_plugin>();
        plugin->service = std::move(service);
        return plugin.release();  // owned by the host until destroy()
    } catch (const std::exception& e) {
        write_reason(err, err_cap, std::string("create failed: ") + e.what());
    } catch (...) {
        write_reason(err, err_cap, "create failed");
    }
    return nullptr;
}

void plugin_destroy(presence_plugin* p) noexcept {
    if (!p) return;
    std::unique_ptr<presence_plugin> owned(p);
    {
        // Ends before the instance is freed below: the check lives in it.
        const HookCheck check(p, "destroy", HookCheck::Thread::Any);
        guarded(p, "destroy", 0, [&] {
            owned->service->shutdown();
            return 0;
        });
    }
    try {
        owned.reset();
    } catch (...) {
    }
}

int plugin_on_connect(presence_plugin* p, uint64_t conn, const char* user, size_t len) noexcept {
    if (!p || !user) return PRESENCE_CLOSE_POLICY;
    const HookCheck check(p, "on_connect");
    return guarded(p, "on_connect", PRESENCE_CLOSE_INTERNAL,
                   [&] { return p->service->on_connect(conn, std::string_view(user, len)); });
}

void plugin_on_disconnect(presence_plugin* p, uint64_t conn) noexcept {
    if (!p) return;
    const HookCheck check(p, "on_disconnect");
    guarded(p, "on_disconnect", 0, [&] {
        p->service->on_disconnect(conn);
        return 0;
    });
}

void plugin_on_message(presence_plugin* p, uint64_t conn, const char* data, size_t len) noexcept {
    if (!p) return;
    const HookCheck check(p, "on_message");
    guarded(p, "on_message", 0, [&] {
        p->service->on_message(conn, data ? std::string_view(data, len) : std::string_view{});
        return 0;
    });
}

int plugin_on_http(presence_plugin* p, const presence_http_request* req) noexcept {
    if (!p || !req) return PRESENCE_HTTP_NOT_MINE;
    // A request struct from an older host is missing fields we read: let the host answer.
    if (!PRESENCE_HAS_FIELD(req, presence_http_request, body_len)) return PRESENCE_HTTP_NOT_MINE;
    const HookCheck check(p, "on_http");
    return guarded(p, "on_http", PRESENCE_HTTP_NOT_MINE, [&] { return p->service->on_http(*req); });
}

void plugin_tick(presence_plugin* p) noexcept {
    if (!p) return;
    const HookCheck check(p, "tick");
    guarded(p, "tick", 0, [&] {
        p->service->tick();
        return 0;
    });
}

void plugin_on_wake(presence_plugin* p) noexcept {
    if (!p) return;
    const HookCheck check(p, "on_wake");
    guarded(p, "on_wake", 0, [&] {
        p->service->on_wake();
        return 0;
    });
}

int plugin_friendship(presence_plugin* p, int op, const char* a, size_t a_len, const char* b,
                      size_t b_len, char* err, size_t err_cap) noexcept {
    if (!p || !a || !b) {
        write_reason(err, err_cap, "NULL argument");
        return -1;
    }
    const HookCheck check(p, "friendship");
    return guarded(p, "friendship", -1, [&] {
        std::string why;
        if (p->service->friendship(op, std::string_view(a, a_len), std::string_view(b, b_len),
                                   why)) {
            return 0;
        }
        write_reason(err, err_cap, why);
        return -1;
    });
}

uint32_t plugin_tick_interval_ms(presence_plugin*) noexcept {
    return Service::kTickIntervalMs;
}

// A constant of the instance: any thread may ask (a worker that owns sockets, see the header).
uint32_t plugin_max_message_bytes(presence_plugin* p) noexcept {
    return p && p->service ? p->service->max_message_bytes() : 0;
}

void plugin_on_message_too_large(presence_plugin* p, uint64_t conn, size_t len) noexcept {
    if (!p) return;
    const HookCheck check(p, "on_message_too_large");
    guarded(p, "on_message_too_large", 0, [&] {
        p->service->on_message_too_large(conn, len);
        return 0;
    });
}

int plugin_friendships(presence_plugin* p, const presence_friendship* ops, size_t n_ops, char* err,
                       size_t err_cap) noexcept {
    if (!p) {
        write_reason(err, err_cap, "NULL plugin");
        return -1;
    }
    const HookCheck check(p, "friendships");
    return guarded(p, "friendships", -1, [&] {
        std::string why;
        if (p->service->friendships(ops, n_ops, why)) return 0;
        write_reason(err, err_cap, why);
        return -1;
    });
}

const presence_plugin_api kApi = {
    sizeof(presence_plugin_api),
    PRESENCE_ABI_VERSION,
    "presence",
    PRESENCE_PLUGIN_VERSION,
    plugin_create,
    plugin_destroy,
    plugin_on_connect,
    plugin_on_disconnect,
    plugin_on_message,
    plugin_on_http,
    plugin_tick,
    plugin_on_wake,
    plugin_friendship,
    plugin_tick_interval_ms,
    plugin_max_message_bytes,
    plugin_on_message_too_large,
    plugin_friendships,
};

}  // namespace

extern "C" const presence_plugin_api* presence_plugin_entry(uint32_t host_abi_version, char* err,
                                                            size_t err_cap) {
    if (host_abi_version != PRESENCE_ABI_VERSION) {
        write_reason(err, err_cap,
                     "unsupported ABI version " + std::to_string(host_abi_version) +
                         " (this plugin serves version " + std::to_string(PRESENCE_ABI_VERSION) +
                         ")");
        return nullptr;
    }
    return &kApi;
}
