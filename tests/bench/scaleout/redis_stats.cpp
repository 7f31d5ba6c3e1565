#include "redis_stats.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <vector>

namespace presence::bench::scaleout {

namespace {

// Subcommands ("client|list") count as their command.
bool own_command(const std::string& cmd) {
    static const std::set<std::string> kOwn = {"info", "monitor", "ping", "client", "config"};
    return kOwn.count(cmd.substr(0, cmd.find('|'))) > 0;
}

}  // namespace

std::uint64_t CommandStats::total() const {
    std::uint64_t n = 0;
    for (const auto& [cmd, c] : calls) n += c;
    return n;
}

CommandStats command_stats(const presence::test::RedisServer& redis) {
    CommandStats s;
    const std::string text = redis.cli({"INFO", "commandstats"});
    std::size_t pos = 0;
    while ((pos = text.find("cmdstat_", pos)) != std::string::npos) {
        pos += 8;
        const auto colon = text.find(':', pos);
        const auto calls = text.find("calls=", pos);
        if (colon == std::string::npos || calls == std::string::npos) break;
        std::string cmd = text.substr(pos, colon - pos);
        if (!own_command(cmd)) s.calls[cmd] = std::strtoull(text.c_str() + calls + 6, nullptr, 10);
    }
    return s;
}

CommandStats operator-(const CommandStats& after, const CommandStats& before) {
    CommandStats d;
    for (const auto& [cmd, n] : after.calls) {
        auto it = before.calls.find(cmd);
        const std::uint64_t b = it == before.calls.end() ? 0 : it->second;
        if (n > b) d.calls[cmd] = n - b;
    }
    return d;
}

std::string per_unit(const CommandStats& d, double per) {
    std::vector<std::pair<std::uint64_t, std::string>> rows;
    for (const auto& [cmd, n] : d.calls) rows.emplace_back(n, cmd);
    std::sort(rows.rbegin(), rows.rend());
    std::string out;
    char buf[96];
    for (const auto& [n, cmd] : rows) {
        const double v = per > 0 ? static_cast<double>(n) / per : 0;
        if (v < 0.005) continue;
        std::snprintf(buf, sizeof buf, "%s%s %.2f", out.empty() ? "" : ", ", cmd.c_str(), v);
        out += buf;
    }
    return out.empty() ? "-" : out;
}

bool MonitorTap::start(std::uint16_t port, std::string* err) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(port);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
        *err = "cannot connect to redis for MONITOR";
        stop();
        return false;
    }
    const char req[] = "*1\r\n$7\r\nMONITOR\r\n";
    if (::send(fd_, req, sizeof req - 1, MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof req - 1)) {
        *err = "cannot send MONITOR";
        stop();
        return false;
    }
    // The "+OK" that starts the stream: counting begins after it.
    std::string first;
    char c = 0;
    pollfd p{fd_, POLLIN, 0};
    while (first.size() < 64 && ::poll(&p, 1, 2000) == 1 && ::recv(fd_, &c, 1, 0) == 1) {
        first += c;
        if (c == '\n') break;
    }
    if (first.rfind("+OK", 0) != 0) {
        *err = "MONITOR refused: " + first;
        stop();
        return false;
    }
    stop_ = false;
    thread_ = std::thread([this] { run(); });
    return true;
}

void MonitorTap::stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

std::uint64_t MonitorTap::sum(const std::map<std::string, std::uint64_t>& m) {
    std::uint64_t n = 0;
    for (const auto& [cmd, c] : m) n += c;
    return n;
}

void MonitorTap::run() {
    std::string buf;
    char chunk[65536];
    pollfd p{fd_, POLLIN, 0};
    // After stop() is asked, what is already in the socket is still counted (up to 200 ms of
    // silence), so the tail of a phase is not lost.
    int quiet_polls = 0;
    while (quiet_polls < 4 || !stop_) {
        const int r = ::poll(&p, 1, 50);
        if (r <= 0) {
            if (stop_) ++quiet_polls;
            continue;
        }
        quiet_polls = 0;
        const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
        if (n <= 0) return;
        buf.append(chunk, static_cast<std::size_t>(n));
        std::size_t pos = 0;
        while (true) {
            const auto eol = buf.find("\r\n", pos);
            if (eol == std::string::npos) break;
            take_line(buf.substr(pos, eol - pos));
            pos = eol + 2;
        }
        buf.erase(0, pos);
    }
}

// +1700000000.123456 [0 127.0.0.1:36030] "evalsha" "..."   or   [0 lua] "hkeys" "..."
void MonitorTap::take_line(const std::string& line) {
    const auto open = line.find('[');
    const auto close = line.find(']', open == std::string::npos ? 0 : open);
    if (open == std::string::npos || close == std::string::npos) return;
    const bool lua = line.compare(close - 3, 3, "lua") == 0;
    const auto q1 = line.find('"', close);
    const auto q2 = q1 == std::string::npos ? q1 : line.find('"', q1 + 1);
    if (q2 == std::string::npos) return;
    std::string cmd = line.substr(q1 + 1, q2 - q1 - 1);
    for (auto& ch : cmd) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (own_command(cmd)) return;
    ++(lua ? lua_ : client_)[cmd];
}

}  // namespace presence::bench::scaleout
