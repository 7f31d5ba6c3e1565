// Thin RAII over MariaDB Connector/C: a connection, prepared statements, parameter and result
// binding. Used only from the store's worker thread (and once from make_mariadb_store).
#pragma once

#include <mysql.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "store/mariadb_url.hpp"

namespace presence::store {

struct MysqlCloser {
    void operator()(MYSQL* m) const { mysql_close(m); }
};
struct StmtCloser {
    void operator()(MYSQL_STMT* s) const { mysql_stmt_close(s); }
};
using MysqlPtr = std::unique_ptr<MYSQL, MysqlCloser>;
using StmtPtr = std::unique_ptr<MYSQL_STMT, StmtCloser>;

// Connects with utf8mb4, bounded connect/read/write timeouts and no silent auto-reconnect (the
// store reconnects itself, so it knows when a transaction was lost). On failure returns nullptr
// and sets *err to the server's (or client library's) message.
MysqlPtr mariadb_open(const MariaDbUrl& url, std::string* err);

// True when `errno_value` means the connection (or the server) is gone or busy, so the work
// should be retried on a fresh connection, as opposed to an error in the statement itself.
bool mariadb_error_is_transient(unsigned errno_value);

// Runs a statement without parameters (DDL, transaction control). Sets *err on failure.
bool mariadb_exec(MYSQL* conn, const std::string& sql, std::string* err);

// On failure *errno_out (when given) gets the server error number.
StmtPtr mariadb_prepare(MYSQL* conn, const std::string& sql, std::string* err,
                        unsigned* errno_out = nullptr);

// Input parameters of one execution. The strings are borrowed: they must outlive execute().
class MariaDbParams {
  public:
    explicit MariaDbParams(std::size_t count);
    void text(std::size_t i, const std::string& s);
    void int64(std::size_t i, std::optional<std::int64_t> v);  // nullopt binds NULL
    // Binds and executes; returns false with the statement's error in *err (and its errno in
    // *errno_out when given).
    bool execute(MYSQL_STMT* stmt, std::string* err, unsigned* errno_out = nullptr);

  private:
    std::vector<MYSQL_BIND> binds_;
    std::vector<std::int64_t> ints_;
    std::vector<unsigned long> lengths_;
    std::vector<my_bool> nulls_;
};

// One output column of a result row, with its own buffer.
struct MariaDbTextColumn {
    std::vector<char> buffer;
    unsigned long length = 0;
    my_bool is_null = 0;
    my_bool error = 0;
    explicit MariaDbTextColumn(std::size_t capacity) : buffer(capacity) {}
    std::string value() const {
        return std::string(buffer.data(), std::min<unsigned long>(length, buffer.size()));
    }
};
struct MariaDbIntColumn {
    std::int64_t value = 0;
    my_bool is_null = 0;
    my_bool error = 0;
    std::optional<std::int64_t> get() const {
        return is_null ? std::nullopt : std::optional(value);
    }
};

void mariadb_bind_text(MYSQL_BIND& b, MariaDbTextColumn& c);
void mariadb_bind_int(MYSQL_BIND& b, MariaDbIntColumn& c);

// The error of a statement (or connection) as "errno: message".
std::string mariadb_stmt_error(MYSQL_STMT* stmt);
std::string mariadb_conn_error(MYSQL* conn);

}  // namespace presence::store
