// Makes sure the core has what a request needs before the request runs: user records and
// friend lists, read from the store. Concurrent requests for the same user share one store
// load (a reconnect storm of a popular user's friends does not load it a thousand times).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/presence_core.hpp"
#include "store/store.hpp"

namespace presence::service {

class SharedPresence;

class UserLoader {
  public:
    using Done = std::function<void(bool ok)>;  // ok false: the store could not answer
    using Clock = std::function<core::Millis()>;

    UserLoader(core::PresenceCore& core, store::Store& store, Clock now)
        : core_(core), store_(store), now_(std::move(now)) {}

    // Loads the records of `records` and the friend lists of `friends` that the core lacks,
    // then calls `done` (right away, inside this call, when nothing was missing).
    void ensure(const std::vector<std::string>& records, const std::vector<std::string>& friends,
                Done done);

    // What a viewer's request needs: the viewer's record and friend list, then the records of
    // the viewer's friends among `subjects` (or of every friend with `all_friends`). Records
    // of non-friends are never loaded: the viewer sees them offline whatever they hold.
    void ensure_viewer(const std::string& viewer, std::vector<std::string> subjects,
                       bool all_friends, Done done);

    // Several instances: a loaded record is completed with what Redis holds of the user (the
    // newest durable part, devices on other instances) before anyone waiting sees it.
    void set_shared(SharedPresence* shared) { shared_ = shared; }

    // A request is waiting for `id` (its own load or another user's that it needs next): the
    // core must not evict it before the request runs.
    bool pinned(const std::string& id) const { return pins_.count(id) != 0; }

    std::size_t loads_in_flight() const {
        return records_waiting_.size() + friends_waiting_.size();
    }

  private:
    struct Job {
        std::size_t remaining = 1;  // starts at 1 so it cannot finish while being set up
        bool ok = true;
        Done done;
    };
    using Waiters = std::unordered_map<std::string, std::vector<std::shared_ptr<Job>>>;

    static void finish(const std::shared_ptr<Job>& job, bool ok);
    void load_records(std::vector<std::string> ids);
    static void wake_waiters(Waiters& waiting, const std::string& id, bool ok);
    // Pins `ids` until the returned callback (wrapping `done`) has run.
    Done pinned_until_done(std::vector<std::string> ids, Done done);

    core::PresenceCore& core_;
    store::Store& store_;
    Clock now_;
    SharedPresence* shared_ = nullptr;
    Waiters records_waiting_;  // user id -> requests waiting for its record
    Waiters friends_waiting_;  // user id -> requests waiting for its friend list
    std::unordered_map<std::string, std::uint32_t> pins_;  // user id -> requests needing it
};

}  // namespace presence::service
