// Change notification: who gets a frame when a user's state changes (SPEC 4.3).
#include <algorithm>

#include "core/core_impl.hpp"

namespace presence::core {

void PresenceCore::Impl::begin_change(UserIdx s) {
    // A friend either is on the list or is not: two possible views. Capture both, plus the
    // list itself, since the change may move viewers between the two.
    const SubjectFacts f = facts(s);
    old_friend_view.assign(visible_view(f, Audience::Friend));
    old_listed_view.assign(visible_view(f, Audience::ListedFriend));
    old_visibility.assign(users[s].visibility.begin(), users[s].visibility.end());
}

void PresenceCore::Impl::end_change(UserIdx s, Millis at) {
    const UserState& u = users[s];
    const SubjectFacts f = facts(s);
    const PresenceView new_friend = visible_view(f, Audience::Friend);
    const PresenceView new_listed = visible_view(f, Audience::ListedFriend);
    const bool friend_changed = !old_friend_view.same_as(new_friend);
    const bool listed_changed = !old_listed_view.same_as(new_listed);
    const bool list_changed = old_visibility != u.visibility;

    if (friend_changed && !remote_change) {  // the instance where it happened tells its host
        PresenceChange c;
        c.user_id = u.id;
        c.status = new_friend.status;
        c.chosen = u.chosen;
        c.connections = static_cast<std::uint32_t>(u.conns.size()) + u.remote_devices;
        c.message = new_friend.message;
        c.last_seen = new_friend.last_seen;
        c.at = at;
        sink.presence_changed(c);
    }
    if (!friend_changed && !listed_changed && !list_changed) return;  // nobody can see a change

    friend_group.clear();
    listed_group.clear();
    // Lists are symmetric (layout notes), so every v here counts s as a friend: no per-viewer
    // is_friend, which cost a cache miss in v's own list.
    for (UserIdx v : u.friends) {
        const UserState& viewer = users[v];
        if (viewer.conns.empty()) continue;
        const bool was_listed = std::binary_search(old_visibility.begin(), old_visibility.end(), v);
        const bool now_listed = is_listed(v, s);
        const OwnedView& before = was_listed ? old_listed_view : old_friend_view;
        const PresenceView& after = now_listed ? new_listed : new_friend;
        if (before.same_as(after)) continue;
        auto& group = now_listed ? listed_group : friend_group;
        // Element by element: a viewer has one or two connections, and a ranged insert paid a
        // memcpy call per viewer (the top item of the ABI bench profile).
        for (ConnId c : viewer.conns) group.push_back(c);
    }
    // Once the subject is visible, both kinds of friend see the same thing: one frame for all.
    const bool same = new_friend.status == new_listed.status &&
                      new_friend.message == new_listed.message &&
                      new_friend.last_seen == new_listed.last_seen;
    if (same) {
        friend_group.insert(friend_group.end(), listed_group.begin(), listed_group.end());
        listed_group.clear();
    }
    if (!friend_group.empty()) sink.send_presence(new_friend, friend_group);
    if (!listed_group.empty()) sink.send_presence(new_listed, listed_group);
}

void PresenceCore::Impl::send_self_to(UserIdx u, std::span<const ConnId> to) {
    if (to.empty()) return;
    build_self(u, self_scratch);
    sink.send_self(self_scratch, to);
}

void PresenceCore::Impl::send_self_to_devices(UserIdx u) {
    send_self_to(u, users[u].conns);
}

}  // namespace presence::core
