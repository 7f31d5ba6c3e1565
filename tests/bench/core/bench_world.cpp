#include "bench_world.hpp"

#include <algorithm>
#include <random>
#include <unordered_set>

namespace presence::bench {

core::CoreConfig bench_config() {
    core::CoreConfig c;
    c.updates_per_s = 1e12;
    c.update_burst = 1u << 30;
    c.heartbeat_timeout_ms = 3'600'000;
    return c;
}

namespace {

void load_and_connect(World& w, const std::vector<std::vector<std::uint32_t>>& adj, bool connect) {
    const auto n = static_cast<std::uint32_t>(adj.size());
    w.names.reserve(n);
    for (std::uint32_t i = 0; i < n; ++i) w.names.push_back("u" + std::to_string(i));
    std::vector<std::string> friends;
    for (std::uint32_t i = 0; i < n; ++i) {
        core::UserRecord rec;
        rec.user_id = w.names[i];
        w.core->load_user(rec, w.now);
        friends.clear();
        for (auto j : adj[i]) friends.push_back(w.names[j]);
        w.core->load_friends(w.names[i], friends);
    }
    if (!connect) return;
    for (std::uint32_t i = 0; i < n; ++i) w.core->connect(i + 1, w.names[i], w.now);
}

World make_world(CountingSink::FrameFn frame) {
    World w;
    w.sink = std::make_unique<CountingSink>(frame);
    w.core = std::make_unique<core::PresenceCore>(bench_config(), *w.sink);
    return w;
}

}  // namespace

World make_uniform_world(std::uint32_t users, std::uint32_t friends, CountingSink::FrameFn frame,
                         bool connect) {
    World w = make_world(frame);
    std::vector<std::vector<std::uint32_t>> adj(users);
    std::mt19937_64 rng(7);
    std::uniform_int_distribution<std::uint32_t> off(1, (users - 1) / 2);
    std::unordered_set<std::uint32_t> offsets;
    while (offsets.size() < std::min(friends / 2, (users - 1) / 2)) offsets.insert(off(rng));
    for (std::uint32_t i = 0; i < users; ++i) {
        for (auto o : offsets) {
            adj[i].push_back((i + o) % users);
            adj[(i + o) % users].push_back(i);
        }
    }
    load_and_connect(w, adj, connect);
    return w;
}

World make_star_world(std::uint32_t hub_friends, CountingSink::FrameFn frame) {
    World w = make_world(frame);
    std::vector<std::vector<std::uint32_t>> adj(hub_friends + 1);
    for (std::uint32_t i = 1; i <= hub_friends; ++i) {
        adj[0].push_back(i);
        adj[i].push_back(0);
    }
    load_and_connect(w, adj, true);
    return w;
}

}  // namespace presence::bench
