// What the MariaDB end-to-end suites share: the throwaway mariadbd of the binary (main.cpp),
// a fresh database with a friendships table, a wait for a condition, a friend in a snapshot.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "json.hpp"
#include "mariadb_server.hpp"

namespace presence::test {

extern MariaDbServer* g_e2e_server;

// A new, empty database "<prefix>_<n>" on g_e2e_server.
std::string fresh_db(const std::string& prefix);

// A new database "<prefix>_<n>" on g_e2e_server holding the host application's friendships
// table with both directions of every pair.
std::string fresh_db_with_friends(const std::string& prefix,
                                  const std::vector<std::pair<std::string, std::string>>& pairs);

// Polls `done` every 50 ms until it holds or `timeout` passes; its last answer.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout);

// The friend `id` in a snapshot's "friends" array (invalid Json if absent).
Json friend_in(const Json& snapshot, const std::string& id);

}  // namespace presence::test
