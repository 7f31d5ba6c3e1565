// Is a peer on this machine? Demo mode trusts `?user=NAME` only from loopback peers, and load
// tools spread over many 127.0.0.x source addresses, so all of 127.0.0.0/8 counts, as do ::1
// and IPv4-mapped ::ffff:127.x.y.z.
#pragma once

#include <sys/socket.h>

#include <string_view>

namespace presence_host {

bool is_loopback_address(const sockaddr* address, socklen_t length);
// Same check on the text form ("127.0.0.3", "::1", "::ffff:127.0.0.1").
bool is_loopback_text(std::string_view address);
// Same check on the peer of a connected socket; false when it cannot be read.
bool is_loopback_peer(int fd);

}  // namespace presence_host
