#include "token.hpp"

// CppUTest last: its leak-detecting operator new macros break STL headers after it.
#include <CppUTest/TestHarness.h>

using namespace presence_host;

namespace {
constexpr int64_t kNow = 1'800'000'000;
}

TEST_GROUP(Token){};

TEST(Token, GoodTokenYieldsItsUser) {
    const auto token = mint_token("s3cret", "alice@example.com", kNow + 60);
    const auto result = verify_token("s3cret", token, kNow);
    CHECK_TRUE(result.check == TokenCheck::ok);
    STRCMP_EQUAL("alice@example.com", result.user_id.c_str());
}

TEST(Token, UserIdWithColonsAndDotsSurvives) {
    const auto token = mint_token("k", "a:b.c", kNow + 1);
    STRCMP_EQUAL("a:b.c", verify_token("k", token, kNow).user_id.c_str());
}

TEST(Token, ExpiredTokenIsRefused) {
    const auto token = mint_token("s3cret", "alice", kNow);
    const auto result = verify_token("s3cret", token, kNow);
    CHECK_TRUE(result.check == TokenCheck::expired);
    CHECK_TRUE(result.user_id.empty());
}

TEST(Token, WrongSecretIsABadSignature) {
    const auto token = mint_token("s3cret", "alice", kNow + 60);
    CHECK_TRUE(verify_token("other", token, kNow).check == TokenCheck::bad_signature);
}

TEST(Token, TamperedPayloadIsABadSignature) {
    const auto token = mint_token("s3cret", "alice", kNow + 60);
    const auto forged_payload = base64url_encode(std::to_string(kNow + 60) + ":mallory");
    const auto forged = forged_payload + token.substr(token.find('.'));
    CHECK_TRUE(verify_token("s3cret", forged, kNow).check == TokenCheck::bad_signature);
}

TEST(Token, TamperedSignatureIsABadSignature) {
    auto token = mint_token("s3cret", "alice", kNow + 60);
    char& last = token[token.size() - 2];
    last = last == 'A' ? 'B' : 'A';
    CHECK_TRUE(verify_token("s3cret", token, kNow).check == TokenCheck::bad_signature);
}

TEST(Token, MalformedTokensAreRefused) {
    CHECK_TRUE(verify_token("s", "nodot", kNow).check == TokenCheck::malformed);
    CHECK_TRUE(verify_token("s", "a.b.c", kNow).check == TokenCheck::malformed);
    CHECK_TRUE(verify_token("s", "!!!.???", kNow).check == TokenCheck::malformed);
    CHECK_TRUE(verify_token("s", ".", kNow).check != TokenCheck::ok);
}

TEST(Token, SignedButBadPayloadIsMalformed) {
    // A correctly signed payload that is not "<expiry>:<user>" must still be refused.
    const std::string payload = base64url_encode("no-expiry-here");
    const auto good = mint_token("s", "x", kNow + 60);
    // Re-sign by minting through the public API is not possible, so check the user id rule:
    const auto bad_user = mint_token("s", "bad user", kNow + 60);
    CHECK_TRUE(verify_token("s", bad_user, kNow).check == TokenCheck::malformed);
    CHECK_TRUE(verify_token("s", payload + good.substr(good.find('.')), kNow).check ==
               TokenCheck::bad_signature);
}

TEST(Token, MissingTokenIsMissing) {
    CHECK_TRUE(verify_token("s", "", kNow).check == TokenCheck::missing);
}

TEST(Token, Base64urlRoundTripsAllBytes) {
    std::string bytes;
    for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
    for (size_t n = 0; n < 8; ++n) {
        std::string decoded;
        const auto text = base64url_encode(bytes.substr(0, 250 + n));
        CHECK_TRUE(text.find_first_of("+/=") == std::string::npos);
        CHECK_TRUE(base64url_decode(text, decoded));
        CHECK_TRUE(decoded == bytes.substr(0, 250 + n));
    }
}

TEST(Token, UserIdRules) {
    CHECK_TRUE(is_valid_user_id("a"));
    CHECK_TRUE(is_valid_user_id(std::string(64, 'z')));
    CHECK_FALSE(is_valid_user_id(""));
    CHECK_FALSE(is_valid_user_id(std::string(65, 'z')));
    CHECK_FALSE(is_valid_user_id("a b"));
    CHECK_FALSE(is_valid_user_id("a/b"));
}
