// Throwaway Redis servers for tests: one redis-server (from PATH) on a free loopback port with
// its own temp dir and no persistence, or a local Redis Cluster of N masters built from them.
// Servers are tied to the test process (PR_SET_PDEATHSIG) and killed by the destructors.
// cli() talks RESP over a plain socket, so this file needs no Redis client library.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "subprocess.hpp"
#include "temp_dir.hpp"

namespace presence::test {

struct RedisServerOptions {
    std::string password;  // requirepass (and masterauth) when not empty
    bool cluster_enabled = false;
    int cluster_node_timeout_ms = 2000;   // cluster-node-timeout (also the rejoin delay)
    std::vector<std::string> extra_args;  // more redis-server options, e.g. {"--maxclients", "5"}
};

class RedisServer {
  public:
    using Options = RedisServerOptions;

    RedisServer() = default;
    ~RedisServer();  // SIGKILL, then the temp dir goes
    RedisServer(const RedisServer&) = delete;
    RedisServer& operator=(const RedisServer&) = delete;

    // Free loopback port (and cluster bus port), own temp dir, --save '' --appendonly no,
    // daemonize no. Returns once PING answers; false + *err (with the log's tail) otherwise.
    bool start(std::string* err, Options o = {});
    void stop();       // SIGTERM (a paused server is resumed first), wait
    void kill_hard();  // SIGKILL: data lost, nothing saved
    // Starts again on the same port, EMPTY (a cluster node also forgets its cluster config).
    bool restart(std::string* err);
    // Starts again on the same port with the same cluster config file (nodes.conf): a killed
    // master rejoins owning its slots, with no data. For a cluster node, returns once the node
    // says cluster_state:ok (after Redis' rejoin delay, about cluster_node_timeout_ms).
    bool restart_keep_config(std::string* err);
    void pause();   // SIGSTOP: accepts TCP connections (kernel backlog) but answers nothing
    void resume();  // SIGCONT
    bool running() const;
    bool paused() const { return paused_; }

    std::uint16_t port() const { return port_; }
    std::uint16_t bus_port() const { return bus_port_; }
    const Options& options() const { return options_; }
    const std::string& dir() const;
    std::string log() const;  // redis-server's output so far
    // redis://[:pw@]127.0.0.1:PORT (password percent-encoded)
    std::string url() const;

    // Runs one command on a fresh connection (AUTH first when there is a password) and returns
    // the reply as text: status, error and bulk replies as they are, integers in decimal, nil as
    // "(nil)", arrays (flattened) newline-joined; "IOERR ..." when the server cannot be reached.
    std::string cli(const std::vector<std::string>& argv) const;

  private:
    bool launch(std::string* err, bool keep_config);
    bool wait_ready(std::string* err);
    bool wait_cluster_ok(std::string* err);

    Options options_;
    std::unique_ptr<TempDir> dir_;
    mutable ChildProcess child_;  // running() reaps, which is not const in ChildProcess
    std::uint16_t port_ = 0;
    std::uint16_t bus_port_ = 0;
    bool paused_ = false;
};

struct RedisClusterOptions {
    std::string password;
    int node_timeout_ms = 2000;
};

// N masters, no replicas, slots split evenly, cluster-require-full-coverage no (a dead master's
// slots fail, the others keep working). Ready (cluster_state:ok on every node, every node
// knowing every slot's owner) when start() returns.
class RedisCluster {
  public:
    using Options = RedisClusterOptions;

    RedisCluster() = default;
    RedisCluster(const RedisCluster&) = delete;
    RedisCluster& operator=(const RedisCluster&) = delete;

    bool start(std::string* err, int masters = 3, Options o = {});
    int size() const { return static_cast<int>(nodes_.size()); }
    RedisServer& node(int i) { return *nodes_.at(static_cast<std::size_t>(i)); }
    const RedisServer& node(int i) const { return *nodes_.at(static_cast<std::size_t>(i)); }
    // redis+cluster://[:pw@]127.0.0.1:P1,127.0.0.1:P2,...
    std::string url() const;
    std::string node_id(int i) const;  // CLUSTER MYID

    // Moves one slot from its owner to node `to` the standard way: SETSLOT IMPORTING on the
    // target, MIGRATING on the owner, MIGRATE of its keys, SETSLOT NODE on every node.
    bool migrate_slot(int slot, int to, std::string* err);
    // The same in steps, to test a migration in progress (ASK): begin sets IMPORTING /
    // MIGRATING, move_keys MIGRATEs every key the owner still has in the slot, finish assigns
    // the slot to the target on every node.
    bool begin_migration(int slot, int to, std::string* err);
    bool move_keys(int slot, std::string* err);
    bool finish_migration(int slot, std::string* err);

    // Index of the node that owns `slot` as the first running node sees it; -1 if unknown.
    int owner_of_slot(int slot) const;
    // Some key (prefix + number) whose slot node `i` owns.
    std::string key_on_node(int i, const std::string& prefix = "k") const;
    // CLUSTER KEYSLOT, as Redis computes it (-1 when no node answers).
    int key_slot(const std::string& key) const;

  private:
    int index_of_port(int port) const;

    Options options_;
    std::vector<std::unique_ptr<RedisServer>> nodes_;
    std::map<int, std::pair<int, int>> migrations_;  // slot -> (from, to), in progress
};

}  // namespace presence::test
