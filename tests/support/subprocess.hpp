// Starting child processes from tests: always with a deadline, always reaped, and tied to the
// test process (PR_SET_PDEATHSIG) so a crashed test run leaves no server behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace presence::test {

using std::chrono::milliseconds;

struct RunResult {
    int exit_code = -1;  // exit status; 128+N when killed by signal N; -1 when it never ran
    bool timed_out = false;
    std::string output;  // stdout and stderr, interleaved
};

// Runs argv[0] with argv to completion (killed with SIGKILL after `timeout`).
RunResult run_program(const std::vector<std::string>& argv, milliseconds timeout);

// How a child is set up before its exec.
struct SpawnOptions {
    int cpu = -1;                      // pin it to this CPU (-1: anywhere)
    unsigned long max_open_files = 0;  // > 0: its RLIMIT_NOFILE (soft and hard)
    bool truncate_log = false;         // false: append (a restarted child adds to its log)
};

// A started child whose stdout and stderr go to `log_path`.
class ChildProcess {
  public:
    ChildProcess() = default;
    ~ChildProcess();  // stop()s it
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    bool start(const std::vector<std::string>& argv, const std::string& log_path,
               const SpawnOptions& options = {});
    bool running();  // reaps it if it exited
    // SIGTERM, then SIGKILL after `grace`; returns the exit code (as in RunResult).
    int stop(milliseconds grace = milliseconds{5000});
    // SIGKILL now (a crash); returns the exit code.
    int kill_hard();
    // Sends `signum` and waits up to `grace` for the exit (SIGKILL after it); the exit code.
    int stop_with(int signum, milliseconds grace = milliseconds{5000});
    pid_t pid() const { return pid_; }
    int exit_code() const { return exit_code_; }

  private:
    bool wait_exit(milliseconds timeout);
    pid_t pid_ = -1;
    int exit_code_ = -1;
};

}  // namespace presence::test
