// RedisClient's insides, shared by redis_client.cpp (connecting, the node table and the slot
// map) and client_run.cpp (running commands: pipelining per node, redirections, retries).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "redis/redis_client.hpp"

namespace presence::redis {

struct ClientNode {
    Endpoint endpoint;
    std::string name;  // host:port, as Redis writes it in MOVED / ASK
    std::unique_ptr<RedisConnection> conn = std::make_unique<RedisConnection>();
    bool down = false;  // failed during the current run(): not tried again in it
    std::string error;  // why it failed, for IOERR replies
};

struct RedisClient::Impl {
    using Clock = std::chrono::steady_clock;

    Impl(RedisUrl u, ClientOptions o) : url(std::move(u)), options(o) {}

    RedisUrl url;
    ClientOptions options;
    // Single mode: the one node. Cluster: every node heard of (seeds, slot owners, redirect
    // targets); a node's index never changes, so slot_owner can hold indices.
    std::vector<std::unique_ptr<ClientNode>> nodes;
    std::vector<int> slot_owner;  // cluster: slot -> index in nodes, -1 when unknown
    bool map_loaded = false;
    std::uint64_t slot_map_loads = 0;
    std::uint64_t redirects_followed = 0;

    ConnectOptions connect_options(const Endpoint& ep) const;
    int node_index(const Endpoint& ep);
    // Connected and usable (reconnecting if the server dropped an idle connection); false with
    // node.error set otherwise.
    bool ensure(ClientNode& node, std::string* why = nullptr, ConnectResult* result = nullptr);
    ConnectResult connect_single(std::string& why);
    // (Re)loads the slot map from the first known node or seed that answers CLUSTER SLOTS.
    ConnectResult load_slot_map(std::string& why);
    // The node a command goes to: -1 when no known node serves its slot.
    int route(const Command& command) const;

    bool run(std::span<const Command> commands, std::vector<Reply>& out);
};

}  // namespace presence::redis
