// One blocking connection to one Redis node, for the plugin's worker threads only (never the
// host's loop thread). Every call is bounded by the timeouts given at connect(); an I/O error
// or timeout closes the connection (callers reconnect). Not thread-safe: one thread owns it.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "redis/redis_reply.hpp"

namespace presence::redis {

struct ConnectOptions {
    std::string host;
    int port = 6379;
    std::string password;  // empty = no AUTH
    int db = 0;            // SELECT when non-zero
    int connect_timeout_ms = 1000;
    int command_timeout_ms = 2000;
};

enum class ConnectResult {
    Ok,
    Unreachable,  // nothing answered (refused, timeout, DNS): retry later
    Refused,      // something answered but will not serve us: wrong password, not a Redis,
                  // SELECT refused. `why` quotes the server's answer. Retrying will not help.
};

using Argv = std::vector<std::string>;

class RedisConnection {
  public:
    RedisConnection();
    ~RedisConnection();
    RedisConnection(const RedisConnection&) = delete;
    RedisConnection& operator=(const RedisConnection&) = delete;

    // Connects, AUTHs, SELECTs and PINGs. On failure `why` says what happened, quoting the
    // server's answer where there was one.
    ConnectResult connect(const ConnectOptions& options, std::string& why);
    bool connected() const;
    void close();

    // Sends all commands in one write and reads one reply per command, in order. Returns false
    // on an I/O error or timeout (the connection is then closed and `out` holds the replies
    // read before it). Error replies (-ERR ...) are replies, not failures.
    bool pipeline(std::span<const Argv> commands, std::vector<Reply>& out);
    // One command; same rules.
    bool command(const Argv& argv, Reply& out);
    // Changes the read timeout of later calls (a blocking XREAD needs more than its BLOCK time).
    void set_command_timeout(int ms);

    // The two halves of pipeline(), for callers that write to several nodes before reading
    // (the cluster client). append() queues one command (an empty one is refused, false, and
    // nothing is queued: Redis would answer nothing); flush() writes everything queued;
    // receive() reads `count` replies into `out` (appended). Same failure rules as pipeline().
    bool append(std::span<const std::string_view> argv);
    bool append(const Argv& argv);
    bool flush();
    bool receive(std::size_t count, std::vector<Reply>& out);
    // False (and closed) when the server has closed the connection, or sent something
    // unasked, since the last call: checked without waiting, before reusing an idle connection.
    bool alive();

    const std::string& last_error() const { return last_error_; }
    const ConnectOptions& options() const { return options_; }

  private:
    bool fail(std::string what);
    bool read_reply(Reply& out, std::string* seen);
    ConnectResult handshake(std::string& why);

    struct Impl;
    std::unique_ptr<Impl> impl_;
    ConnectOptions options_;
    std::string last_error_;
};

}  // namespace presence::redis
