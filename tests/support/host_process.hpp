// HostProcess: runs a real `presence-host` for end-to-end tests and benchmarks.
//
//   presence::test::HostOptions opt;
//   opt.set("presence.offline_grace_s", "1");
//   opt.friends({{"alice", "bob"}});          // writes presence.friends_file for you
//   presence::test::HostProcess host(opt);
//   CHECK_TRUE_TEXT(host.start(), host.error().c_str());
//   WsClient ws; ws.connect(host.port(), host.ws_path("alice"));
//
// It writes a config file into its own temp dir (or HostOptions::dir), picks a free loopback
// port (host.listen) unless the settings name one (port 0 works: the real port is read back),
// waits for "listening on http://HOST:PORT" on the host's stdout, and stops the host with
// SIGTERM (SIGKILL after a grace period) in stop() and in its destructor; stop_with() sends
// another signal, kill_hard() is a crash, pid() serves SIGSTOP/SIGCONT. The host's stdout and
// stderr go to a log file (output()), also for failure messages. The one launcher of every
// suite: unit host process tests, e2e, store e2e, scale-out, and the bench tools.
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
#include <string_view>
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
    // Where the config file and the host's log go: "" = a temp dir removed with the launcher;
    // a directory of the caller's is kept (e.g. presence_load --keep-dir).
    std::string dir;
    int cpu = -1;                      // pin the host to this CPU (-1: no pinning)
    unsigned long max_open_files = 0;  // > 0: the host's RLIMIT_NOFILE

    HostOptions& set(std::string key, std::string value);
    // Each `key = value` line of a settings file's text (blank and # lines skipped) as set().
    HostOptions& config_text(std::string_view text);
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
    // SIGTERM, then SIGKILL after `grace`. Returns the exit code (0 = clean stop; 128+N when
    // killed by signal N).
    int stop(std::chrono::milliseconds grace = std::chrono::milliseconds{8000});
    // The same with another signal (SIGINT).
    int stop_with(int signum, std::chrono::milliseconds grace = std::chrono::milliseconds{8000}) {
        return child_.stop_with(signum, grace);
    }
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
    const std::string& log_path() const { return log_path_; }
    const std::string& dir() const { return dir_path_; }
    std::string output() const;  // everything the host printed so far (stdout and stderr)
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
    // The same with a settings file written exactly as `text` (line numbers in errors are the
    // text's) and the plugin given as --plugin.
    static RunResult run_with_config_text(
        std::string_view text, const std::vector<std::string>& args = {},
        std::chrono::milliseconds timeout = std::chrono::milliseconds{10000});

  private:
    bool write_config();
    bool start_once();

    bool write_file(const std::string& name, std::string_view text, std::string* path);

    HostOptions options_;
    std::unique_ptr<TempDir> temp_dir_;  // null when options_.dir is the caller's
    std::string dir_path_;
    ChildProcess child_;
    std::string config_path_;
    std::string log_path_;
    std::uint16_t port_ = 0;
    std::string error_;
};

}  // namespace presence::test
