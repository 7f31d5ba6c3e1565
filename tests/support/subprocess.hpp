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

// A started child whose stdout and stderr go to `log_path`.
class ChildProcess {
  public:
    ChildProcess() = default;
    ~ChildProcess();  // stop()s it
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    bool start(const std::vector<std::string>& argv, const std::string& log_path);
    bool running();  // reaps it if it exited
    // SIGTERM, then SIGKILL after `grace`; returns the exit code (as in RunResult).
    int stop(milliseconds grace = milliseconds{5000});
    // SIGKILL now (a crash); returns the exit code.
    int kill_hard();
    pid_t pid() const { return pid_; }
    int exit_code() const { return exit_code_; }

  private:
    bool wait_exit(milliseconds timeout);
    pid_t pid_ = -1;
    int exit_code_ = -1;
};

}  // namespace presence::test
