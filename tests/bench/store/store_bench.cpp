// store_bench: drives the MariaDB store directly with sustained status changes and last-seen
// refreshes for N users, at a target rate, for T seconds. Prints acknowledged changes/s, rows
// written/s (the server's own Handler_write counter) and the queue depth each second, then the
// final flush; appends the figures to tests/bench/RESULTS.md under "## Store" (not with --smoke).
//
//   store_bench [--users N] [--seconds T] [--rate CHANGES_PER_S (0 = as fast as possible)]
//               [--status-every K] [--url mariadb://...] [--smoke] [--results FILE]
// Without --url it starts a throwaway mariadbd (tests/support/mariadb_server).
#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "mariadb_server.hpp"
#include "store/mariadb_store.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Args {
    long users = 10'000;
    double seconds = 10;
    long rate = 50'000;
    long status_every = 10;  // one change in K is a status change, the rest last-seen refreshes
    std::string url;
    bool smoke = false;
    std::string results = PRESENCE_BENCH_RESULTS;
    std::string command;
};

bool parse(int argc, char** argv, Args* a) {
    for (int i = 0; i < argc; ++i) a->command += (i ? " " : "") + std::string(argv[i]);
    for (int i = 1; i < argc; ++i) {
        const std::string k = argv[i];
        auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
        const char* v = nullptr;
        if (k == "--smoke") {
            a->smoke = true;
            a->users = 1000;
            a->rate = 20'000;
        } else if (k == "--users" && (v = next())) {
            a->users = std::atol(v);
        } else if (k == "--seconds" && (v = next())) {
            a->seconds = std::atof(v);
        } else if (k == "--rate" && (v = next())) {
            a->rate = std::atol(v);
        } else if (k == "--status-every" && (v = next())) {
            a->status_every = std::atol(v);
        } else if (k == "--url" && (v = next())) {
            a->url = v;
        } else if (k == "--results" && (v = next())) {
            a->results = v;
        } else {
            std::fprintf(stderr,
                         "usage: %s [--users N] [--seconds T] [--rate R] "
                         "[--status-every K] [--url URL] [--smoke] [--results FILE]\n",
                         argv[0]);
            return false;
        }
    }
    return a->users > 0 && a->seconds > 0 && a->status_every > 0;
}

// Rows the server inserted + updated so far (its own counters, independent of the store).
long long server_rows(const presence::test::MariaDbServer* server, const std::string& url) {
    (void)url;
    if (!server) return -1;
    // Handler_write counts every row an INSERT wrote or tried (an upsert of an existing row
    // counts once, its update once more in Handler_update): one per row sent.
    auto v = server->column("",
                            "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS "
                            "WHERE VARIABLE_NAME = 'HANDLER_WRITE'");
    return v.empty() ? -1 : std::atoll(v[0].c_str());
}

std::string machine() {
    utsname u{};
    uname(&u);
    std::string cpu = "unknown cpu";
    std::ifstream info("/proc/cpuinfo");
    for (std::string line; std::getline(info, line);) {
        if (line.rfind("model name", 0) == 0) {
            cpu = line.substr(line.find(':') + 2);
            break;
        }
    }
    return cpu + ", " + std::to_string(std::thread::hardware_concurrency()) + " cores, " +
           u.sysname + " " + u.release + " " + u.machine;
}

std::string today() {
    const std::time_t t = std::time(nullptr);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", std::gmtime(&t));
    return buf;
}

// Writes one run into the "## Store" section: a "### <command>" block replaced when the same
// command ran before, appended otherwise. Every other section of the file is left as it is.
void write_results(const std::string& path, const std::string& intro, const std::string& command,
                   const std::string& run) {
    std::string text;
    {
        std::ifstream in(path);
        std::stringstream ss;
        ss << in.rdbuf();
        text = ss.str();
    }
    if (text.empty()) text = "# Benchmark results\n";
    if (text.back() != '\n') text += '\n';
    std::string section;
    std::size_t start = text.find("\n## Store\n");
    std::size_t end = std::string::npos;
    if (start != std::string::npos) {
        ++start;
        end = text.find("\n## ", start);
        end = end == std::string::npos ? text.size() : end + 1;
        section = text.substr(start, end - start);
    } else {
        text += '\n';  // a blank line before the new section
        start = end = text.size();
        section = "## Store\n\n" + intro + "\n";
    }
    const std::string heading = "### `" + command + "`\n";
    const auto old = section.find(heading);
    if (old != std::string::npos) {
        auto next = section.find("\n### ", old + 1);
        next = next == std::string::npos ? section.size() : next + 1;
        section.replace(old, next - old, heading + run + "\n");
    } else {
        if (section.back() != '\n') section += '\n';
        if (section.size() < 2 || section.substr(section.size() - 2) != "\n\n") section += '\n';
        section += heading + run + "\n";
    }
    text.replace(start, end - start, section);
    std::ofstream out(path, std::ios::trunc);
    out << text;
}

}  // namespace

int main(int argc, char** argv) {
    Args args;
    if (!parse(argc, argv, &args)) return 2;

    std::unique_ptr<presence::test::MariaDbServer> server;
    std::string err;
    std::string url = args.url;
    if (url.empty()) {
        server = std::make_unique<presence::test::MariaDbServer>();
        if (!server->start(&err) || !server->create_database("bench", &err)) {
            std::fprintf(stderr, "store_bench: cannot start mariadbd: %s\n", err.c_str());
            return 1;
        }
        url = server->url("bench");
    }

    presence::store::MariaDbOptions options;
    options.url = url;
    // The journal beside the throwaway server's data (same disk), removed with it.
    if (server) options.journal_path = server->dir() + "/journal";
    auto store = presence::store::make_mariadb_store(
        options, [] {},
        [](int level, const std::string& line) {
            if (level <= 1) std::fprintf(stderr, "%s\n", line.c_str());
        },
        &err);
    if (!store) {
        std::fprintf(stderr, "store_bench: %s\n", err.c_str());
        return 1;
    }

    std::vector<presence::core::UserRecord> users(static_cast<std::size_t>(args.users));
    for (long i = 0; i < args.users; ++i) users[i].user_id = "bench_user_" + std::to_string(i);

    std::printf(
        "store_bench: %ld users, %.1f s, target %ld changes/s (0 = unthrottled), one "
        "status change in %ld\n",
        args.users, args.seconds, args.rate, args.status_every);
    std::printf("%6s %14s %14s %12s\n", "t(s)", "acked/s", "rows/s", "queue");

    const long long rows_start = server_rows(server.get(), url);
    long long rows_prev = rows_start;
    long long acked = 0, acked_prev = 0;
    std::size_t max_queue = 0;
    std::vector<std::size_t> queue_samples;
    const auto t0 = Clock::now();
    const auto end = t0 + std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(args.seconds));
    auto next_report = t0 + std::chrono::seconds(1);
    long cursor = 0;
    presence::core::Millis now_ms = 1'800'000'000'000;
    while (Clock::now() < end) {
        // Pace in slices of 1 ms so the offered load is steady, not bursty per second.
        const auto elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
        const long long target =
            args.rate > 0 ? static_cast<long long>(elapsed * args.rate) : acked + 1000;
        while (acked < target) {
            auto& u = users[static_cast<std::size_t>(cursor)];
            cursor = (cursor + 1) % args.users;
            ++now_ms;
            if (acked % args.status_every == 0) {
                u.chosen = u.chosen == presence::core::Status::Dnd ? presence::core::Status::Online
                           : u.chosen == presence::core::Status::Online
                               ? presence::core::Status::Away
                               : presence::core::Status::Dnd;
                u.message = "status " + std::to_string(acked);
            }
            u.last_seen = now_ms;
            store->save_user(u);
            ++acked;
        }
        store->pump();
        if (Clock::now() >= next_report) {
            const auto h = store->health();
            const long long rows = server_rows(server.get(), url);
            max_queue = std::max(max_queue, h.queue_depth);
            queue_samples.push_back(h.queue_depth);
            std::printf("%6.1f %14lld %14lld %12zu\n",
                        std::chrono::duration<double>(Clock::now() - t0).count(),
                        acked - acked_prev, rows >= 0 ? rows - rows_prev : -1, h.queue_depth);
            std::fflush(stdout);
            acked_prev = acked;
            rows_prev = rows;
            next_report += std::chrono::seconds(1);
        }
        if (args.rate > 0) std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    const double run_s = std::chrono::duration<double>(Clock::now() - t0).count();
    const auto flush_start = Clock::now();
    const bool flushed = store->flush(60'000);
    const double flush_s = std::chrono::duration<double>(Clock::now() - flush_start).count();
    const long long rows_total = server_rows(server.get(), url) - rows_start;
    const double acked_per_s = acked / run_s;
    const double rows_per_s = rows_total / (run_s + flush_s);

    std::printf("acknowledged: %lld changes in %.2f s = %.0f changes/s\n", acked, run_s,
                acked_per_s);
    std::printf("rows written: %lld in %.2f s (incl. final flush %.2f s) = %.0f rows/s\n",
                rows_total, run_s + flush_s, flush_s, rows_per_s);
    std::printf("queue depth: max %zu users; final flush %s\n", max_queue,
                flushed ? "complete" : "INCOMPLETE");
    if (!flushed) return 1;

    if (!args.smoke) {
        std::string samples;
        for (std::size_t i = 0; i < queue_samples.size(); ++i) {
            samples += (i ? " " : "") + std::to_string(queue_samples[i]);
        }
        const std::string intro =
            "MariaDB store write-behind (`tests/bench/store/store_bench.cpp`): sustained status "
            "changes and last-seen refreshes through `Store::save_user` at a target rate, "
            "coalesced per user and written in batched multi-row upserts by the worker thread. "
            "Acknowledged = accepted by `save_user`; rows = the server's `Handler_write`. One "
            "block per command, replaced when the same command is run again.\n";
        std::ostringstream run;
        run << "\n- machine: " << machine() << "; MariaDB "
            << (server ? "throwaway mariadbd from tests/support (innodb_flush_log_at_trx_commit=2)"
                       : "given by --url")
            << "\n"
            << "- date: " << today() << "\n"
            << "- users: " << args.users << ", target rate: " << args.rate
            << " changes/s (0 = unthrottled), one status change in " << args.status_every << "\n"
            << "- acknowledged changes: " << acked << " in " << run_s << " s = **"
            << static_cast<long long>(acked_per_s) << " changes/s**\n"
            << "- rows written: " << rows_total << " = " << static_cast<long long>(rows_per_s)
            << " rows/s (the difference was coalesced)\n"
            << "- queue depth each second (users pending): " << samples << "\n"
            << "- final flush: " << flush_s << " s, complete\n";
        // Name the tool by its file name, not by the build directory it ran from.
        std::string command = args.command;
        const std::string exe = command.substr(0, command.find(' '));
        if (const auto base = exe.rfind('/'); base != std::string::npos) command.erase(0, base + 1);
        write_results(args.results, intro, command, run.str());
        std::printf("appended to %s\n", args.results.c_str());
    }
    return 0;
}
