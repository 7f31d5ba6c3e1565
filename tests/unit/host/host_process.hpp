// Test helpers that run a real presence-host process and talk to it over loopback with raw
// sockets (HTTP/1.1 and a minimal WebSocket client), so the host's own rules (auth before the
// upgrade, too_large, slow readers, admin route, clean stop) are tested end to end.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace host_test {

// A presence-host child with its own temp dir. The destructor kills it (SIGKILL if SIGTERM
// is not enough within a few seconds) and removes the dir, also when a test fails.
class HostProcess {
  public:
    // `config` is the text of the settings file; `extra_args` are appended to the command.
    // `max_files` > 0 sets the child's RLIMIT_NOFILE (soft and hard) before it starts.
    HostProcess(const std::string& config, const std::vector<std::string>& extra_args = {},
                unsigned long max_files = 0);
    ~HostProcess();
    HostProcess(const HostProcess&) = delete;
    HostProcess& operator=(const HostProcess&) = delete;

    bool started() const { return port_ > 0; }
    pid_t pid() const { return pid_; }
    int port() const { return port_; }
    const std::string& config_path() const { return config_path_; }
    // `signum` (SIGTERM by default) and wait (bounded); returns the exit status, or -1 if it
    // had to be killed.
    int stop(int signum = SIGTERM);
    // Everything the host wrote to stderr so far (its log lines).
    std::string log() const;

  private:
    pid_t pid_ = -1;
    int port_ = 0;
    std::string dir_;
    std::string config_path_;
    std::string log_path_;
};

struct HttpReply {
    int status = 0;
    std::string body;
};

HttpReply http_request(int port, const std::string& method, const std::string& path,
                       const std::string& bearer = "", const std::string& body = "");

// A raw WebSocket client. Every read is bounded by a timeout.
class WsClient {
  public:
    ~WsClient();
    // Returns the HTTP status of the handshake (101 on success).
    int connect(int port, const std::string& path, const std::string& source_ip = "127.0.0.1");
    // The same, but the client says nothing for `silent_ms` after the TCP connect, then sends
    // the first `first_bytes` of its request (0: all of it), waits `gap_ms`, then the rest.
    int connect_slowly(int port, const std::string& path, int silent_ms, size_t first_bytes,
                       int gap_ms, const std::string& source_ip = "127.0.0.1");
    bool send_text(const std::string& text, bool fin = true, bool continuation = false);
    // Several whole text frames handed to the kernel in one send().
    bool send_texts_in_one_write(const std::vector<std::string>& texts);
    // TCP segments with payload this socket has received so far (TCP_INFO), -1 on error.
    long data_segments_received() const;
    // Next frame: opcode (1 text, 8 close, -1 timeout/EOF) and payload.
    int read_frame(std::string& payload, int timeout_ms = 3000);
    // Reads frames until one containing `needle` (true) or a timeout / close (false).
    bool wait_for(const std::string& needle, std::string* frame = nullptr, int timeout_ms = 3000);
    void shrink_receive_buffer();
    int fd() const { return fd_; }

  private:
    bool read_exact(char* out, size_t n, int timeout_ms);
    int fd_ = -1;
    std::string pending_;  // bytes read past the handshake
};

std::string run_and_capture(const std::string& command);

}  // namespace host_test
