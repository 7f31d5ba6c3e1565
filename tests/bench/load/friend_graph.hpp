// The friend graph the load tool drives: generated here, written to a presence.friends_file,
// and kept in memory so the tool knows how many deliveries every change must produce.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace presence::bench {

struct GraphSpec {
    std::uint32_t users = 1000;
    std::uint32_t friends = 100;  // per user in the uniform part (rounded down to even)
    std::uint32_t hubs = 0;       // skewed graph: users 0..hubs-1 get hub_friends more
    std::uint32_t hub_friends = 5000;
    std::uint64_t seed = 1;
};

struct FriendGraph {
    std::vector<std::vector<std::uint32_t>> adj;  // sorted, unique, both directions
    std::uint64_t edges = 0;                      // undirected friendships

    // Writes one friendship per line ("u1 u7"). Returns false on an I/O error.
    bool write_friends_file(const std::string& path) const;
};

// Uniform part: a circulant graph with friends/2 random distinct offsets, so every user has
// exactly `friends` friends and neighbourhoods are not clustered. Hubs add random friends.
FriendGraph make_graph(const GraphSpec& spec);

std::string user_name(std::uint32_t i);

}  // namespace presence::bench
