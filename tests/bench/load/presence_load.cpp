// presence-load: drives a presence-host over real WebSocket connections on loopback and reports
// connections held, connect rate, fan-out deliveries/s and latency (stamped by the sender,
// read by each receiver), snapshot latency, server CPU and RSS. Every phase is bounded in
// count and time; the whole run is bounded by --max-run-s.
//
// Typical: presence_load --users 19500 --friends 100 --rate 3000 --duration 30 --pin
#include <arpa/inet.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "frame_scan.hpp"
#include "friend_graph.hpp"
#include "host_process.hpp"
#include "http_client.hpp"
#include "load_report.hpp"
#include "proc_stats.hpp"
#include "ws_client.hpp"
#ifdef PRESENCE_LOAD_HAVE_TOKENS
#include "token.hpp"
#endif

#ifndef PRESENCE_HOST_PATH
#define PRESENCE_HOST_PATH ""
#endif
#ifndef PRESENCE_PLUGIN_PATH
#define PRESENCE_PLUGIN_PATH ""
#endif

namespace pb = presence::bench;

namespace {

struct Options {
    std::string host_bin = PRESENCE_HOST_PATH;
    std::string plugin = PRESENCE_PLUGIN_PATH;
    std::string url;  // attach: ws://127.0.0.1:PORT/ws
    pid_t server_pid = -1;
    // Default: our own friends file and signed tokens (host.auth_secret), so the graph is
    // known. --demo uses `?user=` and the host's demo graph instead (the host replaces
    // presence.friends_file in demo mode), so expected-delivery counts are then meaningless.
    bool demo = false;
    std::string auth_secret;                  // attach mode: the running host's host.auth_secret
    std::vector<std::string> extra_settings;  // "key = value" lines for the config file
    std::uint32_t users = 1000, friends = 100, hubs = 0, hub_friends = 5000;
    std::string graph = "uniform";
    double invisible_pct = 5, rate = 100, heartbeat_s = 20, duration_s = 10, idle_s = 3;
    std::uint32_t visible_list = 10;
    std::uint32_t connect_window = 512, sources = 0;
    double connect_timeout_s = 60, max_run_s = 120;
    bool storm = false;
    double storm_spread_s = 0;  // storm reconnects paced over this many seconds (0: at once)
    bool pin = false;
    bool plain_reads = false;  // the tool reads with recv(), not through io_uring
    std::string json_path, csv_path;
    bool keep_dir = false;
    bool check = false;  // exit 1 unless the run was complete and lossless (smoke test)
};

void usage() {
    std::fprintf(stderr,
                 "presence_load [options]\n"
                 "  --users N --friends F --graph uniform|skewed --hubs H --hub-friends K\n"
                 "  --invisible-pct P --visible-list K\n"
                 "  --rate R (status changes/s)  --heartbeat-s S  --duration S  --idle-s S\n"
                 "  --storm (drop and reconnect every user after the measured phase)\n"
                 "  --storm-spread-s S (reconnects paced evenly over S seconds; 0 = at once)\n"
                 "  --connect-window W --sources K --connect-timeout-s S --max-run-s S\n"
                 "  --pin (server on CPU 0, tool on CPU 1)\n"
                 "  --plain-reads (the tool reads with one recv() per socket, not io_uring)\n"
                 "  --host-bin PATH --plugin PATH --demo --set 'key = value'\n"
                 "  --url ws://127.0.0.1:PORT/ws [--server-pid PID] [--auth-secret S]\n"
                 "        (attach to a running host; without a secret, ?user= demo auth)\n"
                 "  --json FILE --csv FILE (append one line: rate,p50,p99,p999,max,deliv/s)\n"
                 "  --check: exit 1 unless every user connected, every expected frame arrived\n"
                 "           and no error frame or unexpected close was seen (never timing)\n"
                 "  --keep-dir: keep the temp dir (config, friends file, host log)\n");
}

bool parse(int argc, char** argv, Options* o) {
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "missing value for %s\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--users")
            o->users = std::stoul(next());
        else if (a == "--friends")
            o->friends = std::stoul(next());
        else if (a == "--graph")
            o->graph = next();
        else if (a == "--hubs")
            o->hubs = std::stoul(next());
        else if (a == "--hub-friends")
            o->hub_friends = std::stoul(next());
        else if (a == "--invisible-pct")
            o->invisible_pct = std::stod(next());
        else if (a == "--visible-list")
            o->visible_list = std::stoul(next());
        else if (a == "--rate")
            o->rate = std::stod(next());
        else if (a == "--heartbeat-s")
            o->heartbeat_s = std::stod(next());
        else if (a == "--duration")
            o->duration_s = std::stod(next());
        else if (a == "--idle-s")
            o->idle_s = std::stod(next());
        else if (a == "--storm")
            o->storm = true;
        else if (a == "--storm-spread-s")
            o->storm_spread_s = std::stod(next());
        else if (a == "--connect-window")
            o->connect_window = std::stoul(next());
        else if (a == "--sources")
            o->sources = std::stoul(next());
        else if (a == "--connect-timeout-s")
            o->connect_timeout_s = std::stod(next());
        else if (a == "--max-run-s")
            o->max_run_s = std::stod(next());
        else if (a == "--pin")
            o->pin = true;
        else if (a == "--plain-reads")
            o->plain_reads = true;
        else if (a == "--host-bin")
            o->host_bin = next();
        else if (a == "--plugin")
            o->plugin = next();
        else if (a == "--no-demo")
            o->demo = false;
        else if (a == "--set")
            o->extra_settings.push_back(next());
        else if (a == "--url")
            o->url = next();
        else if (a == "--server-pid")
            o->server_pid = std::stoi(next());
        else if (a == "--json")
            o->json_path = next();
        else if (a == "--csv")
            o->csv_path = next();
        else if (a == "--keep-dir")
            o->keep_dir = true;
        else if (a == "--check")
            o->check = true;
        else {
            usage();
            return false;
        }
    }
    if (o->graph == "skewed" && o->hubs == 0) o->hubs = 3;
    if (o->graph != "uniform" && o->graph != "skewed") {
        std::fprintf(stderr, "--graph must be uniform or skewed\n");
        return false;
    }
    if (o->users == 0 || o->heartbeat_s <= 0) return false;
    return true;
}

void pin_self(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
}

void raise_nofile() {
    rlimit rl{};
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
}

volatile sig_atomic_t g_stop = 0;
void on_signal(int) {
    g_stop = 1;
}

// Per-user client state; one connection per user (slot == user index).
struct UserState {
    std::uint64_t connect_start_ns = 0;
    bool snapshot = false;
    bool invisible = false;
    std::vector<std::uint32_t> visible_to;  // sorted; only for invisible users
    std::uint32_t gen = 0;                  // bumped on every open (stale heartbeat entries)
};

struct Beat {
    std::uint64_t due;
    std::uint32_t slot;
    std::uint32_t gen;
};

class LoadRun {
  public:
    bool ring_reads() const { return pool_.ring_reads(); }
    LoadRun(const Options& o, const pb::FriendGraph& g, pb::LoadReport& r)
        : o_(o),
          g_(g),
          r_(r),
          users_(o.users),
          pool_(o.users,
                pb::WsClientPool::Handlers{
                    [this](std::size_t s) { on_open(s); },
                    [this](std::size_t s, std::string_view t) { on_text(s, t); },
                    [this](std::size_t s, std::string_view why) { on_close(s, why); }},
                !o.plain_reads) {
        sources_ = o.sources ? o.sources : o.users / 10000 + 1;
        beat_ns_ = static_cast<std::uint64_t>(o.heartbeat_s * 1e9);
        run_deadline_ = pb::monotonic_ns() + static_cast<std::uint64_t>(o.max_run_s * 1e9);
    }

    // Paths (and REST bearer tokens) per user: minted up front so the measured phases do
    // not include client-side HMACs.
    void set_credentials(const std::string& secret) {
        paths_.resize(o_.users);
        bearers_.resize(o_.users);
        for (std::uint32_t i = 0; i < o_.users; ++i) {
#ifdef PRESENCE_LOAD_HAVE_TOKENS
            if (!secret.empty()) {
                bearers_[i] = presence_host::mint_token(
                    secret, pb::user_name(i), static_cast<std::int64_t>(time(nullptr)) + 86400);
                paths_[i] = "/ws?token=" + bearers_[i];
                continue;
            }
#else
            (void)secret;
#endif
            paths_[i] = "/ws?user=" + pb::user_name(i);
        }
    }

    void set_target(std::uint32_t dst, std::uint16_t port, pid_t server) {
        dst_ = dst;
        port_ = port;
        server_ = server;
        char host[64];
        std::snprintf(host, sizeof host, "127.0.0.1:%u", port);
        host_header_ = host;
    }

    pb::ProcSample server_sample() const {
        return server_ > 0 ? pb::sample_process(server_) : pb::ProcSample{};
    }
    void note_peak(const pb::ProcSample& s) {
        r_.rss_peak = std::max({r_.rss_peak, s.hwm_bytes, s.rss_bytes});
    }
    bool out_of_time() const {
        return g_stop || pb::monotonic_ns() >= run_deadline_;
    }

    // Connects every user (window-limited) and waits for their snapshots. Returns the number
    // of users whose snapshot arrived.
    // `spread_s` > 0 paces the attempts evenly over that many seconds (a storm "within 10 s").
    std::uint64_t connect_all(std::uint32_t window, double spread_s, pb::LatencyHistogram* hist,
                              std::uint64_t* failures, double* seconds,
                              std::vector<pb::LatencyHistogram>* by_second = nullptr) {
        snapshot_hist_ = hist;
        by_second_ = by_second;
        std::uint64_t start = pb::monotonic_ns();
        connect_all_start_ns_ = start;
        std::uint64_t deadline =
            std::min(run_deadline_, start + static_cast<std::uint64_t>(o_.connect_timeout_s * 1e9));
        std::uint32_t next = 0;
        snapshots_ = 0;
        finished_ = 0;
        std::uint64_t fail0 = connect_failures_;
        while (finished_ < o_.users && pb::monotonic_ns() < deadline && !g_stop) {
            const std::uint64_t now_ns = pb::monotonic_ns();
            const auto paced =
                spread_s > 0 ? static_cast<std::uint64_t>(static_cast<double>(now_ns - start) /
                                                          (spread_s * 1e9) * o_.users) +
                                   1
                             : std::uint64_t{o_.users};
            while (next < o_.users && next - finished_ < window && next < paced) {
                std::uint32_t i = next++;
                users_[i].snapshot = false;
                users_[i].connect_start_ns = pb::monotonic_ns();
                std::uint32_t src = (127u << 24) | (2 + i % sources_);
                if (!pool_.connect(i, src, dst_, port_, host_header_, paths_[i])) {
                    ++connect_failures_;
                    ++finished_;
                    ++r_.close_reasons[std::string("socket: ") + std::strerror(errno)];
                }
            }
            pool_.poll(1);
            send_due_heartbeats(pb::monotonic_ns());
        }
        *seconds = static_cast<double>(pb::monotonic_ns() - start) / 1e9;
        *failures = connect_failures_ - fail0 + (o_.users - finished_);
        snapshot_hist_ = nullptr;
        by_second_ = nullptr;
        return snapshots_;
    }

    // Invisible users: visibility list over REST first (only friends may be on it), then the
    // invisible status over their WebSocket. A user whose list was refused stays visible, so
    // the expected-delivery count stays exact.
    std::uint64_t make_invisible(std::mt19937_64& rng) {
        std::uint64_t done = 0;
        std::uniform_real_distribution<double> pct(0, 100);
        for (std::uint32_t i = o_.hubs; i < o_.users && !out_of_time(); ++i) {
            if (pct(rng) >= o_.invisible_pct) continue;
            if (pool_.state(i) != pb::WsClientPool::State::Open) continue;
            std::vector<std::uint32_t> list(
                g_.adj[i].begin(),
                g_.adj[i].begin() + std::min<std::size_t>(o_.visible_list, g_.adj[i].size()));
            std::string body = "{\"user_ids\":[";
            for (std::size_t k = 0; k < list.size(); ++k)
                body += (k ? ",\"" : "\"") + pb::user_name(list[k]) + "\"";
            body += "]}";
            std::string target = "/api/presence/visibility";
            if (bearers_[i].empty()) target += "?user=" + pb::user_name(i);
            const int code =
                presence::test::http_send(port_, "PUT", target, body, bearers_[i]).status;
            if (code != 200) {
                ++r_.error_codes["visibility_http_" + std::to_string(code)];
                continue;
            }
            users_[i].invisible = true;
            users_[i].visible_to = std::move(list);
            pool_.send_text(i, R"({"type":"presence_update","status":"invisible"})");
            ++done;
            pool_.poll(0);
            send_due_heartbeats(pb::monotonic_ns());
        }
        return done;
    }

    // Runs for `seconds` with status changes at `rate`/s and heartbeats every heartbeat_s.
    void drive(double seconds, double rate, bool heartbeats) {
        std::uint64_t start = pb::monotonic_ns();
        std::uint64_t end =
            std::min(run_deadline_, start + static_cast<std::uint64_t>(seconds * 1e9));
        std::uint64_t changes = 0;
        while (!g_stop) {
            std::uint64_t now = pb::monotonic_ns();
            if (now >= end) break;
            double el = static_cast<double>(now - start) / 1e9;
            auto due_changes = static_cast<std::uint64_t>(el * rate);
            // Bounded catch-up: a tool that falls behind reports a lower rate, not a burst.
            std::uint64_t budget = 4096;
            while (changes < due_changes && budget--) {
                send_change(order_[change_cursor_++ % order_.size()], now);
                ++changes;
            }
            (void)heartbeats;
            send_due_heartbeats(now);
            pool_.poll(changes < due_changes ? 0 : 1);
        }
    }

    // Lets frames in flight arrive (bounded).
    void drain(double seconds) {
        std::uint64_t end =
            std::min(run_deadline_, pb::monotonic_ns() + static_cast<std::uint64_t>(seconds * 1e9));
        while (pb::monotonic_ns() < end && !g_stop) {
            pool_.poll(5);
            send_due_heartbeats(pb::monotonic_ns());
        }
    }

    void drop_all() {
        for (std::uint32_t i = 0; i < o_.users; ++i) pool_.drop(i);
    }

    void set_order(std::mt19937_64& rng) {
        order_.resize(o_.users);
        for (std::uint32_t i = 0; i < o_.users; ++i) order_[i] = i;
        std::shuffle(order_.begin(), order_.end(), rng);
    }

    void start_measure() {
        measuring_ = true;
        measure_start_ns_ = pb::monotonic_ns();
        r_.deliveries = r_.expected_deliveries = r_.self_frames = r_.other_frames = 0;
        r_.changes_sent = r_.heartbeats_sent = r_.heartbeat_acks = 0;
        r_.fanout.reset();
    }
    void stop_measure() {
        measuring_ = false;
    }
    std::size_t open_count() const {
        return pool_.open_count();
    }

  private:
    // Every connection heartbeats heartbeat_s after it opened, then every heartbeat_s, in
    // every phase (a client that stops heartbeating is cut off after heartbeat_timeout_s).
    // All intervals are equal, so a FIFO of due times is a correct timer queue.
    void send_due_heartbeats(std::uint64_t now) {
        while (!beats_.empty() && beats_.front().due <= now) {
            Beat b = beats_.front();
            beats_.pop_front();
            // A slot reconnected since this entry was queued has a newer entry: skip stale.
            if (b.gen != users_[b.slot].gen || pool_.state(b.slot) != pb::WsClientPool::State::Open)
                continue;
            pool_.send_text(b.slot, R"({"type":"presence_heartbeat","idle":false})");
            ++r_.heartbeats_sent;
            b.due += beat_ns_;
            beats_.push_back(b);
        }
    }

    void send_change(std::uint32_t u, std::uint64_t now) {
        if (pool_.state(u) != pb::WsClientPool::State::Open || !users_[u].snapshot) return;
        static const char* kStatuses[] = {"online", "away", "dnd"};
        const char* status = users_[u].invisible ? "invisible" : kStatuses[status_cycle_++ % 3];
        char buf[160];
        int n = std::snprintf(buf, sizeof buf,
                              R"({"type":"presence_update","status":"%s","message":"t=%llu"})",
                              status, static_cast<unsigned long long>(now));
        pool_.send_text(u, std::string_view(buf, static_cast<std::size_t>(n)));
        ++r_.changes_sent;
        // Who must get a frame: every friend whose connection is live and who can see u.
        std::uint64_t expected = 0;
        if (users_[u].invisible) {
            for (auto v : users_[u].visible_to) expected += live(v);
        } else {
            for (auto v : g_.adj[u]) expected += live(v);
        }
        r_.expected_deliveries += expected;
    }
    bool live(std::uint32_t v) const {
        return users_[v].snapshot && pool_.state(v) == pb::WsClientPool::State::Open;
    }

    void on_open(std::size_t slot) {
        beats_.push_back(Beat{pb::monotonic_ns() + beat_ns_, static_cast<std::uint32_t>(slot),
                              ++users_[slot].gen});
    }

    void on_text(std::size_t slot, std::string_view text) {
        auto type = pb::json_string_field(text, "type");
        if (!type) {
            ++r_.other_frames;
            return;
        }
        if (*type == "presence") {
            std::uint64_t now = pb::monotonic_ns();
            ++r_.deliveries;
            auto t = pb::stamp_of(text);
            if (measuring_ && t && *t >= measure_start_ns_ && *t <= now)
                r_.fanout.record(static_cast<std::int64_t>(now - *t));
        } else if (*type == "presence_snapshot") {
            UserState& u = users_[slot];
            if (!u.snapshot) {
                u.snapshot = true;
                ++snapshots_;
                ++finished_;
                const auto took =
                    static_cast<std::int64_t>(pb::monotonic_ns() - u.connect_start_ns);
                if (snapshot_hist_) snapshot_hist_->record(took);
                if (by_second_) {
                    const std::size_t second =
                        (u.connect_start_ns - connect_all_start_ns_) / 1'000'000'000u;
                    if (by_second_->size() <= second) by_second_->resize(second + 1);
                    (*by_second_)[second].record(took);
                }
            }
        } else if (*type == "presence_heartbeat_ack") {
            ++r_.heartbeat_acks;
        } else if (*type == "presence_self") {
            ++r_.self_frames;
        } else if (*type == "error") {
            auto code = pb::json_string_field(text, "code");
            ++r_.error_codes[std::string(code ? *code : "?")];
        } else {
            ++r_.other_frames;
        }
    }

    void on_close(std::size_t slot, std::string_view why) {
        UserState& u = users_[slot];
        if (!u.snapshot) ++finished_;  // a connect attempt that ended without a snapshot
        if (!u.snapshot)
            ++connect_failures_;
        else
            ++r_.unexpected_closes;
        u.snapshot = false;
        ++r_.close_reasons[std::string(why)];
    }

    const Options& o_;
    const pb::FriendGraph& g_;
    pb::LoadReport& r_;
    std::vector<UserState> users_;
    pb::WsClientPool pool_;
    std::uint32_t sources_ = 1;
    std::uint32_t dst_ = 0;
    std::uint16_t port_ = 0;
    pid_t server_ = -1;
    std::string host_header_;
    std::vector<std::string> paths_, bearers_;
    std::uint64_t run_deadline_ = 0;
    pb::LatencyHistogram* snapshot_hist_ = nullptr;
    std::vector<pb::LatencyHistogram>* by_second_ = nullptr;  // storm only
    std::uint64_t connect_all_start_ns_ = 0;
    std::uint64_t snapshots_ = 0, finished_ = 0, connect_failures_ = 0;
    std::vector<std::uint32_t> order_;
    std::uint64_t change_cursor_ = 0, status_cycle_ = 0;
    std::deque<Beat> beats_;
    std::uint64_t beat_ns_ = 0;
    bool measuring_ = false;
    std::uint64_t measure_start_ns_ = 0;
};

double cpu_pct(const pb::ProcSample& a, const pb::ProcSample& b, double seconds) {
    if (!a.ok || !b.ok || seconds <= 0) return 0;
    return 100.0 * static_cast<double>(b.cpu_ns - a.cpu_ns) / 1e9 / seconds;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    if (!parse(argc, argv, &o)) return 2;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    raise_nofile();

    pb::LoadReport r;
    for (int i = 0; i < argc; ++i) r.command += (i ? " " : "") + std::string(argv[i]);
    r.graph = o.graph;
    r.users = o.users;
    r.friends = o.friends;
    r.hubs = o.hubs;
    r.hub_friends = o.hub_friends;
    r.invisible_pct = o.invisible_pct;
    r.rate = o.rate;
    r.heartbeat_s = o.heartbeat_s;
    r.duration_s = o.duration_s;
    r.pinned = o.pin;
    r.storm = o.storm;
    r.connections_target = o.users;

    pb::GraphSpec spec{o.users, o.friends, o.hubs, o.hub_friends, 1};
    pb::FriendGraph graph = pb::make_graph(spec);
    r.edges = graph.edges;

    // Throwaway directory for the friends file, the config and the host log.
    char tmpl[] = "/tmp/presence-load-XXXXXX";
    std::string dir = mkdtemp(tmpl) ? tmpl : "";
    if (dir.empty()) {
        std::fprintf(stderr, "mkdtemp failed\n");
        return 1;
    }
    struct DirGuard {
        std::string d;
        bool keep;
        ~DirGuard() {
            std::error_code ec;
            if (!keep) std::filesystem::remove_all(d, ec);
        }
    } guard{dir, o.keep_dir};

    std::unique_ptr<presence::test::HostProcess> host;
    std::uint32_t dst = (127u << 24) | 1;
    std::uint16_t port = 0;
    pid_t server_pid = o.server_pid;
    if (o.url.empty()) {
        if (o.host_bin.empty() || o.plugin.empty()) {
            std::fprintf(stderr,
                         "no presence-host/libpresence.so path: pass --host-bin/--plugin\n");
            return 1;
        }
        if (!graph.write_friends_file(dir + "/friends.txt")) {
            std::fprintf(stderr, "cannot write friends file\n");
            return 1;
        }
#ifdef PRESENCE_LOAD_HAVE_TOKENS
        if (!o.demo) {
            std::random_device rd;
            char hex[33];
            std::snprintf(hex, sizeof hex, "%08x%08x%08x%08x", rd(), rd(), rd(), rd());
            o.auth_secret = hex;
        }
#else
        o.demo = true;  // no token minting without the host's token code: demo auth
#endif
        presence::test::HostOptions ho;
        ho.executable = o.host_bin;
        ho.plugin = o.plugin;
        ho.dir = dir;  // presence.conf and host.log beside friends.txt (--keep-dir keeps them)
        ho.cpu = o.pin ? 0 : -1;
        ho.set("presence.friends_file", dir + "/friends.txt");
        // Demo runs use ?user= (any auth secret would do); token runs sign with ours.
        if (!o.auth_secret.empty()) ho.set("host.auth_secret", o.auth_secret);
        std::string extra;
        for (const auto& line : o.extra_settings) extra += line + "\n";
        ho.config_text(extra);
        if (o.demo) ho.extra_args.push_back("--demo");
        host = std::make_unique<presence::test::HostProcess>(std::move(ho));
        if (!host->start()) {
            std::fprintf(stderr, "cannot start presence-host: %s\n", host->error().c_str());
            return 1;
        }
        port = host->port();
        server_pid = host->pid();
    } else {
        unsigned a = 0, b = 0, c = 0, d = 0, p = 0;
        if (std::sscanf(o.url.c_str(), "ws://%u.%u.%u.%u:%u", &a, &b, &c, &d, &p) != 5) {
            std::fprintf(stderr, "--url must be ws://127.x.y.z:PORT/ws\n");
            return 2;
        }
        dst = (a << 24) | (b << 16) | (c << 8) | d;
        port = static_cast<std::uint16_t>(p);
    }
    if (o.pin) pin_self(1);

    std::mt19937_64 rng(42);
    LoadRun run(o, graph, r);
    r.tool_ring_reads = run.ring_reads();
    run.set_target(dst, port, server_pid);
    run.set_credentials(o.demo ? std::string() : o.auth_secret);
    run.set_order(rng);

    auto s0 = run.server_sample();
    r.rss_before = s0.rss_bytes;

    // 1. Connect everyone; snapshot latency = connect start -> presence_snapshot.
    std::uint64_t snaps =
        run.connect_all(o.connect_window, 0, &r.snapshot, &r.connect_failures, &r.connect_s);
    r.connect_rate = r.connect_s > 0 ? static_cast<double>(snaps) / r.connect_s : 0;
    auto s_conn = run.server_sample();
    if (snaps > 0 && s_conn.ok && s0.ok)
        r.connect_cpu_us_per_conn =
            static_cast<double>(s_conn.cpu_ns - s0.cpu_ns) / 1e3 / static_cast<double>(snaps);
    run.make_invisible(rng);
    run.drain(1.0);
    auto s1 = run.server_sample();
    run.note_peak(s1);
    r.rss_connected = s1.rss_bytes;
    r.connections_held = run.open_count();
    if (r.connections_held > 0 && s1.ok)
        r.rss_per_conn = (static_cast<double>(s1.rss_bytes) - static_cast<double>(s0.rss_bytes)) /
                         static_cast<double>(r.connections_held);

    // 2. Idle: no status changes, only heartbeats; the server should burn (almost) nothing.
    if (o.idle_s > 0 && !run.out_of_time()) {
        auto a = run.server_sample();
        std::uint64_t t0 = pb::monotonic_ns();
        run.drain(o.idle_s);
        auto b = run.server_sample();
        r.idle_s = static_cast<double>(pb::monotonic_ns() - t0) / 1e9;
        r.idle_cpu_pct = cpu_pct(a, b, r.idle_s);
    }

    // 3. Measured: status changes at --rate, heartbeats every --heartbeat-s.
    if (!run.out_of_time()) {
        run.start_measure();
        auto a = run.server_sample();
        auto me0 = pb::sample_process(getpid());
        std::uint64_t t0 = pb::monotonic_ns();
        run.drive(o.duration_s, o.rate, true);
        std::uint64_t t1 = pb::monotonic_ns();
        run.drain(0.5);
        auto b = run.server_sample();
        auto me1 = pb::sample_process(getpid());
        run.stop_measure();
        r.tool_cpu_pct = cpu_pct(me0, me1, static_cast<double>(pb::monotonic_ns() - t0) / 1e9);
        r.measured_s = static_cast<double>(t1 - t0) / 1e9;
        r.deliveries_per_s = static_cast<double>(r.deliveries) / r.measured_s;
        r.measure_cpu_pct = cpu_pct(a, b, static_cast<double>(pb::monotonic_ns() - t0) / 1e9);
        if (r.deliveries > 0 && a.ok && b.ok)
            r.cpu_ns_per_delivery =
                static_cast<double>(b.cpu_ns - a.cpu_ns) / static_cast<double>(r.deliveries);
        run.note_peak(b);
        r.connections_held = std::min<std::uint64_t>(r.connections_held, run.open_count());
    }

    // 4. Reconnect storm: every user drops and reconnects at once.
    if (o.storm && !run.out_of_time()) {
        run.drop_all();
        r.storm_snapshots =
            run.connect_all(std::max<std::uint32_t>(o.connect_window, o.users), o.storm_spread_s,
                            &r.storm_snapshot, &r.storm_failures, &r.storm_s, &r.storm_by_second);
        run.note_peak(run.server_sample());
    }

    auto s_end = run.server_sample();
    r.rss_end = s_end.rss_bytes;
    run.note_peak(s_end);
    print_table(r);
    std::string json = to_json(r);
    if (!o.json_path.empty()) {
        std::ofstream(o.json_path) << json << "\n";
    } else {
        std::printf("%s\n", json.c_str());
    }
    if (!o.csv_path.empty()) {
        std::ofstream csv(o.csv_path, std::ios::app);
        csv << o.rate << " " << r.fanout.quantile(0.5) / 1e6 << " " << r.fanout.quantile(0.99) / 1e6
            << " " << r.fanout.quantile(0.999) / 1e6 << " " << r.fanout.max() / 1e6 << " "
            << r.deliveries_per_s << "\n";
    }
    run.drop_all();
    std::string host_log;
    if (o.url.empty()) {
        host_log = host->output();
        if (host_log.size() > 4000) host_log = host_log.substr(host_log.size() - 4000);
        host->stop();
        if (o.keep_dir) std::fprintf(stderr, "kept %s\n", dir.c_str());
    }
    // Exit status says whether the tool itself worked (it connected and measured something),
    // never whether a performance target was met. --check adds correctness: nothing lost.
    if (o.check) {
        std::string missing;
        auto require = [&](bool held, const char* what) {
            if (!held) missing += std::string(missing.empty() ? "" : ", ") + what;
        };
        require(r.connect_failures == 0 && r.connections_held == o.users, "every user connected");
        require(r.deliveries > 0 && r.deliveries >= r.expected_deliveries,
                "every expected frame arrived");
        require(r.error_codes.empty(), "no error frame");
        require(r.unexpected_closes == 0, "no unexpected close");
        require(r.heartbeat_acks > 0, "a heartbeat acked (is --heartbeat-s shorter than the run?)");
        require(!o.storm || r.storm_snapshots == o.users, "every storm reconnect got a snapshot");
        if (!missing.empty()) {
            std::fprintf(stderr, "presence_load --check: failed: %s; host log:\n%s\n",
                         missing.c_str(), host_log.c_str());
            return 1;
        }
        return 0;
    }
    return r.connections_held > 0 ? 0 : 1;
}
