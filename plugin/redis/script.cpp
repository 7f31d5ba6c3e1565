// Script: the SHA1 that EVALSHA names a script by, computed once when the script is built.
#include <openssl/evp.h>

#include "redis/redis_client.hpp"

namespace presence::redis {

Script::Script(std::string text) : body(std::move(text)) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(body.data(), body.size(), digest, &len, EVP_sha1(), nullptr) != 1) {
        return;  // sha1 stays empty: every EVALSHA gets NOSCRIPT and falls back to EVAL
    }
    static const char* hex = "0123456789abcdef";
    sha1.reserve(len * 2);
    for (unsigned i = 0; i < len; ++i) {
        sha1 += hex[digest[i] >> 4];
        sha1 += hex[digest[i] & 15];
    }
}

}  // namespace presence::redis
