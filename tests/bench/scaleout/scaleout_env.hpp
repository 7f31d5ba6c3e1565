// The scale-out benchmarks' setup: one throwaway redis-server and N presence-host instances
// linked through it (presence.redis_url, instance ids of the caller's choice), sharing one
// friends file and one token secret, optionally pinned to one CPU (every thread of every
// server). Everything lives in one temp dir and is stopped by the destructor.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "host_process.hpp"
#include "redis_server.hpp"

namespace presence::bench::scaleout {

using presence::test::HostProcess;

struct EnvOptions {
    std::string host_bin;  // presence-host
    std::string plugin;    // libpresence.so
    bool redis = true;     // false: hosts without presence.redis_url (one instance alone)
    int server_cpu = -1;   // pin redis-server and every host here (-1: no pinning)
    std::vector<std::string> settings;  // extra "key = value" lines for every host
    bool keep_dir = false;
};

class Env {
  public:
    Env() = default;
    ~Env();
    Env(const Env&) = delete;
    Env& operator=(const Env&) = delete;

    // Temp dir, secret and redis-server (when options.redis). `friends` is the friends file's
    // text. False with *err on failure.
    bool prepare(const EnvOptions& options, const std::string& friends, std::string* err);
    // Starts (or restarts) host `slot` with presence.instance_id = `instance_id`.
    bool start_host(std::size_t slot, const std::string& instance_id, std::string* err);
    void kill_host(std::size_t slot);  // SIGKILL (a crash), reaped
    void stop_host(std::size_t slot);  // SIGTERM, then SIGKILL after 5 s
    void stop_all();

    std::size_t slots() const { return hosts_.size(); }
    bool running(std::size_t slot) const;
    pid_t host_pid(std::size_t slot) const;
    std::uint16_t host_port(std::size_t slot) const;
    std::string host_log(std::size_t slot) const;
    const std::string& instance_id(std::size_t slot) const;

    presence::test::RedisServer* redis() { return redis_.get(); }
    pid_t redis_pid() const { return redis_pid_; }
    const std::string& dir() const { return dir_; }
    const std::string& secret() const { return secret_; }
    // A bearer token for `user`, valid for a day, signed with this environment's secret.
    std::string token(const std::string& user) const;

    // GET <prefix>/metrics of host `slot`: every sample line "name value" (labels kept in the
    // name). Empty when the host does not answer.
    std::map<std::string, double> metrics(std::size_t slot) const;

  private:
    struct Host {
        std::unique_ptr<HostProcess> process;
        std::string instance_id;
    };

    EnvOptions options_;
    std::string dir_;
    std::string secret_;
    std::string friends_path_;
    std::unique_ptr<presence::test::RedisServer> redis_;
    pid_t redis_pid_ = -1;
    std::vector<Host> hosts_;
    std::string metrics_token_;  // the hosts' host.admin_token: /metrics is for operators
};

// redis-server is on PATH (else the benchmarks cannot run: ctest skips them, exit 77).
bool redis_server_available();

// presence-host and libpresence.so of this build ("" when CMake did not know them).
std::string default_host_bin();
std::string default_plugin();

// The value after the option argv[i] (i moves onto it); exits 2 naming the option when the
// command line ends first.
std::string option_value(int argc, char** argv, int& i);

// Pins every thread of `pid` to `cpu` (threads started later inherit it from theirs).
void pin_process(pid_t pid, int cpu);
// Pins the calling thread.
void pin_self(int cpu);
// RLIMIT_NOFILE to its hard limit.
void raise_nofile();

// Appends "key = value" to `settings` unless a line already sets `key` (a config file must
// not name a key twice).
void set_default(std::vector<std::string>& settings, const std::string& key,
                 const std::string& value);

// Milliseconds since `start_ns` (monotonic_ns()).
double ms_since(std::uint64_t start_ns);

}  // namespace presence::bench::scaleout
