#include "store/mariadb_schema.hpp"

#include <array>
#include <string_view>

#include "store/mariadb_connection.hpp"

namespace presence::store {
namespace {

// Each migration is a list of statements. Never edit a migration that shipped: add one.
// User ids are ASCII by SPEC 3, so ascii_bin keys are compact and compare byte-exactly.
constexpr std::string_view kMigration1[] = {
    "CREATE TABLE IF NOT EXISTS user_presence ("
    " user_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,"
    " status TINYINT UNSIGNED NOT NULL,"
    " message VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,"
    " until_ms BIGINT NULL,"
    " last_seen_ms BIGINT NULL,"
    " updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)"
    "   ON UPDATE CURRENT_TIMESTAMP(3)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
    "CREATE TABLE IF NOT EXISTS presence_visibility ("
    " user_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,"
    " viewer_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,"
    " PRIMARY KEY (user_id, viewer_id)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
};

// Version 2: last seen as friends on the visibility list saw it (SPEC 4.2), and an index to
// find whose list a viewer is on (needed when a friendship ends).
constexpr std::string_view kMigration2[] = {
    "ALTER TABLE user_presence ADD COLUMN IF NOT EXISTS last_seen_listed_ms BIGINT NULL"
    " AFTER last_seen_ms",
    "CREATE INDEX IF NOT EXISTS presence_visibility_viewer ON presence_visibility (viewer_id)",
};

struct Migration {
    const std::string_view* begin;
    const std::string_view* end;
};
constexpr std::array<Migration, 2> kMigrations = {{
    {std::begin(kMigration1), std::end(kMigration1)},
    {std::begin(kMigration2), std::end(kMigration2)},
}};

// Reads the single version row (0 when the table was just created).
bool read_version(MYSQL* conn, int* version, std::string* err) {
    StmtPtr stmt =
        mariadb_prepare(conn, "SELECT version FROM presence_schema_version WHERE id = 1", err);
    if (!stmt) return false;
    MariaDbIntColumn col;
    MYSQL_BIND bind;
    mariadb_bind_int(bind, col);
    if (mysql_stmt_execute(stmt.get()) != 0 || mysql_stmt_bind_result(stmt.get(), &bind) != 0) {
        *err = mariadb_stmt_error(stmt.get());
        return false;
    }
    *version = 0;
    while (mysql_stmt_fetch(stmt.get()) == 0) *version = static_cast<int>(col.value);
    return true;
}

bool migrate_locked(MYSQL* conn, std::string* err) {
    if (!mariadb_exec(conn,
                      "CREATE TABLE IF NOT EXISTS presence_schema_version ("
                      " id TINYINT UNSIGNED NOT NULL PRIMARY KEY,"
                      " version INT NOT NULL,"
                      " migrated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)"
                      "   ON UPDATE CURRENT_TIMESTAMP(3)"
                      ") ENGINE=InnoDB",
                      err) ||
        !mariadb_exec(
            conn, "INSERT IGNORE INTO presence_schema_version (id, version) VALUES (1, 0)", err)) {
        return false;
    }
    int version = 0;
    if (!read_version(conn, &version, err)) return false;
    const int latest = mariadb_schema_latest_version();
    if (version > latest) {
        *err = "schema version " + std::to_string(version) + " is newer than this plugin (" +
               std::to_string(latest) + ")";
        return false;
    }
    StmtPtr bump =
        mariadb_prepare(conn, "UPDATE presence_schema_version SET version = ? WHERE id = 1", err);
    if (!bump) return false;
    for (int next = version + 1; next <= latest; ++next) {
        const Migration& m = kMigrations[static_cast<std::size_t>(next - 1)];
        for (const std::string_view* sql = m.begin; sql != m.end; ++sql) {
            if (!mariadb_exec(conn, std::string(*sql), err)) {
                *err = "migration " + std::to_string(next) + ": " + *err;
                return false;
            }
        }
        // DDL commits implicitly, so each migration is made idempotent (IF NOT EXISTS) and the
        // version is bumped right after it: a crash in between re-runs it harmlessly.
        MariaDbParams params(1);
        params.int64(0, next);
        if (!params.execute(bump.get(), err)) return false;
    }
    return true;
}

}  // namespace

int mariadb_schema_latest_version() {
    return static_cast<int>(kMigrations.size());
}

bool mariadb_migrate(MYSQL* conn, std::string* err) {
    StmtPtr lock = mariadb_prepare(conn, "SELECT GET_LOCK('presence_schema', 60)", err);
    if (!lock) return false;
    MariaDbIntColumn got;
    MYSQL_BIND bind;
    mariadb_bind_int(bind, got);
    if (mysql_stmt_execute(lock.get()) != 0 || mysql_stmt_bind_result(lock.get(), &bind) != 0) {
        *err = mariadb_stmt_error(lock.get());
        return false;
    }
    while (mysql_stmt_fetch(lock.get()) == 0) {
    }
    if (got.is_null || got.value != 1) {
        *err = "timed out waiting for the schema lock held by another instance";
        return false;
    }
    const bool ok = migrate_locked(conn, err);
    std::string ignored;
    mariadb_exec(conn, "DO RELEASE_LOCK('presence_schema')", &ignored);
    return ok;
}

}  // namespace presence::store
