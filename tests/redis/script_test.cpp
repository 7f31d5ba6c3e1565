// Script: the SHA1 EVALSHA uses, lowercase hex.
#include "redis/redis_client.hpp"

// CppUTest last: its leak-detecting new macros must not meet standard headers.
#include <CppUTest/TestHarness.h>

using presence::redis::Script;

TEST_GROUP(Script){};

TEST(Script, Sha1OfBody) {
    Script s("return 1");
    STRCMP_EQUAL("return 1", s.body.c_str());
    STRCMP_EQUAL("e0e1f9fabfc9d4800c877a703b823ac0578ff8db", s.sha1.c_str());
}

TEST(Script, EmptyBody) {
    Script s("");
    STRCMP_EQUAL("da39a3ee5e6b4b0d3255bfef95601890afd80709", s.sha1.c_str());
}

TEST(Script, DifferentBodiesDifferentSha) {
    Script a("return 1");
    Script b("return 2");
    CHECK(a.sha1 != b.sha1);
    LONGS_EQUAL(40, b.sha1.size());
}
