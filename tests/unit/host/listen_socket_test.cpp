// The host's own listening socket (libev loop): binds what host.listen says, reports the real
// port, accepts over IPv4 and IPv6, shares its port when asked (SO_REUSEPORT, host.reuse_port),
// and fails with a reason.
#include "listen_socket.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <utility>
#include <vector>

// CppUTest last: its leak-detecting operator new macros break STL headers after it.
#include <CppUTest/TestHarness.h>

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

// Connects `count` IPv4 clients to `port` and accepts on both listeners; how many each took.
std::vector<int> connect_and_accept_on_both(const ListenSocket& a, const ListenSocket& b,
                                            int count) {
    std::vector<int> clients;
    for (int i = 0; i < count; ++i) {
        const int client = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(static_cast<uint16_t>(a.port()));
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (client >= 0 && connect(client, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0) {
            clients.push_back(client);
        } else if (client >= 0) {
            close(client);
        }
    }
    std::vector<int> taken = {0, 0};
    for (int tries = 0; taken[0] + taken[1] < count && tries < 100; ++tries) {
        int got = 0;
        for (int which = 0; which < 2; ++which) {
            const int fd = accept((which ? b : a).fd(), nullptr, nullptr);  // non-blocking
            if (fd >= 0) {
                close(fd);
                ++taken[which];
                ++got;
            }
        }
        if (!got) usleep(10 * 1000);
    }
    for (const int client : clients) close(client);
    return taken;
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

TEST(ListenSocket, TwoSocketsWithReusePortListenOnOnePortAndBothAccept) {
    ListenSocket first, second;
    std::string error;
    CHECK_TRUE_TEXT(first.open(ListenAddress{"127.0.0.1", 0, false}, error, true), error.c_str());
    CHECK_TRUE_TEXT(second.open(ListenAddress{"127.0.0.1", first.port(), false}, error, true),
                    error.c_str());
    CHECK_EQUAL(first.port(), second.port());
    // The kernel spreads connections over the two by a hash of the peer's address and port:
    // of 40, each socket gets some (all on one: a chance of 2 in 2^40).
    const std::vector<int> taken = connect_and_accept_on_both(first, second, 40);
    CHECK_EQUAL(40, taken[0] + taken[1]);
    CHECK_TRUE_TEXT(taken[0] > 0 && taken[1] > 0,
                    (std::to_string(taken[0]) + "/" + std::to_string(taken[1])).c_str());
}

TEST(ListenSocket, WithoutReusePortOnBothTheSecondSocketFailsWithEaddrinuse) {
    // {first, second}: only both with SO_REUSEPORT may share the port.
    for (const auto& [first_reuses, second_reuses] :
         std::vector<std::pair<bool, bool>>{{false, false}, {false, true}, {true, false}}) {
        const std::string what = std::to_string(first_reuses) + "/" + std::to_string(second_reuses);
        ListenSocket first, second;
        std::string error;
        CHECK_TRUE(first.open(ListenAddress{"127.0.0.1", 0, false}, error, first_reuses));
        errno = 0;
        CHECK_FALSE_TEXT(
            second.open(ListenAddress{"127.0.0.1", first.port(), false}, error, second_reuses),
            what.c_str());
        CHECK_EQUAL_TEXT(EADDRINUSE, errno, what.c_str());
        STRCMP_CONTAINS("in use", error.c_str());
        CHECK_EQUAL(-1, second.fd());
    }
}
