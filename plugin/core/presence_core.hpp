// The presence core: users, connections, chosen and effective statuses, visibility lists,
// friends, last seen, grace periods, heartbeat timeouts, `until` expiry and update rate limits.
// Pure logic: driven by calls and a clock value passed in; it talks back only through CoreSink.
// It decides who sees what in ONE place (the viewer policy) and never does I/O.
//
// Loading contract: the core works on users it has been given. The service makes sure that,
// before connect(), query(), friendship or visibility calls, every user they touch has its
// record (load_user) and, for the acting user, its friend list (load_friends). A user the
// core has never been given is treated as offline and never seen, with no friends.
//
// Re-entrancy: sink callbacks run inside core calls and must not call back into the core.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/core_sink.hpp"
#include "core/types.hpp"

namespace presence::core {

class PresenceCore {
  public:
    PresenceCore(const CoreConfig& config, CoreSink& sink);
    ~PresenceCore();
    PresenceCore(const PresenceCore&) = delete;
    PresenceCore& operator=(const PresenceCore&) = delete;

    const CoreConfig& config() const;

    // ---- loading (from the store) ----
    bool has_user(std::string_view user) const;
    bool has_friends(std::string_view user) const;
    // Adds a user record. Ignored when the user is already loaded (memory is newer than the
    // store). An `until` already past at `now` resets the chosen status to Online (and marks
    // the user dirty so the reset is persisted).
    void load_user(const UserRecord& record, Millis now);
    // Sets the friend list of a loaded-or-not user (duplicates and self ignored).
    void load_friends(std::string_view user, std::span<const std::string> friends);
    // Friend ids of a user whose friends are loaded (empty otherwise). Order unspecified.
    std::vector<std::string> friends_of(std::string_view user) const;

    // ---- connections ----
    // Accepts a connection of `user` (a valid id whose record and friends are loaded). The
    // connection gets its snapshot; other devices get presence_self (connection count); if
    // the user was offline (not in grace), friends who can now see them get presence.
    // Returns TooMany when the user already holds max_connections_per_user connections (the
    // connection is not added and nothing is sent).
    CoreError connect(ConnId conn, std::string_view user, Millis now);
    // Removes a connection. Unknown ids are ignored. If it was the user's last one, the user
    // stays as seen for offline_grace_ms, then goes offline (tick) unless a connection returns.
    void disconnect(ConnId conn, Millis now);
    // Any frame from the connection: it is alive (resets its heartbeat deadline).
    void touch(ConnId conn, Millis now);
    // presence_heartbeat: alive + idle flag (auto-away when every connection is idle and the
    // chosen status is Online). Never broadcasts unless the effective status changed.
    void heartbeat(ConnId conn, bool idle, Millis now);
    bool has_connection(ConnId conn) const;
    // User of a live connection, empty if unknown.
    std::string_view user_of(ConnId conn) const;

    // ---- chosen status ----
    // Validates and applies an update for `user`. `via` is the connection it came from (its
    // token bucket applies) or 0 for REST (the user's REST bucket applies). When the bucket is
    // empty the update is kept (latest wins) and applied by tick() when a token is available,
    // and RateLimited is returned. On success the user's devices get presence_self and
    // friends whose view changed get presence.
    CoreError update_status(std::string_view user, const StatusUpdate& update, ConnId via,
                            Millis now);

    // ---- visibility list (friends who see an invisible user online) ----
    // Replace the whole list: all or nothing. On NotFriend, `offenders` lists the ids that are
    // not friends (sorted); on TooMany nothing changes.
    CoreError set_visibility(std::string_view user, std::span<const std::string> ids,
                             std::vector<std::string>* offenders, Millis now);
    CoreError add_visibility(std::string_view user, std::string_view friend_id, Millis now);
    // Removing an id that is not on the list is not an error.
    CoreError remove_visibility(std::string_view user, std::string_view friend_id, Millis now);

    // ---- friendships (from the host application) ----
    // Both directions. add: each side sees the other (if it may) from now on. remove: each side
    // that could see the other gets `offline` for them, and nothing after; the ended friend
    // leaves the visibility list. Users not loaded are only updated where loaded.
    void add_friendship(std::string_view a, std::string_view b, Millis now);
    void remove_friendship(std::string_view a, std::string_view b, Millis now);

    // ---- queries ----
    // What `viewer` sees of `subject` (privacy rules of SPEC 4). A non-friend or unknown id
    // gets offline with last_seen null. `viewer == subject` sees their own effective status as
    // friends on the list would (never Invisible).
    PresenceView view(std::string_view viewer, std::string_view subject) const;
    SelfView self(std::string_view user) const;
    // Every friend of `viewer` as the viewer sees them, sorted by user id.
    std::vector<PresenceView> friends_view(std::string_view viewer) const;

    // ---- time ----
    // Runs what is due at `now`: heartbeat timeouts (close + immediate offline), grace
    // expiries, `until` expiries, deferred rate-limited updates. Work is proportional to what
    // is due, not to the number of users or connections.
    void tick(Millis now);

    // ---- persistence ----
    // Users whose durable state changed since the last call (status, message, until,
    // visibility, last_seen). Each dirty user is reported once with its current record.
    void drain_dirty(const std::function<void(const UserRecord&)>& fn);

    // ---- several instances (SPEC 9; only with CoreConfig::shared) ----
    // Another instance's view of a loaded user: its devices elsewhere and, with `record`, the
    // durable part last written by any instance. Local viewers get exactly the frames their
    // view calls for, the user's local devices get presence_self when what they see of
    // themselves changed; nothing is persisted, echoed to drain_shared or told to the host's
    // change callback (the instance where it happened does that). Users not loaded: ignored.
    void apply_remote(std::string_view user, const RemotePresence& remote, const UserRecord* record,
                      Millis now);
    // Users whose shared state changed here since the last call (a connection came or went, an
    // idle flag flipped, the durable part changed), each once, with its current state.
    void drain_shared(const std::function<void(const SharedUser&)>& fn);
    // The same report for one user (re-registering after Redis lost its data); false when the
    // user is not loaded.
    bool shared_state(std::string_view user, const std::function<void(const SharedUser&)>& fn);
    // Users with at least one live connection here (re-registration after a Redis restart).
    std::vector<std::string> local_users() const;
    // Every loaded user (a resync of what other instances hold).
    std::vector<std::string> loaded_users() const;

    // ---- memory: eviction of users nobody here watches (eviction.cpp) ----
    // Asked before a user goes: true lets it go (the caller dropped what it keeps for the
    // user), false keeps it for now (e.g. a write not yet durable, a load in flight); the
    // user is looked at again evict_after_ms later.
    using ReleaseFn = std::function<bool(std::string_view user)>;
    // Drops up to `max_users` users whose eviction is due at `now` and who may go (see
    // CoreConfig::evict_after_ms). What is kept of a user's friends stays exact: a friend list
    // goes with its owner, and an evicted user is loaded again (load_user, load_friends) before
    // anything needs it. Work follows what is due. Returns how many users were dropped.
    std::size_t evict_idle(Millis now, std::size_t max_users, const ReleaseFn& release);
    // Users waiting in the eviction queue (some may have become watched since).
    std::size_t evict_queue_size() const;
    // Slots of user state in memory (loaded users, plus users only named in a loaded list).
    std::size_t interned_user_count() const;

    // ---- stats ----
    std::size_t connection_count() const;
    std::size_t online_user_count() const;  // users with at least one live connection
    std::size_t loaded_user_count() const;
    // Deadlines waiting in the timer heap, and how many tick() has popped so far (tests check
    // that tick work follows what is due, not the number of connections).
    std::size_t timer_queue_size() const;
    std::uint64_t timers_run() const;

    struct Impl;

  private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace presence::core
