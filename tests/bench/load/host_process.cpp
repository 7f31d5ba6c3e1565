#include "host_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "proc_stats.hpp"

namespace presence::bench {

bool HostProcess::start(const std::vector<std::string>& argv, const std::string& log_path, int cpu,
                        int timeout_ms, std::string* err) {
    // stdout and stderr go to a file, not a pipe: a pipe nobody drains would block the host
    // once it fills up during a long run.
    int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log_fd < 0) {
        *err = "cannot open " + log_path;
        return false;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        ::close(log_fd);
        *err = "fork failed";
        return false;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(127);
        if (cpu >= 0) {
            cpu_set_t set;
            CPU_ZERO(&set);
            CPU_SET(cpu, &set);
            sched_setaffinity(0, sizeof set, &set);
        }
        dup2(log_fd, STDOUT_FILENO);
        dup2(log_fd, STDERR_FILENO);
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        execv(args[0], args.data());
        _exit(127);
    }
    ::close(log_fd);
    pid_ = pid;
    log_path_ = log_path;
    const std::uint64_t deadline = monotonic_ns() + std::uint64_t(timeout_ms) * 1'000'000ull;
    while (monotonic_ns() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        output_ = read_log();
        auto at = output_.find("listening on http://");
        if (at != std::string::npos) {
            auto eol = output_.find('\n', at);
            if (eol != std::string::npos) {
                auto colon = output_.rfind(':', eol);
                port_ = static_cast<std::uint16_t>(std::atoi(output_.c_str() + colon + 1));
                return true;
            }
        }
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            *err = "presence-host exited before listening; output:\n" + output_;
            return false;
        }
    }
    *err = "presence-host did not print 'listening on' in time; output:\n" + output_;
    stop();
    return false;
}

std::string HostProcess::read_log() const {
    std::string out;
    int fd = ::open(log_path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return out;
    char buf[8192];
    ssize_t r;
    while ((r = ::read(fd, buf, sizeof buf)) > 0 && out.size() < (1u << 20))
        out.append(buf, static_cast<std::size_t>(r));
    ::close(fd);
    return out;
}

void HostProcess::stop() {
    if (pid_ > 0) {
        kill(pid_, SIGTERM);
        int status = 0;
        bool gone = false;
        for (int i = 0; i < 100 && !gone; ++i) {  // 5 s for a clean stop, then SIGKILL
            if (waitpid(pid_, &status, WNOHANG) == pid_)
                gone = true;
            else
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        if (!gone) {
            kill(pid_, SIGKILL);
            waitpid(pid_, &status, 0);
        }
        pid_ = -1;
    }
}

std::uint16_t pick_free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    std::uint16_t port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0) {
        port = ntohs(sa.sin_port);
    }
    ::close(fd);
    return port;
}

int http_request(std::uint16_t port, const std::string& method, const std::string& target,
                 const std::string& bearer, const std::string& body, int timeout_ms,
                 std::string* response_body) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(port);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
        ::close(fd);
        return -1;
    }
    std::string req =
        method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
        (bearer.empty() ? std::string() : "\r\nAuthorization: Bearer " + bearer) +
        "\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body;
    std::size_t off = 0;
    while (off < req.size()) {
        ssize_t w = ::send(fd, req.data() + off, req.size() - off, MSG_NOSIGNAL);
        if (w <= 0) {
            ::close(fd);
            return -1;
        }
        off += static_cast<std::size_t>(w);
    }
    std::string resp;
    char buf[4096];
    while (true) {
        ssize_t r = ::recv(fd, buf, sizeof buf, 0);
        if (r <= 0) break;
        resp.append(buf, static_cast<std::size_t>(r));
        // Stop once headers and a Content-Length body are complete (keep-alive servers).
        auto hend = resp.find("\r\n\r\n");
        if (hend != std::string::npos) {
            auto cl = resp.find("ontent-Length:");
            if (cl == std::string::npos) cl = resp.find("ontent-length:");
            if (cl != std::string::npos && cl < hend) {
                std::size_t n = std::strtoul(resp.c_str() + cl + 14, nullptr, 10);
                if (resp.size() >= hend + 4 + n) break;
            }
        }
    }
    ::close(fd);
    if (resp.size() < 12 || resp.compare(0, 5, "HTTP/") != 0) return -1;
    auto hend = resp.find("\r\n\r\n");
    if (response_body && hend != std::string::npos) *response_body = resp.substr(hend + 4);
    return std::atoi(resp.c_str() + 9);
}

}  // namespace presence::bench
