// presence.redis_url (SPEC 9): `redis://[:password@]host:port[/db]` for one Redis, or
// `redis+cluster://host:port[,host:port...]` for a Redis Cluster (seed nodes).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace presence::redis {

struct Endpoint {
    std::string host;  // name or address; "[::1]" in a URL becomes "::1" here
    int port = 6379;
};

struct RedisUrl {
    bool cluster = false;
    std::vector<Endpoint> nodes;  // one for redis://, the seeds for redis+cluster://
    std::string password;         // percent-decoded; empty = no AUTH
    int db = 0;                   // redis:// only (a cluster has database 0 alone)
};

// Returns nullopt with `why` (no key prefix: the caller adds "presence.redis_url: ") on a
// malformed URL: unknown scheme, missing host or port, port out of range, a db on a cluster URL,
// a db that is not a number, trailing garbage.
std::optional<RedisUrl> parse_redis_url(std::string_view url, std::string& why);

}  // namespace presence::redis
