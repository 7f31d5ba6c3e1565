// The host side of the plugin's C ABI for in-process tests (the fuzz targets' FakeHost, the
// model test's PluginDriver): one presence_host_api table whose callbacks call the virtual
// hooks of a subclass, the plugin's creation and destruction, and the wake a host serves on
// its loop. Subclasses say what they do with each callback (record it, check it).
//
// Not linked with the plugin: the caller hands in the plugin's table (the entry point linked
// in, or dlopen'ed), so the same code serves the sanitizer-built fuzz targets and the tests
// of the real libpresence.so.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "presence_plugin.h"

namespace presence::test {

class AbiTestHost {
  public:
    using Settings = std::vector<std::pair<std::string, std::string>>;

    AbiTestHost() = default;
    virtual ~AbiTestHost() = default;  // a subclass destroy()s in its own destructor
    AbiTestHost(const AbiTestHost&) = delete;
    AbiTestHost& operator=(const AbiTestHost&) = delete;

    // Creates the plugin from `api` with this host's table and `settings`. `with_headers`:
    // offer respond_with_headers (the plugin then answers through it). False with *why.
    bool create(const presence_plugin_api* api, const Settings& settings, bool with_headers,
                std::string* why);
    // Destroys the plugin (destroying() is true meanwhile); nothing once it is gone.
    void destroy();

    const presence_plugin_api* api() const { return api_; }
    presence_plugin* plugin() const { return plugin_; }
    bool destroying() const { return destroying_; }

    // One on_wake if the plugin asked for one since the last; true if it did.
    bool serve_wake();

    // A request for on_http; every pointer is borrowed by the request (null where absent).
    static presence_http_request http_request(std::uint64_t id, const char* method,
                                              const char* path, const char* query, const char* user,
                                              std::string_view body,
                                              const presence_http_header* headers = nullptr,
                                              std::size_t n_headers = 0);

  protected:
    // The plugin's calls. `frame`, `body` and `headers` are borrowed for the call.
    virtual int on_send(std::uint64_t conn, std::string_view frame) = 0;
    // Default: on_send for each, counting the 0s.
    virtual std::size_t on_send_many(const std::uint64_t* conns, std::size_t n,
                                     std::string_view frame);
    virtual void on_close(std::uint64_t conn, std::uint16_t code, const char* reason) = 0;
    // respond (headers null, n_headers 0) and respond_with_headers.
    virtual void on_respond(std::uint64_t id, int status, const char* content_type,
                            const presence_http_header* headers, std::size_t n_headers,
                            std::string_view body) = 0;
    virtual void on_log(int /*level*/, const char* /*message*/) {}
    virtual std::int64_t on_now() = 0;
    virtual void on_change(const presence_change& /*change*/) {}
    // The plugin asked for on_wake (possibly from one of its threads).
    virtual void on_wake_requested() {}

  private:
    static int cb_send(void* ctx, std::uint64_t conn, const char* data, std::size_t len);
    static std::size_t cb_send_many(void* ctx, const std::uint64_t* conns, std::size_t n,
                                    const char* data, std::size_t len);
    static void cb_close(void* ctx, std::uint64_t conn, std::uint16_t code, const char* reason);
    static void cb_respond(void* ctx, std::uint64_t id, int status, const char* type,
                           const char* body, std::size_t len);
    static void cb_respond_with_headers(void* ctx, std::uint64_t id, int status, const char* type,
                                        const presence_http_header* headers, std::size_t n,
                                        const char* body, std::size_t len);
    static void cb_log(void* ctx, int level, const char* message);
    static std::int64_t cb_now(void* ctx);
    static void cb_wake(void* ctx);
    static void cb_change(void* ctx, const presence_change* change);

    const presence_plugin_api* api_ = nullptr;
    presence_plugin* plugin_ = nullptr;
    bool destroying_ = false;
    std::atomic<bool> woken_{false};
};

}  // namespace presence::test
