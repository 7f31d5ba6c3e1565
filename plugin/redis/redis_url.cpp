#include "redis/redis_url.hpp"

#include <charconv>

#include "util/percent_decode.hpp"

namespace presence::redis {
namespace {

constexpr std::string_view kSingle = "redis://";
constexpr std::string_view kCluster = "redis+cluster://";

bool parse_number(std::string_view text, long long max, long long& out) {
    if (text.empty()) return false;
    for (char c : text) {
        if (c < '0' || c > '9') return false;
    }
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && end == text.data() + text.size() && out <= max;
}

bool host_char_ok(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
}

// One `host[:port]` or `[v6][:port]`.
bool parse_endpoint(std::string_view text, Endpoint& out, std::string& why) {
    const std::string quoted = "\"" + std::string(text) + "\"";
    if (text.empty()) {
        why = "missing host";
        return false;
    }
    std::string_view host;
    std::string_view rest;
    if (text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos) {
            why = "unclosed '[' in host " + quoted;
            return false;
        }
        host = text.substr(1, close - 1);
        rest = text.substr(close + 1);
        if (host.empty()) {
            why = "empty IPv6 address in " + quoted;
            return false;
        }
        for (char c : host) {
            const bool hex =
                (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
            if (!hex && c != ':' && c != '.') {
                why = "invalid IPv6 address in " + quoted;
                return false;
            }
        }
        if (!rest.empty() && rest.front() != ':') {
            why = "unexpected text after ']' in " + quoted;
            return false;
        }
    } else {
        const auto colon = text.find(':');
        host = text.substr(0, colon);
        rest = colon == std::string_view::npos ? std::string_view() : text.substr(colon);
        if (rest.size() > 1 && rest.substr(1).find(':') != std::string_view::npos) {
            why = "an IPv6 address must be written in brackets, e.g. [::1]:6379: " + quoted;
            return false;
        }
        if (host.empty()) {
            why = "missing host in " + quoted;
            return false;
        }
        for (char c : host) {
            if (!host_char_ok(c)) {
                why = "invalid character in host " + quoted;
                return false;
            }
        }
    }
    out.host = std::string(host);
    out.port = 6379;
    if (rest.empty()) return true;
    const std::string_view port = rest.substr(1);  // after ':'
    long long value = 0;
    if (port.empty()) {
        why = "missing port after ':' in " + quoted;
        return false;
    }
    if (!parse_number(port, 65535, value) || value == 0) {
        why = "invalid port in " + quoted + " (1-65535)";
        return false;
    }
    out.port = static_cast<int>(value);
    return true;
}

// `:password` (the only user info accepted: presence does not log in with an ACL user name).
bool parse_user_info(std::string_view info, std::string& password, std::string& why) {
    if (info.empty() || info.front() != ':') {
        why =
            "a user name is not supported; put the password after a colon: "
            "redis://:password@host:port";
        return false;
    }
    auto decoded = util::percent_decode(info.substr(1));
    if (!decoded) {
        why = "bad percent-escape in the password";
        return false;
    }
    password = std::move(*decoded);
    return true;
}

}  // namespace

std::optional<RedisUrl> parse_redis_url(std::string_view url, std::string& why) {
    RedisUrl out;
    std::string_view rest;
    if (url.substr(0, kCluster.size()) == kCluster) {
        out.cluster = true;
        rest = url.substr(kCluster.size());
    } else if (url.substr(0, kSingle.size()) == kSingle) {
        rest = url.substr(kSingle.size());
    } else {
        const auto colon = url.find("://");
        if (colon == std::string_view::npos) {
            why = "not a URL (expected redis://host:port or redis+cluster://host:port,...)";
        } else if (url.substr(0, colon) == "rediss") {
            why = "TLS (rediss://) is not supported";
        } else {
            why = "unknown scheme \"" + std::string(url.substr(0, colon)) +
                  "\" (expected redis:// or redis+cluster://)";
        }
        return std::nullopt;
    }

    // The last '@' ends the user info, so an unescaped '@' or '/' in a password still works.
    const auto at = rest.rfind('@');
    if (at != std::string_view::npos) {
        if (!parse_user_info(rest.substr(0, at), out.password, why)) return std::nullopt;
        rest = rest.substr(at + 1);
    }

    const auto slash = rest.find('/');
    const std::string_view hosts = rest.substr(0, slash);
    const std::string_view path =
        slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);

    for (char c : hosts) {
        if (c == '?' || c == '#') {
            why = "unexpected '" + std::string(1, c) + "' (URL options are not supported)";
            return std::nullopt;
        }
    }
    if (hosts.empty()) {
        why = "missing host";
        return std::nullopt;
    }
    std::size_t start = 0;
    for (;;) {
        const auto comma = hosts.find(',', start);
        Endpoint ep;
        if (!parse_endpoint(hosts.substr(start, comma - start), ep, why)) return std::nullopt;
        out.nodes.push_back(std::move(ep));
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    if (!out.cluster && out.nodes.size() > 1) {
        why = "redis:// takes one host; use redis+cluster:// to list cluster seed nodes";
        return std::nullopt;
    }

    if (!path.empty()) {
        if (out.cluster) {
            why = "a Redis Cluster has database 0 only: remove \"/" + std::string(path) + "\"";
            return std::nullopt;
        }
        long long db = 0;
        if (!parse_number(path, 1 << 30, db)) {
            why = "the database after '/' must be a number, got \"" + std::string(path) + "\"";
            return std::nullopt;
        }
        out.db = static_cast<int>(db);
    }
    return out;
}

}  // namespace presence::redis
