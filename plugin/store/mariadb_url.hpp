// Parsing of presence.db_url (SPEC 7/8). Kept apart from the store so it can be unit-tested
// without a server.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace presence::store {

struct MariaDbUrl {
    std::string user;
    std::string password;  // percent-decoded
    std::string host;      // empty with a socket
    std::uint16_t port = 3306;
    std::string database;
    std::string socket;  // from ?socket=PATH (percent-decoded); empty = TCP
};

// Accepts mariadb://user[:pass]@host[:port]/db and mariadb://user[:pass]@[host]/db?socket=PATH.
// On failure returns nullopt and sets *err to "presence.db_url: <what is wrong>". The password
// never appears in an error message.
std::optional<MariaDbUrl> parse_mariadb_url(std::string_view url, std::string* err);

}  // namespace presence::store
