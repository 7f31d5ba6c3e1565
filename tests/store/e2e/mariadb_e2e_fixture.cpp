#include "mariadb_e2e_fixture.hpp"

#include <thread>

// CppUTest last: its leak-detecting new macros must not meet standard headers.
#include <CppUTest/TestHarness.h>

namespace presence::test {

std::string fresh_db(const std::string& prefix) {
    static int next = 0;
    const std::string db = prefix + "_" + std::to_string(++next);
    std::string err;
    CHECK_TRUE_TEXT(g_e2e_server->create_database(db, &err), err.c_str());
    return db;
}

std::string fresh_db_with_friends(const std::string& prefix,
                                  const std::vector<std::pair<std::string, std::string>>& pairs) {
    const std::string db = fresh_db(prefix);
    std::string err;
    std::vector<std::string> sql = {
        "CREATE TABLE friendships (user_id VARCHAR(64) NOT NULL, friend_id VARCHAR(64) NOT NULL, "
        "PRIMARY KEY (user_id, friend_id))"};
    for (const auto& [a, b] : pairs) {
        sql.push_back("INSERT INTO friendships VALUES ('" + a + "','" + b + "'),('" + b + "','" +
                      a + "')");
    }
    CHECK_TRUE_TEXT(g_e2e_server->exec(db, sql, &err), err.c_str());
    return db;
}

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (done()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return done();
}

Json friend_in(const Json& snapshot, const std::string& id) {
    const Json friends = snapshot["friends"];
    for (std::size_t i = 0; i < friends.size(); ++i) {
        if (friends[i]["user_id"].str() == id) return friends[i];
    }
    return Json{};
}

}  // namespace presence::test
