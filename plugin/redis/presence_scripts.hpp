// The Lua scripts that keep a user's hash (user_hash.hpp) and the instance heartbeats. Each
// user script touches one key (the put may also append to the feed: one Redis only), so it
// runs on one slot of a Redis Cluster; each returns the whole hash after the change (field,
// value, ...), which the caller applies and writes to the feed (unless the put did).
#pragma once

#include "redis/redis_client.hpp"

namespace presence::redis {

// The change feed's approximate length bound (XADD MAXLEN ~).
inline constexpr const char* kFeedMaxLen = "100000";

// KEYS[1] user hash, KEYS[2] (optional) the change feed: the new state is appended to it as a
// user entry of this instance. ARGV: instance, left_at ("" = now by Redis' clock), left_idle
// ("0"/"1"), record mode ("" none, "1" set, "i" set only if the hash has none), s, m, t, l, L, w
// ("" = absent), the number of devices, then conn and idle ("0"/"1") for each device of this
// instance. Replaces this instance's devices, keeps the others'.
const Script& put_user_script();

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
