// ack_bench: what "acknowledged means durable" costs. Drives the MariaDB store the way the
// service does for a user's choice: save_user, then when_durable; the latency is from the save
// to the callback (run from pump() after the journal's wake). A steady rate for T seconds with
// MariaDB up, then T seconds with mariadbd stopped (every change only in the journal).
//
//   ack_bench [--rate CHANGES_PER_S] [--seconds T] [--users N] [--journal DIR]
// Starts a throwaway mariadbd (tests/support/mariadb_server). Prints p50/p90/p99/max per phase.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "mariadb_server.hpp"
#include "store/mariadb_store.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Wake {
    std::mutex mu;
    std::condition_variable cv;
    bool woken = false;
};

double pct(std::vector<double>& v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
    return v[i];
}

// One phase: `rate` choices/s for `seconds`; returns the save->durable latencies in ms.
std::vector<double> run_phase(presence::store::Store& store, Wake& wake,
                              std::vector<presence::core::UserRecord>& users, long rate,
                              double seconds, long* counter) {
    std::vector<double> lat;
    lat.reserve(static_cast<std::size_t>(rate * seconds) + 16);
    const auto t0 = Clock::now();
    const auto end =
        t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    long sent = 0;
    long answered = 0;
    while (Clock::now() < end) {
        const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
        const long target = static_cast<long>(elapsed * static_cast<double>(rate));
        while (sent < target) {
            auto& u = users[static_cast<std::size_t>(*counter) % users.size()];
            ++*counter;
            u.chosen = u.chosen == presence::core::Status::Away ? presence::core::Status::Dnd
                                                                : presence::core::Status::Away;
            u.message = "change " + std::to_string(*counter);
            const auto at = Clock::now();
            store.save_user(u);
            store.when_durable([&lat, &answered, at] {
                lat.push_back(std::chrono::duration<double, std::milli>(Clock::now() - at).count());
                ++answered;
            });
            ++sent;
        }
        store.pump();
        // Like a host loop: sleep until a wake or the next 1 ms pacing slot.
        std::unique_lock lk(wake.mu);
        wake.cv.wait_for(lk, std::chrono::milliseconds(1), [&] { return wake.woken; });
        wake.woken = false;
    }
    const auto drain_end = Clock::now() + std::chrono::seconds(10);
    while (answered < sent && Clock::now() < drain_end) {
        store.pump();
        std::unique_lock lk(wake.mu);
        wake.cv.wait_for(lk, std::chrono::milliseconds(1), [&] { return wake.woken; });
        wake.woken = false;
    }
    if (answered < sent)
        std::printf("  %ld of %ld changes never acknowledged\n", sent - answered, sent);
    return lat;
}

void report(const char* name, std::vector<double> lat, long rate, double seconds) {
    std::printf(
        "%-28s rate %ld/s for %.0f s: %zu acks, p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, "
        "max %.2f ms\n",
        name, rate, seconds, lat.size(), pct(lat, 0.50), pct(lat, 0.90), pct(lat, 0.99),
        pct(lat, 1.0));
}

}  // namespace

int main(int argc, char** argv) {
    long rate = 5000;
    double seconds = 10;
    long n_users = 10'000;
    std::string journal;
    for (int i = 1; i < argc; ++i) {
        const std::string k = argv[i];
        const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
        if (k == "--rate" && v) {
            rate = std::atol(v);
        } else if (k == "--seconds" && v) {
            seconds = std::atof(v);
        } else if (k == "--users" && v) {
            n_users = std::atol(v);
        } else if (k == "--journal" && v) {
            journal = v;
        } else {
            std::fprintf(stderr, "usage: %s [--rate R] [--seconds T] [--users N] [--journal DIR]\n",
                         argv[0]);
            return 2;
        }
        ++i;
    }
    presence::test::MariaDbServer server;
    std::string err;
    if (!server.start(&err) || !server.create_database("ackbench", &err)) {
        std::fprintf(stderr, "ack_bench: cannot start mariadbd: %s\n", err.c_str());
        return 1;
    }
    if (journal.empty()) journal = server.dir() + "/journal";  // same disk as the database
    Wake wake;
    presence::store::MariaDbOptions options;
    options.url = server.url("ackbench");
    options.journal_path = journal;
    auto store = presence::store::make_mariadb_store(
        options,
        [&wake] {
            std::lock_guard lk(wake.mu);
            wake.woken = true;
            wake.cv.notify_one();
        },
        [](int level, const std::string& line) {
            if (level <= 1) std::fprintf(stderr, "%s\n", line.c_str());
        },
        &err);
    if (!store) {
        std::fprintf(stderr, "ack_bench: %s\n", err.c_str());
        return 1;
    }
    std::vector<presence::core::UserRecord> users(static_cast<std::size_t>(n_users));
    for (long i = 0; i < n_users; ++i) users[i].user_id = "ack_user_" + std::to_string(i);
    std::printf("ack_bench: journal %s\n", journal.c_str());
    long counter = 0;
    report("MariaDB up", run_phase(*store, wake, users, rate, seconds, &counter), rate, seconds);
    server.stop();
    report("MariaDB stopped (journal)", run_phase(*store, wake, users, rate, seconds, &counter),
           rate, seconds);
    if (!server.restart(&err)) {
        std::fprintf(stderr, "ack_bench: mariadbd did not come back: %s\n", err.c_str());
        return 1;
    }
    const auto t = Clock::now();
    const bool flushed = store->flush(60'000);
    std::printf("after the outage: queue written in %.2f s (%s)\n",
                std::chrono::duration<double>(Clock::now() - t).count(),
                flushed ? "complete" : "INCOMPLETE");
    return flushed ? 0 : 1;
}
