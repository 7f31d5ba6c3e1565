#include "reference_model.hpp"

#include <algorithm>

namespace presence::model {

ReferenceModel::ReferenceModel(int n_users, std::int64_t grace_ms,
                               std::int64_t heartbeat_timeout_ms)
    : users_(static_cast<std::size_t>(n_users)),
      grace_ms_(grace_ms),
      heartbeat_ms_(heartbeat_timeout_ms) {}

std::string ReferenceModel::user_id(int u) {
    return "u" + std::to_string(u);
}

bool ReferenceModel::all_idle(const User& u) const {
    if (u.conns.empty()) return u.grace_idle;  // in grace: as when the last one closed
    return std::all_of(u.conns.begin(), u.conns.end(), [](const auto& c) { return c.second.idle; });
}

bool agrees(const View& got, const View& want) {
    if (got.status != want.status || got.message != want.message) return false;
    if (!want.last_seen || !got.last_seen) return got.last_seen == want.last_seen;
    const std::int64_t hi = want.last_seen_hi ? *want.last_seen_hi : *want.last_seen;
    return *got.last_seen >= *want.last_seen && *got.last_seen <= hi;
}

void ReferenceModel::pin(int viewer, int target, std::int64_t last_seen) {
    if (target < 0 || target >= n_users()) return;
    User& u = users_[static_cast<std::size_t>(target)];
    auto& s = viewer == target || u.visibility.count(viewer) ? u.ls_list : u.ls_public;
    if (s && s->lo <= last_seen && last_seen <= s->hi) *s = Stamp{last_seen, last_seen};
}

void ReferenceModel::settle(User& u, Stamp drop) {
    const bool pub = alive(u) && u.status != "invisible";
    const bool list = alive(u);
    // docs/architecture.md "Choices": after a grace the moment the last connection closed, after a
    // timeout the last frame, even when the user became visible later (an `until` that ended).
    if (u.seen_public && !pub) u.ls_public = drop;
    if (u.seen_list && !list) u.ls_list = drop;
    u.seen_public = pub;
    u.seen_list = list;
}

void ReferenceModel::connect(int ui, std::uint64_t conn, std::int64_t now) {
    User& u = users_[static_cast<std::size_t>(ui)];
    u.in_grace = false;  // a reconnect within the grace period: no flap
    u.conns[conn] = Connection{false, now};
    u.last_active = now;
    settle(u, Stamp{now, now});
}

void ReferenceModel::disconnect(std::uint64_t conn, std::int64_t now) {
    const int ui = owner_of(conn);
    if (ui < 0) return;
    User& u = users_[static_cast<std::size_t>(ui)];
    const bool idle = u.conns[conn].idle;
    u.conns.erase(conn);
    if (u.conns.empty()) {
        u.in_grace = true;
        u.gone_at = now;
        u.grace_idle = idle;
    }
    settle(u, Stamp{now, now});
}

void ReferenceModel::frame_received(std::uint64_t conn, std::int64_t now) {
    const int ui = owner_of(conn);
    if (ui < 0) return;
    users_[static_cast<std::size_t>(ui)].conns[conn].last_rx = now;
    users_[static_cast<std::size_t>(ui)].last_active = now;
}

void ReferenceModel::heartbeat(std::uint64_t conn, bool idle, std::int64_t now) {
    const int ui = owner_of(conn);
    if (ui < 0) return;
    User& u = users_[static_cast<std::size_t>(ui)];
    u.conns[conn].last_rx = now;
    u.conns[conn].idle = idle;
    u.last_active = now;
}

void ReferenceModel::set_status(int ui, const std::string& status, const MessageChange& msg,
                                std::optional<std::int64_t> until, std::int64_t now) {
    User& u = users_[static_cast<std::size_t>(ui)];
    u.last_active = std::max(u.last_active, now);  // a REST write is a sign of life too
    u.status = status;
    u.until = until;  // absent: the new status does not expire
    if (!msg.keep) {
        u.message = msg.value;
        if (u.message && u.message->empty()) u.message.reset();  // "" clears like null
    }
    settle(u, Stamp{now, now});
}

bool ReferenceModel::visibility_add(int ui, int other, std::int64_t) {
    if (ui == other || !friends(ui, other)) return false;
    users_[static_cast<std::size_t>(ui)].visibility.insert(other);
    return true;
}

void ReferenceModel::visibility_remove(int ui, int other, std::int64_t) {
    users_[static_cast<std::size_t>(ui)].visibility.erase(other);
}

bool ReferenceModel::visibility_replace(int ui, const std::set<int>& list, std::int64_t) {
    for (int o : list) {
        if (o == ui || !friends(ui, o)) return false;  // all or nothing
    }
    users_[static_cast<std::size_t>(ui)].visibility = list;
    return true;
}

void ReferenceModel::friendship_add(int a, int b, std::int64_t) {
    if (a != b) friends_.insert({std::min(a, b), std::max(a, b)});
}

void ReferenceModel::friendship_remove(int a, int b, std::int64_t) {
    friends_.erase({std::min(a, b), std::max(a, b)});
    // SPEC 4.5: the ended friend leaves the visibility list.
    users_[static_cast<std::size_t>(a)].visibility.erase(b);
    users_[static_cast<std::size_t>(b)].visibility.erase(a);
}

std::optional<std::int64_t> ReferenceModel::next_deadline() const {
    std::optional<std::int64_t> best;
    auto consider = [&](std::int64_t t) {
        if (!best || t < *best) best = t;
    };
    for (const User& u : users_) {
        if (u.in_grace) consider(u.gone_at + grace_ms_);
        if (u.until) consider(*u.until);
        for (const auto& [id, c] : u.conns) consider(c.last_rx + heartbeat_ms_);
    }
    return best;
}

std::vector<std::uint64_t> ReferenceModel::apply_due(std::int64_t now) {
    std::vector<std::uint64_t> closed;
    for (User& u : users_) {
        if (u.until && *u.until <= now) {
            u.status = "online";  // the message is kept
            u.until.reset();
            settle(u, Stamp{now, now});
        }
        bool any_timeout = false;
        std::int64_t dead_last = 0;
        for (auto it = u.conns.begin(); it != u.conns.end();) {
            if (it->second.last_rx + heartbeat_ms_ <= now) {
                closed.push_back(it->first);
                any_timeout = true;
                dead_last = std::max(dead_last, it->second.last_rx);
                it = u.conns.erase(it);
            } else {
                ++it;
            }
        }
        // A timeout of the last connection: offline at once, seen last at its last frame or
        // the user's last frame on any device.
        if (any_timeout) settle(u, Stamp{dead_last, std::max(dead_last, u.last_active)});
        if (u.in_grace && u.gone_at + grace_ms_ <= now) {
            u.in_grace = false;
            settle(u, Stamp{u.gone_at, std::max(u.gone_at, u.last_active)});
        }
    }
    return closed;
}

bool ReferenceModel::friends(int a, int b) const {
    return friends_.count({std::min(a, b), std::max(a, b)}) > 0;
}

View ReferenceModel::view(int viewer, int target) const {
    View v;
    if (target >= n_users() || (target != viewer && !friends(viewer, target))) return v;
    const User& u = users_[static_cast<std::size_t>(target)];
    // A user asking about themself sees what friends on their list see (SPEC 4.1: only
    // friends and the user see a user's presence).
    const bool listed = target == viewer || u.visibility.count(viewer) > 0;
    if (alive(u) && (u.status != "invisible" || listed)) {
        if (u.status == "invisible") {
            v.status = "online";  // SPEC 4.2: the list sees online, with the message
        } else if (u.status == "online") {
            v.status = all_idle(u) ? "away" : "online";
        } else {
            v.status = u.status;
        }
        v.message = u.message;
        return v;
    }
    const auto& stamp = listed ? u.ls_list : u.ls_public;
    if (stamp) {
        v.last_seen = stamp->lo;
        if (stamp->hi != stamp->lo) v.last_seen_hi = stamp->hi;
    }
    return v;
}

std::string ReferenceModel::public_status(int ui) const {
    const User& u = users_[static_cast<std::size_t>(ui)];
    if (!alive(u) || u.status == "invisible") return "offline";
    if (u.status == "online" && all_idle(u)) return "away";
    return u.status;
}

SelfView ReferenceModel::self(int ui) const {
    const User& u = users_[static_cast<std::size_t>(ui)];
    SelfView s;
    s.status = u.status;
    s.message = u.message;
    s.until = u.until;
    for (int o : u.visibility) s.visibility.insert(user_id(o));
    s.connections = static_cast<int>(u.conns.size());
    return s;
}

std::vector<std::uint64_t> ReferenceModel::connections_of(int ui) const {
    std::vector<std::uint64_t> out;
    for (const auto& [id, c] : users_[static_cast<std::size_t>(ui)].conns) out.push_back(id);
    return out;
}

int ReferenceModel::owner_of(std::uint64_t conn) const {
    for (std::size_t i = 0; i < users_.size(); ++i) {
        if (users_[i].conns.count(conn)) return static_cast<int>(i);
    }
    return -1;
}

std::int64_t ReferenceModel::last_frame(std::uint64_t conn) const {
    const int ui = owner_of(conn);
    if (ui < 0) return 0;
    return users_[static_cast<std::size_t>(ui)].conns.at(conn).last_rx;
}

}  // namespace presence::model
