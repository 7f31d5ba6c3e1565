#include "listen_address.hpp"

#include <charconv>

namespace presence_host {

bool parse_listen_address(std::string_view text, ListenAddress& out, std::string& error) {
    error = "host.listen must be HOST:PORT or [IPv6]:PORT, got '" + std::string(text) + "'";
    std::string_view host, port;
    if (text.starts_with("[")) {
        const auto close = text.find("]:");
        if (close == std::string_view::npos) return false;
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
        out.ipv6 = true;
        if (host.empty()) return false;
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos) return false;
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) return false;  // IPv6 needs brackets
        out.ipv6 = false;
    }
    int value = -1;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value < 0 ||
        value > 65535) {
        return false;
    }
    out.host = std::string(host);
    out.port = value;
    error.clear();
    return true;
}

}  // namespace presence_host
