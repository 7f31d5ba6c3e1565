// Memory per friendship edge in the core: RSS before and after loading U users x F friends
// into a PresenceCore and connecting every one of them. Prints figures; judges nothing.
//
// core_memory [--users U] [--friends F] [--no-connect]
#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "bench_world.hpp"
#include "proc_stats.hpp"

int main(int argc, char** argv) {
    std::uint32_t users = 10000, friends = 100;
    bool connect = true;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--users" && i + 1 < argc)
            users = std::strtoul(argv[++i], nullptr, 10);
        else if (a == "--friends" && i + 1 < argc)
            friends = std::strtoul(argv[++i], nullptr, 10);
        else if (a == "--no-connect")
            connect = false;
        else
            return 2;
    }
    if (users < 3) return 2;
    malloc_trim(0);
    auto before = presence::bench::sample_process(getpid());
    auto w = presence::bench::make_uniform_world(users, friends, nullptr, connect);
    auto after = presence::bench::sample_process(getpid());
    // The benchmark's own copy of the names is in the figure too: subtract a rough estimate.
    double names = static_cast<double>(users) * 32.0;
    double delta =
        static_cast<double>(after.rss_bytes) - static_cast<double>(before.rss_bytes) - names;
    std::uint64_t directed = static_cast<std::uint64_t>(users) * (friends / 2 * 2);
    std::printf("core_memory: %u users x %u friends (%llu directed edges), %s\n", users, friends,
                static_cast<unsigned long long>(directed),
                connect ? "all connected" : "loaded only");
    std::printf(
        "  RSS %.1f MiB -> %.1f MiB: %.0f B per directed edge, %.0f B per user "
        "(connections %zu, online %zu)\n",
        before.rss_bytes / 1048576.0, after.rss_bytes / 1048576.0,
        delta / static_cast<double>(directed), delta / users, w.core->connection_count(),
        w.core->online_user_count());
    std::printf(
        "{\"users\":%u,\"friends\":%u,\"connected\":%s,\"rss_delta\":%.0f,"
        "\"bytes_per_directed_edge\":%.1f,\"bytes_per_user\":%.1f}\n",
        users, friends, connect ? "true" : "false", delta, delta / static_cast<double>(directed),
        delta / users);
    return w.core->connection_count() == (connect ? users : 0) ? 0 : 1;
}
