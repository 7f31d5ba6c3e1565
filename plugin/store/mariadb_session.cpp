#include "store/mariadb_session.hpp"

#include <algorithm>
#include <cstring>

#include "store/mariadb_statements.hpp"

namespace presence::store {
namespace {

// 128 code points of at most 4 bytes, with room to spare: a longer value is reported truncated.
constexpr std::size_t kMessageBytes = 600;
constexpr std::size_t kIdBytes = 256;

core::Status status_from_db(std::int64_t v) {
    if (v >= 1 && v <= 4) return static_cast<core::Status>(v);
    return core::Status::Online;  // unknown values (a newer build?) fall back to the default
}

}  // namespace

bool MariaDbSession::fail_conn(MariaDbFailure* failure) {
    failure->errno_value = mysql_errno(conn_.get());
    failure->message = mariadb_conn_error(conn_.get());
    return false;
}

bool MariaDbSession::fail_stmt(MYSQL_STMT* stmt, MariaDbFailure* failure) {
    failure->errno_value = mysql_stmt_errno(stmt);
    failure->message = mariadb_stmt_error(stmt);
    return false;
}

MYSQL_STMT* MariaDbSession::statement(Kind kind, std::size_t size, MariaDbFailure* failure) {
    auto key = std::make_pair(kind, size);
    if (auto it = statements_.find(key); it != statements_.end()) return it->second.get();
    std::string sql;
    switch (kind) {
        case Kind::Upsert:
            sql = mariadb_upsert_users_sql(size);
            break;
        case Kind::SelectUsers:
            sql = mariadb_select_users_sql(size);
            break;
        case Kind::SelectVisibility:
            sql = mariadb_select_visibility_sql(size);
            break;
        case Kind::DeleteVisibility:
            sql = mariadb_delete_visibility_sql(size);
            break;
        case Kind::InsertVisibility:
            sql = mariadb_insert_visibility_sql(size);
            break;
    }
    std::string err;
    StmtPtr stmt = mariadb_prepare(conn_.get(), sql, &err, &failure->errno_value);
    if (!stmt) {
        failure->message = err;
        return nullptr;
    }
    return statements_.emplace(key, std::move(stmt)).first->second.get();
}

bool MariaDbSession::write(const std::vector<PendingWrite>& batch, MariaDbFailure* failure) {
    if (batch.empty()) return true;
    std::string err;
    if (!mariadb_exec(conn_.get(), "START TRANSACTION", &err)) return fail_conn(failure);
    if (!write_in_transaction(batch, failure)) {
        mysql_rollback(conn_.get());
        return false;
    }
    if (mysql_commit(conn_.get()) != 0) return fail_conn(failure);
    return true;
}

bool MariaDbSession::write_in_transaction(const std::vector<PendingWrite>& batch,
                                          MariaDbFailure* failure) {
    std::size_t at = 0;
    for (const std::size_t rows : mariadb_chunks(batch.size())) {
        MYSQL_STMT* stmt = statement(Kind::Upsert, rows, failure);
        if (!stmt) return false;
        MariaDbParams params(rows * 6);
        for (std::size_t r = 0; r < rows; ++r) {
            const core::UserRecord& rec = batch[at + r].record;
            const std::size_t p = r * 6;
            params.text(p, rec.user_id);
            params.int64(p + 1, static_cast<std::int64_t>(rec.chosen));
            if (rec.message) {
                params.text(p + 2, *rec.message);
            } else {
                params.int64(p + 2, std::nullopt);
            }
            params.int64(p + 3, rec.until);
            params.int64(p + 4, rec.last_seen);
            params.int64(p + 5, rec.last_seen_listed);
        }
        std::string err;
        if (!params.execute(stmt, &err)) return fail_stmt(stmt, failure);
        at += rows;
    }

    // Visibility rows are replaced as a whole, only for users whose list changed.
    std::vector<const core::UserRecord*> changed;
    std::vector<std::pair<const std::string*, const std::string*>> rows;
    for (const auto& w : batch) {
        if (!w.visibility_dirty) continue;
        changed.push_back(&w.record);
        for (const auto& viewer : w.record.visibility)
            rows.emplace_back(&w.record.user_id, &viewer);
    }
    at = 0;
    for (const std::size_t n : mariadb_chunks(changed.size())) {
        MYSQL_STMT* stmt = statement(Kind::DeleteVisibility, n, failure);
        if (!stmt) return false;
        MariaDbParams params(n);
        for (std::size_t i = 0; i < n; ++i) params.text(i, changed[at + i]->user_id);
        std::string err;
        if (!params.execute(stmt, &err)) return fail_stmt(stmt, failure);
        at += n;
    }
    at = 0;
    for (const std::size_t n : mariadb_chunks(rows.size())) {
        MYSQL_STMT* stmt = statement(Kind::InsertVisibility, n, failure);
        if (!stmt) return false;
        MariaDbParams params(n * 2);
        for (std::size_t i = 0; i < n; ++i) {
            params.text(i * 2, *rows[at + i].first);
            params.text(i * 2 + 1, *rows[at + i].second);
        }
        std::string err;
        if (!params.execute(stmt, &err)) return fail_stmt(stmt, failure);
        at += n;
    }
    return true;
}

bool MariaDbSession::load_users(const std::vector<std::string>& ids,
                                std::unordered_map<std::string, core::UserRecord>* out,
                                MariaDbFailure* failure) {
    std::size_t at = 0;
    for (const std::size_t n : mariadb_chunks(ids.size())) {
        MariaDbParams params(n);
        for (std::size_t i = 0; i < n; ++i) params.text(i, ids[at + i]);

        MYSQL_STMT* stmt = statement(Kind::SelectUsers, n, failure);
        if (!stmt) return false;
        std::string err;
        if (!params.execute(stmt, &err)) return fail_stmt(stmt, failure);
        MariaDbTextColumn user_id(kIdBytes), message(kMessageBytes);
        MariaDbIntColumn status, until, last_seen, last_seen_listed;
        MYSQL_BIND result[6];
        mariadb_bind_text(result[0], user_id);
        mariadb_bind_int(result[1], status);
        mariadb_bind_text(result[2], message);
        mariadb_bind_int(result[3], until);
        mariadb_bind_int(result[4], last_seen);
        mariadb_bind_int(result[5], last_seen_listed);
        if (mysql_stmt_bind_result(stmt, result) != 0) return fail_stmt(stmt, failure);
        int rc = 0;
        while ((rc = mysql_stmt_fetch(stmt)) == 0 || rc == MYSQL_DATA_TRUNCATED) {
            core::UserRecord rec;
            rec.user_id = user_id.value();
            rec.chosen = status_from_db(status.value);
            if (!message.is_null) rec.message = message.value();
            rec.until = until.get();
            rec.last_seen = last_seen.get();
            rec.last_seen_listed = last_seen_listed.get();
            (*out)[rec.user_id] = std::move(rec);
        }
        if (rc == 1) return fail_stmt(stmt, failure);
        mysql_stmt_free_result(stmt);

        stmt = statement(Kind::SelectVisibility, n, failure);
        if (!stmt) return false;
        if (!params.execute(stmt, &err)) return fail_stmt(stmt, failure);
        MariaDbTextColumn owner(kIdBytes), viewer(kIdBytes);
        MYSQL_BIND vis[2];
        mariadb_bind_text(vis[0], owner);
        mariadb_bind_text(vis[1], viewer);
        if (mysql_stmt_bind_result(stmt, vis) != 0) return fail_stmt(stmt, failure);
        while ((rc = mysql_stmt_fetch(stmt)) == 0 || rc == MYSQL_DATA_TRUNCATED) {
            auto it = out->find(owner.value());
            // ORDER BY keeps each list sorted, as UserRecord promises.
            if (it != out->end()) it->second.visibility.push_back(viewer.value());
        }
        if (rc == 1) return fail_stmt(stmt, failure);
        mysql_stmt_free_result(stmt);
        at += n;
    }
    return true;
}

bool MariaDbSession::ping(MariaDbFailure* failure) {
    if (mysql_ping(conn_.get()) == 0) return true;
    return fail_conn(failure);
}

bool MariaDbSession::load_friends(const std::string& id, std::vector<std::string>* out,
                                  MariaDbFailure* failure) {
    if (!friends_stmt_) {
        std::string err;
        friends_stmt_ = mariadb_prepare(conn_.get(), friends_query_, &err, &failure->errno_value);
        if (!friends_stmt_) {
            failure->message = "presence.friends_query: " + err;
            return false;
        }
    }
    MYSQL_STMT* stmt = friends_stmt_.get();
    MariaDbParams params(1);
    params.text(0, id);
    std::string err;
    if (!params.execute(stmt, &err)) return fail_stmt(stmt, failure);
    MariaDbTextColumn friend_id(kIdBytes);
    // Only the first column is the friend id; any further ones are fetched into nothing.
    std::vector<MYSQL_BIND> result(std::max<unsigned>(1, mysql_stmt_field_count(stmt)));
    std::memset(result.data(), 0, sizeof(MYSQL_BIND) * result.size());
    for (auto& b : result) b.buffer_type = MYSQL_TYPE_NULL;
    mariadb_bind_text(result[0], friend_id);
    if (mysql_stmt_bind_result(stmt, result.data()) != 0) return fail_stmt(stmt, failure);
    int rc = 0;
    while ((rc = mysql_stmt_fetch(stmt)) == 0 || rc == MYSQL_DATA_TRUNCATED) {
        // A NULL or over-long id cannot be a user (SPEC 3): skip it rather than truncate it.
        if (!friend_id.error && !friend_id.is_null && friend_id.value() != id) {
            out->push_back(friend_id.value());
        }
    }
    if (rc == 1) return fail_stmt(stmt, failure);
    mysql_stmt_free_result(stmt);
    return true;
}

}  // namespace presence::store
