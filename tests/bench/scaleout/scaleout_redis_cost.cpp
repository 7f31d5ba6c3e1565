// scaleout_redis_cost: what Redis pays for presence (SPEC 9: "client heartbeats never touch
// Redis; a presence change costs O(1) Redis writes whatever the number of friends"). For each
// friend count, one redis-server and two linked presence-host instances, users split between
// them, and these phases, each read from INFO commandstats (calls per command, calls made
// inside Lua scripts included) and from redis-server's CPU in /proc:
//   background  nobody connected: the instances' own heartbeats and feed reads
//   connect     every user connects once
//   heartbeats  only client heartbeats (every user every --heartbeat-s)
//   changes     status changes at --rate
//   monitor     a short stretch of changes under MONITOR: commands sent by the instances vs
//               calls made inside scripts (not CPU-measured: MONITOR costs Redis CPU)
//   idle flips  every user's only connection says idle (friends see away)
//   disconnect  every connection dropped; each user goes offline after offline_grace_s
// Per-event figures are net of the background rate over the phase's length.
//
// scaleout_redis_cost --users 2000 --friends 10,200 --rate 1000 --pin
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "clients.hpp"
#include "friend_graph.hpp"
#include "proc_stats.hpp"
#include "redis_stats.hpp"
#include "scaleout_env.hpp"

namespace pb = presence::bench;
namespace so = presence::bench::scaleout;

namespace {

struct Options {
    std::string host_bin = so::default_host_bin();
    std::string plugin = so::default_plugin();
    std::uint32_t users = 2000;
    std::vector<std::uint32_t> friend_counts = {10, 200};
    double rate = 1000, phase_s = 5, heartbeat_s = 1, background_s = 3;
    bool pin = false, keep_dir = false;
    std::vector<std::string> settings;
    std::string json_path;
};

void usage() {
    std::fprintf(stderr,
                 "scaleout_redis_cost [options]\n"
                 "  --users N --friends F1,F2,...  --rate R (changes/s in the change phase)\n"
                 "  --phase-s S (heartbeat and change phases) --heartbeat-s S (client beats)\n"
                 "  --background-s S --pin (redis-server and hosts on CPU 0, tool on CPU 1)\n"
                 "  --set 'key = value' --host-bin PATH --plugin PATH --json FILE --keep-dir\n");
}

bool parse(int argc, char** argv, Options* o) {
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&] { return so::option_value(argc, argv, i); };
        if (a == "--users") {
            o->users = static_cast<std::uint32_t>(std::stoul(next()));
        } else if (a == "--friends") {
            o->friend_counts.clear();
            std::stringstream ss(next());
            std::string item;
            while (std::getline(ss, item, ','))
                o->friend_counts.push_back(static_cast<std::uint32_t>(std::stoul(item)));
        } else if (a == "--rate") {
            o->rate = std::stod(next());
        } else if (a == "--phase-s") {
            o->phase_s = std::stod(next());
        } else if (a == "--heartbeat-s") {
            o->heartbeat_s = std::stod(next());
        } else if (a == "--background-s") {
            o->background_s = std::stod(next());
        } else if (a == "--pin") {
            o->pin = true;
        } else if (a == "--keep-dir") {
            o->keep_dir = true;
        } else if (a == "--set") {
            o->settings.push_back(next());
        } else if (a == "--host-bin") {
            o->host_bin = next();
        } else if (a == "--plugin") {
            o->plugin = next();
        } else if (a == "--json") {
            o->json_path = next();
        } else {
            usage();
            return false;
        }
    }
    return o->users >= 2 && !o->friend_counts.empty() && o->rate > 0 && o->heartbeat_s > 0;
}

volatile sig_atomic_t g_stop = 0;
void on_signal(int) {
    g_stop = 1;
}

// One measured phase: commands and Redis CPU between begin() and end().
struct Phase {
    explicit Phase(std::string n) : name(std::move(n)) {}
    std::string name;
    double seconds = 0;
    std::uint64_t events = 0;  // changes, connects, ... (0: a rate-only phase)
    so::CommandStats commands;
    std::uint64_t redis_cpu_ns = 0;
    std::uint64_t host_cpu_ns = 0;

    std::uint64_t t0 = 0;
    so::CommandStats c0;
    pb::ProcSample r0;
    std::vector<pb::ProcSample> h0;
};

class Meter {
  public:
    explicit Meter(so::Env& env) : env_(env) {}
    void begin(Phase& p) {
        p.c0 = so::command_stats(*env_.redis());
        p.r0 = pb::sample_process(env_.redis_pid());
        p.h0.clear();
        for (std::size_t k = 0; k < env_.slots(); ++k)
            p.h0.push_back(pb::sample_process(env_.host_pid(k)));
        p.t0 = pb::monotonic_ns();
    }
    void end(Phase& p) {
        p.seconds = static_cast<double>(pb::monotonic_ns() - p.t0) / 1e9;
        p.commands = so::command_stats(*env_.redis()) - p.c0;
        const pb::ProcSample r1 = pb::sample_process(env_.redis_pid());
        p.redis_cpu_ns = r1.ok && p.r0.ok ? r1.cpu_ns - p.r0.cpu_ns : 0;
        p.host_cpu_ns = 0;
        for (std::size_t k = 0; k < env_.slots() && k < p.h0.size(); ++k) {
            const pb::ProcSample h1 = pb::sample_process(env_.host_pid(k));
            if (h1.ok && p.h0[k].ok) p.host_cpu_ns += h1.cpu_ns - p.h0[k].cpu_ns;
        }
    }

  private:
    so::Env& env_;
};

double metric_sum(so::Env& env, const std::string& name) {
    double v = 0;
    for (std::size_t k = 0; k < env.slots(); ++k) v += env.metrics(k)[name];
    return v;
}

// Waits until the instances' published counter stops moving for `quiet_s` (at most
// `timeout_s`), polling the clients meanwhile.
void settle(so::Clients& clients, so::Env& env, double quiet_s, double timeout_s) {
    const std::uint64_t end = pb::monotonic_ns() + static_cast<std::uint64_t>(timeout_s * 1e9);
    double last = -1;
    std::uint64_t since = pb::monotonic_ns();
    while (pb::monotonic_ns() < end && !g_stop) {
        clients.run_for(0.1);
        const double now = metric_sum(env, "presence_redis_changes_published_total");
        if (now != last) {
            last = now;
            since = pb::monotonic_ns();
        } else if (static_cast<double>(pb::monotonic_ns() - since) / 1e9 >= quiet_s) {
            return;
        }
    }
}

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
    std::string json_all;

    for (const std::uint32_t friends_per_user : o.friend_counts) {
        if (g_stop) break;
        const pb::FriendGraph graph =
            pb::make_graph(pb::GraphSpec{o.users, friends_per_user, 0, 0, 1});
        std::string friends;
        for (std::uint32_t i = 0; i < o.users; ++i)
            for (auto j : graph.adj[i])
                if (j > i) friends += pb::user_name(i) + " " + pb::user_name(j) + "\n";
        so::EnvOptions eo;
        eo.host_bin = o.host_bin;
        eo.plugin = o.plugin;
        eo.server_cpu = o.pin ? 0 : -1;
        eo.keep_dir = o.keep_dir;
        eo.settings = o.settings;
        so::set_default(eo.settings, "presence.updates_per_s", "100");
        so::set_default(eo.settings, "presence.offline_grace_s", "1");
        so::Env env;
        std::string err;
        if (!env.prepare(eo, friends, &err) || !env.start_host(0, "i0", &err) ||
            !env.start_host(1, "i1", &err)) {
            std::fprintf(stderr, "setup: %s\n", err.c_str());
            return 1;
        }
        if (o.pin) so::pin_self(1);
        std::uint64_t events_seen = 0;
        so::Clients clients(env, o.users, o.heartbeat_s,
                            [&](std::size_t, std::string_view type, std::string_view,
                                std::uint64_t) { events_seen += type == "presence" ? 1 : 0; });
        std::vector<std::size_t> everyone(o.users);
        for (std::uint32_t i = 0; i < o.users; ++i) {
            everyone[i] = i;
            clients.assign(i, pb::user_name(i), i % 2);
        }
        Meter meter(env);

        // Background: the instances alone (their links have been up for a moment).
        clients.run_for(1.0);
        Phase bg("background");
        meter.begin(bg);
        clients.run_for(o.background_s);
        meter.end(bg);
        const double bg_per_s = static_cast<double>(bg.commands.total()) / bg.seconds;
        const double bg_cpu_per_s = static_cast<double>(bg.redis_cpu_ns) / bg.seconds;

        // Connect.
        Phase conn("connect");
        meter.begin(conn);
        const std::size_t connected = clients.connect(everyone, 256, 60);
        settle(clients, env, 0.5, 10);
        meter.end(conn);
        conn.events = connected;

        // Heartbeats only: every connection beats every heartbeat_s; nothing changes.
        Phase hb("heartbeats");
        const std::uint64_t beats0 = clients.heartbeats_sent();
        meter.begin(hb);
        clients.run_for(o.phase_s);
        meter.end(hb);
        hb.events = clients.heartbeats_sent() - beats0;

        // Status changes at --rate.
        // Each user's k-th change is kStatuses[k % 3]: every one differs from the one before
        // (and the first from the initial online), so every change sent is a real change.
        std::vector<std::uint32_t> user_changes(o.users, 0);
        std::uint64_t cursor = 0;
        auto drive = [&](double seconds) {
            const std::uint64_t start = pb::monotonic_ns();
            const std::uint64_t end = start + static_cast<std::uint64_t>(seconds * 1e9);
            std::uint64_t done = 0, sent = 0;
            while (!g_stop && pb::monotonic_ns() < end) {
                const auto due = static_cast<std::uint64_t>(
                    static_cast<double>(pb::monotonic_ns() - start) / 1e9 * o.rate);
                while (done < due) {
                    const std::uint32_t u = static_cast<std::uint32_t>(cursor++ % o.users);
                    ++done;
                    if (!clients.live(u)) continue;
                    static const char* kStatuses[] = {"away", "dnd", "online"};
                    char buf[128];
                    const int n = std::snprintf(buf, sizeof buf,
                                                R"({"type":"presence_update","status":"%s"})",
                                                kStatuses[user_changes[u]++ % 3]);
                    clients.send(u, std::string_view(buf, static_cast<std::size_t>(n)));
                    ++sent;
                }
                clients.poll(1);
            }
            return sent;
        };
        Phase ch("changes");
        const double pub0 = metric_sum(env, "presence_redis_changes_published_total");
        meter.begin(ch);
        ch.events = drive(o.phase_s);
        settle(clients, env, 0.3, 5);
        meter.end(ch);
        const double published = metric_sum(env, "presence_redis_changes_published_total") - pub0;

        // MONITOR: who sends what, for about a second of changes.
        so::MonitorTap tap;
        std::uint64_t mon_changes = 0;
        if (tap.start(env.redis()->port(), &err)) {
            mon_changes = drive(1.0);
            settle(clients, env, 0.3, 5);
            tap.stop();
        } else {
            std::fprintf(stderr, "monitor: %s\n", err.c_str());
        }

        // Idle flips: every user's only connection says idle once (friends see away).
        Phase idle("idle flips");
        meter.begin(idle);
        for (std::uint32_t u = 0; u < o.users && !g_stop; ++u) {
            clients.heartbeat_now(u, true);
            ++idle.events;
            if (u % 200 == 199) clients.poll(1);
        }
        settle(clients, env, 0.5, 10);
        meter.end(idle);

        // Disconnect: every connection dropped at once; offline after the grace period.
        Phase disc("disconnect");
        meter.begin(disc);
        for (std::uint32_t u = 0; u < o.users; ++u) clients.drop(u);
        disc.events = o.users;
        clients.run_for(1.0);  // offline_grace_s
        settle(clients, env, 0.5, 10);
        meter.end(disc);

        const std::vector<Phase> phases = {bg, conn, hb, ch, idle, disc};
        std::printf(
            "scaleout_redis_cost: %u users x %u friends on 2 instances + redis-server%s; "
            "client heartbeat every %.1f s\n",
            o.users, friends_per_user, o.pin ? ", pinned (servers CPU 0, tool CPU 1)" : "",
            o.heartbeat_s);
        std::printf("  background: %.1f commands/s (%s), redis CPU %.2f %%\n", bg_per_s,
                    so::per_unit(bg.commands, bg.seconds).c_str(), bg_cpu_per_s / 1e7);
        json_all += "{\"tool\":\"scaleout_redis_cost\",\"users\":" + std::to_string(o.users) +
                    ",\"friends\":" + std::to_string(friends_per_user) +
                    ",\"background_commands_per_s\":" + std::to_string(bg_per_s) + ",\"phases\":[";
        for (std::size_t i = 1; i < phases.size(); ++i) {
            const Phase& p = phases[i];
            const double per_s = static_cast<double>(p.commands.total()) / p.seconds;
            const double net_cmds = static_cast<double>(p.commands.total()) - bg_per_s * p.seconds;
            const double net_cpu_ns =
                static_cast<double>(p.redis_cpu_ns) - bg_cpu_per_s * p.seconds;
            const double per_event = p.events ? net_cmds / static_cast<double>(p.events) : 0;
            const double cpu_per_event = p.events ? net_cpu_ns / static_cast<double>(p.events) : 0;
            if (p.name == "heartbeats") {
                std::printf(
                    "  %-11s %llu client heartbeats in %.1f s (%.0f/s): %.1f commands/s (%s), "
                    "redis CPU %.2f %%, hosts CPU %.1f %%\n",
                    p.name.c_str(), static_cast<unsigned long long>(p.events), p.seconds,
                    static_cast<double>(p.events) / p.seconds, per_s,
                    so::per_unit(p.commands, p.seconds).c_str(),
                    static_cast<double>(p.redis_cpu_ns) / p.seconds / 1e7,
                    static_cast<double>(p.host_cpu_ns) / p.seconds / 1e7);
            } else {
                std::printf(
                    "  %-11s %llu in %.1f s: %.2f commands each net of background (all: %s per "
                    "event), redis CPU %.1f us each (%.1f %% over the phase)\n",
                    p.name.c_str(), static_cast<unsigned long long>(p.events), p.seconds, per_event,
                    so::per_unit(p.commands,
                                 static_cast<double>(std::max<std::uint64_t>(p.events, 1)))
                        .c_str(),
                    cpu_per_event / 1e3, static_cast<double>(p.redis_cpu_ns) / p.seconds / 1e7);
            }
            char row[512];
            std::snprintf(row, sizeof row,
                          "%s{\"phase\":\"%s\",\"events\":%llu,\"seconds\":%.3f,"
                          "\"commands\":%llu,\"net_commands_per_event\":%.3f,"
                          "\"redis_cpu_ms\":%.1f,\"net_redis_cpu_us_per_event\":%.2f,"
                          "\"host_cpu_ms\":%.1f}",
                          i > 1 ? "," : "", p.name.c_str(),
                          static_cast<unsigned long long>(p.events), p.seconds,
                          static_cast<unsigned long long>(p.commands.total()), per_event,
                          static_cast<double>(p.redis_cpu_ns) / 1e6, cpu_per_event / 1e3,
                          static_cast<double>(p.host_cpu_ns) / 1e6);
            json_all += row;
        }
        std::printf("  changes     %.0f published to the feed for %llu sent (%.2f each)\n",
                    published, static_cast<unsigned long long>(ch.events),
                    ch.events ? published / static_cast<double>(ch.events) : 0);
        const double mc = static_cast<double>(std::max<std::uint64_t>(mon_changes, 1));
        std::string client_cmds, lua_cmds;
        for (const auto& [cmd, n] : tap.client()) {
            char b[64];
            std::snprintf(b, sizeof b, "%s%s %.2f", client_cmds.empty() ? "" : ", ", cmd.c_str(),
                          static_cast<double>(n) / mc);
            client_cmds += b;
        }
        for (const auto& [cmd, n] : tap.lua()) {
            char b[64];
            std::snprintf(b, sizeof b, "%s%s %.2f", lua_cmds.empty() ? "" : ", ", cmd.c_str(),
                          static_cast<double>(n) / mc);
            lua_cmds += b;
        }
        std::printf(
            "  MONITOR     %llu changes: %.2f commands sent by the instances per change (%s); "
            "%.2f calls inside scripts (%s)\n",
            static_cast<unsigned long long>(mon_changes),
            static_cast<double>(so::MonitorTap::sum(tap.client())) / mc, client_cmds.c_str(),
            static_cast<double>(so::MonitorTap::sum(tap.lua())) / mc, lua_cmds.c_str());
        std::printf("  presence events received by the clients: %llu; errors:",
                    static_cast<unsigned long long>(events_seen));
        for (const auto& [code, n] : clients.errors())
            std::printf(" %s=%llu", code.c_str(), static_cast<unsigned long long>(n));
        std::printf(" unexpected closes %llu\n",
                    static_cast<unsigned long long>(clients.unexpected_closes()));
        std::fflush(stdout);
        char tail[256];
        std::snprintf(tail, sizeof tail,
                      "],\"published\":%.0f,\"monitor_changes\":%llu,\"monitor_client_per_change\":"
                      "%.3f,\"monitor_lua_per_change\":%.3f,",
                      published, static_cast<unsigned long long>(mon_changes),
                      static_cast<double>(so::MonitorTap::sum(tap.client())) / mc,
                      static_cast<double>(so::MonitorTap::sum(tap.lua())) / mc);
        json_all += tail;
        json_all += "\"command\":\"" + command + "\"}\n";
    }
    if (!o.json_path.empty())
        std::ofstream(o.json_path, std::ios::app) << json_all;
    else
        std::printf("%s", json_all.c_str());
    return 0;
}
