// The host's own listening socket (libev loop): binds what host.listen says, reports the real
// port, accepts over IPv4 and IPv6, and fails with a reason.
#include "listen_socket.hpp"

#include <CppUTest/TestHarness.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

using presence_host::ListenAddress;
using presence_host::ListenSocket;

namespace {

// Connects a client to addr:port and accepts it on `listener`: true when both ends exist.
bool connect_and_accept(const ListenSocket& listener, int family, const char* addr) {
    const int client = socket(family, SOCK_STREAM, 0);
    if (client < 0) return false;
    sockaddr_storage to{};
    socklen_t len = 0;
    if (family == AF_INET6) {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&to);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(static_cast<uint16_t>(listener.port()));
        inet_pton(AF_INET6, addr, &in6->sin6_addr);
        len = sizeof *in6;
    } else {
        auto* in4 = reinterpret_cast<sockaddr_in*>(&to);
        in4->sin_family = AF_INET;
        in4->sin_port = htons(static_cast<uint16_t>(listener.port()));
        inet_pton(AF_INET, addr, &in4->sin_addr);
        len = sizeof *in4;
    }
    bool ok = connect(client, reinterpret_cast<sockaddr*>(&to), len) == 0;
    int accepted = -1;
    for (int tries = 0; ok && accepted < 0 && tries < 100; ++tries) {
        accepted = accept(listener.fd(), nullptr, nullptr);  // non-blocking listener
        if (accepted < 0) usleep(10 * 1000);
    }
    ok = ok && accepted >= 0;
    if (accepted >= 0) close(accepted);
    close(client);
    return ok;
}

}  // namespace

TEST_GROUP(ListenSocket){};

TEST(ListenSocket, PortZeroGetsARealPortAndAcceptsOverIpv4) {
    ListenSocket listener;
    std::string error;
    CHECK_TRUE_TEXT(listener.open(ListenAddress{"127.0.0.1", 0, false}, error), error.c_str());
    CHECK_TRUE(listener.port() > 0);
    CHECK_TRUE(connect_and_accept(listener, AF_INET, "127.0.0.1"));
}

TEST(ListenSocket, BracketedIpv6AddressListensOnIpv6) {
    ListenSocket listener;
    std::string error;
    if (!listener.open(ListenAddress{"::1", 0, true}, error)) {
        // A machine without IPv6 loopback says so; the error must name the cause.
        CHECK_TRUE(error.find("listen") != std::string::npos);
        return;
    }
    CHECK_TRUE(listener.port() > 0);
    CHECK_TRUE(connect_and_accept(listener, AF_INET6, "::1"));
}

TEST(ListenSocket, APortInUseIsAnErrorWithTheReason) {
    ListenSocket first, second;
    std::string error;
    CHECK_TRUE(first.open(ListenAddress{"127.0.0.1", 0, false}, error));
    CHECK_FALSE(second.open(ListenAddress{"127.0.0.1", first.port(), false}, error));
    STRCMP_CONTAINS("in use", error.c_str());
    CHECK_EQUAL(-1, second.fd());
}

TEST(ListenSocket, AnUnknownHostIsAnError) {
    ListenSocket listener;
    std::string error;
    CHECK_FALSE(listener.open(ListenAddress{"no-such-host.invalid", 0, false}, error));
    STRCMP_CONTAINS("no-such-host.invalid", error.c_str());
}
