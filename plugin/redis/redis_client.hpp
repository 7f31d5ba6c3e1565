// The one interface the rest of the plugin uses to talk to Redis, whether `redis_url` names one
// Redis or a Redis Cluster. For a cluster it discovers the slots (CLUSTER SLOTS), routes each
// command by the CRC16 slot of its key (hash tags honoured), keeps one connection per master,
// follows MOVED (updating the slot map) and ASK (ASKING then the command on the target), and
// reloads the slot map after a connection error (failover) before retrying. Scripts run with
// EVALSHA and fall back to EVAL on NOSCRIPT (a restarted or failed-over node has an empty
// script cache). Worker threads only; one thread owns a client.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "redis/redis_connection.hpp"
#include "redis/redis_url.hpp"

namespace presence::redis {

// CRC16 (XMODEM) of the key, or of its hash tag ({...}, first non-empty one), mod 16384.
std::uint16_t key_slot(std::string_view key);

// A Lua script: its body and the SHA1 of the body (hex, what EVALSHA wants).
struct Script {
    explicit Script(std::string body);
    std::string body;
    std::string sha1;
};

// One command. `key` routes it (the slot of the first key it touches; empty: any node).
// With `script` set, `argv` holds what follows the script: numkeys, the keys, the arguments,
// and the client sends EVALSHA <sha1> argv... (EVAL <body> argv... after NOSCRIPT).
struct Command {
    std::string key;
    Argv argv;
    const Script* script = nullptr;
};

struct ClientOptions {
    int connect_timeout_ms = 1000;
    int command_timeout_ms = 2000;
    int max_redirects = 5;  // MOVED/ASK hops per command before giving up with an error reply
};

class RedisClient {
  public:
    RedisClient(RedisUrl url, ClientOptions options);
    ~RedisClient();
    RedisClient(const RedisClient&) = delete;
    RedisClient& operator=(const RedisClient&) = delete;

    // Connects (one Redis) or discovers the cluster from its seeds. Unreachable: try again
    // later. Refused: wrong password, not a Redis, cluster URL on a non-cluster Redis (or the
    // reverse); `why` quotes Redis' answer.
    ConnectResult connect(std::string& why);
    bool connected() const;
    void close();

    // Runs the commands, pipelined per node, and fills `out` with one reply per command in
    // the order given. Returns false when Redis could not be reached for some of them: their
    // replies are Error replies whose text starts with "IOERR". Redirections are followed
    // inside; the caller sees the final reply.
    bool run(std::span<const Command> commands, std::vector<Reply>& out);
    // One command; same rules.
    bool run_one(const Command& command, Reply& out);

    // The run_id (INFO server) of every node that serves slots (the one node of redis://), by
    // "host:port"; "" for a node that did not answer. A run_id changes when a node restarts,
    // which without persistence means it lost its data: the caller registers its state again.
    std::vector<std::pair<std::string, std::string>> node_run_ids();

    // For a cluster: how many times the slot map was (re)loaded, and MOVED/ASK followed
    // (metrics and tests).
    std::uint64_t slot_map_loads() const;
    std::uint64_t redirects_followed() const;
    bool is_cluster() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace presence::redis
