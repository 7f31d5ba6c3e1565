// Plain value types shared by the presence core and its adapters. No I/O, no JSON here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/user_id.hpp"

namespace presence::core {

using ConnId = std::uint64_t;  // host-chosen connection id
using Millis = std::int64_t;   // epoch milliseconds, from the host clock

// Chosen statuses are Online, Away, Dnd, Invisible. Effective statuses (what a viewer sees) are
// Online, Away, Dnd, Offline. Numeric values match PRESENCE_STATUS_* in the ABI header.
enum class Status : std::uint8_t { Offline = 0, Online = 1, Away = 2, Dnd = 3, Invisible = 4 };

const char* to_string(Status s);
// Parses "online" | "away" | "dnd" | "invisible" (exact, lower case). "offline" is never chosen.
std::optional<Status> parse_chosen_status(std::string_view s);

// SPEC 3: 1..64 bytes of [A-Za-z0-9_.:@-] (util/user_id.hpp holds the rule).
using util::is_valid_user_id;

// What the core needs to know from the settings.
struct CoreConfig {
    Millis heartbeat_timeout_ms = 60'000;
    Millis offline_grace_ms = 3'000;
    std::uint32_t max_connections_per_user = 10;
    std::uint32_t max_visibility = 1000;
    std::uint32_t max_message_code_points = 128;
    bool allow_invisible = true;
    double updates_per_s = 5.0;       // token refill rate per connection (and per user for REST)
    std::uint32_t update_burst = 10;  // bucket size
    // While a user is seen online, last_seen is refreshed (and persisted) at most this often.
    Millis last_seen_refresh_ms = 30'000;
    // Several instances share presence (SPEC 9): the core keeps the list of users whose shared
    // state changed here (drain_shared) and accepts other instances' state (apply_remote).
    bool shared = false;
    // Memory follows online users, not history: a loaded user nobody here can be watching
    // (no connection, no grace, no device elsewhere, no friend connected here, nothing
    // unsaved) is dropped this long after that became true, and loaded again on demand.
    // Negative: never (the core then keeps every user it was given).
    Millis evict_after_ms = -1;
};

// The durable part of a user: what the store keeps and loads.
struct UserRecord {
    std::string user_id;
    Status chosen = Status::Online;
    std::optional<std::string> message;
    std::optional<Millis> until;             // chosen status returns to Online at this time
    std::optional<Millis> last_seen;         // last moment every friend could see them online
    std::optional<Millis> last_seen_listed;  // same, for friends on the visibility list
    std::vector<std::string> visibility;     // sorted, unique, friends only
};

// What the other instances hold of a user (SPEC 9), as the Redis link last reported it.
struct RemotePresence {
    std::uint32_t devices = 0;         // live connections on other instances
    std::uint32_t active_devices = 0;  // of those, the ones not idle
    // Set when no device is left anywhere: when the last one closed (the offline grace runs
    // from there) and whether it was idle then.
    std::optional<Millis> gone_since;
    bool gone_idle = false;
};

// A live connection of this instance, as shared with the others.
struct SharedDevice {
    ConnId conn = 0;
    bool idle = false;
};

// What this instance reports of a user after a local change (drain_shared).
struct SharedUser {
    std::string_view user_id;
    std::vector<SharedDevice> devices;  // every live connection of the user on this instance
    // When the user has no connection here: when the last one left and whether it was idle.
    std::optional<Millis> left_at;
    bool left_idle = false;
    // The durable part, when a local action changed it (status, message, until, visibility).
    bool record_changed = false;
    UserRecord record;
};

// A requested change of the chosen status (from WebSocket presence_update or REST PUT /status).
struct StatusUpdate {
    Status status = Status::Online;
    bool has_message = false;            // false: keep the current message
    std::optional<std::string> message;  // with has_message: nullopt clears it
    std::optional<Millis> until;         // absent or null: the status does not expire
};

// What one viewer sees of one subject. Views point into core memory: valid only during the
// sink call (or until the next non-const core call for values returned by the core).
struct PresenceView {
    std::string_view user_id;
    Status status = Status::Offline;  // never Invisible
    std::optional<std::string_view> message;
    std::optional<Millis> last_seen;  // null while the viewer sees the subject online/away/dnd
};

// What a user's own devices see of themselves.
struct SelfView {
    std::string_view user_id;
    Status chosen = Status::Online;  // may be Invisible
    std::optional<std::string_view> message;
    std::optional<Millis> until;
    std::vector<std::string_view> visibility;  // sorted
    std::uint32_t connections = 0;             // live connections, on every instance
};

// A change of a user's effective presence as ordinary friends (not on the list) see it.
struct PresenceChange {
    std::string_view user_id;
    Status status = Status::Offline;  // effective, never Invisible
    Status chosen = Status::Online;
    std::uint32_t connections = 0;
    std::optional<std::string_view> message;
    std::optional<Millis> last_seen;
    Millis at = 0;
};

// Expected failures of core calls; adapters map them to SPEC error codes.
enum class CoreError : std::uint8_t {
    None = 0,
    InvalidStatus,  // invalid_status: "offline", unknown, or invisible when not allowed
    InvalidField,   // invalid_field: message too long / not UTF-8, until not in the future
    TooMany,        // too_many: visibility list over max_visibility, too many connections
    NotFriend,      // not_friend: visibility entry that is not a friend
    RateLimited,    // rate_limited: update deferred, applied when the bucket refills
    UnknownUser,    // the user is not loaded / not connected where required
};

const char* error_code(CoreError e);  // "invalid_status", ... ; "" for None

}  // namespace presence::core
