#include "service/settings.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <map>

#include "redis/redis_url.hpp"
#include "util/user_id.hpp"

namespace presence::service {
namespace {

constexpr std::string_view kPrefix = "presence.";

bool parse_uint(std::string_view v, std::uint32_t min, std::uint32_t max, std::uint32_t& out,
                std::string& why) {
    std::uint64_t n = 0;
    const auto res = std::from_chars(v.data(), v.data() + v.size(), n);
    if (v.empty() || res.ec != std::errc{} || res.ptr != v.data() + v.size()) {
        why = "expected a whole number, got \"" + std::string(v) + "\"";
        return false;
    }
    if (n < min || n > max) {
        why = "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " +
              std::string(v);
        return false;
    }
    out = static_cast<std::uint32_t>(n);
    return true;
}

bool parse_bool(std::string_view v, bool& out, std::string& why) {
    if (v == "true" || v == "1") {
        out = true;
    } else if (v == "false" || v == "0") {
        out = false;
    } else {
        why = "expected true, false, 1 or 0, got \"" + std::string(v) + "\"";
        return false;
    }
    return true;
}

using Parser = std::function<bool(std::string_view, PluginConfig&, std::string&)>;

Parser uint_field(std::uint32_t PluginConfig::*field, std::uint32_t min, std::uint32_t max) {
    return [=](std::string_view v, PluginConfig& c, std::string& why) {
        return parse_uint(v, min, max, c.*field, why);
    };
}

const std::map<std::string_view, Parser>& parsers() {
    static const std::map<std::string_view, Parser> table = {
        {"db_url",
         [](std::string_view v, PluginConfig& c, std::string& why) {
             if (!v.empty() && v.substr(0, 10) != "mariadb://") {
                 why = "expected mariadb://user:pass@host:port/db (or empty for the memory store)";
                 return false;
             }
             c.db_url = v;
             return true;
         }},
        {"redis_url",
         [](std::string_view v, PluginConfig& c, std::string& why) {
             if (!v.empty() && !redis::parse_redis_url(v, why)) return false;
             c.redis_url = v;
             return true;
         }},
        {"instance_id",
         [](std::string_view v, PluginConfig& c, std::string& why) {
             if (v.empty() || v.size() > 64) {
                 why = "must be 1 to 64 characters";
                 return false;
             }
             for (char ch : v) {
                 if (!util::is_user_id_char(ch)) {
                     why = "may only hold letters, digits and _.:@-";
                     return false;
                 }
             }
             c.instance_id = v;
             return true;
         }},
        {"http_prefix",
         [](std::string_view v, PluginConfig& c, std::string& why) {
             if (v.size() < 2 || v.front() != '/' || v.back() == '/' ||
                 v.find_first_of("?#% \t") != std::string_view::npos) {
                 why =
                     "must start with '/', not end with '/', and hold no '?', '#', '%' or "
                     "spaces (e.g. /api/presence)";
                 return false;
             }
             c.http_prefix = v;
             return true;
         }},
        {"heartbeat_timeout_s", uint_field(&PluginConfig::heartbeat_timeout_s, 1, 3600)},
        {"offline_grace_s", uint_field(&PluginConfig::offline_grace_s, 0, 3600)},
        {"max_batch", uint_field(&PluginConfig::max_batch, 1, 10000)},
        {"max_message_bytes", uint_field(&PluginConfig::max_message_bytes, 1024, 16777216)},
        {"max_visibility", uint_field(&PluginConfig::max_visibility, 0, 100000)},
        {"max_connections_per_user", uint_field(&PluginConfig::max_connections_per_user, 1, 1000)},
        {"instance_ttl_s", uint_field(&PluginConfig::instance_ttl_s, 1, 3600)},
        {"evict_after_s", uint_field(&PluginConfig::evict_after_s, 0, 86400)},
        {"updates_per_s",
         [](std::string_view v, PluginConfig& c, std::string& why) {
             double d = 0;
             const auto res = std::from_chars(v.data(), v.data() + v.size(), d);
             if (v.empty() || res.ec != std::errc{} || res.ptr != v.data() + v.size() ||
                 !std::isfinite(d)) {
                 why = "expected a number, got \"" + std::string(v) + "\"";
                 return false;
             }
             if (d < 0.1 || d > 1000) {
                 why = "must be between 0.1 and 1000, got " + std::string(v);
                 return false;
             }
             c.updates_per_s = d;
             return true;
         }},
        {"allow_invisible", [](std::string_view v, PluginConfig& c,
                               std::string& why) { return parse_bool(v, c.allow_invisible, why); }},
        {"friends_query",
         [](std::string_view v, PluginConfig& c, std::string& why) {
             if (std::count(v.begin(), v.end(), '?') != 1) {
                 why = "must hold exactly one '?' placeholder for the user id";
                 return false;
             }
             c.friends_query = v;
             return true;
         }},
        {"friends_file",
         [](std::string_view v, PluginConfig& c, std::string&) {
             c.friends_file = v;  // read (and checked line by line) by the memory store
             return true;
         }},
        {"journal_path",
         [](std::string_view v, PluginConfig& c, std::string&) {
             c.journal_path = v;  // created, locked and read by the MariaDB store
             return true;
         }},
    };
    return table;
}

}  // namespace

core::CoreConfig PluginConfig::core_config() const {
    core::CoreConfig c;
    c.heartbeat_timeout_ms = static_cast<core::Millis>(heartbeat_timeout_s) * 1000;
    c.offline_grace_ms = static_cast<core::Millis>(offline_grace_s) * 1000;
    c.max_connections_per_user = max_connections_per_user;
    c.max_visibility = max_visibility;
    c.allow_invisible = allow_invisible;
    c.updates_per_s = updates_per_s;
    // SPEC 7: a burst of twice the rate, never less than one update.
    c.update_burst = static_cast<std::uint32_t>(std::max(1.0, std::ceil(updates_per_s * 2)));
    c.shared = !redis_url.empty();
    c.evict_after_ms = static_cast<core::Millis>(evict_after_s) * 1000;
    return c;
}

std::optional<PluginConfig> parse_settings(const SettingList& settings,
                                           const std::string& default_id, std::string& err) {
    PluginConfig config;
    config.instance_id = default_id;
    for (const auto& [key, value] : settings) {
        std::string_view k = key;
        if (k.substr(0, kPrefix.size()) != kPrefix) continue;  // host keys are not ours
        const auto it = parsers().find(k.substr(kPrefix.size()));
        if (it == parsers().end()) {
            err = key + ": unknown setting";
            return std::nullopt;
        }
        std::string why;
        if (!it->second(value, config, why)) {
            err = key + ": " + why;
            return std::nullopt;
        }
    }
    if (!config.journal_path.empty() && config.db_url.empty()) {
        err = "presence.journal_path: only used by the MariaDB store (presence.db_url is empty)";
        return std::nullopt;
    }
    if (!config.friends_file.empty() && !config.db_url.empty()) {
        err = "presence.friends_file: only used by the in-memory store (presence.db_url is set)";
        return std::nullopt;
    }
    return config;
}

std::string default_instance_id() {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) != 0) return "local";
    std::string id = host;
    id += '-';
    id += std::to_string(static_cast<long>(getpid()));
    if (id.size() > 64) return "local";
    for (char ch : id) {
        if (!util::is_user_id_char(ch)) return "local";
    }
    return id;
}

}  // namespace presence::service
