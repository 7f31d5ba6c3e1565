// Bearer tokens: who a request or WebSocket belongs to, signed by host.auth_secret.
//
// Format: base64url(payload) "." base64url(HMAC-SHA256(secret, base64url(payload))), no
// padding, where payload is "<expiry epoch seconds>:<user id>". The expiry comes first
// because user ids may themselves contain ':' and '.'. Signatures are compared in constant
// time (CRYPTO_memcmp) so a forger learns nothing from timing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/user_id.hpp"  // the plugin's rule for user ids

namespace presence_host {

enum class TokenCheck { ok, missing, malformed, bad_signature, expired };

const char* token_check_name(TokenCheck check);

struct TokenResult {
    TokenCheck check = TokenCheck::missing;
    std::string user_id;  // set only when check == ok
};

// True for 1..64 bytes of [A-Za-z0-9_.:@-] (SPEC section 3): the plugin's own rule.
using presence::util::is_valid_user_id;

// Mints a token for `user_id` valid until `expiry_s` (epoch seconds).
std::string mint_token(std::string_view secret, std::string_view user_id, int64_t expiry_s);

// Checks a token against the secret at time `now_s` (epoch seconds).
TokenResult verify_token(std::string_view secret, std::string_view token, int64_t now_s);

// base64url without padding; exposed for tests.
std::string base64url_encode(std::string_view bytes);
bool base64url_decode(std::string_view text, std::string& bytes);

}  // namespace presence_host
