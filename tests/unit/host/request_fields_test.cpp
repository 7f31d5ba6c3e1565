#include "request_fields.hpp"

// CppUTest last: its leak-detecting operator new macros break STL headers after it.
#include <CppUTest/TestHarness.h>

using namespace presence_host;

TEST_GROUP(RequestFields){};

TEST(RequestFields, QueryParamFindsExactNamesOnly) {
    STRCMP_EQUAL("abc", query_param("token=abc", "token").c_str());
    STRCMP_EQUAL("bob", query_param("token=abc&user=bob", "user").c_str());
    STRCMP_EQUAL("", query_param("xtoken=abc", "token").c_str());
    STRCMP_EQUAL("", query_param("token", "token").c_str());
    STRCMP_EQUAL("", query_param("", "token").c_str());
    STRCMP_EQUAL("a=b", query_param("token=a=b", "token").c_str());
}

TEST(RequestFields, BearerTokenNeedsTheBearerScheme) {
    STRCMP_EQUAL("t0k.en", bearer_token("Bearer t0k.en").c_str());
    STRCMP_EQUAL("t0k", bearer_token("bearer   t0k ").c_str());
    STRCMP_EQUAL("", bearer_token("Basic dXNlcjpwYXNz").c_str());
    STRCMP_EQUAL("", bearer_token("Bearer").c_str());
    STRCMP_EQUAL("", bearer_token("").c_str());
}

TEST(RequestFields, BadPercentEscapesAreFound) {
    CHECK_FALSE(has_bad_percent_escape("GET /api/presence/users/bob HTTP/1.1"));
    CHECK_FALSE(has_bad_percent_escape("GET /users/b%6Fb?x=%41%2f HTTP/1.1"));
    CHECK_FALSE(has_bad_percent_escape("GET /ws?token=a.b-c HTTP/1.1"));
    CHECK_FALSE(has_bad_percent_escape("garbage"));
    CHECK(has_bad_percent_escape("GET /users/bob% HTTP/1.1"));
    CHECK(has_bad_percent_escape("GET /users/bob%4 HTTP/1.1"));
    CHECK(has_bad_percent_escape("GET /users/bob%zz HTTP/1.1"));
    CHECK(has_bad_percent_escape("GET /users/a?q=%g1 HTTP/1.1"));
    CHECK(has_bad_percent_escape("GET /users/%00bob HTTP/1.1"));
    CHECK(has_bad_percent_escape("POST /x% HTTP/1.1"));
}
