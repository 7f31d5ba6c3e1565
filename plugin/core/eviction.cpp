// Eviction: memory follows the users someone here can watch, not every user ever seen.
//
// A user is queued (consider_eviction) whenever it may have lost its last watcher: when it is
// loaded, when it goes offline, when a friend's last connection here closes, when a friendship
// ends, when another instance reports it gone. evict_idle() looks at the queue's due entries
// (in bounded batches) and drops a user only when nothing here can need its state:
//   - no connection here, no offline grace running, no device on another instance;
//   - no rate-limited update waiting, nothing unsaved (dirty) or unshared, a full REST bucket;
//   - no friend connected here (their view of the user must stay live);
//   - the caller agrees (release: its write is durable, no load in flight, Redis took it).
// Watched or present users leave the queue (they come back when that ends); users blocked by
// unsaved work or the caller are looked at again evict_after_ms later.
//
// Dropping keeps the friend-list invariant (layout notes in presence_core.cpp): the user's own
// list turns back into its reverse list (the loaded lists naming it), exactly what
// load_friends() expects; its record goes; the slot itself is freed (and reused by intern())
// once no loaded list names the user any more. Timer generations survive slot reuse, so a
// stale heap entry can never fire for the next user of the slot.
#include <algorithm>

#include "core/core_impl.hpp"
#include "core/sorted_ids.hpp"

namespace presence::core {

void PresenceCore::Impl::consider_eviction(UserIdx idx, Millis now) {
    if (config.evict_after_ms < 0) return;
    UserState& u = users[idx];
    u.evict_due = now + config.evict_after_ms;
    // An entry already queued moves back to the new due time when it comes up.
    if (u.evict_queued) return;
    u.evict_queued = true;
    evict_queue.push_back({idx, u.evict_gen, u.evict_due});
}

void PresenceCore::Impl::assign_visibility(UserIdx idx, std::vector<UserIdx>&& list) {
    auto& cur = users[idx].visibility;
    for (UserIdx v : cur) --users[v].listed_by;
    for (UserIdx v : list) ++users[v].listed_by;
    cur = std::move(list);
}

EvictBlock PresenceCore::Impl::evict_blocker(UserIdx idx, Millis now) const {
    const UserState& u = users[idx];
    if (!u.conns.empty() || u.in_grace || u.remote_devices > 0) return EvictBlock::Watched;
    for (UserIdx f : u.friends) {
        if (!users[f].conns.empty()) return EvictBlock::Watched;  // their view stays live
    }
    if (u.pending || u.dirty || u.shared_dirty) return EvictBlock::Busy;
    // A half-empty bucket would come back full: forgetting it would lift the rate limit.
    if (u.rest_bucket_ready && !u.rest_bucket.full(config.updates_per_s, config.update_burst, now))
        return EvictBlock::Busy;
    return EvictBlock::None;
}

void PresenceCore::Impl::unload_friend_list(UserIdx idx) {
    if (!users[idx].friends_loaded) return;
    std::vector<UserIdx> old = std::move(users[idx].friends);
    std::vector<UserIdx> reverse;  // the loaded lists that name this user: they stay exact
    for (UserIdx f : old) {
        if (users[f].friends_loaded) {
            reverse.push_back(f);  // `old` is sorted, so is `reverse`
        } else {
            erase_sorted(users[f].friends, idx);  // f's reverse list: this list is gone
        }
    }
    users[idx].friends = std::move(reverse);
    users[idx].friends_loaded = false;
    for (UserIdx f : old) free_if_unreferenced(f);
}

void PresenceCore::Impl::unload_record(UserIdx idx) {
    UserState& u = users[idx];
    if (!u.loaded) return;
    u.loaded = false;
    --loaded_users;
    u.chosen = Status::Online;
    u.message.reset();
    u.until.reset();
    ++u.until_gen;  // its expiry entry (if any) no longer applies: a reload re-arms it
    u.last_seen.reset();
    u.last_seen_listed.reset();
    u.left_at = 0;
    u.left_idle = false;
    u.grace_idle = false;
    u.remote_active = 0;
    u.rest_bucket_ready = false;
    std::vector<UserIdx> listed = u.visibility;
    assign_visibility(idx, {});
    for (UserIdx v : listed) free_if_unreferenced(v);
}

bool PresenceCore::Impl::free_if_unreferenced(UserIdx idx) {
    UserState& u = users[idx];
    if (u.loaded || u.friends_loaded || !u.friends.empty() || u.listed_by > 0 || !u.conns.empty() ||
        u.in_grace || u.remote_devices > 0 || u.pending || u.dirty || u.shared_dirty ||
        u.id.empty()) {
        return false;
    }
    index.erase(std::string_view(u.id));
    const std::uint32_t grace_gen = u.grace_gen, until_gen = u.until_gen,
                        pending_gen = u.pending_gen, evict_gen = u.evict_gen;
    u = UserState{};  // releases the id, the lists and their capacity
    u.grace_gen = grace_gen;
    u.until_gen = until_gen;
    u.pending_gen = pending_gen;
    u.evict_gen = evict_gen + 1;  // a queued entry of the old user is stale
    free_slots.push_back(idx);
    return true;
}

std::size_t PresenceCore::evict_idle(Millis now, std::size_t max_users, const ReleaseFn& release) {
    Impl& m = *impl_;
    std::size_t looked = 0, dropped = 0;
    while (!m.evict_queue.empty() && m.evict_queue.front().due <= now && looked < max_users) {
        const EvictEntry e = m.evict_queue.front();
        m.evict_queue.pop_front();
        UserState& u = m.users[e.user];
        if (u.evict_gen != e.gen || !u.evict_queued) continue;  // stale: slot freed since
        ++looked;
        if (u.evict_due > e.due) {  // considered again since it was queued: not yet
            m.evict_queue.push_back({e.user, e.gen, u.evict_due});
            continue;
        }
        u.evict_queued = false;
        const EvictBlock block = m.evict_blocker(e.user, now);
        if (block == EvictBlock::Busy) m.consider_eviction(e.user, now);
        if (block != EvictBlock::None) continue;
        if (!u.loaded && !u.friends_loaded) {  // only named in a loaded list: no state of its own
            m.free_if_unreferenced(e.user);
            continue;
        }
        if (release && !release(u.id)) {
            m.consider_eviction(e.user, now);
            continue;
        }
        m.unload_friend_list(e.user);
        m.unload_record(e.user);
        m.free_if_unreferenced(e.user);
        ++dropped;
    }
    return dropped;
}

std::size_t PresenceCore::evict_queue_size() const {
    return impl_->evict_queue.size();
}

std::size_t PresenceCore::interned_user_count() const {
    return impl_->index.size();
}

}  // namespace presence::core
