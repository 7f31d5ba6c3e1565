#include "config_file.hpp"

#include <array>
#include <fstream>
#include <sstream>

namespace presence_host {
namespace {

constexpr std::array<std::string_view, 19> kHostKeys = {
    "host.header_tables",
    "host.write_interval_ms",
    "host.listen",
    "host.plugin",
    "host.auth_secret",
    "host.admin_token",
    "host.max_queue_bytes",
    "host.max_queue_frames",
    "host.token_ttl_s",
    "host.event_lib",
    "host.log_level",
    "host.demo",
    "host.io_uring",
    "host.reuse_port",
    "host.friendships_table",
    "host.max_outbound_bytes",
    "host.max_pending_sockets",
    "host.max_pending_per_address",
    "host.pending_timeout_ms",
};

std::string_view trim(std::string_view s) {
    const char* blanks = " \t\r\n";
    const auto first = s.find_first_not_of(blanks);
    if (first == std::string_view::npos) return {};
    const auto last = s.find_last_not_of(blanks);
    return s.substr(first, last - first + 1);
}

// Cuts a trailing comment: `#` counts only after a blank so values may contain `#`.
std::string_view strip_comment(std::string_view line) {
    for (size_t i = 1; i < line.size(); ++i) {
        if (line[i] == '#' && (line[i - 1] == ' ' || line[i - 1] == '\t')) {
            return line.substr(0, i);
        }
    }
    return line;
}

}  // namespace

bool is_known_host_key(std::string_view key) {
    for (auto known : kHostKeys) {
        if (key == known) return true;
    }
    return false;
}

std::string key_problem(std::string_view key) {
    if (key.empty()) return "empty key";
    if (key.find_first_of(" \t") != std::string_view::npos) return "key contains blanks";
    if (key.starts_with("presence.")) {
        return key.size() > 9 ? "" : "empty presence key";
    }
    if (key.starts_with("host.")) {
        return is_known_host_key(key) ? "" : "unknown host key '" + std::string(key) + "'";
    }
    return "key '" + std::string(key) + "' must start with host. or presence.";
}

std::optional<ConfigFile> ConfigFile::parse(std::string_view text, std::string& error) {
    ConfigFile config;
    size_t line_number = 0;
    while (!text.empty()) {
        ++line_number;
        const auto newline = text.find('\n');
        std::string_view line = text.substr(0, newline);
        text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);

        const auto content = trim(line);
        if (content.empty() || content.front() == '#') continue;
        const auto equals = content.find('=');
        const std::string prefix = "line " + std::to_string(line_number) + ": ";
        if (equals == std::string_view::npos) {
            error = prefix + "expected 'key = value'";
            return std::nullopt;
        }
        const std::string key(trim(content.substr(0, equals)));
        const std::string value(trim(strip_comment(content.substr(equals + 1))));
        if (auto problem = key_problem(key); !problem.empty()) {
            error = prefix + problem;
            return std::nullopt;
        }
        if (config.values_.contains(key)) {
            error = prefix + "key '" + key + "' given twice";
            return std::nullopt;
        }
        config.values_.emplace(key, value);
    }
    return config;
}

std::optional<ConfigFile> ConfigFile::load(const std::string& path, std::string& error) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        error = "cannot read config file '" + path + "'";
        return std::nullopt;
    }
    std::stringstream buffer;
    buffer << in.rdbuf();
    auto config = parse(buffer.str(), error);
    if (!config) error = path + ": " + error;
    return config;
}

bool ConfigFile::set_from_argument(std::string_view assignment, std::string& error) {
    const auto equals = assignment.find('=');
    if (equals == std::string_view::npos) {
        error = "--set expects key=value, got '" + std::string(assignment) + "'";
        return false;
    }
    return set(std::string(trim(assignment.substr(0, equals))),
               std::string(trim(assignment.substr(equals + 1))), error);
}

bool ConfigFile::set(const std::string& key, const std::string& value, std::string& error) {
    if (auto problem = key_problem(key); !problem.empty()) {
        error = problem;
        return false;
    }
    values_[key] = value;
    return true;
}

const std::string* ConfigFile::find(const std::string& key) const {
    const auto it = values_.find(key);
    return it == values_.end() ? nullptr : &it->second;
}

std::string ConfigFile::get_or(const std::string& key, const std::string& fallback) const {
    const auto* value = find(key);
    return value ? *value : fallback;
}

bool ConfigFile::get_bool(const std::string& key, bool fallback, bool& out,
                          std::string& error) const {
    const auto* value = find(key);
    if (!value) {
        out = fallback;
        return true;
    }
    if (*value != "true" && *value != "false") {
        error = key + " must be true or false, not '" + *value + "'";
        return false;
    }
    out = *value == "true";
    return true;
}

}  // namespace presence_host
