#include "redis/user_hash.hpp"

#include <charconv>

namespace presence::redis {

std::string user_key(std::string_view user_id) {
    std::string key = "presence:{";
    key.append(user_id);
    key.push_back('}');
    return key;
}

namespace {

template <typename T>
std::optional<T> number(std::string_view s) {
    T v{};
    const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || r.ec != std::errc{} || r.ptr != s.data() + s.size()) return std::nullopt;
    return v;
}

std::vector<std::string> split_ids(std::string_view s) {
    std::vector<std::string> out;
    while (!s.empty()) {
        const auto sp = s.find(' ');
        const auto id = s.substr(0, sp);
        if (core::is_valid_user_id(id)) out.emplace_back(id);
        if (sp == std::string_view::npos) break;
        s.remove_prefix(sp + 1);
    }
    return out;
}

// "d|<inst>|<conn>": the instance id never holds '|' (settings check it).
bool parse_device(std::string_view field, std::string_view value, UserHash::Device& d) {
    field.remove_prefix(2);
    const auto bar = field.rfind('|');
    if (bar == std::string_view::npos || bar == 0) return false;
    const auto conn = number<std::uint64_t>(field.substr(bar + 1));
    if (!conn) return false;
    d.instance.assign(field.substr(0, bar));
    d.conn = *conn;
    d.idle = value == "1";
    return true;
}

}  // namespace

core::RemotePresence UserHash::remote_for(std::string_view instance) const {
    core::RemotePresence r;
    for (const auto& d : devices) {
        if (d.instance == instance) continue;
        ++r.devices;
        if (!d.idle) ++r.active_devices;
    }
    if (devices.empty()) {
        r.gone_since = gone_since;
        r.gone_idle = gone_idle;
    }
    return r;
}

void add_user_field(UserHash& h, std::string_view f, std::string_view v) {
    if (f.size() > 2 && f[0] == 'd' && f[1] == '|') {
        UserHash::Device d;
        if (parse_device(f, v, d)) h.devices.push_back(std::move(d));
    } else if (f == "v") {
        h.version = number<std::uint64_t>(v).value_or(0);
    } else if (f == "g") {
        h.gone_since = number<core::Millis>(v);
    } else if (f == "gi") {
        h.gone_idle = v == "1";
    } else if (f == "s") {
        const auto s = number<int>(v);
        if (s && *s >= 1 && *s <= 4) {
            h.has_record = true;
            h.record.chosen = static_cast<core::Status>(*s);
        }
    } else if (f == "m") {
        h.record.message = std::string(v);
    } else if (f == "t") {
        h.record.until = number<core::Millis>(v);
    } else if (f == "l") {
        h.record.last_seen = number<core::Millis>(v);
    } else if (f == "L") {
        h.record.last_seen_listed = number<core::Millis>(v);
    } else if (f == "w") {
        h.record.visibility = split_ids(v);
    }
}

UserHash parse_user_hash(const Reply& pairs, std::size_t from) {
    UserHash h;
    if (!pairs.is_array()) return h;
    const auto& e = pairs.elements;
    for (std::size_t i = from; i + 1 < e.size(); i += 2) {
        if (e[i].type != Reply::Type::String || e[i + 1].type != Reply::Type::String) continue;
        add_user_field(h, e[i].str, e[i + 1].str);
    }
    return h;
}

}  // namespace presence::redis
