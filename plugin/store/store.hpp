// The store interface: where what must last lives, and where friends come from.
// Every call is made on the host's loop thread and never blocks. Results come back through
// callbacks run from pump() on the loop thread (never from inside the call that asked), so a
// store that answers later from a worker thread (MariaDB) fits the same shape as the
// in-memory store. A worker thread that finishes something calls the `wake` function given at
// construction; the host then calls on_wake, and the service calls pump().
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/types.hpp"

namespace presence::store {

// Levels of the stores' `log(level, line)` callbacks: the numbers of the ABI's PRESENCE_LOG_*
// (make_service.cpp checks that at compile time), so the store needs no ABI header.
enum LogLevel : int { kLogError = 0, kLogWarn = 1, kLogInfo = 2, kLogDebug = 3 };

struct StoreHealth {
    bool ok = true;               // false: degraded (database unreachable, writes queued)
    std::string backend;          // "memory" | "mariadb"
    std::string detail;           // human-readable state, e.g. "connected", "reconnecting"
    std::size_t queue_depth = 0;  // writes waiting to be written
};

class Store {
  public:
    virtual ~Store() = default;

    // Loads the records of `ids` (a record with defaults for ids never stored). `ok` false
    // means the store could not answer (database down past its retry budget): the caller
    // must not invent a state (an invisible user would leak as online).
    using UsersDone = std::function<void(bool ok, std::vector<core::UserRecord> records)>;
    virtual void load_users(std::vector<std::string> ids, UsersDone done) = 0;

    // Loads the friend ids of `id`.
    using FriendsDone = std::function<void(bool ok, std::vector<std::string> friends)>;
    virtual void load_friends(std::string id, FriendsDone done) = 0;

    // Write-behind of a user's durable state. Coalesced per user (the latest record wins) and
    // batched; never lost once accepted, unless the bounded queue overflows (see
    // docs/operations.md).
    virtual void save_user(const core::UserRecord& record) = 0;

    // True when an answer to a user's choice must wait for when_durable (MariaDB: the local
    // journal); false when acknowledging at once is all the store can offer (memory).
    virtual bool holds_acks() const { return false; }

    // Loop thread: `done` runs from a later pump() once every save_user made before this call
    // that changed a choice (status, message, until, visibility) survives a crash of the
    // process. Last-seen refreshes are not waited for (they stay write-behind).
    virtual void when_durable(std::function<void()> done) = 0;

    // The host application's friendship changed. The memory store updates its graph; a store
    // whose friendships belong to the host's database ignores it (the cache lives in the core).
    virtual void friendship_changed(bool added, const std::string& a, const std::string& b) = 0;

    // Loop thread: run the callbacks of finished loads. Cheap when nothing finished.
    virtual void pump() = 0;

    // Blocks until every accepted write is written or `max_wait_ms` passes (destroy only).
    // Returns true when nothing is left unwritten.
    virtual bool flush(long max_wait_ms) = 0;

    virtual StoreHealth health() const = 0;

    // The core is about to drop `id` (eviction: nobody here watches them). True lets it go:
    // everything saved for the user is durable or will be read back by a later load, and the
    // store forgets what it kept only for the user's sake. False keeps the user in the core
    // for now (a write of it still queued or being written). The memory store is itself the
    // durable copy: always true.
    virtual bool release(const std::string& id) {
        (void)id;
        return true;
    }
};

struct MemoryStoreOptions {
    std::string friends_file;  // "" = no initial friendships
};

// Returns nullptr and sets *err when the friends file cannot be read or has a bad line.
std::unique_ptr<Store> make_memory_store(const MemoryStoreOptions& options, std::string* err);

}  // namespace presence::store
