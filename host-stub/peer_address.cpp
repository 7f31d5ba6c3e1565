#include "peer_address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <string>

namespace presence_host {
namespace {

bool ipv4_is_loopback(const in_addr& address) {
    return (ntohl(address.s_addr) >> 24) == 127;
}

bool ipv6_is_loopback(const in6_addr& address) {
    if (IN6_IS_ADDR_LOOPBACK(&address)) return true;
    if (IN6_IS_ADDR_V4MAPPED(&address)) {
        in_addr v4;
        std::memcpy(&v4, &address.s6_addr[12], sizeof v4);
        return ipv4_is_loopback(v4);
    }
    return false;
}

}  // namespace

bool is_loopback_address(const sockaddr* address, socklen_t length) {
    if (!address) return false;
    if (address->sa_family == AF_INET && length >= sizeof(sockaddr_in)) {
        return ipv4_is_loopback(reinterpret_cast<const sockaddr_in*>(address)->sin_addr);
    }
    if (address->sa_family == AF_INET6 && length >= sizeof(sockaddr_in6)) {
        return ipv6_is_loopback(reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr);
    }
    return false;
}

bool is_loopback_text(std::string_view address) {
    const std::string text(address);
    in_addr v4;
    if (inet_pton(AF_INET, text.c_str(), &v4) == 1) return ipv4_is_loopback(v4);
    in6_addr v6;
    if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) return ipv6_is_loopback(v6);
    return false;
}

bool is_loopback_peer(int fd) {
    sockaddr_storage peer{};
    socklen_t length = sizeof peer;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length) != 0) return false;
    return is_loopback_address(reinterpret_cast<const sockaddr*>(&peer), length);
}

}  // namespace presence_host
