// The ONE place that decides what a viewer sees of a subject (SPEC 4). Everything that sends,
// answers or compares presence goes through visible_view(); nothing else looks at the chosen
// status, the visibility list or last_seen to build a view.
#pragma once

#include <optional>
#include <string_view>

#include "core/types.hpp"

namespace presence::core {

// How the viewer relates to the subject.
enum class Audience : std::uint8_t {
    Stranger,      // not a friend (or an unknown id): learns nothing
    Friend,        // a friend not on the subject's visibility list
    ListedFriend,  // a friend on the visibility list: sees through `invisible`
    Self,          // the subject themself (views like a listed friend, never Invisible)
};

Audience audience_for(bool same_user, bool is_friend, bool on_visibility_list);

// The subject's state as far as views depend on it.
struct SubjectFacts {
    std::string_view user_id;
    bool present = false;  // a live connection, or within the offline grace after the last one
    Status chosen = Status::Online;
    bool all_idle = false;  // every live connection idle (during grace: as when the last closed)
    std::optional<std::string_view> message;
    std::optional<Millis> last_seen;         // public
    std::optional<Millis> last_seen_listed;  // for listed friends (while invisible)
};

PresenceView visible_view(const SubjectFacts& s, Audience a);

// What a stranger (or anyone asking about an unknown id) gets: offline, null, null.
PresenceView stranger_view(std::string_view user_id);

}  // namespace presence::core
