// What Redis did, as Redis counts it: INFO commandstats (calls per command, script-internal
// calls included) and a MONITOR tap that tells commands sent by clients from the calls a Lua
// script made ("[0 lua]"). The benchmarks divide the differences by what the clients did.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <thread>

#include "redis_server.hpp"

namespace presence::bench::scaleout {

// calls per command ("evalsha", "xadd", ...), from INFO commandstats.
struct CommandStats {
    std::map<std::string, std::uint64_t> calls;
    std::uint64_t total() const;
};

// INFO commandstats, minus the commands the benchmark itself sends (info, monitor, ping,
// client, config).
CommandStats command_stats(const presence::test::RedisServer& redis);
CommandStats operator-(const CommandStats& after, const CommandStats& before);
// "evalsha 2.00, xadd 1.00, ..." per `per` (largest first; rows under 0.005 left out).
std::string per_unit(const CommandStats& d, double per);

// MONITOR on its own connection, read by a thread until stop(). Counts every command by who
// sent it: "client" (a connection) or "lua" (called from inside a script).
class MonitorTap {
  public:
    MonitorTap() = default;
    ~MonitorTap() { stop(); }
    MonitorTap(const MonitorTap&) = delete;
    MonitorTap& operator=(const MonitorTap&) = delete;

    bool start(std::uint16_t port, std::string* err);
    void stop();
    // "client" and "lua" maps of command -> count (benchmark commands left out).
    const std::map<std::string, std::uint64_t>& client() const { return client_; }
    const std::map<std::string, std::uint64_t>& lua() const { return lua_; }
    static std::uint64_t sum(const std::map<std::string, std::uint64_t>& m);

  private:
    void run();
    void take_line(const std::string& line);

    int fd_ = -1;
    std::atomic<bool> stop_{false};
    std::thread thread_;
    std::map<std::string, std::uint64_t> client_, lua_;
};

}  // namespace presence::bench::scaleout
