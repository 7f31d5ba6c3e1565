#include "peer_address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

// CppUTest last: its leak-detecting operator new macros break STL headers after it.
#include <CppUTest/TestHarness.h>

using namespace presence_host;

TEST_GROUP(LoopbackPeer){};

TEST(LoopbackPeer, AllOf127Slash8IsLoopback) {
    CHECK_TRUE(is_loopback_text("127.0.0.1"));
    CHECK_TRUE(is_loopback_text("127.0.0.7"));
    CHECK_TRUE(is_loopback_text("127.255.255.254"));
}

TEST(LoopbackPeer, Ipv6LoopbackAndMappedV4Loopback) {
    CHECK_TRUE(is_loopback_text("::1"));
    CHECK_TRUE(is_loopback_text("::ffff:127.0.0.9"));
}

TEST(LoopbackPeer, OtherAddressesAreNot) {
    CHECK_FALSE(is_loopback_text("128.0.0.1"));
    CHECK_FALSE(is_loopback_text("10.0.0.1"));
    CHECK_FALSE(is_loopback_text("0.0.0.0"));
    CHECK_FALSE(is_loopback_text("::"));
    CHECK_FALSE(is_loopback_text("::2"));
    CHECK_FALSE(is_loopback_text("::ffff:10.0.0.1"));
    CHECK_FALSE(is_loopback_text("localhost"));
    CHECK_FALSE(is_loopback_text(""));
}

TEST(LoopbackPeer, SockaddrForms) {
    sockaddr_in v4{};
    v4.sin_family = AF_INET;
    inet_pton(AF_INET, "127.3.2.1", &v4.sin_addr);
    CHECK_TRUE(is_loopback_address(reinterpret_cast<sockaddr*>(&v4), sizeof v4));
    inet_pton(AF_INET, "192.168.1.1", &v4.sin_addr);
    CHECK_FALSE(is_loopback_address(reinterpret_cast<sockaddr*>(&v4), sizeof v4));
    sockaddr_in6 v6{};
    v6.sin6_family = AF_INET6;
    v6.sin6_addr = in6addr_loopback;
    CHECK_TRUE(is_loopback_address(reinterpret_cast<sockaddr*>(&v6), sizeof v6));
    CHECK_FALSE(is_loopback_address(nullptr, 0));
    CHECK_FALSE(is_loopback_address(reinterpret_cast<sockaddr*>(&v6), 4));  // truncated
}
