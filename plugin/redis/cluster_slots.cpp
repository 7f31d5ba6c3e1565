#include "redis/cluster_slots.hpp"

#include <charconv>
#include <string>

namespace presence::redis {
namespace {

bool to_int(std::string_view text, int& out) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && end == text.data() + text.size();
}

std::string host_or(std::string_view host, std::string_view asked_host) {
    if (host.empty() || host == "?") return std::string(asked_host);
    return std::string(host);
}

}  // namespace

bool parse_cluster_slots(const Reply& reply, std::string_view asked_host,
                         std::vector<SlotRange>& out, std::string& why) {
    out.clear();
    if (reply.is_error()) {
        why = "CLUSTER SLOTS answered \"" + reply.str + "\"";
        return false;
    }
    if (!reply.is_array()) {
        why = "CLUSTER SLOTS answered something other than an array";
        return false;
    }
    for (const Reply& entry : reply.elements) {
        // [first, last, [host, port, id, ...], replicas...]
        if (!entry.is_array() || entry.elements.size() < 3 ||
            entry.elements[0].type != Reply::Type::Integer ||
            entry.elements[1].type != Reply::Type::Integer || !entry.elements[2].is_array() ||
            entry.elements[2].elements.size() < 2 ||
            entry.elements[2].elements[0].type != Reply::Type::String ||
            entry.elements[2].elements[1].type != Reply::Type::Integer) {
            why = "malformed CLUSTER SLOTS entry";
            return false;
        }
        SlotRange range;
        const long long first = entry.elements[0].integer;
        const long long last = entry.elements[1].integer;
        const long long port = entry.elements[2].elements[1].integer;
        if (first < 0 || last < first || last >= kClusterSlots || port <= 0 || port > 65535) {
            why = "CLUSTER SLOTS entry out of range";
            return false;
        }
        range.first = static_cast<int>(first);
        range.last = static_cast<int>(last);
        range.master.host = host_or(entry.elements[2].elements[0].str, asked_host);
        range.master.port = static_cast<int>(port);
        out.push_back(std::move(range));
    }
    return true;
}

std::optional<Redirect> parse_redirect(const Reply& reply, std::string_view asked_host) {
    Redirect r;
    std::string_view rest;
    if (reply.is_error_with("MOVED ")) {
        rest = std::string_view(reply.str).substr(6);
    } else if (reply.is_error_with("ASK ")) {
        r.ask = true;
        rest = std::string_view(reply.str).substr(4);
    } else {
        return std::nullopt;
    }
    const auto space = rest.find(' ');
    if (space == std::string_view::npos) return std::nullopt;
    if (!to_int(rest.substr(0, space), r.slot) || r.slot < 0 || r.slot >= kClusterSlots) {
        return std::nullopt;
    }
    const std::string_view address = rest.substr(space + 1);
    const auto colon = address.rfind(':');  // the last one: IPv6 hosts hold colons
    if (colon == std::string_view::npos) return std::nullopt;
    std::string_view host = address.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    if (!to_int(address.substr(colon + 1), r.target.port) || r.target.port <= 0 ||
        r.target.port > 65535) {
        return std::nullopt;
    }
    r.target.host = host_or(host, asked_host);
    return r;
}

}  // namespace presence::redis
