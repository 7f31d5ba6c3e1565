#include "subprocess.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "temp_dir.hpp"

namespace presence::test {

namespace {

using Clock = std::chrono::steady_clock;

int decode_status(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

// Forks and execs argv with stdout+stderr to `out_fd`. Only async-signal-safe calls run in the
// child between fork and exec (the test process may have threads).
pid_t spawn(const std::vector<std::string>& argv, int out_fd, const SpawnOptions& options = {}) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid != 0) return pid;
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl took effect
    if (options.cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(options.cpu, &set);
        ::sched_setaffinity(0, sizeof set, &set);
    }
    if (options.max_open_files > 0) {
        const rlimit limit{options.max_open_files, options.max_open_files};
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::dup2(out_fd, 1);
    ::dup2(out_fd, 2);
    ::execv(args[0], args.data());
    ::_exit(127);
}

}  // namespace

RunResult run_program(const std::vector<std::string>& argv, milliseconds timeout) {
    RunResult res;
    if (argv.empty()) return res;
    TempDir dir("presence-run");
    const std::string log = dir.file("output");
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return res;
    pid_t pid = spawn(argv, fd);
    ::close(fd);
    if (pid < 0) return res;
    const auto deadline = Clock::now() + timeout;
    int status = 0;
    for (;;) {
        pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            res.exit_code = decode_status(status);
            break;
        }
        if (Clock::now() >= deadline) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            res.timed_out = true;
            res.exit_code = decode_status(status);
            break;
        }
        std::this_thread::sleep_for(milliseconds{10});
    }
    res.output = read_file(log);
    return res;
}

ChildProcess::~ChildProcess() {
    stop();
}

bool ChildProcess::start(const std::vector<std::string>& argv, const std::string& log_path,
                         const SpawnOptions& options) {
    stop();
    // A file, not a pipe: a pipe nobody drains would block a long-running child once full.
    const int mode = options.truncate_log ? O_TRUNC : O_APPEND;
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | mode | O_CLOEXEC, 0600);
    if (fd < 0) return false;
    pid_ = spawn(argv, fd, options);
    ::close(fd);
    exit_code_ = -1;
    return pid_ > 0;
}

bool ChildProcess::running() {
    if (pid_ <= 0) return false;
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
        exit_code_ = decode_status(status);
        pid_ = -1;
        return false;
    }
    return true;
}

bool ChildProcess::wait_exit(milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (running()) {
        if (Clock::now() >= deadline) return false;
        std::this_thread::sleep_for(milliseconds{10});
    }
    return true;
}

int ChildProcess::stop(milliseconds grace) {
    return stop_with(SIGTERM, grace);
}

int ChildProcess::stop_with(int signum, milliseconds grace) {
    if (!running()) return exit_code_;
    ::kill(pid_, signum);
    if (!wait_exit(grace)) kill_hard();
    return exit_code_;
}

int ChildProcess::kill_hard() {
    if (!running()) return exit_code_;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    exit_code_ = decode_status(status);
    pid_ = -1;
    return exit_code_;
}

}  // namespace presence::test
