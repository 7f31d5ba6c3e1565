// Reads the few fields the load tools need straight out of a server frame, without a JSON
// parser: a load generator must stay much cheaper per frame than the server it measures.
// Only for frames the plugin produced (compact JSON, string values without escapes here).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace presence::bench {

// The string value of `"key":` (whitespace allowed around ':'), or nullopt.
inline std::optional<std::string_view> json_string_field(std::string_view frame,
                                                         std::string_view key) {
    std::size_t pos = 0;
    while (true) {
        pos = frame.find(key, pos);
        if (pos == std::string_view::npos) return std::nullopt;
        bool quoted = pos > 0 && frame[pos - 1] == '"' && pos + key.size() < frame.size() &&
                      frame[pos + key.size()] == '"';
        pos += key.size();
        if (!quoted) continue;
        std::size_t i = pos + 1;
        while (i < frame.size() && (frame[i] == ' ' || frame[i] == '\t')) ++i;
        if (i >= frame.size() || frame[i] != ':') continue;
        ++i;
        while (i < frame.size() && (frame[i] == ' ' || frame[i] == '\t')) ++i;
        if (i >= frame.size() || frame[i] != '"') return std::nullopt;  // null or a number
        std::size_t end = frame.find('"', i + 1);
        if (end == std::string_view::npos) return std::nullopt;
        return frame.substr(i + 1, end - i - 1);
    }
}

// The sender stamp of a status change: message "t=<monotonic ns>".
inline std::optional<std::uint64_t> stamp_of(std::string_view frame) {
    auto msg = json_string_field(frame, "message");
    if (!msg || msg->size() < 3 || msg->substr(0, 2) != "t=") return std::nullopt;
    std::uint64_t v = 0;
    for (char c : msg->substr(2)) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return v;
}

}  // namespace presence::bench
