// Fuzz target over the plugin's settings (service/settings): the input is "key=value" lines
// (a line without '=' is a key with a NULL-like empty value). No crash; a refusal names a
// presence.* key; accepted settings give a core configuration, and parsing is deterministic.
#include <cstdint>
#include <string>
#include <string_view>

#include "fake_host.hpp"
#include "service/settings.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using presence_fuzz::require;
    std::string_view input(reinterpret_cast<const char*>(data), size);
    presence::service::SettingList settings;
    while (!input.empty() && settings.size() < 64) {
        const auto end = input.find('\n');
        const std::string_view line = input.substr(0, end);
        input = end == std::string_view::npos ? std::string_view() : input.substr(end + 1);
        const auto eq = line.find('=');
        settings.emplace_back(std::string(line.substr(0, eq)),
                              eq == std::string_view::npos ? "" : std::string(line.substr(eq + 1)));
    }
    std::string err;
    const auto config = presence::service::parse_settings(settings, "fuzz", err);
    if (!config) {
        require(err.rfind("presence.", 0) == 0, "refusal does not name a presence.* key");
        return 0;
    }
    require(!config->instance_id.empty(), "accepted an empty instance id");
    require(!config->http_prefix.empty(), "accepted an empty http_prefix");
    (void)config->core_config();
    std::string again;
    const auto second = presence::service::parse_settings(settings, "fuzz", again);
    require(second && second->http_prefix == config->http_prefix &&
                second->max_batch == config->max_batch,
            "parse_settings is not deterministic");
    return 0;
}
