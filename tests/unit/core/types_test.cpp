// Value helpers: user id grammar, status strings, error codes.
#include <string>

#include "core_harness.hpp"

using namespace presence::core;

TEST_GROUP(Types){};

TEST(Types, UserIdGrammar) {
    CHECK(is_valid_user_id("a"));
    CHECK(is_valid_user_id("Alice_01.x:y@z-w"));
    CHECK(is_valid_user_id(std::string(64, 'a')));
    CHECK_FALSE(is_valid_user_id(std::string(65, 'a')));
    CHECK_FALSE(is_valid_user_id(""));
    CHECK_FALSE(is_valid_user_id("a b"));
    CHECK_FALSE(is_valid_user_id("a/b"));
    CHECK_FALSE(is_valid_user_id("\xC3\xA9"));
}

TEST(Types, ChosenStatusParsing) {
    CHECK(parse_chosen_status("online") == Status::Online);
    CHECK(parse_chosen_status("away") == Status::Away);
    CHECK(parse_chosen_status("dnd") == Status::Dnd);
    CHECK(parse_chosen_status("invisible") == Status::Invisible);
    CHECK_FALSE(parse_chosen_status("offline").has_value());
    CHECK_FALSE(parse_chosen_status("Online").has_value());
    STRCMP_EQUAL("invisible", to_string(Status::Invisible));
    STRCMP_EQUAL("offline", to_string(Status::Offline));
}

TEST(Types, ErrorCodes) {
    STRCMP_EQUAL("", error_code(CoreError::None));
    STRCMP_EQUAL("invalid_status", error_code(CoreError::InvalidStatus));
    STRCMP_EQUAL("invalid_field", error_code(CoreError::InvalidField));
    STRCMP_EQUAL("too_many", error_code(CoreError::TooMany));
    STRCMP_EQUAL("not_friend", error_code(CoreError::NotFriend));
    STRCMP_EQUAL("rate_limited", error_code(CoreError::RateLimited));
}
