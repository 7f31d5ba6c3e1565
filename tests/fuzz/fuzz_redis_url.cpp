// Fuzz target over presence.redis_url (redis/redis_url): no crash, an accepted URL has at
// least one node, each with a host and a port in 1-65535, and a cluster URL has database 0;
// a refusal says why.
#include <cstdint>
#include <string>
#include <string_view>

#include "fake_host.hpp"
#include "redis/redis_url.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using presence_fuzz::require;
    const std::string_view url(reinterpret_cast<const char*>(data), size);
    std::string why;
    const auto parsed = presence::redis::parse_redis_url(url, why);
    if (!parsed) {
        require(!why.empty(), "refusal without a reason");
        return 0;
    }
    require(!parsed->nodes.empty(), "accepted a URL without a node");
    require(parsed->cluster || parsed->nodes.size() == 1, "redis:// with several nodes");
    require(!parsed->cluster || parsed->db == 0, "a cluster URL with a database");
    require(parsed->db >= 0, "negative database");
    for (const auto& node : parsed->nodes) {
        require(!node.host.empty(), "a node without a host");
        require(node.port >= 1 && node.port <= 65535, "a port out of range");
    }
    return 0;
}
