// HostProcess: runs a real `presence-host` for end-to-end tests and benchmarks.
//
//   presence::test::HostOptions opt;
//   opt.set("presence.offline_grace_s", "1");
//   opt.friends({{"alice", "bob"}});          // writes presence.friends_file for you
//   presence::test::HostProcess host(opt);
//   CHECK_TRUE_TEXT(host.start(), host.error().c_str());
//   WsClient ws; ws.connect(host.port(), host.ws_path("alice"));
//
// It writes a config file into its own temp dir, picks a free loopback port (host.listen),
// waits for "listening on http://HOST:PORT" on the host's stdout, and stops the host with
// SIGTERM (SIGKILL after a grace period) in stop() and in its destructor. The host's output is
// kept in a log file (output()) for failure messages.
//
// Executables come from CMake (compile definitions on presence_test_support when the targets
// exist) and can be overridden with the environment variables PRESENCE_HOST_EXE and
// PRESENCE_PLUGIN_SO.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "subprocess.hpp"
#include "temp_dir.hpp"

namespace presence::test {

// Path of presence-host and libpresence.so for this build ("" when not known).
std::string default_host_executable();
std::string default_plugin_path();

struct HostOptions {
    // `key = value` lines of the config file, in order. host.listen, host.plugin,
    // host.auth_secret and host.admin_token get defaults unless set here.
    std::vector<std::pair<std::string, std::string>> settings;
    // Friendships written to a friends file (presence.friends_file) when not empty.
    std::vector<std::pair<std::string, std::string>> friendships;
    // Extra command-line arguments after `--config FILE` (e.g. "--demo").
    std::vector<std::string> extra_args;
    std::string executable = default_host_executable();
    std::string plugin = default_plugin_path();
    std::chrono::milliseconds start_timeout{15000};

    HostOptions& set(std::string key, std::string value);
    HostOptions& friends(std::vector<std::pair<std::string, std::string>> pairs);
    // The value of `key` in settings, if set.
    std::optional<std::string> get(const std::string& key) const;
};

class HostProcess {
  public:
    static constexpr const char* kDefaultSecret = "e2e-test-secret-0123456789abcdef";
    static constexpr const char* kDefaultAdminToken = "e2e-admin-token";

    explicit HostProcess(HostOptions options = {});
    ~HostProcess();
    HostProcess(const HostProcess&) = delete;
    HostProcess& operator=(const HostProcess&) = delete;

    // Writes the config and starts the host; true once it prints its listening line.
    // On failure, error() says why (with the host's output).
    bool start();
    // SIGTERM, then SIGKILL after `grace`. Returns the exit code (0 = clean stop).
    int stop(std::chrono::milliseconds grace = std::chrono::milliseconds{8000});
    // kill -9 (a crash).
    int kill_hard() { return child_.kill_hard(); }
    // The host's process id (SIGSTOP / SIGCONT in tests that pause it).
    pid_t pid() const { return child_.pid(); }
    // stop() then start() with the same config file and port.
    bool restart();
    bool running() { return child_.running(); }

    std::uint16_t port() const { return port_; }
    const std::string& error() const { return error_; }
    const std::string& config_path() const { return config_path_; }
    const TempDir& dir() const { return *dir_; }
    std::string output() const;  // everything the host printed so far
    const HostOptions& options() const { return options_; }

    // `presence-host token --config FILE USER [--ttl S]`, trimmed; "" on failure (see error()).
    // Works before start() too (writes the config first).
    std::string mint_token(const std::string& user, std::optional<int> ttl_s = std::nullopt);
    // "/ws?token=<fresh token for user>"
    std::string ws_path(const std::string& user);
    std::string admin_token() const;
    std::string http_prefix() const;  // presence.http_prefix or "/api/presence"

    // Writes `settings` as a config file and runs `presence-host --config FILE args...` to
    // completion (used to check that bad settings make it exit non-zero with a reason).
    static RunResult run_with_config(
        const std::vector<std::pair<std::string, std::string>>& settings,
        const std::vector<std::string>& args = {},
        std::chrono::milliseconds timeout = std::chrono::milliseconds{10000});

  private:
    bool write_config();
    bool start_once();

    HostOptions options_;
    std::unique_ptr<TempDir> dir_;
    ChildProcess child_;
    std::string config_path_;
    std::string log_path_;
    std::uint16_t port_ = 0;
    std::string error_;
};

}  // namespace presence::test
