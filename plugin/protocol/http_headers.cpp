#include "protocol/http_headers.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace presence::protocol {

std::string etag_of(std::string_view body) {
    std::uint64_t hash = 0xcbf29ce484222325ULL;
    for (const unsigned char c : body) {
        hash ^= c;
        hash *= 0x100000001b3ULL;
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string tag(18, '"');
    for (int i = 0; i < 16; ++i) tag[16 - i] = kHex[(hash >> (4 * i)) & 0xf];
    return tag;
}

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

std::string_view without_weak_prefix(std::string_view tag) {
    return tag.substr(0, 2) == "W/" ? tag.substr(2) : tag;
}

}  // namespace

bool if_none_match_matches(std::string_view if_none_match, std::string_view etag) {
    const std::string_view wanted = without_weak_prefix(etag);
    std::string_view rest = if_none_match;
    while (!rest.empty()) {
        const std::size_t comma = rest.find(',');
        const std::string_view item = trim(rest.substr(0, comma));
        if (item == "*" || (!item.empty() && without_weak_prefix(item) == wanted)) return true;
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
    }
    return false;
}

std::string retry_after_seconds(double per_s) {
    const double seconds = per_s > 0 ? std::ceil(1.0 / per_s) : 1.0;
    return std::to_string(static_cast<long long>(std::max(1.0, seconds)));
}

bool header_name_is(std::string_view name, std::string_view wanted) {
    if (name.size() != wanted.size()) return false;
    for (std::size_t i = 0; i < name.size(); ++i) {
        char a = name[i], b = wanted[i];
        if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
        if (b >= 'A' && b <= 'Z') b = static_cast<char>(b - 'A' + 'a');
        if (a != b) return false;
    }
    return true;
}

}  // namespace presence::protocol
