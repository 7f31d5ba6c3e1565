// A user's live state in Redis (SPEC 9): one hash per user, key presence:{<user id>} (the hash
// tag keeps every per-user step in one slot). Fields:
//   v            version: max(previous + 1, Redis TIME in microseconds), so it only grows, also
//                across a Redis restart that lost the hash
//   d|<inst>|<conn>  one per live connection on any instance: "1" idle, "0" active
//   g, gi        when the last device anywhere left and whether it was idle (offline grace)
//   s m t l L w  the durable part as last written: chosen status (number), message, until,
//                last_seen, last_seen_listed, visibility (ids separated by spaces)
// The same field/value pairs travel in feed entries (packed as one MessagePack array with one
// Redis: packed_hash.hpp), so one parser reads them all.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/types.hpp"
#include "redis/redis_reply.hpp"

namespace presence::redis {

std::string user_key(std::string_view user_id);

struct UserHash {
    struct Device {
        std::string instance;
        std::uint64_t conn = 0;
        bool idle = false;
    };
    std::uint64_t version = 0;  // 0: no hash (never shared, or lost with a Redis restart)
    std::vector<Device> devices;
    std::optional<core::Millis> gone_since;
    bool gone_idle = false;
    bool has_record = false;  // the s field is there
    core::UserRecord record;

    // What the other instances hold, seen from `instance` (its own devices left out: the core
    // knows its own connections better than Redis does).
    core::RemotePresence remote_for(std::string_view instance) const;
};

// Reads field/value pairs (HGETALL, a script's answer, a feed entry after its own fields).
// Unknown fields are skipped; a malformed value drops that field, never the whole hash.
// `pairs` is the reply array; `from` the index of the first field.
UserHash parse_user_hash(const Reply& pairs, std::size_t from = 0);

// One field/value pair into `h`, by the same rules (the packed form's reader uses it).
void add_user_field(UserHash& h, std::string_view field, std::string_view value);

}  // namespace presence::redis
