// scaleout_fanout: cross-instance fan-out (SPEC 9). Starts one redis-server and N presence-host
// instances linked through it, connects every user to one instance, drives status changes at
// --rate, and reports deliveries/s, latency (sender stamp -> receiver) split into same-instance
// and cross-instance events, and server CPU per delivery (all hosts; Redis beside it).
//
// Layouts (what the same-instance cost is measured against):
//   split   user i on instance i % N: about (N-1)/N of every user's friends on another one
//   single  the same N linked instances, every user on the first (every event same-instance,
//           every change still written to Redis and read by the others)
//   alone   one presence-host without Redis: the single-instance figure of tests/bench/load
//
// Every delivery is checked: per (viewer, friend) pair, the events received with a stamp in
// the measured window must equal the changes that friend sent in it (lost / duplicated), and
// no event may come from a non-friend. --check exits 1 on any of those, never on a timing.
//
// scaleout_fanout --users 2000 --friends 100 --rate 10000 --duration 10 --layout split --pin
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "clients.hpp"
#include "frame_scan.hpp"
#include "friend_graph.hpp"
#include "latency_histogram.hpp"
#include "proc_stats.hpp"
#include "scaleout_env.hpp"

namespace pb = presence::bench;
namespace so = presence::bench::scaleout;

namespace {

struct Options {
    std::string host_bin = so::default_host_bin();
    std::string plugin = so::default_plugin();
    std::uint32_t users = 2000, friends = 100, instances = 2;
    std::string layout = "split";
    double rate = 10000, duration_s = 10, warmup_s = 2, heartbeat_s = 20;
    double max_run_s = 180;
    bool pin = false, check = false, keep_dir = false;
    std::vector<std::string> settings;
    std::string json_path;
};

void usage() {
    std::fprintf(stderr,
                 "scaleout_fanout [options]\n"
                 "  --users N --friends F --instances K --layout split|single|alone\n"
                 "  --rate R (status changes/s, all users together) --duration S --warmup-s S\n"
                 "  --heartbeat-s S --max-run-s S\n"
                 "  --pin (redis-server and every host on CPU 0, this tool on CPU 1)\n"
                 "  --set 'key = value' (every host) --host-bin PATH --plugin PATH\n"
                 "  --json FILE --keep-dir\n"
                 "  --check: exit 1 on a lost, duplicated or unexpected delivery, a failed\n"
                 "           connect, an error frame or an unexpected close (never on timing)\n");
}

bool parse(int argc, char** argv, Options* o) {
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&] { return so::option_value(argc, argv, i); };
        if (a == "--users")
            o->users = static_cast<std::uint32_t>(std::stoul(next()));
        else if (a == "--friends")
            o->friends = static_cast<std::uint32_t>(std::stoul(next()));
        else if (a == "--instances")
            o->instances = static_cast<std::uint32_t>(std::stoul(next()));
        else if (a == "--layout")
            o->layout = next();
        else if (a == "--rate")
            o->rate = std::stod(next());
        else if (a == "--duration")
            o->duration_s = std::stod(next());
        else if (a == "--warmup-s")
            o->warmup_s = std::stod(next());
        else if (a == "--heartbeat-s")
            o->heartbeat_s = std::stod(next());
        else if (a == "--max-run-s")
            o->max_run_s = std::stod(next());
        else if (a == "--pin")
            o->pin = true;
        else if (a == "--check")
            o->check = true;
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
    if (o->layout != "split" && o->layout != "single" && o->layout != "alone") {
        std::fprintf(stderr, "--layout must be split, single or alone\n");
        return false;
    }
    if (o->layout == "alone") o->instances = 1;
    return o->users >= 2 && o->instances >= 1 && o->rate > 0 && o->heartbeat_s > 0;
}

volatile sig_atomic_t g_stop = 0;
void on_signal(int) {
    g_stop = 1;
}

double ms(std::uint64_t ns) {
    return static_cast<double>(ns) / 1e6;
}

struct Class {
    pb::LatencyHistogram latency;
    std::uint64_t deliveries = 0;
    // By the second of the window the change was sent in: does a tail grow (a backlog) or
    // stay flat?
    std::vector<pb::LatencyHistogram> by_second;
};

std::string p99_by_second(const Class& c, const char* sep = " ") {
    std::string out;
    char buf[32];
    for (const auto& h : c.by_second) {
        std::snprintf(buf, sizeof buf, "%s%.1f", out.empty() ? "" : sep,
                      static_cast<double>(h.quantile(0.99)) / 1e6);
        out += buf;
    }
    return out;
}

std::string hist_text(const pb::LatencyHistogram& h) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "n=%llu p50=%.2f p99=%.2f p999=%.2f max=%.2f ms",
                  static_cast<unsigned long long>(h.count()), ms(h.quantile(0.5)),
                  ms(h.quantile(0.99)), ms(h.quantile(0.999)), ms(h.max()));
    return buf;
}

std::string hist_json(const pb::LatencyHistogram& h) {
    char buf[200];
    std::snprintf(buf, sizeof buf,
                  "{\"count\":%llu,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,"
                  "\"max_ms\":%.3f}",
                  static_cast<unsigned long long>(h.count()), ms(h.quantile(0.5)),
                  ms(h.quantile(0.99)), ms(h.quantile(0.999)), ms(h.max()));
    return buf;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    if (!parse(argc, argv, &o)) return 2;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    so::raise_nofile();
    std::string command;
    for (int i = 0; i < argc; ++i) command += (i ? " " : "") + std::string(argv[i]);
    const std::uint64_t run_deadline =
        pb::monotonic_ns() + static_cast<std::uint64_t>(o.max_run_s * 1e9);
    auto out_of_time = [&] { return g_stop || pb::monotonic_ns() >= run_deadline; };

    const pb::FriendGraph graph = pb::make_graph(pb::GraphSpec{o.users, o.friends, 0, 0, 1});
    std::string friends;
    for (std::uint32_t i = 0; i < o.users; ++i)
        for (auto j : graph.adj[i])
            if (j > i) friends += pb::user_name(i) + " " + pb::user_name(j) + "\n";

    // Where each user sits.
    const bool split = o.layout == "split";
    auto instance_of = [&](std::uint32_t u) -> std::uint32_t {
        return split ? u % o.instances : 0;
    };
    std::uint64_t cross_edges = 0, all_edges = 0;
    for (std::uint32_t i = 0; i < o.users; ++i) {
        for (auto j : graph.adj[i]) cross_edges += instance_of(i) != instance_of(j) ? 1 : 0;
        all_edges += graph.adj[i].size();
    }

    so::EnvOptions eo;
    eo.host_bin = o.host_bin;
    eo.plugin = o.plugin;
    eo.redis = o.layout != "alone";
    eo.server_cpu = o.pin ? 0 : -1;
    eo.keep_dir = o.keep_dir;
    eo.settings = o.settings;
    // The rate is spread over every user: no connection may be rate limited (a limited
    // update is applied late and coalesced, which this tool would count as lost).
    so::set_default(eo.settings, "presence.updates_per_s", "100");
    if (eo.redis && !so::redis_server_available()) {
        std::fprintf(stderr, "redis-server is not on PATH: nothing to measure\n");
        return 77;
    }
    so::Env env;
    std::string err;
    if (!env.prepare(eo, friends, &err)) {
        std::fprintf(stderr, "setup: %s\n", err.c_str());
        return 1;
    }
    for (std::uint32_t k = 0; k < o.instances; ++k) {
        if (!env.start_host(k, "i" + std::to_string(k), &err)) {
            std::fprintf(stderr, "host %u: %s\n", k, err.c_str());
            return 1;
        }
    }
    if (o.pin) so::pin_self(1);

    // Per (viewer, friend k of the viewer): events received in the window, last stamp seen.
    std::vector<std::vector<std::uint32_t>> got(o.users);
    std::vector<std::vector<std::uint64_t>> last(o.users);
    for (std::uint32_t i = 0; i < o.users; ++i) {
        got[i].assign(graph.adj[i].size(), 0);
        last[i].assign(graph.adj[i].size(), 0);
    }
    std::vector<std::uint32_t> sent(o.users, 0);  // changes each user sent in the window
    Class same, cross;
    std::uint64_t window_start = UINT64_MAX, window_end = UINT64_MAX;
    std::uint64_t unexpected = 0, reordered = 0, other_presence = 0, last_delivery_ns = 0;

    so::Clients clients(
        env, o.users, o.heartbeat_s,
        [&](std::size_t slot, std::string_view type, std::string_view frame, std::uint64_t now) {
            if (type != "presence") return;
            const auto stamp = pb::stamp_of(frame);
            if (!stamp || *stamp < window_start || *stamp > window_end) {
                ++other_presence;
                return;
            }
            const auto who = pb::json_string_field(frame, "user_id");
            const long sender = who ? so::user_index(*who) : -1;
            const auto& adj = graph.adj[slot];
            const auto it = sender < 0 ? adj.end()
                                       : std::lower_bound(adj.begin(), adj.end(),
                                                          static_cast<std::uint32_t>(sender));
            if (it == adj.end() || *it != static_cast<std::uint32_t>(sender)) {
                ++unexpected;  // an event about a non-friend: a privacy failure
                return;
            }
            const auto k = static_cast<std::size_t>(it - adj.begin());
            ++got[slot][k];
            if (*stamp < last[slot][k]) ++reordered;
            last[slot][k] = std::max(last[slot][k], *stamp);
            Class& c = instance_of(static_cast<std::uint32_t>(sender)) ==
                               instance_of(static_cast<std::uint32_t>(slot))
                           ? same
                           : cross;
            ++c.deliveries;
            c.latency.record(static_cast<std::int64_t>(now - *stamp));
            const std::size_t second = (*stamp - window_start) / 1'000'000'000u;
            if (c.by_second.size() <= second) c.by_second.resize(second + 1);
            c.by_second[second].record(static_cast<std::int64_t>(now - *stamp));
            last_delivery_ns = now;
        });
    std::vector<std::size_t> everyone(o.users);
    for (std::uint32_t i = 0; i < o.users; ++i) {
        everyone[i] = i;
        clients.assign(i, pb::user_name(i), instance_of(i));
    }
    const std::uint64_t c0 = pb::monotonic_ns();
    const std::size_t connected = clients.connect(everyone, 512, 60);
    const double connect_s = static_cast<double>(pb::monotonic_ns() - c0) / 1e9;
    // Let the online events of the connect phase settle (other instances learn of every user).
    clients.run_for(1.5);

    // Drive: changes spread evenly over a shuffled order of users.
    std::vector<std::uint32_t> order(o.users);
    for (std::uint32_t i = 0; i < o.users; ++i) order[i] = i;
    std::mt19937_64 rng(42);
    std::shuffle(order.begin(), order.end(), rng);
    std::uint64_t cursor = 0, status_cycle = 0, changes = 0, expected = 0;
    auto send_change = [&](std::uint32_t u, std::uint64_t now, bool in_window) {
        if (!clients.live(u)) return;
        static const char* kStatuses[] = {"online", "away", "dnd"};
        char buf[160];
        const int n = std::snprintf(
            buf, sizeof buf, R"({"type":"presence_update","status":"%s","message":"t=%llu"})",
            kStatuses[status_cycle++ % 3], static_cast<unsigned long long>(now));
        clients.send(u, std::string_view(buf, static_cast<std::size_t>(n)));
        if (!in_window) return;
        ++sent[u];
        ++changes;
        for (auto v : graph.adj[u]) expected += clients.live(v) ? 1 : 0;
    };
    auto drive = [&](double seconds, bool in_window) {
        const std::uint64_t start = pb::monotonic_ns();
        const std::uint64_t end = start + static_cast<std::uint64_t>(seconds * 1e9);
        std::uint64_t done = 0;
        while (!out_of_time()) {
            const std::uint64_t now = pb::monotonic_ns();
            if (now >= end) break;
            const auto due =
                static_cast<std::uint64_t>(static_cast<double>(now - start) / 1e9 * o.rate);
            std::uint64_t budget = 4096;  // bounded catch-up: a late tool sends less, not bursts
            while (done < due && budget--) {
                send_change(order[cursor++ % order.size()], now, in_window);
                ++done;
            }
            clients.poll(done < due ? 0 : 1);
        }
        return static_cast<double>(pb::monotonic_ns() - start) / 1e9;
    };

    if (o.warmup_s > 0 && !out_of_time()) drive(o.warmup_s, false);
    // Measured window: stamps from here to the end of the drive count.
    std::vector<pb::ProcSample> h0(o.instances), h1(o.instances);
    for (std::uint32_t k = 0; k < o.instances; ++k) h0[k] = pb::sample_process(env.host_pid(k));
    const pb::ProcSample r0 = pb::sample_process(env.redis_pid());
    const pb::ProcSample me0 = pb::sample_process(getpid());
    std::vector<std::map<std::string, double>> m0(o.instances), m1(o.instances);
    for (std::uint32_t k = 0; k < o.instances; ++k) m0[k] = env.metrics(k);
    window_start = pb::monotonic_ns();
    window_end = UINT64_MAX;
    const double measured_s = out_of_time() ? 0 : drive(o.duration_s, true);
    window_end = pb::monotonic_ns();
    // Drain: until no counted event arrived for 300 ms (at most 3 s).
    const std::uint64_t drain_end = pb::monotonic_ns() + 3'000'000'000ull;
    while (pb::monotonic_ns() < drain_end && !g_stop &&
           pb::monotonic_ns() - std::max(last_delivery_ns, window_end) < 300'000'000ull)
        clients.poll(5);
    const double wall_s = static_cast<double>(pb::monotonic_ns() - window_start) / 1e9;
    for (std::uint32_t k = 0; k < o.instances; ++k) h1[k] = pb::sample_process(env.host_pid(k));
    const pb::ProcSample r1 = pb::sample_process(env.redis_pid());
    const pb::ProcSample me1 = pb::sample_process(getpid());
    for (std::uint32_t k = 0; k < o.instances; ++k) m1[k] = env.metrics(k);

    // Exact accounting per pair.
    std::uint64_t lost = 0, duplicated = 0;
    for (std::uint32_t v = 0; v < o.users; ++v) {
        for (std::size_t k = 0; k < graph.adj[v].size(); ++k) {
            const std::uint32_t want = sent[graph.adj[v][k]];
            if (got[v][k] < want) lost += want - got[v][k];
            if (got[v][k] > want) duplicated += got[v][k] - want;
        }
    }
    const std::uint64_t deliveries = same.deliveries + cross.deliveries;
    std::uint64_t host_cpu_ns = 0;
    std::vector<double> host_pct(o.instances);
    for (std::uint32_t k = 0; k < o.instances; ++k) {
        const std::uint64_t d = h1[k].ok && h0[k].ok ? h1[k].cpu_ns - h0[k].cpu_ns : 0;
        host_cpu_ns += d;
        host_pct[k] = 100.0 * static_cast<double>(d) / 1e9 / wall_s;
    }
    const std::uint64_t redis_cpu_ns = r1.ok && r0.ok ? r1.cpu_ns - r0.cpu_ns : 0;
    const double tool_pct =
        me1.ok && me0.ok ? 100.0 * static_cast<double>(me1.cpu_ns - me0.cpu_ns) / 1e9 / wall_s : 0;
    const double per_delivery =
        deliveries ? static_cast<double>(host_cpu_ns) / static_cast<double>(deliveries) : 0;
    const double per_delivery_redis = deliveries ? static_cast<double>(host_cpu_ns + redis_cpu_ns) /
                                                       static_cast<double>(deliveries)
                                                 : 0;
    double published = 0, applied = 0, lag_max = 0;
    for (std::uint32_t k = 0; k < o.instances; ++k) {
        published += m1[k]["presence_redis_changes_published_total"] -
                     m0[k]["presence_redis_changes_published_total"];
        applied += m1[k]["presence_redis_changes_applied_total"] -
                   m0[k]["presence_redis_changes_applied_total"];
        lag_max = std::max(lag_max, m1[k]["presence_redis_feed_lag_ms"]);
    }
    pb::LatencyHistogram all = same.latency;
    all.merge(cross.latency);

    std::printf(
        "scaleout_fanout: layout %s, %u instance(s)%s, %u users x %u friends (%.0f %% of "
        "friendships across instances), rate %.0f/s, %.1f s measured%s\n",
        o.layout.c_str(), o.instances, eo.redis ? " + redis-server" : "", o.users, o.friends,
        all_edges ? 100.0 * static_cast<double>(cross_edges) / static_cast<double>(all_edges) : 0,
        o.rate, measured_s, o.pin ? ", pinned (servers CPU 0, tool CPU 1)" : "");
    std::printf("  connected              %zu / %u in %.2f s (failures %llu)\n", connected, o.users,
                connect_s, static_cast<unsigned long long>(clients.connect_failures()));
    std::printf("  changes sent           %llu (%.0f/s)\n",
                static_cast<unsigned long long>(changes),
                measured_s > 0 ? static_cast<double>(changes) / measured_s : 0);
    std::printf(
        "  deliveries             %llu of %llu expected, %.0f/s; lost %llu, duplicated %llu, "
        "non-friend %llu, out of order %llu\n",
        static_cast<unsigned long long>(deliveries), static_cast<unsigned long long>(expected),
        measured_s > 0 ? static_cast<double>(deliveries) / measured_s : 0,
        static_cast<unsigned long long>(lost), static_cast<unsigned long long>(duplicated),
        static_cast<unsigned long long>(unexpected), static_cast<unsigned long long>(reordered));
    std::printf("  latency all            %s\n", hist_text(all).c_str());
    std::printf("  latency same-instance  %s\n", hist_text(same.latency).c_str());
    std::printf("  latency cross-instance %s\n", hist_text(cross.latency).c_str());
    std::printf("  p99 by second sent     same [%s] cross [%s] ms\n", p99_by_second(same).c_str(),
                p99_by_second(cross).c_str());
    std::printf("  server CPU             hosts");
    for (std::uint32_t k = 0; k < o.instances; ++k) std::printf(" %.1f %%", host_pct[k]);
    std::printf(", redis %.1f %%, tool %.1f %% (over %.2f s incl. drain)\n",
                100.0 * static_cast<double>(redis_cpu_ns) / 1e9 / wall_s, tool_pct, wall_s);
    std::printf("  CPU per delivery       %.0f ns hosts, %.0f ns hosts + redis\n", per_delivery,
                per_delivery_redis);
    if (eo.redis)
        std::printf(
            "  redis link             published %.0f, applied %.0f, feed lag at end %.0f ms\n",
            published, applied, lag_max);
    std::printf("  errors                 unexpected closes %llu",
                static_cast<unsigned long long>(clients.unexpected_closes()));
    for (const auto& [code, n] : clients.errors())
        std::printf(", %s=%llu", code.c_str(), static_cast<unsigned long long>(n));
    for (const auto& [why, n] : clients.close_reasons())
        std::printf(", close[%s]=%llu", why.c_str(), static_cast<unsigned long long>(n));
    std::printf("\n");

    char head[512];
    std::snprintf(
        head, sizeof head,
        "{\"tool\":\"scaleout_fanout\",\"layout\":\"%s\",\"instances\":%u,\"users\":%u,"
        "\"friends\":%u,\"cross_edge_pct\":%.1f,\"rate\":%.0f,\"measured_s\":%.3f,"
        "\"pinned\":%s,\"connected\":%zu,\"changes\":%llu,",
        o.layout.c_str(), o.instances, o.users, o.friends,
        all_edges ? 100.0 * static_cast<double>(cross_edges) / static_cast<double>(all_edges) : 0,
        o.rate, measured_s, o.pin ? "true" : "false", connected,
        static_cast<unsigned long long>(changes));
    std::string json = head;
    char body[640];
    std::snprintf(
        body, sizeof body,
        "\"deliveries\":%llu,\"expected\":%llu,\"deliveries_per_s\":%.0f,\"lost\":%llu,"
        "\"duplicated\":%llu,\"non_friend\":%llu,\"out_of_order\":%llu,"
        "\"host_cpu_ns_per_delivery\":%.1f,\"with_redis_cpu_ns_per_delivery\":%.1f,"
        "\"redis_cpu_pct\":%.2f,\"tool_cpu_pct\":%.1f,\"published\":%.0f,"
        "\"applied\":%.0f,",
        static_cast<unsigned long long>(deliveries), static_cast<unsigned long long>(expected),
        measured_s > 0 ? static_cast<double>(deliveries) / measured_s : 0,
        static_cast<unsigned long long>(lost), static_cast<unsigned long long>(duplicated),
        static_cast<unsigned long long>(unexpected), static_cast<unsigned long long>(reordered),
        per_delivery, per_delivery_redis, 100.0 * static_cast<double>(redis_cpu_ns) / 1e9 / wall_s,
        tool_pct, published, applied);
    json += body;
    json += "\"host_cpu_pct\":[";
    for (std::uint32_t k = 0; k < o.instances; ++k) {
        char v[32];
        std::snprintf(v, sizeof v, "%s%.1f", k ? "," : "", host_pct[k]);
        json += v;
    }
    json += "],\"latency\":" + hist_json(all) + ",\"same\":" + hist_json(same.latency) +
            ",\"cross\":" + hist_json(cross.latency) + ",\"same_p99_by_second\":[" +
            p99_by_second(same, ",") + "],\"cross_p99_by_second\":[" + p99_by_second(cross, ",") +
            "],\"command\":\"" + command + "\"}";
    if (!o.json_path.empty())
        std::ofstream(o.json_path, std::ios::app) << json << "\n";
    else
        std::printf("%s\n", json.c_str());
    std::fflush(stdout);

    if (o.check) {
        std::string failed;
        auto require = [&](bool held, const char* what) {
            if (!held) failed += std::string(failed.empty() ? "" : ", ") + what;
        };
        require(connected == o.users && clients.connect_failures() == 0, "every user connected");
        require(changes > 0 && deliveries > 0, "changes were delivered");
        require(lost == 0, "nothing lost");
        require(duplicated == 0, "nothing duplicated");
        require(unexpected == 0, "no event about a non-friend");
        require(clients.errors().empty(), "no error frame");
        require(clients.unexpected_closes() == 0, "no unexpected close");
        if (!failed.empty()) {
            std::fprintf(stderr, "scaleout_fanout --check: failed: %s\n", failed.c_str());
            for (std::uint32_t k = 0; k < o.instances; ++k) {
                std::string log = env.host_log(k);
                if (log.size() > 3000) log = log.substr(log.size() - 3000);
                std::fprintf(stderr, "--- host %u log:\n%s\n", k, log.c_str());
            }
            return 1;
        }
    }
    return connected > 0 ? 0 : 1;
}
