// UTF-8 checks of what clients send, and prefixes that never split a code point.
#include "protocol/utf8.hpp"

#include <string>

// CppUTest last: its memory-leak macros must not rewrite standard headers.
// clang-format off
#include <CppUTest/TestHarness.h>
// clang-format on

using namespace presence;

TEST_GROUP(Utf8){};

TEST(Utf8, AcceptsAndRejects) {
    CHECK_TRUE(protocol::is_valid_utf8("plain"));
    CHECK_TRUE(protocol::is_valid_utf8("\xF0\x9F\x98\x80"));   // emoji
    CHECK_FALSE(protocol::is_valid_utf8("\xC0\xAF"));          // overlong
    CHECK_FALSE(protocol::is_valid_utf8("\xED\xA0\x80"));      // surrogate
    CHECK_FALSE(protocol::is_valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
    CHECK_FALSE(protocol::is_valid_utf8("\xE2\x82"));          // truncated
    CHECK_FALSE(protocol::is_valid_utf8("\x80"));              // lone continuation
}

TEST(Utf8, PrefixDoesNotSplitCodePoints) {
    STRCMP_EQUAL("a", std::string(protocol::utf8_prefix("a\xC3\xA9", 2)).c_str());
}
