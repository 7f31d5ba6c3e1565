#include "mariadb_server.hpp"

#include <mysql.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <thread>

namespace presence::test {
namespace {

std::uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return 0;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    std::uint16_t port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
        port = ntohs(addr.sin_port);
    }
    ::close(fd);
    return port;
}

struct Closer {
    void operator()(MYSQL* m) const { mysql_close(m); }
};
using Conn = std::unique_ptr<MYSQL, Closer>;

Conn connect_root(const std::string& socket, const std::string& database, std::string* err) {
    Conn conn(mysql_init(nullptr));
    const unsigned timeout = 5;
    mysql_optionsv(conn.get(), MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_optionsv(conn.get(), MYSQL_SET_CHARSET_NAME, "utf8mb4");
    if (!mysql_real_connect(conn.get(), "localhost", "root", "",
                            database.empty() ? nullptr : database.c_str(), 0, socket.c_str(), 0)) {
        if (err) *err = mysql_error(conn.get());
        return nullptr;
    }
    return conn;
}

// Runs a program and waits for it; stdout/stderr go to `log_path`.
int run_and_wait(const std::vector<std::string>& argv, const std::string& log_path) {
    const pid_t pid = fork();
    if (pid == 0) {
        FILE* f = std::freopen(log_path.c_str(), "a", stdout);
        if (f) dup2(fileno(stdout), 2);
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        execvp(args[0], args.data());
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

MariaDbServer::~MariaDbServer() {
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        int status = 0;
        waitpid(pid_, &status, 0);
        pid_ = -1;
    }
    if (!dir_.empty()) {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
}

bool MariaDbServer::start(std::string* err) {
    char tmpl[] = "/tmp/presence-mariadb-XXXXXX";
    if (!mkdtemp(tmpl)) {
        if (err) *err = "mkdtemp failed";
        return false;
    }
    dir_ = tmpl;
    socket_ = dir_ + "/mysqld.sock";
    const int rc =
        run_and_wait({"mariadb-install-db", "--no-defaults", "--datadir=" + dir_ + "/data",
                      "--auth-root-authentication-method=normal", "--user=root", "--skip-test-db"},
                     dir_ + "/install.log");
    if (rc != 0) {
        if (err) *err = "mariadb-install-db failed, see " + dir_ + "/install.log";
        return false;
    }
    port_ = free_port();
    if (!launch(err)) return false;
    // Root logs in through the socket; the store and the tests of the wrong password use TCP
    // and the password-protected user.
    std::string e;
    const std::string pw = password();
    const std::vector<std::string> setup = {
        "CREATE USER 'presence'@'127.0.0.1' IDENTIFIED BY '" + pw + "'",
        "CREATE USER 'presence'@'localhost' IDENTIFIED BY '" + pw + "'",
    };
    if (!exec("", setup, &e)) {
        if (err) *err = "creating the test user: " + e;
        return false;
    }
    return true;
}

bool MariaDbServer::launch(std::string* err) {
    const pid_t pid = fork();
    if (pid == 0) {
        // If the test process dies without running destructors (killed by a ctest timeout),
        // the server dies with it instead of lingering.
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        const std::string log = dir_ + "/mariadbd.log";
        FILE* f = std::freopen(log.c_str(), "a", stdout);
        if (f) dup2(fileno(stdout), 2);
        const std::string datadir = "--datadir=" + dir_ + "/data";
        const std::string socket = "--socket=" + socket_;
        const std::string port = "--port=" + std::to_string(port_);
        const std::string pidfile = "--pid-file=" + dir_ + "/mariadbd.pid";
        execlp("mariadbd", "mariadbd", "--no-defaults", datadir.c_str(), socket.c_str(),
               port.c_str(), pidfile.c_str(), "--bind-address=127.0.0.1", "--user=root",
               "--skip-log-bin", "--innodb-buffer-pool-size=64M", "--innodb-log-file-size=48M",
               "--innodb-flush-log-at-trx-commit=2", "--max-connections=200",
               static_cast<char*>(nullptr));
        _exit(127);
    }
    pid_ = pid;
    return wait_ready(err);
}

bool MariaDbServer::wait_ready(std::string* err) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    std::string last;
    while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            if (err) *err = "mariadbd exited, see " + dir_ + "/mariadbd.log";
            return false;
        }
        if (connect_root(socket_, "", &last)) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (err) *err = "mariadbd not ready after 30 s: " + last;
    return false;
}

void MariaDbServer::stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
}

bool MariaDbServer::restart(std::string* err) {
    stop();
    return launch(err);
}

std::string MariaDbServer::url(const std::string& database) const {
    return std::string("mariadb://") + user() + ":" + password_escaped() +
           "@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

bool MariaDbServer::exec(const std::string& database, const std::vector<std::string>& statements,
                         std::string* err) const {
    Conn conn = connect_root(socket_, database, err);
    if (!conn) return false;
    for (const auto& sql : statements) {
        if (mysql_real_query(conn.get(), sql.data(), sql.size()) != 0) {
            if (err) *err = sql + ": " + mysql_error(conn.get());
            return false;
        }
        if (MYSQL_RES* res = mysql_store_result(conn.get())) mysql_free_result(res);
    }
    return true;
}

std::vector<std::string> MariaDbServer::column(const std::string& database,
                                               const std::string& query, std::string* err) const {
    std::vector<std::string> out;
    Conn conn = connect_root(socket_, database, err);
    if (!conn) return out;
    if (mysql_real_query(conn.get(), query.data(), query.size()) != 0) {
        if (err) *err = query + ": " + mysql_error(conn.get());
        return out;
    }
    MYSQL_RES* res = mysql_store_result(conn.get());
    if (!res) return out;
    while (MYSQL_ROW row = mysql_fetch_row(res)) {
        unsigned long* lengths = mysql_fetch_lengths(res);
        out.push_back(row[0] ? std::string(row[0], lengths[0]) : std::string("NULL"));
    }
    mysql_free_result(res);
    return out;
}

bool MariaDbServer::create_database(const std::string& name, std::string* err) const {
    return exec("",
                {"DROP DATABASE IF EXISTS `" + name + "`",
                 "CREATE DATABASE `" + name + "` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
                 "GRANT ALL ON `" + name + "`.* TO 'presence'@'127.0.0.1'",
                 "GRANT ALL ON `" + name + "`.* TO 'presence'@'localhost'"},
                err);
}

RootConnection::RootConnection(const MariaDbServer& server, const std::string& database) {
    conn_ = connect_root(server.socket_path(), database, nullptr).release();
}

RootConnection::~RootConnection() {
    if (conn_) mysql_close(conn_);
}

bool RootConnection::exec(const std::string& sql, std::string* err) {
    if (!conn_) {
        if (err) *err = "not connected";
        return false;
    }
    if (mysql_real_query(conn_, sql.data(), sql.size()) != 0) {
        if (err) *err = sql + ": " + mysql_error(conn_);
        return false;
    }
    if (MYSQL_RES* res = mysql_store_result(conn_)) mysql_free_result(res);
    return true;
}

}  // namespace presence::test
