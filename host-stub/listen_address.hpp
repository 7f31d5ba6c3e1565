// host.listen values: "HOST:PORT", "[IPv6]:PORT" or ":PORT" (all interfaces). Port 0 asks the
// kernel for a free port; the real one is printed once listening.
#pragma once

#include <string>
#include <string_view>

namespace presence_host {

struct ListenAddress {
    std::string host;  // without brackets; "" means every interface
    int port = 8080;
    bool ipv6 = false;
};

bool parse_listen_address(std::string_view text, ListenAddress& out, std::string& error);

}  // namespace presence_host
