// SPEC 3: what a user id is, 1 to 64 bytes of [A-Za-z0-9_.:@-]. The one rule for the plugin
// (core, protocol, settings, store) and the host stub (tokens, demo `?user=`): header-only, so
// the host uses it without linking any of the plugin.
#pragma once

#include <cstddef>
#include <string_view>

namespace presence::util {

inline constexpr std::size_t max_user_id_bytes = 64;

constexpr bool is_user_id_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == ':' || c == '@' || c == '-';
}

constexpr bool is_valid_user_id(std::string_view id) {
    if (id.empty() || id.size() > max_user_id_bytes) return false;
    for (char c : id) {
        if (!is_user_id_char(c)) return false;
    }
    return true;
}

}  // namespace presence::util
