// A fake host for the model-based test: dlopens libpresence.so, drives one instance through the
// C table with a virtual clock and the in-memory store, and records every frame, close and HTTP
// answer the plugin makes, for the runner to compare against the reference model. The callback
// table and the plugin's lifetime are the test support's AbiTestHost.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "abi_test_host.hpp"
#include "presence_plugin.h"

namespace presence::model {

// One on_presence_change callback, as the host heard it.
struct Change {
    std::string user;
    int status = 0, chosen = 0, connections = 0;
};

struct HttpAnswer {
    int status = 0;
    std::string body;
};

class PluginDriver : public presence::test::AbiTestHost {
  public:
    // Loads the library once per process (the table is static).
    static const presence_plugin_api* load_api(std::string& why);

    PluginDriver(std::int64_t start_ms, std::vector<std::pair<std::string, std::string>> settings);
    ~PluginDriver();
    PluginDriver(const PluginDriver&) = delete;
    PluginDriver& operator=(const PluginDriver&) = delete;

    bool ok() const { return plugin() != nullptr; }
    const std::string& error() const { return error_; }

    std::int64_t now = 0;

    int connect(std::uint64_t conn, const std::string& user);
    void disconnect(std::uint64_t conn);
    void message(std::uint64_t conn, const std::string& text);
    HttpAnswer http(const char* method, const std::string& path, const std::string& user,
                    const std::string& body = "");
    int friendship(int op, const std::string& a, const std::string& b);
    int friendships(const std::vector<presence_friendship>& ops);
    void tick();

    // What the plugin sent since the last take, in order.
    std::vector<std::pair<std::uint64_t, std::string>> take_frames();
    // on_presence_change calls since the last take.
    std::vector<Change> take_changes();
    // Connections the plugin closed since the last take.
    std::vector<std::pair<std::uint64_t, std::uint16_t>> take_closes();

  protected:
    int on_send(std::uint64_t conn, std::string_view frame) override;
    std::size_t on_send_many(const std::uint64_t* conns, std::size_t n,
                             std::string_view frame) override;
    void on_close(std::uint64_t conn, std::uint16_t code, const char* reason) override;
    void on_respond(std::uint64_t id, int status, const char* content_type,
                    const presence_http_header* headers, std::size_t n_headers,
                    std::string_view body) override;
    std::int64_t on_now() override { return now; }
    void on_change(const presence_change& change) override;

  private:
    void drain_wakes();

    std::string error_;
    std::vector<std::pair<std::uint64_t, std::string>> frames_;
    std::vector<std::pair<std::uint64_t, std::uint16_t>> closes_;
    std::vector<Change> changes_;
    std::map<std::uint64_t, HttpAnswer> answers_;
    std::uint64_t next_request_ = 1;
};

}  // namespace presence::model
