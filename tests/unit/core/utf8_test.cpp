// The core's UTF-8 counting on its own: code points, not bytes; malformed input refused.
#include "core/utf8.hpp"

#include <string>

#include "core_harness.hpp"

using namespace presence::core;

TEST_GROUP(Utf8){};

TEST(Utf8, CountsCodePointsNotBytes) {
    LONGS_EQUAL(0, *utf8_code_points(""));
    LONGS_EQUAL(3, *utf8_code_points("abc"));
    LONGS_EQUAL(1, *utf8_code_points("\xC3\xA9"));
    LONGS_EQUAL(1, *utf8_code_points("\xE2\x82\xAC"));
    LONGS_EQUAL(1, *utf8_code_points("\xF4\x8F\xBF\xBF"));  // U+10FFFF, the last one
    LONGS_EQUAL(1, *utf8_code_points("\xEF\xBF\xBF"));      // U+FFFF
    LONGS_EQUAL(1, *utf8_code_points(std::string_view("\0", 1)));
}

TEST(Utf8, RejectsMalformed) {
    CHECK_FALSE(utf8_code_points("\xC1\xBF").has_value());          // overlong
    CHECK_FALSE(utf8_code_points("\xF0\x8F\xBF\xBF").has_value());  // overlong 4-byte
    CHECK_FALSE(utf8_code_points("\xED\xBF\xBF").has_value());      // surrogate U+DFFF
    CHECK_FALSE(utf8_code_points("\xE2\x28\xA1").has_value());      // bad continuation
    CHECK_FALSE(utf8_code_points("\xF8\x88\x80\x80\x80").has_value());
}
