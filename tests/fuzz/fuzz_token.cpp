// Fuzz target over presence-host's bearer tokens (host-stub/token): the input as a token is
// checked without a crash, and only a valid user id is ever accepted; the input as bytes goes
// through base64url and back unchanged; the input as a user id, when valid, mints a token
// that verifies to that user, is expired one second after its expiry and fails under another
// secret.
#include <cstdint>
#include <string>
#include <string_view>

#include "fake_host.hpp"
#include "token.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace presence_host;
    using presence_fuzz::require;
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    constexpr std::string_view secret = "fuzz-secret";
    constexpr int64_t now = 1'700'000'000;

    const TokenResult checked = verify_token(secret, input, now);
    require(checked.check != TokenCheck::ok || is_valid_user_id(checked.user_id),
            "a token accepted for an invalid user id");
    require(checked.check == TokenCheck::ok || checked.user_id.empty(),
            "a refused token names a user");
    (void)token_check_name(checked.check);

    std::string bytes;
    require(base64url_decode(base64url_encode(input), bytes) && bytes == input,
            "base64url does not round-trip");
    (void)base64url_decode(input, bytes);

    if (is_valid_user_id(input)) {
        const std::string token = mint_token(secret, input, now + 60);
        const TokenResult ok = verify_token(secret, token, now);
        require(ok.check == TokenCheck::ok && ok.user_id == input, "a minted token is refused");
        require(verify_token(secret, token, now + 61).check == TokenCheck::expired,
                "an expired token is accepted");
        require(verify_token("other-secret", token, now).check == TokenCheck::bad_signature,
                "a token verifies under another secret");
    }
    return 0;
}
