// scaleout_detect: a dead instance (SPEC 9: "its users turn offline for every viewer within
// instance_ttl_s, and exactly once"). One redis-server, two surviving presence-host instances
// and a victim instance started fresh for every run:
//   detection  --runs R times: u1 connects to the victim, its friend u0 (on a survivor) sees
//              it online; after a random 0-1 s the victim is killed with SIGKILL; time until
//              u0 gets u1 offline. Each run also checks that exactly one survivor reaped the
//              victim and that u0 got exactly one offline.
//   reaping    --reap-users N users on one victim, each the friend of one of --watchers W
//              watchers spread over the survivors; SIGKILL; time until the survivors'
//              presence_redis_users_reaped_total reaches N and until the last watcher event.
//
// scaleout_detect --runs 20 --reap-users 10000 --watchers 100
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "clients.hpp"
#include "frame_scan.hpp"
#include "proc_stats.hpp"
#include "scaleout_env.hpp"

namespace pb = presence::bench;
namespace so = presence::bench::scaleout;

namespace {

struct Options {
    std::string host_bin = so::default_host_bin();
    std::string plugin = so::default_plugin();
    int runs = 20;
    std::uint32_t reap_users = 10000, watchers = 100;
    double ttl_s = 15;  // presence.instance_ttl_s (15 is the default)
    bool keep_dir = false;
    std::vector<std::string> settings;
    std::string json_path;
};

void usage() {
    std::fprintf(stderr,
                 "scaleout_detect [options]\n"
                 "  --runs R (detection runs; 0: none)  --reap-users N (0: no reaping run)\n"
                 "  --watchers W  --ttl-s S (presence.instance_ttl_s, default 15)\n"
                 "  --set 'key = value' --host-bin PATH --plugin PATH --json FILE --keep-dir\n");
}

bool parse(int argc, char** argv, Options* o) {
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&] { return so::option_value(argc, argv, i); };
        if (a == "--runs")
            o->runs = std::stoi(next());
        else if (a == "--reap-users")
            o->reap_users = static_cast<std::uint32_t>(std::stoul(next()));
        else if (a == "--watchers")
            o->watchers = static_cast<std::uint32_t>(std::stoul(next()));
        else if (a == "--ttl-s")
            o->ttl_s = std::stod(next());
        else if (a == "--keep-dir")
            o->keep_dir = true;
        else if (a == "--set")
            o->settings.push_back(next());
        else if (a == "--host-bin")
            o->host_bin = next();
        else if (a == "--plugin")
            o->plugin = next();
        else if (a == "--json")
            o->json_path = next();
        else {
            usage();
            return false;
        }
    }
    return o->runs >= 0 && o->ttl_s >= 1 && (o->reap_users == 0 || o->watchers > 0);
}

volatile sig_atomic_t g_stop = 0;
void on_signal(int) {
    g_stop = 1;
}

double quantile(std::vector<double> v, double q) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const auto rank = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(rank, v.size() - 1)];
}

double metric_sum(so::Env& env, std::size_t hosts, const std::string& name) {
    double v = 0;
    for (std::size_t k = 0; k < hosts; ++k) v += env.metrics(k)[name];
    return v;
}

constexpr std::size_t kVictim = 2;  // host slots 0 and 1 survive

}  // namespace

int main(int argc, char** argv) {
    Options o;
    if (!parse(argc, argv, &o)) return 2;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    so::raise_nofile();
    if (!so::redis_server_available()) {
        std::fprintf(stderr, "redis-server is not on PATH: nothing to measure\n");
        return 77;
    }
    std::string command;
    for (int i = 0; i < argc; ++i) command += (i ? " " : "") + std::string(argv[i]);

    // Slots: 0 = u0 (watcher, survivor 0), 1 = u1 (on the victim), then the W watchers, then
    // the N victim users (v<j> is a friend of w<j % W>).
    const std::size_t first_watcher = 2, first_victim_user = 2 + o.watchers;
    const std::size_t slots = first_victim_user + o.reap_users;
    std::string friends = "u0 u1\n";
    for (std::uint32_t j = 0; j < o.reap_users; ++j)
        friends += "w" + std::to_string(j % o.watchers) + " v" + std::to_string(j) + "\n";

    so::EnvOptions eo;
    eo.host_bin = o.host_bin;
    eo.plugin = o.plugin;
    eo.keep_dir = o.keep_dir;
    eo.settings = o.settings;
    char ttl[32];
    std::snprintf(ttl, sizeof ttl, "%g", o.ttl_s);
    so::set_default(eo.settings, "presence.instance_ttl_s", ttl);
    so::Env env;
    std::string err;
    if (!env.prepare(eo, friends, &err) || !env.start_host(0, "survivor0", &err) ||
        !env.start_host(1, "survivor1", &err)) {
        std::fprintf(stderr, "setup: %s\n", err.c_str());
        return 1;
    }
    const std::uint64_t survivors_up = pb::monotonic_ns();

    // What the watchers see: u0's events about u1, and every watcher's events about v<j>.
    std::uint64_t u1_online_ns = 0, u1_offline_ns = 0, u1_offlines = 0;
    std::uint64_t v_online = 0, v_offline = 0, v_first_off_ns = 0, v_last_off_ns = 0;
    std::vector<std::uint8_t> v_off_seen(o.reap_users, 0);
    std::uint64_t v_dup_offline = 0;
    so::Clients clients(
        env, slots, 20,
        [&](std::size_t slot, std::string_view type, std::string_view frame, std::uint64_t now) {
            if (type != "presence") return;
            const auto who = pb::json_string_field(frame, "user_id");
            const auto status = pb::json_string_field(frame, "status");
            if (!who || !status) return;
            if (slot == 0 && *who == "u1") {
                if (*status == "offline") {
                    ++u1_offlines;
                    u1_offline_ns = now;
                } else {
                    u1_online_ns = now;
                }
            } else if (slot >= first_watcher && slot < first_victim_user && who->size() > 1 &&
                       (*who)[0] == 'v') {
                const auto j =
                    static_cast<std::size_t>(std::atol(std::string(who->substr(1)).c_str()));
                if (*status == "offline") {
                    if (j < v_off_seen.size() && v_off_seen[j]++) ++v_dup_offline;
                    if (!v_first_off_ns) v_first_off_ns = now;
                    v_last_off_ns = now;
                    ++v_offline;
                } else {
                    ++v_online;
                }
            }
        });
    clients.assign(0, "u0", 0);
    clients.assign(1, "u1", kVictim);
    for (std::uint32_t w = 0; w < o.watchers; ++w)
        clients.assign(first_watcher + w, "w" + std::to_string(w), w % 2);
    for (std::uint32_t j = 0; j < o.reap_users; ++j)
        clients.assign(first_victim_user + j, "v" + std::to_string(j), kVictim);

    std::string json = "{\"tool\":\"scaleout_detect\",\"ttl_s\":" + std::string(ttl);
    int failures = 0;

    // ---- detection runs ----
    std::vector<double> detect_ms;
    int bad_reaps = 0, bad_offlines = 0, timeouts = 0;
    if (o.runs > 0) {
        if (clients.connect({0}, 1, 10) != 1) {
            std::fprintf(stderr, "u0 did not connect\n");
            return 1;
        }
        // Survivors judge others only after 2 x ttl/3 of their own link being up.
        const double settle_s = 2 * std::max(o.ttl_s / 3, 1.0) + 1;
        while (static_cast<double>(pb::monotonic_ns() - survivors_up) / 1e9 < settle_s)
            clients.poll(10);
        std::mt19937_64 rng(7);
        std::uniform_real_distribution<double> jitter(0, 1);
        std::printf(
            "detection: kill -9 of the victim, time until its user's friend sees offline\n");
        for (int run = 0; run < o.runs && !g_stop; ++run) {
            if (!env.start_host(kVictim, "victim" + std::to_string(run), &err)) {
                std::fprintf(stderr, "victim: %s\n", err.c_str());
                return 1;
            }
            u1_online_ns = 0;
            if (clients.connect({1}, 1, 10) != 1 ||
                !clients.wait_until([&] { return u1_online_ns != 0; }, 10)) {
                std::fprintf(stderr, "run %d: u0 never saw u1 online\n", run);
                ++failures;
                env.kill_host(kVictim);
                clients.drop(1);
                clients.run_for(o.ttl_s);
                continue;
            }
            clients.run_for(jitter(rng));
            const double reaped0 = metric_sum(env, 2, "presence_redis_instances_reaped_total");
            u1_offline_ns = 0;
            u1_offlines = 0;
            env.kill_host(kVictim);
            const std::uint64_t killed = pb::monotonic_ns();
            clients.drop(1);
            const bool seen = clients.wait_until([&] { return u1_offline_ns != 0; }, 3 * o.ttl_s);
            const double ms = seen ? static_cast<double>(u1_offline_ns - killed) / 1e6 : -1;
            // Exactly one reap, exactly one offline (another survivor's late reap would show).
            clients.run_for(1.2);
            const double reaps =
                metric_sum(env, 2, "presence_redis_instances_reaped_total") - reaped0;
            if (!seen) ++timeouts;
            if (reaps != 1) ++bad_reaps;
            if (u1_offlines != 1) ++bad_offlines;
            if (seen) detect_ms.push_back(ms);
            std::printf("  run %2d: %s%.0f ms, reaps %.0f, offline events %llu\n", run + 1,
                        seen ? "" : "TIMEOUT ", ms, reaps,
                        static_cast<unsigned long long>(u1_offlines));
            std::fflush(stdout);
        }
        std::printf(
            "  %zu runs: min %.0f, p50 %.0f, p99 %.0f, max %.0f ms (instance_ttl_s %s = %.0f "
            "ms); timeouts %d, runs not reaped exactly once %d, runs without exactly one "
            "offline %d\n",
            detect_ms.size(), quantile(detect_ms, 0), quantile(detect_ms, 0.5),
            quantile(detect_ms, 0.99), quantile(detect_ms, 1), ttl, o.ttl_s * 1000, timeouts,
            bad_reaps, bad_offlines);
        json += ",\"runs\":" + std::to_string(detect_ms.size()) + ",\"detect_ms\":[";
        for (std::size_t i = 0; i < detect_ms.size(); ++i) {
            char b[32];
            std::snprintf(b, sizeof b, "%s%.0f", i ? "," : "", detect_ms[i]);
            json += b;
        }
        char b[256];
        std::snprintf(b, sizeof b,
                      "],\"detect_min_ms\":%.0f,\"detect_p50_ms\":%.0f,\"detect_p99_ms\":%.0f,"
                      "\"detect_max_ms\":%.0f,\"timeouts\":%d,\"bad_reaps\":%d,"
                      "\"bad_offlines\":%d",
                      quantile(detect_ms, 0), quantile(detect_ms, 0.5), quantile(detect_ms, 0.99),
                      quantile(detect_ms, 1), timeouts, bad_reaps, bad_offlines);
        json += b;
        failures += timeouts + bad_reaps + bad_offlines;
    }

    // ---- reaping N users ----
    if (o.reap_users > 0 && !g_stop) {
        if (!env.start_host(kVictim, "bigvictim", &err)) {
            std::fprintf(stderr, "victim: %s\n", err.c_str());
            return 1;
        }
        std::vector<std::size_t> watchers, victims;
        for (std::uint32_t w = 0; w < o.watchers; ++w) watchers.push_back(first_watcher + w);
        for (std::uint32_t j = 0; j < o.reap_users; ++j) victims.push_back(first_victim_user + j);
        const std::size_t wc = clients.connect(watchers, 256, 30);
        const std::uint64_t c0 = pb::monotonic_ns();
        const std::size_t vc = clients.connect(victims, 512, 60);
        const double connect_s = static_cast<double>(pb::monotonic_ns() - c0) / 1e9;
        const bool all_online = clients.wait_until([&] { return v_online >= o.reap_users; }, 60);
        std::printf(
            "reaping: %zu / %u watchers on the survivors, %zu / %u users on the victim "
            "(connected in %.1f s), watchers saw %llu online%s\n",
            wc, o.watchers, vc, o.reap_users, connect_s, static_cast<unsigned long long>(v_online),
            all_online ? "" : " (NOT all)");
        clients.run_for(1.0);
        const double users0 = metric_sum(env, 2, "presence_redis_users_reaped_total");
        double metric_at_ms = -1;
        env.kill_host(kVictim);
        const std::uint64_t killed = pb::monotonic_ns();
        for (auto s : victims) clients.drop(s);
        std::uint64_t next_scrape = 0;
        const std::uint64_t deadline =
            killed + static_cast<std::uint64_t>((3 * o.ttl_s + 30) * 1e9);
        while (!g_stop && pb::monotonic_ns() < deadline &&
               (v_offline < o.reap_users || metric_at_ms < 0)) {
            clients.poll(5);
            if (metric_at_ms < 0 && pb::monotonic_ns() >= next_scrape) {
                next_scrape = pb::monotonic_ns() + 50'000'000ull;
                const double reaped =
                    metric_sum(env, 2, "presence_redis_users_reaped_total") - users0;
                if (reaped >= o.reap_users)
                    metric_at_ms = static_cast<double>(pb::monotonic_ns() - killed) / 1e6;
            }
        }
        clients.run_for(1.0);  // late duplicates would show here
        const double reaped = metric_sum(env, 2, "presence_redis_users_reaped_total") - users0;
        const double first_ms =
            v_first_off_ns ? static_cast<double>(v_first_off_ns - killed) / 1e6 : -1;
        const double last_ms =
            v_last_off_ns ? static_cast<double>(v_last_off_ns - killed) / 1e6 : -1;
        std::printf(
            "  kill -9 -> first watcher offline %.0f ms, last %.0f ms (reaping took %.0f ms); "
            "users_reaped_total +%.0f, reached %u at %.0f ms (scraped every 50 ms); offline "
            "events %llu of %u, duplicated %llu\n",
            first_ms, last_ms, last_ms - first_ms, reaped, o.reap_users, metric_at_ms,
            static_cast<unsigned long long>(v_offline), o.reap_users,
            static_cast<unsigned long long>(v_dup_offline));
        char b[400];
        std::snprintf(b, sizeof b,
                      ",\"reap_users\":%u,\"watchers\":%u,\"reap_first_offline_ms\":%.0f,"
                      "\"reap_last_offline_ms\":%.0f,\"users_reaped\":%.0f,"
                      "\"users_reaped_reached_ms\":%.0f,\"offline_events\":%llu,"
                      "\"duplicated_offline\":%llu",
                      o.reap_users, o.watchers, first_ms, last_ms, reaped, metric_at_ms,
                      static_cast<unsigned long long>(v_offline),
                      static_cast<unsigned long long>(v_dup_offline));
        json += b;
        if (v_offline != o.reap_users || v_dup_offline != 0 || reaped != o.reap_users) ++failures;
    }
    json += ",\"command\":\"" + command + "\"}";
    if (!o.json_path.empty())
        std::ofstream(o.json_path, std::ios::app) << json << "\n";
    else
        std::printf("%s\n", json.c_str());
    // Exit status: the runs happened and nothing was lost or doubled; never a timing.
    return failures == 0 ? 0 : 1;
}
