// Bytes per distinct user in the core alone: N distinct users (ring friendships) are loaded,
// connect once and leave, as the service would drive the core; then the core's RSS growth per
// user with eviction on or off. Prints figures; judges nothing.
//
// core_distinct [--users N] [--no-evict]
#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "bench_world.hpp"
#include "proc_stats.hpp"

using namespace presence;

int main(int argc, char** argv) {
    long users = 200000;
    bool evict = true;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--users" && i + 1 < argc)
            users = std::atol(argv[++i]);
        else if (a == "--no-evict")
            evict = false;
        else
            return 2;
    }
    if (users < 3) return 2;
    auto id = [](long i) { return "user-" + std::to_string(i) + "@example.org"; };
    bench::CountingSink sink;
    core::CoreConfig cfg;
    cfg.offline_grace_ms = 0;
    cfg.evict_after_ms = evict ? 1000 : -1;
    core::PresenceCore core(cfg, sink);
    core::Millis now = 1'000'000;
    // One user every millisecond: about a second's worth of users in memory at any time.
    auto run = [&](long from, long to) {
        for (long i = from; i < to; ++i) {
            const std::string u = id(i);
            core::UserRecord r;
            r.user_id = u;
            core.load_user(r, now);
            const std::string f[2] = {id((i + users - 1) % users), id((i + 1) % users)};
            core.load_friends(u, f);
            for (const auto& fid : f) {
                r.user_id = fid;
                core.load_user(r, now);
            }
            core.connect(static_cast<core::ConnId>(i + 1), u, now);
            core.disconnect(static_cast<core::ConnId>(i + 1), now);
            core.drain_dirty([](const core::UserRecord&) {});
            ++now;
            if (i % 100 == 0) {
                core.tick(now);
                core.evict_idle(now, 2000, nullptr);
            }
        }
        for (int k = 0; k < 100; ++k) {  // settle: everything due is evicted
            now += 100;
            core.tick(now);
            core.drain_dirty([](const core::UserRecord&) {});
            core.evict_idle(now, 2000, nullptr);
        }
    };
    const long warm = users / 10;
    run(0, warm);
    malloc_trim(0);
    const auto before = bench::sample_process(getpid());
    run(warm, users);
    malloc_trim(0);
    const auto after = bench::sample_process(getpid());
    const double delta =
        static_cast<double>(after.rss_bytes) - static_cast<double>(before.rss_bytes);
    std::printf(
        "core_distinct: %ld distinct users after %ld warm-up (ring of 2 friends), eviction %s\n"
        "  RSS %.1f MiB -> %.1f MiB: %.1f B per distinct user; loaded %zu, slots %zu\n",
        users - warm, warm, evict ? "on (1 s)" : "off", before.rss_bytes / 1048576.0,
        after.rss_bytes / 1048576.0, delta / static_cast<double>(users - warm),
        core.loaded_user_count(), core.interned_user_count());
    return 0;
}
