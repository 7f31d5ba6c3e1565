// URL percent-decoding, shared by the REST router (path parameters) and the MariaDB URL parser.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace presence::util {

// Decodes %XX escapes only: '+' stays '+' (a password may hold it literally, and a path has no
// form encoding). nullopt when an escape is truncated or not hexadecimal.
inline std::optional<std::string> percent_decode(std::string_view in) {
    auto hex = [](char c) {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] != '%') {
            out.push_back(in[i]);
            continue;
        }
        if (i + 2 >= in.size()) return std::nullopt;
        const int hi = hex(in[i + 1]);
        const int lo = hex(in[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
    }
    return out;
}

}  // namespace presence::util
