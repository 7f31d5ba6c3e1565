#include "core/viewer_policy.hpp"

#include <algorithm>

namespace presence::core {

Audience audience_for(bool same_user, bool is_friend, bool on_visibility_list) {
    if (same_user) return Audience::Self;
    if (!is_friend) return Audience::Stranger;
    return on_visibility_list ? Audience::ListedFriend : Audience::Friend;
}

PresenceView stranger_view(std::string_view user_id) {
    PresenceView v;
    v.user_id = user_id;
    v.status = Status::Offline;
    return v;
}

namespace {

// Listed friends (and the user) saw the subject online for longer while it was invisible,
// so their last_seen is the later of the two stamps.
std::optional<Millis> later_of(std::optional<Millis> a, std::optional<Millis> b) {
    if (!a) return b;
    if (!b) return a;
    return std::max(*a, *b);
}

Status effective_status(const SubjectFacts& s, Audience a) {
    if (!s.present) return Status::Offline;
    if (s.chosen == Status::Invisible) {
        return a == Audience::Friend ? Status::Offline : Status::Online;
    }
    if (s.chosen == Status::Online && s.all_idle) return Status::Away;
    return s.chosen;
}

}  // namespace

PresenceView visible_view(const SubjectFacts& s, Audience a) {
    if (a == Audience::Stranger) return stranger_view(s.user_id);
    PresenceView v;
    v.user_id = s.user_id;
    v.status = effective_status(s, a);
    if (v.status != Status::Offline) {
        // Seen: the message shows, last_seen is meaningless (null) while seen.
        v.message = s.message;
        return v;
    }
    // Offline (really, or hidden by `invisible`): never leak the message.
    v.last_seen = a == Audience::Friend ? s.last_seen : later_of(s.last_seen, s.last_seen_listed);
    return v;
}

}  // namespace presence::core
