#include "friend_graph.hpp"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <random>
#include <unordered_set>

namespace presence::bench {

std::string user_name(std::uint32_t i) {
    return "u" + std::to_string(i);
}

FriendGraph make_graph(const GraphSpec& spec) {
    FriendGraph g;
    const std::uint32_t n = spec.users;
    g.adj.resize(n);
    if (n < 2) return g;
    std::mt19937_64 rng(spec.seed);
    std::uint32_t half = std::min<std::uint32_t>(spec.friends / 2, (n - 1) / 2);
    std::unordered_set<std::uint32_t> offsets;
    std::uniform_int_distribution<std::uint32_t> off_dist(1, (n - 1) / 2);
    while (offsets.size() < half) offsets.insert(off_dist(rng));
    for (std::uint32_t i = 0; i < n; ++i) {
        for (auto o : offsets) {
            std::uint32_t j = (i + o) % n;
            g.adj[i].push_back(j);
            g.adj[j].push_back(i);
        }
    }
    std::uniform_int_distribution<std::uint32_t> user_dist(0, n - 1);
    for (std::uint32_t h = 0; h < spec.hubs && h < n; ++h) {
        std::uint32_t target = std::min(spec.hub_friends, n - 1);
        std::unordered_set<std::uint32_t> mine(g.adj[h].begin(), g.adj[h].end());
        while (mine.size() < target) {
            std::uint32_t j = user_dist(rng);
            if (j == h || !mine.insert(j).second) continue;
            g.adj[h].push_back(j);
            g.adj[j].push_back(h);
        }
    }
    for (auto& a : g.adj) {
        std::sort(a.begin(), a.end());
        a.erase(std::unique(a.begin(), a.end()), a.end());
        g.edges += a.size();
    }
    g.edges /= 2;
    return g;
}

bool FriendGraph::write_friends_file(const std::string& path) const {
    std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "w"), &std::fclose);
    if (!f) return false;
    for (std::uint32_t i = 0; i < adj.size(); ++i) {
        for (auto j : adj[i]) {
            if (j > i && std::fprintf(f.get(), "u%u u%u\n", i, j) < 0) return false;
        }
    }
    return true;
}

}  // namespace presence::bench
