#include "store/mariadb_url.hpp"

#include <charconv>

#include "util/percent_decode.hpp"

namespace presence::store {
namespace {

using util::percent_decode;

bool fail(std::string* err, const std::string& what) {
    if (err) *err = "presence.db_url: " + what;
    return false;
}

}  // namespace

std::optional<MariaDbUrl> parse_mariadb_url(std::string_view url, std::string* err) {
    constexpr std::string_view scheme = "mariadb://";
    if (url.substr(0, scheme.size()) != scheme) {
        fail(err, "must start with mariadb://");
        return std::nullopt;
    }
    std::string_view rest = url.substr(scheme.size());

    std::string_view query;
    if (const auto q = rest.find('?'); q != std::string_view::npos) {
        query = rest.substr(q + 1);
        rest = rest.substr(0, q);
    }
    // The password may hold '@' only percent-encoded, so the last '@' ends the credentials.
    const auto at = rest.rfind('@');
    if (at == std::string_view::npos) {
        fail(err, "missing user (expected mariadb://user:pass@host:port/db)");
        return std::nullopt;
    }
    const std::string_view credentials = rest.substr(0, at);
    std::string_view location = rest.substr(at + 1);

    MariaDbUrl out;
    const auto colon = credentials.find(':');
    const auto user = percent_decode(credentials.substr(0, colon));
    if (!user || user->empty()) {
        fail(err, user ? "empty user name" : "bad percent-escape in the user name");
        return std::nullopt;
    }
    out.user = *user;
    if (colon != std::string_view::npos) {
        const auto pass = percent_decode(credentials.substr(colon + 1));
        if (!pass) {
            fail(err, "bad percent-escape in the password");
            return std::nullopt;
        }
        out.password = *pass;
    }

    const auto slash = location.find('/');
    if (slash == std::string_view::npos || slash + 1 == location.size()) {
        fail(err, "missing database name (expected .../db)");
        return std::nullopt;
    }
    const auto db = percent_decode(location.substr(slash + 1));
    if (!db || db->find('/') != std::string::npos) {
        fail(err, "bad database name");
        return std::nullopt;
    }
    out.database = *db;
    std::string_view hostport = location.substr(0, slash);

    std::string_view port_text;
    bool has_port = false;
    if (!hostport.empty() && hostport.front() == '[') {  // IPv6 literal: [::1]:3306
        const auto close = hostport.find(']');
        if (close == std::string_view::npos) {
            fail(err, "unterminated [IPv6] host");
            return std::nullopt;
        }
        out.host = std::string(hostport.substr(1, close - 1));
        const std::string_view after = hostport.substr(close + 1);
        if (!after.empty() && after.front() != ':') {
            fail(err, "garbage after [IPv6] host");
            return std::nullopt;
        }
        has_port = !after.empty();
        if (has_port) port_text = after.substr(1);
    } else {
        const auto pc = hostport.rfind(':');
        out.host = std::string(hostport.substr(0, pc));
        has_port = pc != std::string_view::npos;
        if (has_port) port_text = hostport.substr(pc + 1);
    }
    if (has_port) {
        unsigned value = 0;
        const auto [p, ec] =
            std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
        if (port_text.empty() || ec != std::errc{} || p != port_text.data() + port_text.size() ||
            value == 0 || value > 65535) {
            fail(err, "bad port \"" + std::string(port_text) + "\"");
            return std::nullopt;
        }
        out.port = static_cast<std::uint16_t>(value);
    }

    // Query string: only socket=PATH is known; anything else is a mistake worth reporting.
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        const auto eq = pair.find('=');
        const std::string_view key = pair.substr(0, eq);
        if (key != "socket" || eq == std::string_view::npos) {
            fail(err, "unknown option \"" + std::string(key) + "\" (only ?socket=PATH)");
            return std::nullopt;
        }
        const auto path = percent_decode(pair.substr(eq + 1));
        if (!path || path->empty()) {
            fail(err, "empty or badly escaped socket path");
            return std::nullopt;
        }
        out.socket = *path;
    }
    if (out.socket.empty() && out.host.empty()) {
        fail(err, "missing host (or ?socket=PATH)");
        return std::nullopt;
    }
    return out;
}

}  // namespace presence::store
