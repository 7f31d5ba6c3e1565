// The MariaDB store's write-behind queue: one pending record per user (the latest wins), taken
// oldest-first in batches by the worker, given back when a batch fails. No locking and no I/O
// here: the store guards it with its mutex, and the unit tests drive it directly.
//
// Bound (max_users): while the database is down the queue keeps growing by one entry per user.
// Past the bound it drops the OLDEST entries whose only change is a last-seen refresh (their
// chosen status, message, until and visibility equal what was already accepted, so the only
// loss is a slightly older last_seen). A change of status, message, until or visibility is never
// dropped: with nothing droppable left the queue grows past its bound instead (and says so).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/types.hpp"

namespace presence::store {

struct PendingWrite {
    core::UserRecord record;
    bool state_dirty = true;       // chosen/message/until differ from the previous accepted state
    bool visibility_dirty = true;  // the visibility list differs (its rows must be replaced)
    std::uint64_t seq = 0;         // arrival order of the first unwritten change (oldest first)
};

struct AcceptResult {
    std::size_t dropped = 0;  // last-seen-only entries dropped to stay within the bound
    bool over_bound = false;  // nothing droppable was left: the queue exceeds its bound
    // accept(): the record changes a choice (status, message, until or visibility), so its
    // acknowledgement waits for the journal; false for a last-seen refresh.
    bool choice_changed = false;
};

class MariaDbWriteQueue {
  public:
    explicit MariaDbWriteQueue(std::size_t max_users) : max_users_(max_users) {}

    AcceptResult accept(const core::UserRecord& record);

    // Removes and returns up to `max` entries, oldest first.
    std::vector<PendingWrite> take_batch(std::size_t max);

    // A batch that could not be written comes back; a newer pending record of the same user
    // wins, but keeps the dirty flags of the failed one so nothing is forgotten.
    AcceptResult give_back(std::vector<PendingWrite> batch);

    // The pending record of `user_id`, or nullptr.
    const core::UserRecord* find(const std::string& user_id) const;

    // A record read from the database: later saves that only refresh last_seen are recognised
    // as such (and may be dropped under pressure). Ignored when the user is already known.
    void remember_loaded(const core::UserRecord& record);

    // The core dropped the user (eviction): forget its last accepted state. Only for a user
    // with nothing pending; the next load remembers it again.
    void forget(const std::string& user_id) { accepted_.erase(user_id); }

    // Watermarks for the journal. Every record accepted before next_seq() was read is written
    // once oldest_unwritten() >= that value (in-flight batches not counted: the worker asks
    // between batches).
    std::uint64_t next_seq() const { return next_seq_; }
    std::uint64_t oldest_unwritten() const;

    std::size_t size() const { return pending_.size(); }
    bool empty() const { return pending_.empty(); }

  private:
    struct Fingerprint {
        std::uint64_t state = 0;
        std::uint64_t visibility = 0;
    };
    static Fingerprint fingerprint(const core::UserRecord& record);
    void index(const std::string& id, const PendingWrite& w);
    void unindex(const PendingWrite& w);
    AcceptResult enforce_bound();

    std::size_t max_users_;
    std::uint64_t next_seq_ = 1;
    std::unordered_map<std::string, PendingWrite> pending_;
    // seq -> user id, split so that dropping the oldest refresh-only entry is O(log n).
    std::map<std::uint64_t, std::string> important_;
    std::map<std::uint64_t, std::string> refresh_only_;
    // Last accepted state per user, hashed (64-bit FNV-1a) to keep memory per user small.
    std::unordered_map<std::string, Fingerprint> accepted_;
};

}  // namespace presence::store
