// A blocking loopback TCP socket with per-call deadlines, shared by the WebSocket and HTTP test
// clients. Every read and write is bounded in time so a hung server fails a test, not the run.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace presence::test {

using std::chrono::milliseconds;

// A TCP port on 127.0.0.1 that was free a moment ago (bind port 0, read it back, close).
std::uint16_t free_port();

class TcpSocket {
  public:
    TcpSocket() = default;
    ~TcpSocket();
    TcpSocket(TcpSocket&& other) noexcept;
    TcpSocket& operator=(TcpSocket&& other) noexcept;
    TcpSocket(const TcpSocket&) = delete;
    TcpSocket& operator=(const TcpSocket&) = delete;

    // Connects to host:port (numeric IPv4, e.g. "127.0.0.1"), from `source_ip` when given (any
    // 127.x.y.z is a loopback address). False with error() on failure.
    bool connect(const std::string& host, std::uint16_t port, milliseconds timeout,
                 const std::string& source_ip = {});
    bool is_open() const { return fd_ >= 0; }
    void close();
    // Half-close our side (FIN) while still reading.
    void shutdown_write();

    // Writes all of `data` or fails (false) when the peer is gone or the deadline passes.
    bool write_all(std::string_view data, milliseconds timeout);

    // Reads what is available (at most `max` bytes), waiting up to `timeout` for the first
    // byte. Returns >0 bytes read, 0 on orderly EOF, -1 on timeout, -2 on error.
    long read_some(char* buf, std::size_t max, milliseconds timeout);

    const std::string& error() const { return error_; }
    int fd() const { return fd_; }

  private:
    int fd_ = -1;
    std::string error_;
};

}  // namespace presence::test
