#include "token.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>
#include <vector>

namespace presence_host {
namespace {

std::string hmac_sha256(std::string_view secret, std::string_view data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest, &digest_len);
    return std::string(reinterpret_cast<const char*>(digest), digest_len);
}

}  // namespace

const char* token_check_name(TokenCheck check) {
    switch (check) {
        case TokenCheck::ok:
            return "ok";
        case TokenCheck::missing:
            return "missing";
        case TokenCheck::malformed:
            return "malformed";
        case TokenCheck::bad_signature:
            return "bad signature";
        case TokenCheck::expired:
            return "expired";
    }
    return "unknown";
}

std::string base64url_encode(std::string_view bytes) {
    std::vector<unsigned char> out(4 * ((bytes.size() + 2) / 3) + 1);
    const int n = EVP_EncodeBlock(out.data(), reinterpret_cast<const unsigned char*>(bytes.data()),
                                  static_cast<int>(bytes.size()));
    std::string text(reinterpret_cast<const char*>(out.data()), static_cast<size_t>(n));
    while (!text.empty() && text.back() == '=') text.pop_back();
    for (auto& c : text) {
        if (c == '+') c = '-';
        if (c == '/') c = '_';
    }
    return text;
}

bool base64url_decode(std::string_view text, std::string& bytes) {
    if (text.size() % 4 == 1) return false;
    std::string padded(text);
    for (auto& c : padded) {
        if (c == '-')
            c = '+';
        else if (c == '_')
            c = '/';
        else if (c == '+' || c == '/' || c == '=')
            return false;  // not base64url
    }
    const size_t pad = (4 - padded.size() % 4) % 4;
    padded.append(pad, '=');
    std::vector<unsigned char> out(padded.size() / 4 * 3 + 1);
    const int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(padded.data()),
                                  static_cast<int>(padded.size()));
    if (n < 0 || static_cast<size_t>(n) < pad) return false;
    bytes.assign(reinterpret_cast<const char*>(out.data()), static_cast<size_t>(n) - pad);
    // Reject non-canonical text so one token has exactly one spelling.
    return base64url_encode(bytes) == text;
}

std::string mint_token(std::string_view secret, std::string_view user_id, int64_t expiry_s) {
    const std::string payload =
        base64url_encode(std::to_string(expiry_s) + ":" + std::string(user_id));
    return payload + "." + base64url_encode(hmac_sha256(secret, payload));
}

TokenResult verify_token(std::string_view secret, std::string_view token, int64_t now_s) {
    TokenResult result;
    if (token.empty()) return result;  // missing
    result.check = TokenCheck::malformed;
    const auto dot = token.find('.');
    if (dot == std::string_view::npos || token.find('.', dot + 1) != std::string_view::npos) {
        return result;
    }
    const auto payload_text = token.substr(0, dot);
    std::string payload, signature;
    if (!base64url_decode(payload_text, payload) ||
        !base64url_decode(token.substr(dot + 1), signature)) {
        return result;
    }
    const std::string expected = hmac_sha256(secret, payload_text);
    if (signature.size() != expected.size() ||
        CRYPTO_memcmp(signature.data(), expected.data(), expected.size()) != 0) {
        result.check = TokenCheck::bad_signature;
        return result;
    }
    // Signed by us, so a malformed payload here means a bug in a minting tool; still refuse.
    const auto colon = payload.find(':');
    if (colon == std::string::npos || colon == 0) return result;
    int64_t expiry_s = 0;
    const auto [end, ec] = std::from_chars(payload.data(), payload.data() + colon, expiry_s);
    if (ec != std::errc() || end != payload.data() + colon) return result;
    std::string user_id = payload.substr(colon + 1);
    if (!is_valid_user_id(user_id)) return result;
    if (now_s >= expiry_s) {
        result.check = TokenCheck::expired;
        return result;
    }
    result.check = TokenCheck::ok;
    result.user_id = std::move(user_id);
    return result;
}

}  // namespace presence_host
