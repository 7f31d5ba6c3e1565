// One live connection of the store's worker and the statements prepared on it. Every method
// runs on the worker thread; a failure reports the server's errno so the caller can tell a lost
// connection (retry on a new session) from a bad statement.
#pragma once

#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/types.hpp"
#include "store/mariadb_connection.hpp"
#include "store/mariadb_write_queue.hpp"

namespace presence::store {

struct MariaDbFailure {
    unsigned errno_value = 0;
    std::string message;
};

class MariaDbSession {
  public:
    MariaDbSession(MysqlPtr conn, std::string friends_query)
        : conn_(std::move(conn)), friends_query_(std::move(friends_query)) {}

    // One transaction: upserts every record, replaces the visibility rows of the users whose
    // list changed. Rolled back as a whole on failure.
    bool write(const std::vector<PendingWrite>& batch, MariaDbFailure* failure);

    // Stored records of `ids` (unique); ids never stored are absent from *out.
    bool load_users(const std::vector<std::string>& ids,
                    std::unordered_map<std::string, core::UserRecord>* out,
                    MariaDbFailure* failure);

    bool load_friends(const std::string& id, std::vector<std::string>* out,
                      MariaDbFailure* failure);

    // A round trip to check that the connection still works.
    bool ping(MariaDbFailure* failure);

  private:
    enum class Kind { Upsert, SelectUsers, SelectVisibility, DeleteVisibility, InsertVisibility };
    MYSQL_STMT* statement(Kind kind, std::size_t size, MariaDbFailure* failure);
    bool fail_conn(MariaDbFailure* failure);
    bool fail_stmt(MYSQL_STMT* stmt, MariaDbFailure* failure);
    bool write_in_transaction(const std::vector<PendingWrite>& batch, MariaDbFailure* failure);

    MysqlPtr conn_;
    std::string friends_query_;
    std::map<std::pair<Kind, std::size_t>, StmtPtr> statements_;
    StmtPtr friends_stmt_;
};

}  // namespace presence::store
