// plugin/core/README
// ------------------
// The presence core: pure logic, no I/O, no threads, no third-party code. Time is a parameter.
//
// Data layout (chosen for fan-out speed and a small footprint per friendship edge):
// - Users are interned: `users` is a deque of UserState (stable addresses) and `index` maps the
//   id (a string_view into the UserState's own string) to a uint32 index. A user is interned
//   when loaded, when named in a loaded friend or visibility list, or when a friendship names it.
// - Friends and visibility lists are sorted std::vector<uint32_t> (binary search for
//   membership; about 4 bytes per direction of a friendship edge).
// - Invariant: friend lists are symmetric. For two users whose lists are loaded, a is in b's
//   list exactly when b is in a's. A user whose list is not loaded keeps in `friends` its
//   reverse list: exactly the loaded users that list it. The host's table has one row per
//   direction and loads come per user, so the rows could disagree; load_friends settles it,
//   the newest load winning for every edge touching that user, and add/remove_friendship
//   change both sides. Hence fan-out walks the subject's own list and needs no per-viewer
//   membership test (the hot path: a cache miss per viewer); is_friend stays for queries.
// - Connections live in a hash map ConnId -> ConnState {user, idle, last activity, serial, token
//   bucket}; each user keeps a small vector of its ConnIds and a count of active (non-idle) ones.
// - Deadlines (heartbeat, grace, `until`, deferred updates) sit in one min-heap with lazy
//   invalidation: entries carry a generation and are checked on pop. A heartbeat only moves
//   `last_activity`; the heap entry re-arms itself when it pops early. tick() pops only what is
//   due, so idle connections cost nothing per tick.
// - Who sees what is decided in viewer_policy.cpp alone. A change is bracketed by
//   begin_change()/end_change() (fanout.cpp): the two views friends can have (listed or not)
//   are captured before and after, and only viewers whose view differs get a frame, one
//   send_presence per distinct view, with connection lists built in reused scratch vectors.
//
// Files: connections.cpp (connect, disconnect, heartbeats, grace), status_updates.cpp
// (validation, rate limits, `until`), visibility.cpp, friendships.cpp, fanout.cpp, ticks.cpp,
// eviction.cpp (users nobody here watches leave memory; their slots are reused).
#include "core/presence_core.hpp"

#include <algorithm>

#include "core/core_impl.hpp"
#include "core/sorted_ids.hpp"

namespace presence::core {

// ---- OwnedView ----

void OwnedView::assign(const PresenceView& v) {
    status = v.status;
    has_message = v.message.has_value();
    if (has_message) {
        message.assign(*v.message);  // reuses capacity: no allocation once warm
    } else {
        message.clear();
    }
    last_seen = v.last_seen;
}

bool OwnedView::same_as(const PresenceView& v) const {
    if (status != v.status || last_seen != v.last_seen) return false;
    if (has_message != v.message.has_value()) return false;
    return !has_message || message == *v.message;
}

PresenceView OwnedView::as_view(std::string_view user_id) const {
    PresenceView v;
    v.user_id = user_id;
    v.status = status;
    if (has_message) v.message = std::string_view(message);
    v.last_seen = last_seen;
    return v;
}

// ---- Impl: users and views ----

std::optional<UserIdx> PresenceCore::Impl::find(std::string_view id) const {
    auto it = index.find(id);
    if (it == index.end()) return std::nullopt;
    return it->second;
}

UserIdx PresenceCore::Impl::intern(std::string_view id) {
    if (auto found = find(id)) return *found;
    if (!free_slots.empty()) {  // an evicted user's slot (eviction.cpp)
        const UserIdx idx = free_slots.back();
        free_slots.pop_back();
        users[idx].id.assign(id);
        index.emplace(std::string_view(users[idx].id), idx);
        return idx;
    }
    const auto idx = static_cast<UserIdx>(users.size());
    users.emplace_back();
    users.back().id.assign(id);
    index.emplace(std::string_view(users.back().id), idx);
    return idx;
}

UserState* PresenceCore::Impl::loaded_user(std::string_view id) {
    auto idx = find(id);
    if (!idx || !users[*idx].loaded) return nullptr;
    return &users[*idx];
}

void PresenceCore::Impl::mark_dirty(UserIdx u) {
    if (users[u].dirty) return;
    users[u].dirty = true;
    dirty_list.push_back(u);
}

void PresenceCore::Impl::mark_shared(UserIdx u, bool record) {
    // Single instance: nothing to share. Another instance's state: it already knows it.
    if (!config.shared || remote_change) return;
    UserState& s = users[u];
    if (record) s.shared_record = true;
    if (s.shared_dirty) return;
    s.shared_dirty = true;
    shared_list.push_back(u);
}

void PresenceCore::Impl::fill_record(UserIdx idx, UserRecord& r) const {
    const UserState& u = users[idx];
    r.user_id = u.id;
    r.chosen = u.chosen;
    r.message = u.message;
    r.until = u.until;
    r.last_seen = u.last_seen;
    r.last_seen_listed = u.last_seen_listed;
    r.visibility.clear();
    for (UserIdx v : u.visibility) r.visibility.push_back(users[v].id);
    std::sort(r.visibility.begin(), r.visibility.end());
}

bool PresenceCore::Impl::is_friend(UserIdx viewer, UserIdx subject) const {
    // The viewer's own list decides when it is loaded (the acting user always has it);
    // otherwise the subject's.
    const UserState& v = users[viewer];
    if (v.friends_loaded) return std::binary_search(v.friends.begin(), v.friends.end(), subject);
    const UserState& s = users[subject];
    if (s.friends_loaded) return std::binary_search(s.friends.begin(), s.friends.end(), viewer);
    return false;
}

bool PresenceCore::Impl::is_listed(UserIdx viewer, UserIdx subject) const {
    const auto& vis = users[subject].visibility;
    return std::binary_search(vis.begin(), vis.end(), viewer);
}

SubjectFacts PresenceCore::Impl::facts(UserIdx subject) const {
    const UserState& u = users[subject];
    SubjectFacts f;
    f.user_id = u.id;
    f.present = is_present(u);
    f.chosen = u.chosen;
    // Auto-away counts every device of the user, here and on other instances.
    const bool any_device = !u.conns.empty() || u.remote_devices > 0;
    f.all_idle = any_device ? u.active_conns + u.remote_active == 0 : u.grace_idle;
    if (u.message) f.message = std::string_view(*u.message);
    f.last_seen = u.last_seen;
    f.last_seen_listed = u.last_seen_listed;
    return f;
}

PresenceView PresenceCore::Impl::view_of(UserIdx viewer, UserIdx subject) const {
    const Audience a =
        audience_for(viewer == subject, viewer != subject && is_friend(viewer, subject),
                     is_listed(viewer, subject));
    return visible_view(facts(subject), a);
}

void PresenceCore::Impl::build_self(UserIdx idx, SelfView& out) const {
    const UserState& u = users[idx];
    out.user_id = u.id;
    out.chosen = u.chosen;
    out.message.reset();
    if (u.message) out.message = std::string_view(*u.message);
    out.until = u.until;
    out.visibility.clear();
    for (UserIdx v : u.visibility) out.visibility.push_back(users[v].id);
    std::sort(out.visibility.begin(), out.visibility.end());
    out.connections = static_cast<std::uint32_t>(u.conns.size()) + u.remote_devices;
}

// ---- PresenceCore: construction, loading ----

PresenceCore::PresenceCore(const CoreConfig& config, CoreSink& sink)
    : impl_(std::make_unique<Impl>(config, sink)) {}

PresenceCore::~PresenceCore() = default;

const CoreConfig& PresenceCore::config() const {
    return impl_->config;
}

bool PresenceCore::has_user(std::string_view user) const {
    auto idx = impl_->find(user);
    return idx && impl_->users[*idx].loaded;
}

bool PresenceCore::has_friends(std::string_view user) const {
    auto idx = impl_->find(user);
    return idx && impl_->users[*idx].friends_loaded;
}

void PresenceCore::load_user(const UserRecord& record, Millis now) {
    Impl& m = *impl_;
    if (!is_valid_user_id(record.user_id)) return;
    const UserIdx idx = m.intern(record.user_id);
    if (m.users[idx].loaded) return;  // memory is newer than the store
    // Intern the visibility entries first: interning may grow the deque.
    std::vector<UserIdx> vis;
    vis.reserve(record.visibility.size());
    for (const auto& id : record.visibility) {
        if (!is_valid_user_id(id) || id == record.user_id) continue;
        vis.push_back(m.intern(id));
    }
    std::sort(vis.begin(), vis.end());
    vis.erase(std::unique(vis.begin(), vis.end()), vis.end());

    UserState& u = m.users[idx];
    u.loaded = true;
    ++m.loaded_users;
    u.chosen = record.chosen == Status::Offline ? Status::Online : record.chosen;
    u.message = record.message;
    if (u.message && u.message->empty()) u.message.reset();
    u.until = record.until;
    u.last_seen = record.last_seen;
    u.last_seen_listed = record.last_seen_listed;
    m.assign_visibility(idx, std::move(vis));
    if (u.chosen == Status::Online) u.until.reset();
    if (u.chosen == Status::Invisible && !m.config.allow_invisible) {
        // Stored while invisible was allowed; the current settings forbid it (SPEC 7).
        u.chosen = Status::Online;
        u.until.reset();
        m.mark_dirty(idx);
        m.mark_shared(idx, true);
    }
    if (u.until && *u.until <= now) {
        // Expired while nobody ran us (e.g. across a restart): back to online, persist the reset.
        u.chosen = Status::Online;
        u.until.reset();
        m.mark_dirty(idx);
        m.mark_shared(idx, true);
    } else if (u.until) {
        m.timers.push({*u.until, idx, ++u.until_gen, TimerKind::Until});
    }
    m.consider_eviction(idx, now);  // loaded for a query or a read: goes once nobody watches
}

void PresenceCore::load_friends(std::string_view user, std::span<const std::string> friends) {
    Impl& m = *impl_;
    if (!is_valid_user_id(user)) return;
    const UserIdx idx = m.intern(user);
    std::vector<UserIdx> list;
    list.reserve(friends.size());
    for (const auto& f : friends) {
        if (!is_valid_user_id(f) || f == user) continue;
        list.push_back(m.intern(f));
    }
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());

    // Keep the symmetry invariant (see the layout notes): the newest load wins for every edge
    // that touches `user`. The old list is exact whether `user` was loaded before (its list,
    // symmetric) or not (the reverse list: every loaded user that lists it).
    UserState& me = m.users[idx];
    for (UserIdx old : me.friends) {
        if (!std::binary_search(list.begin(), list.end(), old))
            erase_sorted(m.users[old].friends, idx);
    }
    // Every named friend gets `user` back: in its own list when loaded, else in its reverse list.
    for (UserIdx f : list) insert_sorted(m.users[f].friends, idx);
    me.friends = std::move(list);
    me.friends_loaded = true;
}

std::vector<std::string> PresenceCore::friends_of(std::string_view user) const {
    std::vector<std::string> out;
    auto idx = impl_->find(user);
    if (!idx || !impl_->users[*idx].friends_loaded) return out;
    out.reserve(impl_->users[*idx].friends.size());
    for (UserIdx f : impl_->users[*idx].friends) out.push_back(impl_->users[f].id);
    return out;
}

bool PresenceCore::has_connection(ConnId conn) const {
    return impl_->conns.contains(conn);
}

std::string_view PresenceCore::user_of(ConnId conn) const {
    auto it = impl_->conns.find(conn);
    if (it == impl_->conns.end()) return {};
    return impl_->users[it->second.user].id;
}

// ---- queries ----

PresenceView PresenceCore::view(std::string_view viewer, std::string_view subject) const {
    const Impl& m = *impl_;
    auto s = m.find(subject);
    if (!s) return stranger_view(subject);
    auto v = m.find(viewer);
    if (!v) return stranger_view(m.users[*s].id);
    return m.view_of(*v, *s);
}

SelfView PresenceCore::self(std::string_view user) const {
    SelfView out;
    auto idx = impl_->find(user);
    if (!idx) {
        out.user_id = user;
        return out;
    }
    impl_->build_self(*idx, out);
    return out;
}

std::vector<PresenceView> PresenceCore::friends_view(std::string_view viewer) const {
    const Impl& m = *impl_;
    std::vector<PresenceView> out;
    auto v = m.find(viewer);
    if (!v || !m.users[*v].friends_loaded) return out;
    out.reserve(m.users[*v].friends.size());
    for (UserIdx f : m.users[*v].friends) out.push_back(m.view_of(*v, f));
    std::sort(out.begin(), out.end(),
              [](const PresenceView& a, const PresenceView& b) { return a.user_id < b.user_id; });
    return out;
}

// ---- persistence ----

void PresenceCore::drain_dirty(const std::function<void(const UserRecord&)>& fn) {
    Impl& m = *impl_;
    // Swap out first so a callback that somehow marks users dirty cannot invalidate the loop.
    std::vector<UserIdx> batch;
    batch.swap(m.dirty_list);
    UserRecord& r = m.record_scratch;
    for (UserIdx idx : batch) {
        m.users[idx].dirty = false;
        m.fill_record(idx, r);
        fn(r);
    }
    batch.clear();
    if (m.dirty_list.empty()) m.dirty_list.swap(batch);  // keep the capacity
}

// ---- stats ----

std::size_t PresenceCore::connection_count() const {
    return impl_->conns.size();
}
std::size_t PresenceCore::online_user_count() const {
    return impl_->online_users;
}
std::size_t PresenceCore::loaded_user_count() const {
    return impl_->loaded_users;
}

}  // namespace presence::core
