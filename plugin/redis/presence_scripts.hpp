// The Lua scripts that keep a user's hash (user_hash.hpp) and the instance heartbeats. Each
// user script touches one key, so it runs on one slot of a Redis Cluster; each returns the whole
// hash after the change (field, value, ...), which the caller applies and writes to the feed.
// With one Redis, put_users_script changes a batch of users and writes the feed itself.
#pragma once

#include "redis/redis_client.hpp"

namespace presence::redis {

// The change feed's approximate length bound (XADD MAXLEN ~).
inline constexpr const char* kFeedMaxLen = "100000";

// KEYS[1] user hash. ARGV: instance, left_at ("" = now by Redis' clock), left_idle ("0"/"1"),
// record mode ("" none, "1" set, "i" set only if the hash has none), s, m, t, l, L, w ("" =
// absent), the number of devices, then conn and idle ("0"/"1") for each device of this
// instance. Replaces this instance's devices, keeps the others'. (Redis Cluster: the feed is
// in another slot, so the caller appends the answer to it.)
const Script& put_user_script();

// One Redis (not a cluster): several users at once. KEYS[1] the change feed, KEYS[2..] the user
// hashes; ARGV: instance, then for each user in KEYS order the put_user arguments after the
// instance. Appends one feed entry per user (o, inst, k, "p", u, id, h, packed hash) and
// returns the packed hashes in KEYS order (packed_hash.hpp reads them); a user whose step failed
// (a key of another type) gets that error in its place and no feed entry, the others go on.
const Script& put_users_script();

// KEYS[1] user hash. ARGV: instance, gone_since. Removes every device of that instance (a dead
// instance being reaped, or this one stopping); returns the hash, or an empty array when the
// instance had no device there (already reaped: idempotent).
const Script& drop_instance_script();

// KEYS[1] the instances' sorted set. ARGV: instance, dead_after_ms. Records this instance's
// heartbeat at Redis' time and returns {added (1 when the entry was new: first start, reaped
// while paused, or Redis lost its data), now_ms, instance, score, instance, score...} for
// every instance silent for longer than dead_after_ms.
const Script& heartbeat_script();

}  // namespace presence::redis
