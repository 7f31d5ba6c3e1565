// Several instances (SPEC 9): what this core learns of other instances' devices and changes,
// and what it reports of its own. The Redis link carries both; the core stays pure.
#include <algorithm>

#include "core/core_impl.hpp"

namespace presence::core {

namespace {

// What a user's own devices see of themselves, to tell whether presence_self must go out.
struct SelfFacts {
    Status chosen = Status::Online;
    std::optional<std::string> message;
    std::optional<Millis> until;
    std::vector<UserIdx> visibility;
    std::uint32_t connections = 0;
    bool operator==(const SelfFacts&) const = default;
};

SelfFacts self_facts(const UserState& u) {
    return {u.chosen, u.message, u.until, u.visibility,
            static_cast<std::uint32_t>(u.conns.size()) + u.remote_devices};
}

std::optional<Millis> later(std::optional<Millis> a, std::optional<Millis> b) {
    if (!a) return b;
    if (!b) return a;
    return std::max(*a, *b);
}

}  // namespace

void PresenceCore::apply_remote(std::string_view user, const RemotePresence& remote,
                                const UserRecord* record, Millis now) {
    Impl& m = *impl_;
    if (!m.config.shared || !m.loaded_user(user)) return;
    const UserIdx idx = *m.find(user);
    // Intern the visibility entries before taking references: interning may grow the deque.
    std::vector<UserIdx> vis;
    if (record) {
        for (const auto& id : record->visibility) {
            if (is_valid_user_id(id) && id != user) vis.push_back(m.intern(id));
        }
        std::sort(vis.begin(), vis.end());
        vis.erase(std::unique(vis.begin(), vis.end()), vis.end());
    }

    m.remote_change = true;
    UserState& u = m.users[idx];
    const SelfFacts self_before = self_facts(u);
    const bool was_present = m.is_present(u);
    m.begin_change(idx);
    if (record) {
        // The moment ordinary friends stopped seeing an invisible user is the one the instance
        // where it happened stamped (in the record): every instance shows that same moment.
        u.chosen = record->chosen == Status::Offline ? Status::Online : record->chosen;
        u.message = record->message;
        if (u.message && u.message->empty()) u.message.reset();
        if (u.until != record->until) {
            u.until = record->until;
            ++u.until_gen;
            if (u.until) m.timers.push({*u.until, idx, u.until_gen, TimerKind::Until});
        }
        u.last_seen = later(u.last_seen, record->last_seen);
        u.last_seen_listed = later(u.last_seen_listed, record->last_seen_listed);
        m.assign_visibility(idx, std::move(vis));
    }
    u.remote_devices = remote.devices;
    u.remote_active = std::min(remote.active_devices, remote.devices);
    if (!u.conns.empty() || u.remote_devices > 0) {
        if (u.in_grace) {
            u.in_grace = false;  // a device is back somewhere
            ++u.grace_gen;
        }
    } else if (remote.gone_since) {
        // Every device everywhere has gone: the offline grace runs from when the last one left,
        // on every instance alike, so they all turn the user offline at the same moment.
        const Millis ends = *remote.gone_since + m.config.offline_grace_ms;
        if (now < ends) {
            if (!u.in_grace || u.grace_since != *remote.gone_since) {
                u.in_grace = true;
                u.grace_since = *remote.gone_since;
                u.grace_idle = remote.gone_idle;
                m.timers.push({ends, idx, ++u.grace_gen, TimerKind::Grace});
            }
        } else if (was_present) {
            m.mark_offline(idx, *remote.gone_since, now);
        }
    } else if (was_present && !u.in_grace) {
        m.mark_offline(idx, now, now);  // gone elsewhere without a word of when: from now
    }
    m.end_change(idx, now);
    if (!(self_facts(m.users[idx]) == self_before)) m.send_self_to_devices(idx);
    m.remote_change = false;
    if (!m.is_present(m.users[idx])) m.consider_eviction(idx, now);
}

void PresenceCore::Impl::fill_shared(UserIdx idx, bool record, SharedUser& s) const {
    const UserState& u = users[idx];
    s.user_id = u.id;
    s.devices.clear();
    for (ConnId c : u.conns) {
        const auto it = conns.find(c);
        s.devices.push_back({c, it != conns.end() && it->second.idle});
    }
    s.left_at.reset();
    s.left_idle = false;
    if (u.conns.empty() && u.left_at != 0) {
        s.left_at = u.left_at;
        s.left_idle = u.left_idle;
    }
    s.record_changed = record;
    fill_record(idx, s.record);
}

bool PresenceCore::shared_state(std::string_view user,
                                const std::function<void(const SharedUser&)>& fn) {
    Impl& m = *impl_;
    if (!m.loaded_user(user)) return false;
    m.fill_shared(*m.find(user), true, m.shared_scratch);
    fn(m.shared_scratch);
    return true;
}

void PresenceCore::drain_shared(const std::function<void(const SharedUser&)>& fn) {
    Impl& m = *impl_;
    std::vector<UserIdx> batch;
    batch.swap(m.shared_list);
    for (UserIdx idx : batch) {
        UserState& u = m.users[idx];
        m.fill_shared(idx, u.shared_record, m.shared_scratch);
        u.shared_dirty = false;
        u.shared_record = false;
        fn(m.shared_scratch);
    }
    batch.clear();
    if (m.shared_list.empty()) m.shared_list.swap(batch);  // keep the capacity
}

std::vector<std::string> PresenceCore::local_users() const {
    std::vector<std::string> out;
    for (const auto& u : impl_->users) {
        if (!u.conns.empty()) out.push_back(u.id);
    }
    return out;
}

std::vector<std::string> PresenceCore::loaded_users() const {
    std::vector<std::string> out;
    for (const auto& u : impl_->users) {
        if (u.loaded) out.push_back(u.id);
    }
    return out;
}

}  // namespace presence::core
