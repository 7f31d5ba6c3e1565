#include "store/mariadb_connection.hpp"

#include <errmsg.h>
#include <mysqld_error.h>

#include <algorithm>
#include <cstring>

namespace presence::store {

MysqlPtr mariadb_open(const MariaDbUrl& url, std::string* err) {
    MysqlPtr conn(mysql_init(nullptr));
    if (!conn) {
        if (err) *err = "out of memory in mysql_init";
        return nullptr;
    }
    // Bounded so that a dead server turns into an error the worker can retry, never a hang.
    const unsigned connect_timeout_s = 3;
    const unsigned io_timeout_s = 30;
    const my_bool no_reconnect = 0;
    mysql_optionsv(conn.get(), MYSQL_SET_CHARSET_NAME, "utf8mb4");
    mysql_optionsv(conn.get(), MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout_s);
    mysql_optionsv(conn.get(), MYSQL_OPT_READ_TIMEOUT, &io_timeout_s);
    mysql_optionsv(conn.get(), MYSQL_OPT_WRITE_TIMEOUT, &io_timeout_s);
    mysql_optionsv(conn.get(), MYSQL_OPT_RECONNECT, &no_reconnect);
    const char* host = url.socket.empty() ? url.host.c_str() : "localhost";
    const char* socket = url.socket.empty() ? nullptr : url.socket.c_str();
    if (!url.socket.empty()) {
        const unsigned protocol = MYSQL_PROTOCOL_SOCKET;
        mysql_optionsv(conn.get(), MYSQL_OPT_PROTOCOL, &protocol);
    }
    if (!mysql_real_connect(conn.get(), host, url.user.c_str(), url.password.c_str(),
                            url.database.c_str(), url.socket.empty() ? url.port : 0, socket, 0)) {
        if (err) *err = mysql_error(conn.get());
        return nullptr;
    }
    return conn;
}

bool mariadb_error_is_transient(unsigned e) {
    // Client-side errors (CR_*, 2000..2999) are lost or refused connections; the server ones
    // listed are shutdowns, killed connections, lock waits and deadlocks.
    if (e >= 2000 && e < 3000) return true;
    switch (e) {
        case ER_SERVER_SHUTDOWN:
        case ER_CONNECTION_KILLED:
        case ER_QUERY_INTERRUPTED:
        case ER_LOCK_WAIT_TIMEOUT:
        case ER_LOCK_DEADLOCK:
        case ER_CON_COUNT_ERROR:
        case ER_NET_READ_ERROR:
        case ER_NET_READ_INTERRUPTED:
        case ER_NET_WRITE_INTERRUPTED:
        case ER_NET_ERROR_ON_WRITE:
        case 4031:  // client idle too long, disconnected by the server
            return true;
        default:
            return false;
    }
}

bool mariadb_exec(MYSQL* conn, const std::string& sql, std::string* err) {
    if (mysql_real_query(conn, sql.data(), sql.size()) != 0) {
        if (err) *err = mariadb_conn_error(conn);
        return false;
    }
    // Discard any result set so the connection is ready for the next command.
    if (MYSQL_RES* res = mysql_store_result(conn)) mysql_free_result(res);
    return true;
}

StmtPtr mariadb_prepare(MYSQL* conn, const std::string& sql, std::string* err,
                        unsigned* errno_out) {
    StmtPtr stmt(mysql_stmt_init(conn));
    if (!stmt) {
        if (err) *err = mariadb_conn_error(conn);
        if (errno_out) *errno_out = mysql_errno(conn);
        return nullptr;
    }
    if (mysql_stmt_prepare(stmt.get(), sql.data(), sql.size()) != 0) {
        if (err) *err = mariadb_stmt_error(stmt.get());
        if (errno_out) *errno_out = mysql_stmt_errno(stmt.get());
        return nullptr;
    }
    return stmt;
}

MariaDbParams::MariaDbParams(std::size_t count)
    : binds_(count), ints_(count), lengths_(count), nulls_(count) {
    std::memset(binds_.data(), 0, sizeof(MYSQL_BIND) * count);
}

void MariaDbParams::text(std::size_t i, const std::string& s) {
    MYSQL_BIND& b = binds_[i];
    lengths_[i] = s.size();
    b.buffer_type = MYSQL_TYPE_STRING;
    b.buffer = const_cast<char*>(s.data());  // the API takes void*, it does not write inputs
    b.buffer_length = s.size();
    b.length = &lengths_[i];
    nulls_[i] = 0;
    b.is_null = &nulls_[i];
}

void MariaDbParams::int64(std::size_t i, std::optional<std::int64_t> v) {
    MYSQL_BIND& b = binds_[i];
    ints_[i] = v.value_or(0);
    nulls_[i] = v ? 0 : 1;
    b.buffer_type = MYSQL_TYPE_LONGLONG;
    b.buffer = &ints_[i];
    b.is_null = &nulls_[i];
}

bool MariaDbParams::execute(MYSQL_STMT* stmt, std::string* err, unsigned* errno_out) {
    if (mysql_stmt_bind_param(stmt, binds_.data()) != 0 || mysql_stmt_execute(stmt) != 0) {
        if (err) *err = mariadb_stmt_error(stmt);
        if (errno_out) *errno_out = mysql_stmt_errno(stmt);
        return false;
    }
    return true;
}

void mariadb_bind_text(MYSQL_BIND& b, MariaDbTextColumn& c) {
    std::memset(&b, 0, sizeof b);
    b.buffer_type = MYSQL_TYPE_STRING;
    b.buffer = c.buffer.data();
    b.buffer_length = c.buffer.size();
    b.length = &c.length;
    b.is_null = &c.is_null;
    b.error = &c.error;
}

void mariadb_bind_int(MYSQL_BIND& b, MariaDbIntColumn& c) {
    std::memset(&b, 0, sizeof b);
    b.buffer_type = MYSQL_TYPE_LONGLONG;
    b.buffer = &c.value;
    b.is_null = &c.is_null;
    b.error = &c.error;
}

std::string mariadb_stmt_error(MYSQL_STMT* stmt) {
    return std::to_string(mysql_stmt_errno(stmt)) + ": " + mysql_stmt_error(stmt);
}

std::string mariadb_conn_error(MYSQL* conn) {
    return std::to_string(mysql_errno(conn)) + ": " + mysql_error(conn);
}

}  // namespace presence::store
