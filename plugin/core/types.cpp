// String forms of the core's enums and the user id grammar (SPEC 3).
#include "core/types.hpp"

namespace presence::core {

const char* to_string(Status s) {
    switch (s) {
        case Status::Offline:
            return "offline";
        case Status::Online:
            return "online";
        case Status::Away:
            return "away";
        case Status::Dnd:
            return "dnd";
        case Status::Invisible:
            return "invisible";
    }
    return "offline";
}

std::optional<Status> parse_chosen_status(std::string_view s) {
    if (s == "online") return Status::Online;
    if (s == "away") return Status::Away;
    if (s == "dnd") return Status::Dnd;
    if (s == "invisible") return Status::Invisible;
    return std::nullopt;  // "offline" is never chosen
}

const char* error_code(CoreError e) {
    switch (e) {
        case CoreError::None:
            return "";
        case CoreError::InvalidStatus:
            return "invalid_status";
        case CoreError::InvalidField:
            return "invalid_field";
        case CoreError::TooMany:
            return "too_many";
        case CoreError::NotFriend:
            return "not_friend";
        case CoreError::RateLimited:
            return "rate_limited";
        case CoreError::UnknownUser:
            return "unknown_user";
    }
    return "";
}

}  // namespace presence::core
