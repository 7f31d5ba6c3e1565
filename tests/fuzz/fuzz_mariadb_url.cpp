// Fuzz target over presence.db_url (store/mariadb_url): no crash, an accepted URL has a user
// and a database without '/', a port, and a refusal names the key and never quotes the
// password.
#include <cstdint>
#include <string>
#include <string_view>

#include "fake_host.hpp"
#include "store/mariadb_url.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using presence_fuzz::require;
    const std::string_view url(reinterpret_cast<const char*>(data), size);
    std::string err;
    const auto parsed = presence::store::parse_mariadb_url(url, &err);
    if (parsed) {
        require(!parsed->user.empty(), "accepted a URL without a user");
        require(!parsed->database.empty(), "accepted a URL without a database");
        require(parsed->database.find('/') == std::string::npos, "database name with '/'");
        require(parsed->port != 0, "accepted port 0");
        return 0;
    }
    require(err.rfind("presence.db_url: ", 0) == 0, "refusal does not name presence.db_url");
    // The password (after the first ':' of what precedes the last '@', before any '?') must
    // not shape the message: the same URL with the password replaced by as many 'Q's is
    // refused with the same words, unless the password itself was badly escaped.
    constexpr std::string_view scheme = "mariadb://";
    if (url.substr(0, scheme.size()) != scheme) return 0;
    std::string_view rest = url.substr(scheme.size());
    rest = rest.substr(0, rest.find('?'));
    const auto at = rest.rfind('@');
    if (at == std::string_view::npos) return 0;
    const auto colon = rest.substr(0, at).find(':');
    if (colon == std::string_view::npos) return 0;
    std::string masked(url);
    const std::size_t from = scheme.size() + colon + 1;
    masked.replace(from, at - colon - 1, at - colon - 1, 'Q');
    std::string masked_err;
    const auto masked_parsed = presence::store::parse_mariadb_url(masked, &masked_err);
    if (err != "presence.db_url: bad percent-escape in the password") {
        require(!masked_parsed && masked_err == err, "the password changes the refusal's words");
    }
    return 0;
}
