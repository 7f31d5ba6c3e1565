#include "store/mariadb_statements.hpp"

namespace presence::store {
namespace {

std::string repeat(const std::string& item, std::size_t n) {
    std::string out;
    out.reserve((item.size() + 1) * n);
    for (std::size_t i = 0; i < n; ++i) {
        if (i) out += ',';
        out += item;
    }
    return out;
}

}  // namespace

std::vector<std::size_t> mariadb_chunks(std::size_t n) {
    std::vector<std::size_t> out;
    for (const std::size_t size : kChunkSizes) {
        while (n >= size) {
            out.push_back(size);
            n -= size;
        }
    }
    return out;
}

std::string mariadb_upsert_users_sql(std::size_t rows) {
    // updated_at moves by itself (ON UPDATE), only when a value really changed.
    return "INSERT INTO user_presence"
           " (user_id, status, message, until_ms, last_seen_ms, last_seen_listed_ms) VALUES " +
           repeat("(?,?,?,?,?,?)", rows) +
           " ON DUPLICATE KEY UPDATE status = VALUES(status), message = VALUES(message),"
           " until_ms = VALUES(until_ms), last_seen_ms = VALUES(last_seen_ms),"
           " last_seen_listed_ms = VALUES(last_seen_listed_ms)";
}

std::string mariadb_select_users_sql(std::size_t ids) {
    return "SELECT user_id, status, message, until_ms, last_seen_ms, last_seen_listed_ms"
           " FROM user_presence WHERE user_id IN (" +
           repeat("?", ids) + ")";
}

std::string mariadb_select_visibility_sql(std::size_t ids) {
    return "SELECT user_id, viewer_id FROM presence_visibility WHERE user_id IN (" +
           repeat("?", ids) + ") ORDER BY user_id, viewer_id";
}

std::string mariadb_delete_visibility_sql(std::size_t ids) {
    return "DELETE FROM presence_visibility WHERE user_id IN (" + repeat("?", ids) + ")";
}

std::string mariadb_insert_visibility_sql(std::size_t rows) {
    return "INSERT INTO presence_visibility (user_id, viewer_id) VALUES " + repeat("(?,?)", rows);
}

}  // namespace presence::store
