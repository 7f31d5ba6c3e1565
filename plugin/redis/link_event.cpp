#include "redis/link_event.hpp"

#include <charconv>

#include "redis/packed_hash.hpp"

namespace presence::redis {

bool parse_stream_id(std::string_view id, std::pair<std::uint64_t, std::uint64_t>& out) {
    const auto dash = id.find('-');
    if (dash == std::string_view::npos || dash == 0 || dash + 1 == id.size()) return false;
    const auto ms = std::from_chars(id.data(), id.data() + dash, out.first);
    const auto seq = std::from_chars(id.data() + dash + 1, id.data() + id.size(), out.second);
    return ms.ec == std::errc{} && ms.ptr == id.data() + dash && seq.ec == std::errc{} &&
           seq.ptr == id.data() + id.size();
}

std::size_t parse_feed_reply(const Reply& r, std::string_view own, std::string& last_id,
                             std::vector<LinkEvent>& out) {
    // [[feed key, [[id, [field, value, ...]], ...]]]
    if (!r.is_array() || r.elements.empty() || !r.elements[0].is_array() ||
        r.elements[0].elements.size() < 2 || !r.elements[0].elements[1].is_array()) {
        return 0;
    }
    std::size_t read = 0;
    for (const auto& entry : r.elements[0].elements[1].elements) {
        std::pair<std::uint64_t, std::uint64_t> id;
        if (!entry.is_array() || entry.elements.size() < 2 ||
            !parse_stream_id(entry.elements[0].str, id)) {
            continue;
        }
        last_id = entry.elements[0].str;
        ++read;
        const Reply& f = entry.elements[1];
        if (!f.is_array() || f.elements.size() < 6) continue;
        const auto& e = f.elements;
        if (e[0].str != "o" || e[2].str != "k" || e[1].str == own) continue;
        LinkEvent ev;
        if (e[3].str == "u" && e[4].str == "u" && core::is_valid_user_id(e[5].str)) {
            ev.kind = LinkEvent::Kind::User;
            ev.user = e[5].str;
            ev.hash = parse_user_hash(f, 6);
        } else if (e[3].str == "p" && e.size() >= 8 && e[4].str == "u" && e[6].str == "h" &&
                   core::is_valid_user_id(e[5].str) && unpack_user_hash(e[7].str, ev.hash)) {
            ev.kind = LinkEvent::Kind::User;  // one Redis: the hash packed (packed_hash.hpp)
            ev.user = e[5].str;
        } else if (e[3].str == "f" && e.size() >= 10 && e[4].str == "op" && e[6].str == "a" &&
                   e[8].str == "b") {
            ev.kind = LinkEvent::Kind::Friendship;
            ev.add = e[5].str == "a";
            ev.a = e[7].str;
            ev.b = e[9].str;
        } else {
            continue;
        }
        out.push_back(std::move(ev));
    }
    return read;
}

}  // namespace presence::redis
