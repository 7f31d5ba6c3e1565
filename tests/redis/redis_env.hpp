// What the Redis client suites share: the one 3-master cluster of the run (started on first
// use, killed at exit), fake TCP servers that are not Redis, and small helpers.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "redis/redis_client.hpp"
#include "redis_server.hpp"
#include "tcp_socket.hpp"

namespace presence::test {

// The shared cluster; nullptr (and a message on stderr) when it cannot be started.
RedisCluster* shared_cluster();

// parse_redis_url that must succeed.
redis::RedisUrl must_parse(const std::string& url);

redis::Command cmd(std::vector<std::string> argv, std::string key = {});

// A loopback TCP server that is not Redis: for each connection it answers the n-th chunk it
// reads with answers[n] (or writes `greeting` first, as MySQL/MariaDB do), and once out of
// answers keeps the connection open without a word (or closes it when close_after).
class FakeServer {
  public:
    struct Script {
        std::string greeting;
        std::vector<std::string> answers;
        bool close_after = false;
    };
    explicit FakeServer(Script script);
    ~FakeServer();
    FakeServer(const FakeServer&) = delete;
    FakeServer& operator=(const FakeServer&) = delete;
    std::uint16_t port() const { return port_; }
    int connections() const { return connections_.load(); }

  private:
    void serve();
    Script script_;
    int listen_fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<int> connections_{0};
    std::thread thread_;
};

inline long long elapsed_ms(std::chrono::steady_clock::time_point since) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 since)
        .count();
}

}  // namespace presence::test
