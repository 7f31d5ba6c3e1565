// Internal state of PresenceCore (see the layout notes at the top of presence_core.cpp).
// Only the core's .cpp files include this.
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/conn_list.hpp"
#include "core/presence_core.hpp"
#include "core/timer_queue.hpp"
#include "core/token_bucket.hpp"
#include "core/viewer_policy.hpp"

namespace presence::core {

using UserIdx = std::uint32_t;

// A rate-limited update waiting for a token. Owned by the user, so it survives the connection.
struct PendingUpdate {
    StatusUpdate update;
    ConnId via = 0;
    Millis due = 0;  // earliest armed timer entry for it
};

struct UserState {
    std::string id;
    // Durable record (UserRecord), with the visibility list as interned indices.
    Status chosen = Status::Online;
    std::optional<std::string> message;
    std::optional<Millis> until;
    std::optional<Millis> last_seen;
    std::optional<Millis> last_seen_listed;
    std::vector<UserIdx> visibility;  // sorted by index (membership tests), unique
    // Sorted by index, unique, never self. Symmetric with the other loaded lists; while
    // friends_loaded is false: the loaded users that list this one (layout notes).
    std::vector<UserIdx> friends;

    ConnList conns;                  // live connections on this instance
    std::uint32_t active_conns = 0;  // connections whose last heartbeat said idle=false
    // Other instances (SPEC 9): their live connections of this user, and how many are active.
    std::uint32_t remote_devices = 0;
    std::uint32_t remote_active = 0;
    Millis left_at = 0;  // when the last local connection left (shared with the others)
    bool left_idle = false;
    Millis grace_since = 0;       // when the last connection closed (grace start)
    std::uint32_t grace_gen = 0;  // timer generations (lazy invalidation)
    std::uint32_t until_gen = 0;
    std::uint32_t pending_gen = 0;
    std::uint32_t evict_gen =
        0;                 // eviction queue entries (kept across slot reuse, like the others)
    Millis evict_due = 0;  // the latest consider_eviction() + evict_after_ms
    std::uint32_t listed_by = 0;  // loaded visibility lists naming this user (slot stays while > 0)
    std::unique_ptr<PendingUpdate> pending;  // rare: kept out of line to keep users small
    TokenBucket rest_bucket;
    bool rest_bucket_ready = false;

    bool loaded = false;          // record given by load_user (or created by the core)
    bool friends_loaded = false;  // friend list given by load_friends
    bool dirty = false;           // on the dirty list
    bool in_grace = false;
    bool grace_idle = false;     // idle state when the last connection closed
    bool shared_dirty = false;   // on the shared list (SPEC 9)
    bool shared_record = false;  // ... and its durable part changed here
    bool evict_queued = false;   // has a live entry in the eviction queue
};

// Why a user cannot be evicted now: Watched (connected, in grace, connected elsewhere, or a
// friend connected here) ends with an event that queues the user again; Busy (unsaved work, a
// pending update, a REST bucket refilling) ends by itself, so the user is looked at later.
enum class EvictBlock : std::uint8_t { None, Watched, Busy };

// A user to look at for eviction once `due` passes (eviction.cpp).
struct EvictEntry {
    UserIdx user = 0;
    std::uint32_t gen = 0;
    Millis due = 0;
};

struct ConnState {
    UserIdx user = 0;
    bool idle = false;
    Millis last_activity = 0;
    std::uint64_t serial = 0;  // distinguishes a reused ConnId in the timer heap
    TokenBucket bucket;
};

// A view with its own copy of the message, so it survives changes to the subject.
struct OwnedView {
    Status status = Status::Offline;
    bool has_message = false;
    std::string message;
    std::optional<Millis> last_seen;

    void assign(const PresenceView& v);
    bool same_as(const PresenceView& v) const;
    bool operator==(const OwnedView& o) const = default;
    PresenceView as_view(std::string_view user_id) const;
};

struct PresenceCore::Impl {
    Impl(const CoreConfig& cfg, CoreSink& s) : config(cfg), sink(s) {}

    CoreConfig config;
    CoreSink& sink;

    std::deque<UserState> users;  // deque: stable addresses, so `index` may key on views of ids
    std::unordered_map<std::string_view, UserIdx> index;
    std::vector<UserIdx> free_slots;     // evicted users' slots, reused by intern()
    std::deque<EvictEntry> evict_queue;  // due times only grow: a FIFO is in order
    std::unordered_map<ConnId, ConnState> conns;
    TimerQueue timers;
    std::vector<UserIdx> dirty_list;
    std::vector<UserIdx> shared_list;  // users whose shared state changed here (config.shared)
    bool remote_change = false;        // applying another instance's state: no echo, no callback
    std::size_t online_users = 0;
    std::size_t loaded_users = 0;
    std::uint64_t next_serial = 1;
    // Heartbeat entries of closed connections still in the heap: each would stay until its
    // deadline (heartbeat_timeout_ms), so a connect-and-leave crowd is compacted away instead.
    std::size_t stale_heartbeats = 0;

    // Scratch reused across calls so fan-out allocates nothing once warm.
    OwnedView old_friend_view;
    OwnedView old_listed_view;
    std::vector<UserIdx> old_visibility;
    std::vector<ConnId> friend_group;
    std::vector<ConnId> listed_group;
    SelfView self_scratch;
    std::vector<PresenceView> friends_scratch;
    UserRecord record_scratch;
    SharedUser shared_scratch;

    // ---- users ----
    std::optional<UserIdx> find(std::string_view id) const;
    UserIdx intern(std::string_view id);
    UserState* loaded_user(std::string_view id);
    void mark_dirty(UserIdx u);
    // A local change the other instances must learn (devices, or with `record` the durable part).
    void mark_shared(UserIdx u, bool record);
    void fill_record(UserIdx u, UserRecord& r) const;
    void fill_shared(UserIdx u, bool record, SharedUser& s) const;
    // Replaces a visibility list, keeping the listed users' listed_by counts.
    void assign_visibility(UserIdx u, std::vector<UserIdx>&& list);

    // ---- eviction (eviction.cpp) ----
    // `u` may have lost its last watcher: look at it again once evict_after_ms has passed.
    void consider_eviction(UserIdx u, Millis now);
    // Why `u` must stay in memory now, from the core's point of view.
    EvictBlock evict_blocker(UserIdx u, Millis now) const;
    void unload_friend_list(UserIdx u);
    void unload_record(UserIdx u);
    // Frees the slot of a user that nothing refers to any more (no record, no lists naming it).
    bool free_if_unreferenced(UserIdx u);

    // ---- who sees what (decisions delegated to viewer_policy) ----
    bool is_friend(UserIdx viewer, UserIdx subject) const;
    bool is_listed(UserIdx viewer, UserIdx subject) const;
    bool is_present(const UserState& u) const {
        return !u.conns.empty() || u.in_grace || u.remote_devices > 0;
    }
    SubjectFacts facts(UserIdx subject) const;
    PresenceView view_of(UserIdx viewer, UserIdx subject) const;
    void build_self(UserIdx u, SelfView& out) const;

    // ---- change notification ----
    // begin_change() records what friends saw; end_change() compares with what they see now
    // and sends presence to exactly the viewers whose view changed, one call per distinct view.
    void begin_change(UserIdx s);
    void end_change(UserIdx s, Millis at);
    void send_self_to_devices(UserIdx u);
    void send_self_to(UserIdx u, std::span<const ConnId> conns);

    // ---- connections ----
    void remove_connection(ConnId conn, Millis now, bool timed_out);
    void refresh_last_seen(UserIdx u, Millis now);
    // Inside a begin/end_change bracket: the user is no longer present as of `moment` (`now`
    // is the clock of the call: eviction counts from it).
    void mark_offline(UserIdx u, Millis moment, Millis now);

    // ---- status ----
    CoreError validate(const StatusUpdate& in, StatusUpdate& out, Millis now) const;
    void apply_update(UserIdx u, const StatusUpdate& up, Millis now);
    void expire_until(UserIdx u, Millis now);
    TokenBucket* bucket_for(UserIdx u, ConnId via, Millis now);

    // ---- visibility ----
    void replace_visibility(UserIdx u, std::vector<UserIdx>&& list, Millis now);

    // ---- time ----
    void run_timer(const TimerEntry& e, Millis now);
};

}  // namespace presence::core
