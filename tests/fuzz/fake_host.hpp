// A host for fuzz targets that drive the whole plugin through its C table (in-process, the
// in-memory store, a virtual clock). Every callback checks what the ABI and the SPEC promise
// and aborts (a crash libFuzzer reports) when something is broken:
//   - every frame and every JSON answer is valid UTF-8 and valid JSON;
//   - every request the plugin took is answered exactly once (none for one it did not take),
//     with a status the SPEC lists, header values without CR/LF;
//   - no `presence` frame or snapshot entry about a user to a viewer who is not that user's
//     friend, and every other view of a non-friend is offline with no message or last seen
//     (the friend graph is the one this host told the plugin);
//   - no frame to a connection that is not open, no `close` of an unknown one, no close with
//     1011 (an internal error), no error-level log line (a caught exception);
//   - during destroy, nothing but `respond` and `log`.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "abi_test_host.hpp"
#include "presence_plugin.h"

struct cJSON;

namespace presence_fuzz {

// Aborts with `what` when `ok` is false.
void require(bool ok, const char* what);

// Valid UTF-8 and valid JSON.
bool is_valid_json(std::string_view text);

struct Answer {
    int status = 0;
    std::string content_type;
    std::string body;
    std::string etag;
    std::string viewer;  // the request's user
    int count = 0;
};

// The callback table and the plugin's lifetime are the test support's AbiTestHost; this class
// adds the checks.
class FakeHost : public presence::test::AbiTestHost {
  public:
    // with_headers: the host offers respond_with_headers (the plugin then answers through it).
    FakeHost(const Settings& settings, bool with_headers);
    ~FakeHost();  // destroys the plugin, then checks every request was answered exactly once
    FakeHost(const FakeHost&) = delete;
    FakeHost& operator=(const FakeHost&) = delete;

    // Each runs one hook, then what a host does on the next loop turns (on_wake while woken,
    // on_disconnect for connections the plugin closed).
    int connect(std::uint64_t conn, std::string_view user);
    void disconnect(std::uint64_t conn);
    void message(std::uint64_t conn, std::string_view data);
    void too_large(std::uint64_t conn, std::size_t len);
    // Returns the answer (nullopt when the plugin said NOT_MINE). `user` empty: no user.
    std::optional<Answer> http(const std::string& method, const std::string& path,
                               const std::optional<std::string>& query, const std::string& user,
                               std::string_view body, const std::string& if_none_match);
    void advance(std::int64_t ms);
    int friendship(int op, std::string_view a, std::string_view b);
    int friendships(const std::vector<presence_friendship>& ops);
    void wake_now();

    bool is_open(std::uint64_t conn) const { return open_.count(conn) != 0; }
    const std::string& last_etag() const { return last_etag_; }

  protected:
    int on_send(std::uint64_t conn, std::string_view frame) override;
    void on_close(std::uint64_t conn, std::uint16_t code, const char* reason) override;
    void on_respond(std::uint64_t id, int status, const char* type,
                    const presence_http_header* headers, std::size_t n,
                    std::string_view body) override;
    void on_log(int level, const char* message) override;
    std::int64_t on_now() override { return now_; }
    void on_change(const presence_change& change) override;

  private:
    bool friends(const std::string& a, const std::string& b) const;
    void answer(std::uint64_t id, int status, const char* type, std::string_view body,
                std::string etag);
    void check_view(const std::string& viewer, const cJSON* view) const;
    void check_frame(const std::string& viewer, std::string_view frame) const;
    void settle();

    std::int64_t now_ = 1'700'000'000'000;
    std::map<std::uint64_t, std::string> open_;  // conn -> user, from on_connect to on_disconnect
    std::set<std::uint64_t> closing_;            // closed by the plugin, on_disconnect owed
    std::set<std::pair<std::string, std::string>> friends_;  // both directions
    std::uint64_t next_request_ = 1;
    std::map<std::uint64_t, Answer> answers_;  // requests taken (or being taken)
    std::string last_etag_;
};

}  // namespace presence_fuzz
