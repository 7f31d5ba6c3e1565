// Connections: connect (snapshot), disconnect (grace), heartbeats (idle, liveness, last_seen).
#include <algorithm>

#include "core/core_impl.hpp"

namespace presence::core {

CoreError PresenceCore::connect(ConnId conn, std::string_view user, Millis now) {
    Impl& m = *impl_;
    auto found = m.find(user);
    if (!found || !m.users[*found].loaded) return CoreError::UnknownUser;
    if (m.conns.contains(conn)) return CoreError::InvalidField;  // host reused a live id
    const UserIdx idx = *found;
    // The limit is per user, service-wide: devices on other instances count too (SPEC 9).
    const UserState& known = m.users[idx];
    if (known.conns.size() + known.remote_devices >= m.config.max_connections_per_user) {
        return CoreError::TooMany;
    }

    m.begin_change(idx);
    UserState& u = m.users[idx];
    if (u.conns.empty()) {
        ++m.online_users;
        if (u.in_grace) {
            u.in_grace = false;  // back within the grace period: friends saw nothing
            ++u.grace_gen;
        }
    }
    u.conns.push_back(conn);
    ++u.active_conns;  // a fresh connection is active until it says otherwise
    ConnState& c = m.conns[conn];
    c.user = idx;
    c.idle = false;
    c.last_activity = now;
    c.serial = m.next_serial++;
    c.bucket = TokenBucket(m.config.update_burst, now);
    m.timers.push({now + m.config.heartbeat_timeout_ms, conn, c.serial, TimerKind::Heartbeat});
    m.mark_shared(idx, false);
    m.end_change(idx, now);
    m.refresh_last_seen(idx, now);

    // The snapshot: own state and every friend as this user sees them, sorted by id.
    m.build_self(idx, m.self_scratch);
    m.friends_scratch.clear();
    for (UserIdx f : m.users[idx].friends) m.friends_scratch.push_back(m.view_of(idx, f));
    // Often already in id order (friends loaded together get ascending indices); checking
    // first spares a 100,000-friend connect most of its loop time (the sort was 74 % of it).
    const auto by_id = [](const PresenceView& a, const PresenceView& b) {
        return a.user_id < b.user_id;
    };
    if (!std::is_sorted(m.friends_scratch.begin(), m.friends_scratch.end(), by_id)) {
        std::sort(m.friends_scratch.begin(), m.friends_scratch.end(), by_id);
    }
    m.sink.send_snapshot(conn, m.self_scratch, m.friends_scratch);

    // The other devices learn the new connection count.
    const auto& all = m.users[idx].conns;
    m.send_self_to(idx, std::span<const ConnId>(all.data(), all.size() - 1));
    return CoreError::None;
}

void PresenceCore::disconnect(ConnId conn, Millis now) {
    impl_->remove_connection(conn, now, false);
}

void PresenceCore::Impl::remove_connection(ConnId conn, Millis now, bool timed_out) {
    auto it = conns.find(conn);
    if (it == conns.end()) return;
    const ConnState c = it->second;
    const UserIdx idx = c.user;
    if (timed_out) sink.close_connection(conn, 1001, "heartbeat timeout");

    begin_change(idx);
    conns.erase(it);
    if (++stale_heartbeats > 4096 && stale_heartbeats > timers.size() / 2) {
        timers.compact([this](const TimerEntry& e) {
            if (e.kind != TimerKind::Heartbeat) return true;
            const auto live = conns.find(e.key);
            return live != conns.end() && live->second.serial == e.gen;
        });
        stale_heartbeats = 0;
    }
    UserState& u = users[idx];
    u.conns.erase(conn);
    if (!c.idle) --u.active_conns;
    if (u.conns.empty()) {
        --online_users;
        // No longer a viewer here: friends only it was watching may go (eviction.cpp).
        for (UserIdx f : u.friends) consider_eviction(f, now);
        u.left_at = timed_out ? c.last_activity : now;
        u.left_idle = c.idle;
        if (timed_out || config.offline_grace_ms <= 0) {
            // Dead, not closed (or no grace configured): offline now. A dead connection was
            // last seen at its last sign of life.
            mark_offline(idx, timed_out ? c.last_activity : now, now);
        } else {
            // Still present for the grace period, as seen when the last connection closed.
            u.in_grace = true;
            u.grace_idle = c.idle;
            u.grace_since = now;
            timers.push({now + config.offline_grace_ms, idx, ++u.grace_gen, TimerKind::Grace});
        }
    }
    mark_shared(idx, false);
    end_change(idx, now);
    send_self_to_devices(idx);  // remaining devices learn the new count (none: no call)
}

void PresenceCore::Impl::mark_offline(UserIdx idx, Millis moment, Millis now) {
    UserState& u = users[idx];
    u.in_grace = false;
    ++u.grace_gen;
    // Whoever could see them last saw them at `moment`. While invisible, ordinary friends'
    // stamp stays frozen at the moment they went invisible.
    auto& stamp = u.chosen == Status::Invisible ? u.last_seen_listed : u.last_seen;
    stamp = stamp ? std::max(*stamp, moment) : moment;
    mark_dirty(idx);
    consider_eviction(idx, now);
}

void PresenceCore::Impl::refresh_last_seen(UserIdx idx, Millis now) {
    UserState& u = users[idx];
    // A crash never runs mark_offline(), so keep the stored stamp recent while seen.
    auto& stamp = u.chosen == Status::Invisible ? u.last_seen_listed : u.last_seen;
    if (stamp && now - *stamp < config.last_seen_refresh_ms) return;
    if (stamp && *stamp >= now) return;
    stamp = now;
    mark_dirty(idx);
}

void PresenceCore::touch(ConnId conn, Millis now) {
    Impl& m = *impl_;
    auto it = m.conns.find(conn);
    if (it == m.conns.end()) return;
    it->second.last_activity = std::max(it->second.last_activity, now);
    m.refresh_last_seen(it->second.user, now);
}

void PresenceCore::heartbeat(ConnId conn, bool idle, Millis now) {
    Impl& m = *impl_;
    auto it = m.conns.find(conn);
    if (it == m.conns.end()) return;
    ConnState& c = it->second;
    c.last_activity = std::max(c.last_activity, now);
    const UserIdx idx = c.user;
    if (c.idle != idle) {
        m.begin_change(idx);
        c.idle = idle;
        if (idle) {
            --m.users[idx].active_conns;
        } else {
            ++m.users[idx].active_conns;
        }
        m.mark_shared(idx, false);  // only flips reach Redis: heartbeats themselves cost nothing
        m.end_change(idx, now);
    }
    m.refresh_last_seen(idx, now);
}

}  // namespace presence::core
