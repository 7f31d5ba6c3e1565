// Starts presence-host as a child process for a bounded run and always stops it: SIGTERM,
// then SIGKILL after a grace period; PR_SET_PDEATHSIG also kills it if the tool dies first.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace presence::bench {

class HostProcess {
  public:
    HostProcess() = default;
    ~HostProcess() { stop(); }
    HostProcess(const HostProcess&) = delete;
    HostProcess& operator=(const HostProcess&) = delete;

    // Runs `argv` (argv[0] is the binary path) with stdout+stderr to `log_path`, optionally
    // pinned to `cpu` (-1: no pinning), and waits up to `timeout_ms` for
    // "listening on http://HOST:PORT". On failure returns false with a reason in *err (and
    // the process is stopped).
    bool start(const std::vector<std::string>& argv, const std::string& log_path, int cpu,
               int timeout_ms, std::string* err);
    // The host's output so far.
    std::string read_log() const;
    void stop();
    pid_t pid() const { return pid_; }
    std::uint16_t port() const { return port_; }

  private:
    pid_t pid_ = -1;
    std::string log_path_;
    std::uint16_t port_ = 0;
    std::string output_;
};

// A free TCP port on 127.0.0.1 (bound with port 0, read back, released).
std::uint16_t pick_free_port();

// One blocking HTTP request to 127.0.0.1:port; returns the status code, or -1. Bounded by
// `timeout_ms`. Used only in setup (visibility lists), never in a measured phase.
// `bearer` (may be empty) goes into an Authorization header.
int http_request(std::uint16_t port, const std::string& method, const std::string& target,
                 const std::string& bearer, const std::string& body, int timeout_ms,
                 std::string* response_body);

}  // namespace presence::bench
