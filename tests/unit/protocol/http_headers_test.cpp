// The response headers of the REST routes: ETag, If-None-Match, Retry-After.
#include "protocol/http_headers.hpp"

// CppUTest last: its memory-leak macros must not rewrite standard headers.
// clang-format off
#include <CppUTest/TestHarness.h>
// clang-format on

using namespace presence::protocol;

TEST_GROUP(HttpHeaders){};

TEST(HttpHeaders, EtagIsAQuotedHashThatFollowsTheBody) {
    const std::string tag = etag_of("{\"a\":1}");
    LONGS_EQUAL(18, tag.size());
    CHECK(tag.front() == '"' && tag.back() == '"');
    CHECK(tag == etag_of("{\"a\":1}"));
    CHECK(tag != etag_of("{\"a\":2}"));
}

TEST(HttpHeaders, IfNoneMatchComparesWeaklyAndAcceptsListsAndStar) {
    const std::string tag = etag_of("body");
    CHECK(if_none_match_matches(tag, tag));
    CHECK(if_none_match_matches("W/" + tag, tag));
    CHECK(if_none_match_matches("\"x\" , " + tag + ",\"y\"", tag));
    CHECK(if_none_match_matches("*", tag));
    CHECK_FALSE(if_none_match_matches("\"x\", \"y\"", tag));
    CHECK_FALSE(if_none_match_matches("", tag));
    CHECK_FALSE(if_none_match_matches(tag.substr(1), tag));  // unquoted is another tag
}

TEST(HttpHeaders, RetryAfterIsWholeSecondsAndAtLeastOne) {
    STRCMP_EQUAL("1", retry_after_seconds(5).c_str());
    STRCMP_EQUAL("1", retry_after_seconds(1).c_str());
    STRCMP_EQUAL("10", retry_after_seconds(0.1).c_str());
    STRCMP_EQUAL("4", retry_after_seconds(0.3).c_str());
}

TEST(HttpHeaders, HeaderNamesIgnoreCase) {
    CHECK(header_name_is("if-none-match", "If-None-Match"));
    CHECK(header_name_is("IF-NONE-MATCH", "If-None-Match"));
    CHECK_FALSE(header_name_is("If-None-Matc", "If-None-Match"));
    CHECK_FALSE(header_name_is("If-Match", "If-None-Match"));
}
