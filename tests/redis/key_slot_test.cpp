// key_slot: CRC16-XMODEM mod 16384 with the hash-tag rule; values checked against Redis 7.0's
// CLUSTER KEYSLOT (redis_client_tests also compares many keys against a live cluster).
#include "redis/redis_client.hpp"

// CppUTest last: its leak-detecting new macros must not meet standard headers.
#include <CppUTest/TestHarness.h>

using presence::redis::key_slot;

TEST_GROUP(KeySlot){};

TEST(KeySlot, KnownValues) {
    LONGS_EQUAL(12182, key_slot("foo"));
    LONGS_EQUAL(5061, key_slot("bar"));
    LONGS_EQUAL(866, key_slot("hello"));
    LONGS_EQUAL(12739, key_slot("123456789"));  // CRC16-XMODEM check value 0x31C3
    LONGS_EQUAL(0, key_slot(""));
}

TEST(KeySlot, HashTagSharesASlot) {
    LONGS_EQUAL(key_slot("{user1000}.following"), key_slot("{user1000}.followers"));
    LONGS_EQUAL(3443, key_slot("{user1000}.following"));
    LONGS_EQUAL(key_slot("user1000"), key_slot("{user1000}.following"));
    LONGS_EQUAL(key_slot("bar"), key_slot("foo{bar}{zap}"));  // the first tag only
}

TEST(KeySlot, EmptyOrUnclosedTagHashesTheWholeKey) {
    LONGS_EQUAL(8363, key_slot("foo{}{bar}"));
    CHECK(key_slot("foo{}{bar}") != key_slot("bar"));
    LONGS_EQUAL(15257, key_slot("{}"));
    LONGS_EQUAL(4092, key_slot("{"));
    LONGS_EQUAL(13340, key_slot("a{b"));
}

TEST(KeySlot, TagStartsAtTheFirstBrace) {
    LONGS_EQUAL(4015, key_slot("foo{{bar}}zap"));  // the tag is "{bar"
    LONGS_EQUAL(key_slot("{bar"), key_slot("foo{{bar}}zap"));
}

TEST(KeySlot, BinaryKeys) {
    const std::string key("a\0b", 3);
    CHECK(key_slot(key) != key_slot("a"));
    CHECK(key_slot(key) < 16384);
}
