// A throwaway MariaDB server for tests: its own datadir in a temp dir, a free TCP port on
// 127.0.0.1, a unix socket, a root account for setup and a password-protected test user. It can
// be stopped (SIGTERM) and started again on the same port and data (outage tests); the
// destructor kills it and removes the datadir, whatever happened.
#pragma once

#include <mysql.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace presence::test {

class MariaDbServer {
  public:
    MariaDbServer() = default;
    ~MariaDbServer();
    MariaDbServer(const MariaDbServer&) = delete;
    MariaDbServer& operator=(const MariaDbServer&) = delete;

    // Initialises the datadir, starts mariadbd and creates the test user. False + *err on
    // failure (mariadbd missing, timeout, ...).
    bool start(std::string* err);
    // SIGTERM and wait for the process to exit (data kept).
    void stop();
    // Starts again on the same port and datadir.
    bool restart(std::string* err);
    bool running() const { return pid_ > 0; }

    std::uint16_t port() const { return port_; }
    const std::string& socket_path() const { return socket_; }
    const std::string& dir() const { return dir_; }

    // The test user: password with characters that must be URL-escaped.
    static const char* user() { return "presence"; }
    static const char* password() { return "p@ss:w/rd%+ 1"; }
    static const char* password_escaped() { return "p%40ss%3Aw%2Frd%25+%201"; }

    // mariadb://presence:<escaped>@127.0.0.1:<port>/<db>
    std::string url(const std::string& database) const;

    // Runs SQL statements as root (setup and checks in tests). False + *err on the first error.
    bool exec(const std::string& database, const std::vector<std::string>& statements,
              std::string* err = nullptr) const;
    // The first column of every row of `query`, as strings ("NULL" for NULL).
    std::vector<std::string> column(const std::string& database, const std::string& query,
                                    std::string* err = nullptr) const;
    // Creates a fresh, empty database and grants it to the test user.
    bool create_database(const std::string& name, std::string* err = nullptr) const;

  private:
    bool launch(std::string* err);
    bool wait_ready(std::string* err);

    std::string dir_;
    std::string socket_;
    std::uint16_t port_ = 0;
    pid_t pid_ = -1;
};

// One root connection kept open (for LOCK TABLES and transactions that must outlive a
// statement). Use from one thread at a time.
class RootConnection {
  public:
    RootConnection(const MariaDbServer& server, const std::string& database);
    ~RootConnection();
    RootConnection(const RootConnection&) = delete;
    RootConnection& operator=(const RootConnection&) = delete;
    bool connected() const { return conn_ != nullptr; }
    bool exec(const std::string& sql, std::string* err = nullptr);

  private:
    MYSQL* conn_ = nullptr;
};

}  // namespace presence::test
