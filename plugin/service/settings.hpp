// The plugin's settings (SPEC 7): every "presence.*" key is parsed and range-checked here,
// in create(), so a typo stops the plugin with a reason naming the key instead of running
// with a surprise default.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/types.hpp"

namespace presence::service {

struct PluginConfig {
    std::string db_url;     // "" = in-memory store
    std::string redis_url;  // "" = single instance
    std::string instance_id;
    std::string http_prefix = "/api/presence";
    std::uint32_t heartbeat_timeout_s = 60;
    std::uint32_t offline_grace_s = 3;
    std::uint32_t max_batch = 500;
    std::uint32_t max_message_bytes = 65536;
    std::uint32_t max_visibility = 1000;
    std::uint32_t max_connections_per_user = 10;
    double updates_per_s = 5.0;  // burst = 2x
    bool allow_invisible = true;
    std::string friends_query = "SELECT friend_id FROM friendships WHERE user_id = ?";
    std::uint32_t instance_ttl_s = 15;
    std::string friends_file;
    // Users nobody here watches leave memory this long after (reloaded from the store on
    // demand): memory follows online users and their friends, not every user ever seen.
    std::uint32_t evict_after_s = 60;
    std::string journal_path;  // MariaDB store only; "" = derived from db_url (docs/operations.md)

    core::CoreConfig core_config() const;
};

using SettingList = std::vector<std::pair<std::string, std::string>>;

// Parses the settings (non-"presence." keys are ignored; a later duplicate wins). Returns
// nullopt with `err` = "presence.<key>: <why>" on the first unknown key or malformed value.
// `default_instance_id` is used when presence.instance_id is absent.
std::optional<PluginConfig> parse_settings(const SettingList& settings,
                                           const std::string& default_instance_id,
                                           std::string& err);

// "<hostname>-<pid>", or "local" when the host name is not usable as an id.
std::string default_instance_id();

}  // namespace presence::service
