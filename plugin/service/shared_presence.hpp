// Several instances (SPEC 9), loop-thread side: what the core shares goes to the Redis link,
// and what other instances changed comes back into the core, newest version only.
//
// Ordering: every user hash carries a version that only grows. A change made here is applied
// to the core at once and written to Redis; while it is on its way, news of the same user from
// other instances is held back (only the newest kept) and settled when the script's answer
// (the merged state) arrives, so a viewer never sees a newer local state undone by an older
// remote one and then redone.
//
// Recovery: a change Redis could not take is written again when Redis returns, with every
// local user; when Redis lost its data (restart, or this instance was reaped while paused)
// every local user is registered again, and once every other instance has too (or fell silent
// past the reap period: dead) every loaded user is read again, so ghosts of instances that
// died meanwhile disappear while users of live instances never look gone (the link decides
// when: RedisLink::registered, LinkEvent::resync).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/presence_core.hpp"
#include "redis/redis_link.hpp"

namespace presence::service {

struct SharedStats {
    redis::LinkStats link;
    std::uint64_t applied = 0;  // other instances' changes applied to the core here
    std::uint64_t resyncs = 0;  // loaded users read again (feed gap, Redis lost its data)
};

class SharedPresence {
  public:
    using Clock = std::function<core::Millis()>;
    using Log = std::function<void(int level, const std::string& line)>;  // PRESENCE_LOG_*
    using FriendshipFn = std::function<void(bool add, const std::string& a, const std::string& b)>;
    using Fetched = std::function<void(bool ok, std::vector<redis::UserHash> hashes)>;

    SharedPresence(core::PresenceCore& core, std::unique_ptr<redis::RedisLink> link,
                   std::string instance, Clock now, Log log, FriendshipFn on_friendship);
    ~SharedPresence();

    // After every hook: what the core marked shared goes to Redis.
    void publish_changes();
    // On wake: what the link's threads produced.
    void on_wake();
    // Timers (changes Redis refused, written again every second).
    void tick();
    // A friendship change made through this instance's host.
    void friendship(bool add, const std::string& a, const std::string& b);
    // The current hashes of `users` (loading them): `done` runs on a later wake, with ok false
    // and empty hashes when Redis is down (they are read again when it returns).
    void fetch(std::vector<std::string> users, Fetched done);
    // A freshly loaded user: remember its version and apply its devices elsewhere.
    void loaded(const std::string& user, const redis::UserHash& hash);
    // Eviction: a user may leave the core only when no change of it is on its way to Redis
    // (or waiting to be written again); forget() then drops what is kept for it here.
    bool may_forget(const std::string& user) const;
    void forget(const std::string& user);
    // Stops the link; `clean` removes this instance's devices from Redis first.
    void stop(bool clean);

    bool up() const;
    SharedStats stats() const;

  private:
    struct Pending {  // a user with local changes on their way to Redis
        std::uint32_t in_flight = 0;
        bool held = false;
        redis::UserHash newest;  // the newest news of the user held back meanwhile
    };

    void handle(redis::LinkEvent& e);
    void apply(const std::string& user, const redis::UserHash& hash, bool force);
    void republish(const std::unordered_set<std::string>& users);
    void republish_failed();
    void republish_local();
    void resync();

    core::PresenceCore& core_;
    std::unique_ptr<redis::RedisLink> link_;
    std::string instance_;
    Clock now_;
    Log log_;
    FriendshipFn on_friendship_;

    std::unordered_map<std::string, std::uint64_t> versions_;
    std::unordered_map<std::string, Pending> pending_;
    std::unordered_set<std::string> failed_;  // changes Redis did not take
    std::unordered_map<std::uint64_t, Fetched> fetches_;
    std::vector<redis::LinkEvent> events_;
    bool awaiting_resync_ = false;  // Redis lost its data: the link's resync is still to come
    core::Millis next_retry_ = 0;
    bool fetch_failed_ = false;
    std::uint64_t applied_ = 0;
    std::uint64_t resyncs_ = 0;
};

}  // namespace presence::service
