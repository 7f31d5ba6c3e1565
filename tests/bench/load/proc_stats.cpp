#include "proc_stats.hpp"

#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

namespace presence::bench {

std::uint64_t monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ull +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

ProcSample sample_process(pid_t pid) {
    ProcSample s;
    std::string base = "/proc/" + std::to_string(pid);
    std::ifstream stat(base + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return s;
    // The command name may hold spaces: fields are counted after the closing ')'.
    auto close = line.rfind(')');
    if (close == std::string::npos) return s;
    std::istringstream rest(line.substr(close + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
        if (i == 14) utime = std::stoull(field);
        if (i == 15) stime = std::stoull(field);
    }
    long hz = sysconf(_SC_CLK_TCK);
    s.cpu_ns = (utime + stime) * (1'000'000'000ull / static_cast<unsigned long long>(hz));
    std::ifstream status(base + "/status");
    while (std::getline(status, line)) {
        unsigned long long kb = 0;
        if (std::sscanf(line.c_str(), "VmRSS: %llu kB", &kb) == 1) s.rss_bytes = kb * 1024;
        if (std::sscanf(line.c_str(), "VmHWM: %llu kB", &kb) == 1) s.hwm_bytes = kb * 1024;
    }
    s.ok = true;
    return s;
}

}  // namespace presence::bench
