// Memory per distinct user through a real presence-host with the MariaDB store: many distinct
// users connect once (snapshot) and leave. RSS of the host at steady state (after a warm-up
// crowd came and went and was evicted) against RSS after the run (once evicted again).
// Prints figures; with --check it also fails when users stay in memory or a connect failed
// (a functional check for CI, never a timing).
//
// distinct_users [--users N] [--warmup W] [--threads T] [--evict-after-s S]
//                [--report-every K] [--check]
// Friendships: a ring (user i and i+1), so each snapshot loads two friends' records too.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "host_process.hpp"
#include "http_client.hpp"
#include "mariadb_server.hpp"
#include "token.hpp"
#include "ws_client.hpp"

using namespace presence::test;
using namespace std::chrono_literals;

namespace {

struct Options {
    long users = 20000;
    long warmup = 5000;
    int threads = 4;
    int evict_after_s = 1;
    long report_every = 0;
    bool check = false;
};

long rss_kib(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
    }
    return -1;
}

std::string uid(const char* prefix, long i) {
    return std::string(prefix) + std::to_string(i);
}

long long metric(HostProcess& host, const std::string& token, const std::string& name) {
    const auto r = http_get(host.port(), host.http_prefix() + "/metrics", token);
    const auto at = r.body.find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    return std::atoll(r.body.c_str() + at + name.size() + 2);
}

// Ring friendships of users prefix0..prefix(n-1), in statements of 5,000 rows.
bool insert_ring(MariaDbServer& db, const std::string& name, const char* prefix, long n) {
    std::vector<std::string> sql;
    std::string stmt;
    long rows = 0;
    for (long i = 0; i < n; ++i) {
        const std::string a = uid(prefix, i), b = uid(prefix, (i + 1) % n);
        stmt += (rows ? "," : "INSERT IGNORE INTO friendships VALUES ");
        stmt += "('" + a + "','" + b + "'),('" + b + "','" + a + "')";
        rows += 2;
        if (rows >= 5000 || i + 1 == n) {
            sql.push_back(std::move(stmt));
            stmt.clear();
            rows = 0;
        }
    }
    std::string err;
    if (!db.exec(name, sql, &err)) {
        std::fprintf(stderr, "insert friendships: %s\n", err.c_str());
        return false;
    }
    return true;
}

struct Crowd {
    std::atomic<long> done{0};
    std::atomic<long> failed{0};
    std::atomic<long> rss_quarter_kib{0};  // host RSS a quarter into the crowd
};

// Every user of prefix0..prefix(n-1) connects once, reads its snapshot and closes.
void run_crowd(HostProcess& host, const std::string& secret, const char* prefix, long n,
               int threads, Crowd& crowd, long report_every) {
    std::atomic<long> next{0};
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&] {
            for (long i = next++; i < n; i = next++) {
                const std::string token =
                    presence_host::mint_token(secret, uid(prefix, i), 4'102'444'800);
                WsClient ws;
                const bool ok = ws.connect(host.port(), "/ws?token=" + token) &&
                                ws.read_until_type("presence_snapshot").valid();
                if (!ok) ++crowd.failed;
                ws.send_close();
                const long d = ++crowd.done;
                if (d == n / 4) crowd.rss_quarter_kib = rss_kib(host.pid());
                if (report_every > 0 && d % report_every == 0) {
                    const double s =
                        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
                            .count();
                    std::printf("  %ld users, %.0f s, %.0f/s, host RSS %.1f MiB\n", d, s, d / s,
                                rss_kib(host.pid()) / 1024.0);
                    std::fflush(stdout);
                }
            }
        });
    }
    for (auto& th : pool) th.join();
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&] { return i + 1 < argc ? std::atol(argv[++i]) : -1L; };
        if (a == "--users")
            o.users = next();
        else if (a == "--warmup")
            o.warmup = next();
        else if (a == "--threads")
            o.threads = static_cast<int>(next());
        else if (a == "--evict-after-s")
            o.evict_after_s = static_cast<int>(next());
        else if (a == "--report-every")
            o.report_every = next();
        else if (a == "--check")
            o.check = true;
        else {
            std::fprintf(stderr, "unknown option %s\n", a.c_str());
            return 2;
        }
    }
    if (o.users < 3 || o.warmup < 3 || o.threads < 1 || o.evict_after_s < 0) return 2;

    MariaDbServer db;
    std::string err;
    if (!db.start(&err)) {
        std::fprintf(stderr, "cannot start mariadbd: %s\n", err.c_str());
        return 1;
    }
    const std::string name = "distinct";
    if (!db.create_database(name, &err) ||
        !db.exec(name,
                 {"CREATE TABLE friendships (user_id VARCHAR(64) NOT NULL, friend_id VARCHAR(64) "
                  "NOT NULL, PRIMARY KEY (user_id, friend_id))"},
                 &err)) {
        std::fprintf(stderr, "database: %s\n", err.c_str());
        return 1;
    }
    if (!insert_ring(db, name, "w", o.warmup) || !insert_ring(db, name, "d", o.users)) return 1;

    HostOptions ho;
    ho.set("presence.db_url", db.url(name));
    ho.set("presence.offline_grace_s", "0");
    ho.set("presence.evict_after_s", std::to_string(o.evict_after_s));
    HostProcess host(ho);
    if (!host.start()) {
        std::fprintf(stderr, "host: %s\n", host.error().c_str());
        return 1;
    }
    const std::string secret = HostProcess::kDefaultSecret;  // HostProcess's default
    const std::string ops = host.admin_token();  // GET /metrics is for operators (SPEC 6)
    auto settle = [&] {
        // Until every user record has left (evict_after_s, then batches on the tick). A long
        // evict_after_s is the "no eviction" baseline: only a short pause then.
        const int wait_s = o.evict_after_s > 600 ? 1 : o.evict_after_s + 60;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_s);
        long long loaded = -1;
        while (std::chrono::steady_clock::now() < deadline) {
            loaded = metric(host, ops, "presence_loaded_users");
            if (loaded == 0) break;
            std::this_thread::sleep_for(200ms);
        }
        std::this_thread::sleep_for(500ms);
        return loaded;
    };

    const long rss_start = rss_kib(host.pid());
    Crowd warm;
    run_crowd(host, secret, "w", o.warmup, o.threads, warm, 0);
    const long long warm_left = settle();
    const long rss_steady = rss_kib(host.pid());

    Crowd run;
    const auto t0 = std::chrono::steady_clock::now();
    run_crowd(host, secret, "d", o.users, o.threads, run, o.report_every);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const long rss_peak_after_run = rss_kib(host.pid());
    const long long left = settle();
    const long rss_after = rss_kib(host.pid());
    const long long evicted = metric(host, ops, "presence_users_evicted_total");
    const long long slots = metric(host, ops, "presence_user_slots");

    const double per_user = (rss_after - rss_steady) * 1024.0 / static_cast<double>(o.users);
    std::printf(
        "distinct_users: %ld distinct users (ring friendships, MariaDB store, evict_after_s %d), "
        "%d client threads, %.1f s (%.0f users/s), %ld failed\n",
        o.users, o.evict_after_s, o.threads, secs, o.users / secs, run.failed.load());
    std::printf(
        "  host RSS: start %.1f MiB, steady (after %ld warm-up users, evicted) %.1f MiB, "
        "a quarter into the run %.1f MiB, right after the run %.1f MiB, after eviction %.1f MiB "
        "(%+.1f %% vs steady, %+.1f %% vs a quarter in, %+.1f B per distinct user); loaded "
        "users left %lld (warm-up %lld), user slots %lld, evicted in total %lld\n",
        rss_start / 1024.0, o.warmup, rss_steady / 1024.0, run.rss_quarter_kib / 1024.0,
        rss_peak_after_run / 1024.0, rss_after / 1024.0,
        100.0 * (rss_after - rss_steady) / rss_steady,
        100.0 * (rss_after - run.rss_quarter_kib) / static_cast<double>(run.rss_quarter_kib),
        per_user, left, warm_left, slots, evicted);
    std::printf(
        "{\"users\":%ld,\"seconds\":%.1f,\"failed\":%ld,\"rss_steady_kib\":%ld,"
        "\"rss_quarter_kib\":%ld,\"rss_after_run_kib\":%ld,\"rss_after_evict_kib\":%ld,\"bytes_per_"
        "user\":%.1f,"
        "\"loaded_left\":%lld}\n",
        o.users, secs, run.failed.load() + warm.failed.load(), rss_steady,
        run.rss_quarter_kib.load(), rss_peak_after_run, rss_after, per_user, left);
    host.stop();
    if (o.check && (left != 0 || warm_left != 0 || slots != 0 || run.failed + warm.failed != 0)) {
        std::fprintf(stderr, "distinct_users: FAILED (users left in memory or connects failed)\n");
        return 1;
    }
    return 0;
}
