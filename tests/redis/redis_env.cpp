#include "redis_env.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <memory>

namespace presence::test {

RedisCluster* shared_cluster() {
    static std::unique_ptr<RedisCluster> cluster;
    static bool tried = false;
    if (!tried) {
        tried = true;
        auto c = std::make_unique<RedisCluster>();
        std::string err;
        if (c->start(&err, 3)) {
            cluster = std::move(c);
        } else {
            std::fprintf(stderr, "cannot start a 3-master Redis Cluster: %s\n", err.c_str());
        }
    }
    return cluster.get();
}

redis::RedisUrl must_parse(const std::string& url) {
    std::string why;
    auto parsed = redis::parse_redis_url(url, why);
    if (!parsed) {
        std::fprintf(stderr, "bad URL %s: %s\n", url.c_str(), why.c_str());
        return {};
    }
    return *parsed;
}

redis::Command cmd(std::vector<std::string> argv, std::string key) {
    redis::Command c;
    c.argv = std::move(argv);
    c.key = std::move(key);
    return c;
}

FakeServer::FakeServer(Script script) : script_(std::move(script)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (listen_fd_ < 0 ||
        ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 16) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        return;
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
}

FakeServer::~FakeServer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (listen_fd_ >= 0) ::close(listen_fd_);
}

void FakeServer::serve() {
    struct Conn {
        int fd;
        std::size_t next;
    };
    std::vector<Conn> conns;
    while (!stop_) {
        std::vector<pollfd> fds;
        fds.push_back({listen_fd_, POLLIN, 0});
        for (const Conn& c : conns) fds.push_back({c.fd, POLLIN, 0});
        if (::poll(fds.data(), fds.size(), 20) <= 0) continue;
        if (fds[0].revents & POLLIN) {
            const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd >= 0) {
                ++connections_;
                if (!script_.greeting.empty()) {
                    (void)!::send(fd, script_.greeting.data(), script_.greeting.size(),
                                  MSG_NOSIGNAL);
                }
                conns.push_back({fd, 0});
            }
        }
        for (std::size_t i = 1; i < fds.size(); ++i) {
            if (fds[i].revents == 0) continue;
            Conn& c = conns[i - 1];
            char buf[4096];
            const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
            if (n <= 0) {
                ::close(c.fd);
                c.fd = -1;
                continue;
            }
            if (c.next < script_.answers.size()) {
                const std::string& a = script_.answers[c.next++];
                (void)!::send(c.fd, a.data(), a.size(), MSG_NOSIGNAL);
            }
            if (c.next >= script_.answers.size() && script_.close_after) {
                ::close(c.fd);
                c.fd = -1;
            }
        }
        std::erase_if(conns, [](const Conn& c) { return c.fd < 0; });
    }
    for (const Conn& c : conns) ::close(c.fd);
}

}  // namespace presence::test
