// What /proc says about a process: CPU time and resident memory. The load tool samples the
// server with it, so server cost is read from the kernel, not estimated by the client.
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace presence::bench {

struct ProcSample {
    bool ok = false;
    std::uint64_t cpu_ns = 0;     // user + system time
    std::uint64_t rss_bytes = 0;  // VmRSS
    std::uint64_t hwm_bytes = 0;  // VmHWM (peak RSS)
};

ProcSample sample_process(pid_t pid);
std::uint64_t monotonic_ns();

}  // namespace presence::bench
