// The host application's friendships table (MariaDB). Friendships belong to the host
// application (SPEC 6, 8): the plugin only reads them (presence.friends_query) and is told of
// changes through the ABI. presence-host plays that application, so with presence.db_url set
// POST /admin/friendships writes this table first and calls the ABI once the rows are in; a
// restarted host (or any instance) then reads the friendship from the table.
//
// Writes run on a worker thread of their own, so the loop never waits on the database; a
// finished batch wakes the loop (`wake`), which takes it with take_finished().
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "admin_routes.hpp"

namespace presence_host {

class FriendshipTable {
  public:
    struct Written {
        uint64_t ticket = 0;
        bool ok = false;
        std::string error;  // why not, when !ok (no password in it)
        std::vector<AdminOp> ops;
    };

    // Parses `db_url` (presence.db_url), connects, and creates `table` (user_id, friend_id;
    // one row per direction) when it does not exist yet. nullptr with a reason naming the key.
    static std::unique_ptr<FriendshipTable> open(const std::string& db_url,
                                                 const std::string& table,
                                                 std::function<void()> wake, std::string& error);
    ~FriendshipTable();  // finishes what was submitted, then stops the worker
    FriendshipTable(const FriendshipTable&) = delete;
    FriendshipTable& operator=(const FriendshipTable&) = delete;

    // Loop thread: writes `ops` in one transaction (add: both rows, remove: both rows gone).
    uint64_t submit(std::vector<AdminOp> ops);
    // Loop thread: the batches written (or failed) since the last call.
    std::vector<Written> take_finished();

    // True for a table name presence-host accepts: 1-64 of [A-Za-z0-9_].
    static bool valid_table_name(const std::string& name);

  private:
    struct Impl;
    explicit FriendshipTable(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace presence_host
