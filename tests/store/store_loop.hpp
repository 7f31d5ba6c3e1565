// Test helpers: a stand-in for the host loop (wake -> pump on the test thread) and the shared
// throwaway server started by mariadb_main.cpp.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "mariadb_server.hpp"
#include "store/mariadb_store.hpp"

namespace presence::test {

// The server every suite in this binary shares (one mariadbd start per run).
MariaDbServer& server();
// A fresh empty database with a unique name, granted to the test user.
std::string fresh_database(const std::string& prefix);

class StoreLoop {
  public:
    std::function<void()> wake() {
        return [this] {
            std::lock_guard lk(mu_);
            woken_ = true;
            ++wakes_;
            cv_.notify_all();
        };
    }

    // Runs pump() whenever woken, like a host loop, until `done()` or `timeout` passes.
    bool run_until(store::Store& s, const std::function<bool()>& done,
                   std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            s.pump();
            if (done()) return true;
            std::unique_lock lk(mu_);
            if (!cv_.wait_until(lk, deadline, [this] { return woken_; })) {
                lk.unlock();
                s.pump();
                return done();
            }
            woken_ = false;
        }
    }

    // Waits for a wake-up without pumping (to show that callbacks wait for pump()).
    bool wait_woken(std::chrono::milliseconds timeout) {
        std::unique_lock lk(mu_);
        const bool woken = cv_.wait_for(lk, timeout, [this] { return woken_; });
        woken_ = false;
        return woken;
    }

    // Polls a condition that does not come with a wake-up (e.g. health after an outage).
    bool poll_until(store::Store& s, const std::function<bool()>& done,
                    std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            s.pump();
            if (done()) return true;
            std::unique_lock lk(mu_);
            cv_.wait_for(lk, std::chrono::milliseconds(20));
        }
        return done();
    }

    std::unique_ptr<store::Store> open(const std::string& database, std::string* err,
                                       const std::string& friends_query = "",
                                       std::size_t max_queue = 1'000'000) {
        store::MariaDbOptions options;
        options.url = server().url(database);
        options.friends_query = friends_query;
        options.max_queue = max_queue;
        // A journal of its own for every store opened (two stores on one database are two
        // instances), kept with the throwaway server's data.
        static std::atomic<int> journals{0};
        options.journal_path =
            server().dir() + "/journal-" + database + "-" + std::to_string(++journals);
        return store::make_mariadb_store(options, wake(), {}, err);
    }

    std::optional<std::vector<core::UserRecord>> load_users(store::Store& s,
                                                            std::vector<std::string> ids) {
        bool finished = false, ok = false;
        std::vector<core::UserRecord> out;
        s.load_users(std::move(ids), [&](bool k, std::vector<core::UserRecord> r) {
            finished = true;
            ok = k;
            out = std::move(r);
        });
        if (!run_until(s, [&] { return finished; }) || !ok) return std::nullopt;
        return out;
    }

    std::optional<std::vector<std::string>> load_friends(store::Store& s, const std::string& id) {
        bool finished = false, ok = false;
        std::vector<std::string> out;
        s.load_friends(id, [&](bool k, std::vector<std::string> r) {
            finished = true;
            ok = k;
            out = std::move(r);
        });
        if (!run_until(s, [&] { return finished; }) || !ok) return std::nullopt;
        return out;
    }

  private:
    std::mutex mu_;
    std::condition_variable cv_;
    bool woken_ = false;
    std::size_t wakes_ = 0;
};

}  // namespace presence::test
