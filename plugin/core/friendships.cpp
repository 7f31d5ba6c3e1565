// Friendships from the host application (SPEC 4.1, 4.5).
#include <algorithm>

#include "core/core_impl.hpp"
#include "core/sorted_ids.hpp"

namespace presence::core {

namespace {

bool same_view(const PresenceView& a, const PresenceView& b) {
    return a.status == b.status && a.message == b.message && a.last_seen == b.last_seen;
}

}  // namespace

void PresenceCore::add_friendship(std::string_view a, std::string_view b, Millis now) {
    (void)now;
    Impl& m = *impl_;
    if (a == b || !is_valid_user_id(a) || !is_valid_user_id(b)) return;
    auto fa = m.find(a);
    auto fb = m.find(b);
    const bool a_has = fa && m.users[*fa].friends_loaded;
    const bool b_has = fb && m.users[*fb].friends_loaded;
    if (!a_has && !b_has) return;  // neither side's list is in memory: the store has it
    const UserIdx ia = m.intern(a);
    const UserIdx ib = m.intern(b);
    // Already friends (both lists name the other): what each sees does not change (SPEC 4.3).
    if (std::binary_search(m.users[ia].friends.begin(), m.users[ia].friends.end(), ib) &&
        std::binary_search(m.users[ib].friends.begin(), m.users[ib].friends.end(), ia)) {
        return;
    }
    // Both ways, loaded or not: an unloaded side keeps the reverse list (who lists it), which
    // load_friends needs to keep lists symmetric (layout notes in presence_core.cpp).
    insert_sorted(m.users[ia].friends, ib);
    insert_sorted(m.users[ib].friends, ia);
    // Each online side now sees the other as a friend does; tell it if that is not "offline,
    // null, null" (what it saw as a stranger).
    for (auto [viewer, subject] : {std::pair{ia, ib}, std::pair{ib, ia}}) {
        const auto& to = m.users[viewer].conns;
        if (to.empty()) continue;
        const PresenceView v = m.view_of(viewer, subject);
        if (!same_view(v, stranger_view(v.user_id))) m.sink.send_presence(v, to);
    }
}

void PresenceCore::remove_friendship(std::string_view a, std::string_view b, Millis now) {
    Impl& m = *impl_;
    if (a == b) return;
    auto fa = m.find(a);
    auto fb = m.find(b);
    if (!fa || !fb) return;  // a side never interned has no list that names the other
    const UserIdx ia = *fa;
    const UserIdx ib = *fb;
    // What each side saw before; only sides that saw something other than a stranger's view
    // are told, and only once.
    const bool a_saw = !same_view(m.view_of(ia, ib), stranger_view(b));
    const bool b_saw = !same_view(m.view_of(ib, ia), stranger_view(a));
    erase_sorted(m.users[ia].friends, ib);
    erase_sorted(m.users[ib].friends, ia);
    for (auto [owner, ended] : {std::pair{ia, ib}, std::pair{ib, ia}}) {
        if (erase_sorted(m.users[owner].visibility, ended)) {
            --m.users[ended].listed_by;
            m.mark_dirty(owner);
            m.mark_shared(owner, true);
            m.send_self_to_devices(owner);
        }
    }
    if (a_saw && !m.users[ia].conns.empty()) {
        m.sink.send_presence(stranger_view(m.users[ib].id), m.users[ia].conns);
    }
    if (b_saw && !m.users[ib].conns.empty()) {
        m.sink.send_presence(stranger_view(m.users[ia].id), m.users[ib].conns);
    }
    // Each side may have lost its only watcher.
    m.consider_eviction(ia, now);
    m.consider_eviction(ib, now);
}

}  // namespace presence::core
