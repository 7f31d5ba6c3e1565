// What the Redis link's threads hand to the loop thread (redis_link.hpp), and the reading of
// change-feed entries into them (kept apart so odd replies can be tested without a server).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "redis/redis_reply.hpp"
#include "redis/user_hash.hpp"

namespace presence::redis {

struct LinkEvent {
    enum class Kind {
        Put,         // a local change was written (ok) or could not be (Redis down)
        User,        // another instance changed a user (from the feed, or reaped here)
        Friendship,  // another instance's host changed a friendship
        Fetched,     // answer to fetch()
        Up,          // Redis reachable again (or for the first time)
        Down,        // Redis unreachable
        Log,
    };
    Kind kind = Kind::Log;
    bool ok = true;
    std::string user;
    UserHash hash;
    // Friendship
    bool add = false;
    std::string a, b;
    // Fetched
    std::uint64_t token = 0;
    std::vector<std::pair<std::string, UserHash>> fetched;
    // Up: Redis lost what this instance had written (restart, or reaped while paused):
    // re-register everything. resync: re-read loaded users (the feed skipped entries, or
    // after a data loss every instance known before registered again or fell silent).
    bool data_lost = false;
    bool resync = false;
    // Log
    int level = 0;  // 0 info, 1 warn, 2 error
    std::string text;
};

// Reads an XREAD reply of the change feed: every entry of another instance than `own` becomes
// a User (its hash as fields, or packed: kind "p") or Friendship event; `last_id` moves to the
// last well-formed entry id. Anything malformed is skipped. Returns the number of entries read
// (own ones included).
std::size_t parse_feed_reply(const Reply& reply, std::string_view own, std::string& last_id,
                             std::vector<LinkEvent>& out);

// "<ms>-<seq>" as numbers; false when `id` is not a stream id.
bool parse_stream_id(std::string_view id, std::pair<std::uint64_t, std::uint64_t>& out);

}  // namespace presence::redis
