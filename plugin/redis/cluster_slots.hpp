// Reading what a Redis Cluster says about where slots live: the CLUSTER SLOTS reply and the
// MOVED / ASK redirections. Pure functions over `Reply`, unit-tested without a server.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "redis/redis_reply.hpp"
#include "redis/redis_url.hpp"

namespace presence::redis {

inline constexpr int kClusterSlots = 16384;

struct SlotRange {
    int first = 0;
    int last = 0;  // inclusive
    Endpoint master;
};

// Parses a CLUSTER SLOTS reply (replicas are ignored). A master announced with an empty host
// ("" or "?": Redis does not know its own address) is taken to be `asked_host`, the node that
// answered. False with `why` when the reply is an error or malformed.
bool parse_cluster_slots(const Reply& reply, std::string_view asked_host,
                         std::vector<SlotRange>& out, std::string& why);

struct Redirect {
    bool ask = false;  // ASK: this command only; MOVED: the slot has a new owner
    int slot = 0;
    Endpoint target;
};

// "MOVED 3999 127.0.0.1:6381", "ASK 3999 [::1]:6381" / "ASK 3999 ::1:6381", "MOVED 3999 :6381"
// (empty host: the node that answered, `asked_host`). nullopt for any other reply.
std::optional<Redirect> parse_redirect(const Reply& reply, std::string_view asked_host);

}  // namespace presence::redis
