// RedisClient: connecting to one Redis or discovering a cluster, the node table and the slot map.
// Running commands is in client_run.cpp.
#include "redis/redis_client.hpp"

#include "redis/client_impl.hpp"
#include "redis/cluster_slots.hpp"

namespace presence::redis {
namespace {

std::string endpoint_name(const Endpoint& ep) {
    // As Redis writes addresses in MOVED / ASK: host:port, IPv6 without brackets.
    return ep.host + ":" + std::to_string(ep.port);
}

}  // namespace

ConnectOptions RedisClient::Impl::connect_options(const Endpoint& ep) const {
    ConnectOptions o;
    o.host = ep.host;
    o.port = ep.port;
    o.password = url.password;
    o.db = url.cluster ? 0 : url.db;
    o.connect_timeout_ms = options.connect_timeout_ms;
    o.command_timeout_ms = options.command_timeout_ms;
    return o;
}

int RedisClient::Impl::node_index(const Endpoint& ep) {
    const std::string name = endpoint_name(ep);
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        if (nodes[i]->name == name) return static_cast<int>(i);
    }
    auto node = std::make_unique<ClientNode>();
    node->endpoint = ep;
    node->name = name;
    nodes.push_back(std::move(node));
    return static_cast<int>(nodes.size() - 1);
}

bool RedisClient::Impl::ensure(ClientNode& node, std::string* why, ConnectResult* result) {
    if (node.conn->connected() && node.conn->alive()) return true;
    std::string reason;
    const ConnectResult r = node.conn->connect(connect_options(node.endpoint), reason);
    if (result) *result = r;
    if (r == ConnectResult::Ok) return true;
    node.error = reason;
    if (why) *why = reason;
    return false;
}

ConnectResult RedisClient::Impl::connect_single(std::string& why) {
    if (nodes.empty()) node_index(url.nodes.front());
    ClientNode& node = *nodes.front();
    node.conn->close();
    ConnectResult result = ConnectResult::Ok;
    if (!ensure(node, &why, &result)) return result;
    // A cluster node would answer most keys with MOVED: say so now rather than fail later.
    Reply info;
    if (!node.conn->command({"INFO", "cluster"}, info)) {
        why = "cannot talk to " + node.conn->last_error();
        return ConnectResult::Unreachable;
    }
    if (info.type == Reply::Type::String &&
        info.str.find("cluster_enabled:1") != std::string::npos) {
        node.conn->close();
        why = node.name + " is a Redis Cluster node (INFO says \"cluster_enabled:1\"): use " +
              "redis+cluster://";
        return ConnectResult::Refused;
    }
    return ConnectResult::Ok;
}

ConnectResult RedisClient::Impl::load_slot_map(std::string& why) {
    // Candidates: nodes already connected, then the other known nodes, then the seeds.
    std::vector<int> order;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        if (nodes[i]->conn->connected()) order.push_back(static_cast<int>(i));
    }
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        if (!nodes[i]->conn->connected() && !nodes[i]->down) order.push_back(static_cast<int>(i));
    }
    for (const Endpoint& seed : url.nodes) {
        const int i = node_index(seed);
        bool listed = false;
        for (int o : order) listed = listed || o == i;
        if (!listed && !nodes[static_cast<std::size_t>(i)]->down) order.push_back(i);
    }

    std::string refused;
    std::string unreachable;
    for (int index : order) {
        ClientNode& node = *nodes[static_cast<std::size_t>(index)];
        std::string reason;
        ConnectResult r = ConnectResult::Ok;
        if (!ensure(node, &reason, &r)) {
            node.down = true;
            (r == ConnectResult::Refused ? refused : unreachable) = reason;
            continue;
        }
        Reply reply;
        if (!node.conn->command({"CLUSTER", "SLOTS"}, reply)) {
            node.down = true;
            node.error = node.conn->last_error();
            unreachable = node.error;
            continue;
        }
        std::vector<SlotRange> ranges;
        if (!parse_cluster_slots(reply, node.endpoint.host, ranges, reason)) {
            refused = node.name + " is not a usable cluster node: " + reason;
            continue;
        }
        if (ranges.empty()) {
            unreachable = node.name + " knows no slot owner yet (cluster not ready)";
            continue;
        }
        slot_owner.assign(kClusterSlots, -1);
        std::vector<bool> owns(nodes.size(), false);
        for (const SlotRange& range : ranges) {
            const int owner = node_index(range.master);
            owns.resize(nodes.size(), false);
            owns[static_cast<std::size_t>(owner)] = true;
            for (int s = range.first; s <= range.last; ++s) slot_owner[s] = owner;
        }
        // A node that owns nothing any more (removed, or a seed that is a replica) needs no
        // open connection; it stays known as a place to reload the map from.
        for (std::size_t i = 0; i < nodes.size(); ++i) {
            if (i < owns.size() && !owns[i] && static_cast<int>(i) != index)
                nodes[i]->conn->close();
        }
        map_loaded = true;
        ++slot_map_loads;
        return ConnectResult::Ok;
    }
    if (!refused.empty()) {
        why = refused;
        return ConnectResult::Refused;
    }
    why = unreachable.empty() ? "no cluster node answered" : unreachable;
    return ConnectResult::Unreachable;
}

int RedisClient::Impl::route(const Command& command) const {
    if (!url.cluster) return 0;
    if (!command.key.empty()) {
        if (slot_owner.empty()) return -1;
        return slot_owner[key_slot(command.key)];
    }
    // No key (PING, TIME, SCRIPT LOAD...): any serving node, preferring an open connection.
    int fallback = -1;
    for (int owner : slot_owner) {
        if (owner < 0 || nodes[static_cast<std::size_t>(owner)]->down) continue;
        if (nodes[static_cast<std::size_t>(owner)]->conn->connected()) return owner;
        if (fallback < 0) fallback = owner;
    }
    return fallback;
}

RedisClient::RedisClient(RedisUrl url, ClientOptions options)
    : impl_(std::make_unique<Impl>(std::move(url), options)) {}

RedisClient::~RedisClient() = default;

ConnectResult RedisClient::connect(std::string& why) {
    if (impl_->url.nodes.empty()) {
        why = "no Redis node given";
        return ConnectResult::Refused;
    }
    if (!impl_->url.cluster) return impl_->connect_single(why);
    close();
    for (auto& node : impl_->nodes) node->down = false;
    const ConnectResult r = impl_->load_slot_map(why);
    for (auto& node : impl_->nodes) node->down = false;
    return r;
}

bool RedisClient::connected() const {
    if (!impl_->url.cluster)
        return !impl_->nodes.empty() && impl_->nodes.front()->conn->connected();
    return impl_->map_loaded;
}

void RedisClient::close() {
    for (auto& node : impl_->nodes) node->conn->close();
    impl_->map_loaded = false;
}

bool RedisClient::run(std::span<const Command> commands, std::vector<Reply>& out) {
    return impl_->run(commands, out);
}

bool RedisClient::run_one(const Command& command, Reply& out) {
    std::vector<Reply> replies;
    const bool ok = impl_->run(std::span<const Command>(&command, 1), replies);
    out = std::move(replies.front());
    return ok;
}

std::vector<std::pair<std::string, std::string>> RedisClient::node_run_ids() {
    std::vector<std::pair<std::string, std::string>> out;
    std::vector<bool> serving(impl_->nodes.size(), !impl_->url.cluster);
    for (int owner : impl_->slot_owner) {
        if (owner >= 0) serving[static_cast<std::size_t>(owner)] = true;
    }
    for (std::size_t i = 0; i < impl_->nodes.size(); ++i) {
        if (!serving[i]) continue;
        ClientNode& node = *impl_->nodes[i];
        std::string id;
        Reply r;
        if (impl_->ensure(node) && node.conn->command({"INFO", "server"}, r) &&
            r.type == Reply::Type::String) {
            const auto at = r.str.find("run_id:");
            if (at != std::string::npos) {
                const auto end = r.str.find_first_of("\r\n", at);
                id = r.str.substr(at + 7, end == std::string::npos ? end : end - at - 7);
            }
        }
        out.emplace_back(node.name, std::move(id));
    }
    return out;
}

std::uint64_t RedisClient::slot_map_loads() const {
    return impl_->slot_map_loads;
}

std::uint64_t RedisClient::redirects_followed() const {
    return impl_->redirects_followed;
}

bool RedisClient::is_cluster() const {
    return impl_->url.cluster;
}

}  // namespace presence::redis
