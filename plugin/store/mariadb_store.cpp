// The MariaDB store: the loop thread only queues work and runs finished callbacks; one worker
// thread owns the connection and does every database call; the journal's thread makes user
// choices durable before the database has them (mariadb_journal.hpp). A single worker (rather than
// a reader and a writer) is deliberate: a load then sees every write accepted before it, either
// already committed or still in the queue (which it overlays), with no race between the two.
#include "store/mariadb_store.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <string_view>
#include <thread>
#include <unordered_set>

#include "store/mariadb_connection.hpp"
#include "store/mariadb_journal.hpp"
#include "store/mariadb_schema.hpp"
#include "store/mariadb_session.hpp"
#include "store/mariadb_url.hpp"
#include "store/mariadb_write_queue.hpp"

namespace presence::store {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr auto kBackoffMin = 100ms;
constexpr auto kBackoffMax = 5000ms;
constexpr auto kLoadRetry = 3000ms;        // a load waits this long for the database to return
constexpr auto kIdlePing = 2000ms;         // an idle worker checks its connection this often
constexpr std::size_t kBatchUsers = 2048;  // users per write transaction

struct LoadJob {
    bool friends = false;
    std::vector<std::string> ids;    // unique; friends: the one user
    std::vector<std::string> asked;  // load_users: the ids in the order asked
    Store::UsersDone users_done;
    Store::FriendsDone friends_done;
    Clock::time_point deadline;
};

class MariaDbStore final : public Store {
  public:
    MariaDbStore(const MariaDbOptions& options, MariaDbUrl url, MysqlPtr conn,
                 std::function<void()> wake, std::function<void(int, const std::string&)> log,
                 std::unique_ptr<MariaDbJournal> journal, std::vector<core::UserRecord> replayed)
        : url_(std::move(url)),
          friends_query_(options.friends_query),
          wake_(std::move(wake)),
          log_(std::move(log)),
          journal_(std::move(journal)),
          queue_(options.max_queue) {
        // Acknowledged before the crash: written first, and newer than the database for loads.
        for (const auto& r : replayed) queue_.accept(r);
        journal_->seal_replayed(queue_.next_seq());
        worker_ = std::thread([this, c = std::move(conn)]() mutable { run(std::move(c)); });
    }

    ~MariaDbStore() override {
        {
            std::lock_guard lk(mu_);
            stop_ = true;
        }
        work_cv_.notify_all();
        worker_.join();
    }

    void load_users(std::vector<std::string> ids, UsersDone done) override {
        LoadJob job;
        std::unordered_set<std::string> seen;
        for (const auto& id : ids) {
            if (seen.insert(id).second) job.ids.push_back(id);
        }
        job.asked = std::move(ids);
        job.users_done = std::move(done);
        enqueue(std::move(job));
    }

    void load_friends(std::string id, FriendsDone done) override {
        LoadJob job;
        job.friends = true;
        job.ids.push_back(std::move(id));
        job.friends_done = std::move(done);
        enqueue(std::move(job));
    }

    void save_user(const core::UserRecord& record) override {
        std::string warning;
        bool journal = false;
        std::uint64_t mark = 0;
        {
            std::lock_guard lk(mu_);
            const AcceptResult result = queue_.accept(record);
            journal = result.choice_changed;
            mark = queue_.next_seq();
            dropped_unlogged_ += result.dropped;
            over_bound_unlogged_ = over_bound_unlogged_ || result.over_bound;
            // Under sustained overload every save could drop: say so at most once a second.
            const auto now = Clock::now();
            if ((dropped_unlogged_ || over_bound_unlogged_) && now >= next_overflow_log_) {
                warning = "mariadb store: write queue at its bound (" +
                          std::to_string(queue_.size()) + " users pending): dropped " +
                          std::to_string(dropped_unlogged_) + " oldest last-seen-only refresh(es)" +
                          (over_bound_unlogged_ ? "; status changes kept past the bound" : "");
                dropped_unlogged_ = 0;
                over_bound_unlogged_ = false;
                next_overflow_log_ = now + std::chrono::seconds(1);
            }
        }
        // Outside mu_: the worker never waits for an encode. Only the loop thread appends, so
        // marks reach the journal in the order the queue took them.
        if (journal) journal_->append(record, mark);
        work_cv_.notify_one();
        if (!warning.empty()) log(kLogWarn, warning);
    }

    bool holds_acks() const override { return true; }

    void when_durable(std::function<void()> done) override {
        const std::uint64_t need = journal_->last_appended();
        durable_waiters_.push_back({need, std::move(done)});
        // Already durable: no journal write will wake the loop, so ask for a pump ourselves.
        if (journal_->durable_seq() >= need && wake_) wake_();
    }

    // Friendships live in the host's table; the core keeps the cache of online users.
    void friendship_changed(bool, const std::string&, const std::string&) override {}

    void pump() override {
        std::vector<std::function<void()>> ready;
        {
            std::lock_guard lk(mu_);
            ready.swap(done_);
        }
        for (auto& callback : ready) callback();
        const std::uint64_t durable = journal_->durable_seq();
        while (!durable_waiters_.empty() && durable_waiters_.front().first <= durable) {
            auto done = std::move(durable_waiters_.front().second);
            durable_waiters_.pop_front();
            done();
        }
    }

    bool flush(long max_wait_ms) override {
        std::unique_lock lk(mu_);
        work_cv_.notify_one();
        return idle_cv_.wait_for(lk, std::chrono::milliseconds(std::max(0L, max_wait_ms)),
                                 [this] { return queue_.empty() && in_flight_ == 0; });
    }

    bool release(const std::string& id) override {
        std::lock_guard lk(mu_);
        if (queue_.find(id) || writing_.count(id)) return false;  // not durable yet
        queue_.forget(id);
        return true;
    }

    StoreHealth health() const override {
        std::lock_guard lk(mu_);
        StoreHealth h;
        h.ok = connected_ && !journal_->failing();
        h.backend = "mariadb";
        h.detail = connected_ ? "connected" : "reconnecting";
        if (journal_->failing()) h.detail += ", journal write failing (acknowledgements wait)";
        h.queue_depth = queue_.size() + in_flight_;
        return h;
    }

  private:
    void log(int level, const std::string& line) {
        if (log_) log_(level, line);
    }

    void enqueue(LoadJob job) {
        job.deadline = Clock::now() + kLoadRetry;
        {
            std::lock_guard lk(mu_);
            loads_.push_back(std::move(job));
        }
        work_cv_.notify_one();
    }

    // Called with lk held; hands a finished callback to the loop thread and wakes it.
    void deliver(std::unique_lock<std::mutex>& lk, std::function<void()> callback) {
        done_.push_back(std::move(callback));
        lk.unlock();
        if (wake_) wake_();
        lk.lock();
    }

    void answer_failed(std::unique_lock<std::mutex>& lk, LoadJob& job) {
        if (job.friends) {
            deliver(lk, [done = std::move(job.friends_done)] { done(false, {}); });
        } else {
            deliver(lk, [done = std::move(job.users_done)] { done(false, {}); });
        }
    }

    void fail_expired_loads(std::unique_lock<std::mutex>& lk) {
        const auto now = Clock::now();
        while (!loads_.empty() && loads_.front().deadline <= now) {
            LoadJob job = std::move(loads_.front());
            loads_.pop_front();
            log(kLogWarn, "mariadb store: database unreachable, a load gave up");
            answer_failed(lk, job);
        }
    }

    void lost(const MariaDbFailure& failure, std::unique_ptr<MariaDbSession>& session) {
        if (connected_) {
            log(kLogWarn, "mariadb store: connection lost (" + failure.message +
                              "), queueing writes and reconnecting");
        }
        session.reset();
        connected_ = false;
    }

    void run_load(std::unique_lock<std::mutex>& lk, std::unique_ptr<MariaDbSession>& session) {
        LoadJob job = std::move(loads_.front());
        loads_.pop_front();
        lk.unlock();
        MariaDbFailure failure;
        std::unordered_map<std::string, core::UserRecord> found;
        std::vector<std::string> friends;
        const bool ok = job.friends ? session->load_friends(job.ids.front(), &friends, &failure)
                                    : session->load_users(job.ids, &found, &failure);
        lk.lock();
        if (!ok) {
            if (mariadb_error_is_transient(failure.errno_value)) {
                lost(failure, session);
                loads_.push_front(std::move(job));  // retried after reconnecting, until deadline
                return;
            }
            log(kLogError, "mariadb store: load failed: " + failure.message);
            answer_failed(lk, job);
            return;
        }
        if (job.friends) {
            deliver(lk, [done = std::move(job.friends_done), f = std::move(friends)]() mutable {
                done(true, std::move(f));
            });
            return;
        }
        // Writes still queued are newer than the database: they win.
        std::vector<core::UserRecord> records;
        records.reserve(job.asked.size());
        for (const auto& id : job.asked) {
            if (const core::UserRecord* pending = queue_.find(id)) {
                records.push_back(*pending);
            } else if (auto it = found.find(id); it != found.end()) {
                queue_.remember_loaded(it->second);
                records.push_back(it->second);
            } else {
                core::UserRecord fresh;
                fresh.user_id = id;
                records.push_back(std::move(fresh));
            }
        }
        deliver(lk, [done = std::move(job.users_done), r = std::move(records)]() mutable {
            done(true, std::move(r));
        });
    }

    void run_write(std::unique_lock<std::mutex>& lk, std::unique_ptr<MariaDbSession>& session) {
        std::vector<PendingWrite> batch = queue_.take_batch(kBatchUsers);
        in_flight_ = batch.size();
        for (const auto& w : batch) writing_.insert(w.record.user_id);
        lk.unlock();
        MariaDbFailure failure;
        bool ok = session->write(batch, &failure);
        if (!ok && !mariadb_error_is_transient(failure.errno_value)) {
            // A row the server refuses must not block every other user forever: write one by
            // one, and drop (loudly) only the rows refused on their own.
            log(kLogError,
                "mariadb store: batch refused (" + failure.message + "), retrying row by row");
            std::vector<PendingWrite> rest;
            for (auto& w : batch) {
                if (!rest.empty()) {
                    rest.push_back(std::move(w));
                    continue;
                }
                MariaDbFailure one;
                if (session->write({w}, &one)) continue;
                if (mariadb_error_is_transient(one.errno_value)) {
                    failure = one;
                    rest.push_back(std::move(w));
                    continue;
                }
                log(kLogError, "mariadb store: dropped the write of user " + w.record.user_id +
                                   ": " + one.message);
            }
            batch = std::move(rest);
            ok = batch.empty();
        }
        lk.lock();
        in_flight_ = 0;
        writing_.clear();
        if (!ok) {
            queue_.give_back(std::move(batch));
            lost(failure, session);
        } else {
            rows_written_ += batch.size();
            // Between batches nothing is in flight: the queue alone says what is written.
            journal_->committed(queue_.oldest_unwritten());
        }
        idle_cv_.notify_all();
    }

    void run(MysqlPtr first) {
        auto session = std::make_unique<MariaDbSession>(std::move(first), friends_query_);
        auto backoff = Clock::duration(kBackoffMin);
        Clock::time_point next_attempt = Clock::now();
        std::unique_lock lk(mu_);
        while (!stop_) {
            if (!session) {
                fail_expired_loads(lk);
                if (Clock::now() < next_attempt) {
                    auto until = next_attempt;
                    if (!loads_.empty()) until = std::min(until, loads_.front().deadline);
                    work_cv_.wait_until(lk, until);
                    continue;
                }
                lk.unlock();
                std::string err;
                MysqlPtr conn = mariadb_open(url_, &err);
                lk.lock();
                if (conn) {
                    session = std::make_unique<MariaDbSession>(std::move(conn), friends_query_);
                    connected_ = true;
                    backoff = kBackoffMin;
                    log(kLogInfo, "mariadb store: reconnected, " + std::to_string(queue_.size()) +
                                      " queued user writes to go");
                } else {
                    log(kLogDebug, "mariadb store: reconnect failed: " + err);
                    next_attempt = Clock::now() + backoff;
                    backoff = std::min<Clock::duration>(backoff * 2, kBackoffMax);
                }
                continue;
            }
            if (!loads_.empty()) {
                run_load(lk, session);  // loads first: a user is waiting on them
            } else if (!queue_.empty()) {
                run_write(lk, session);
            } else {
                idle_cv_.notify_all();
                if (work_cv_.wait_for(lk, kIdlePing) == std::cv_status::timeout && session &&
                    loads_.empty() && queue_.empty() && !stop_) {
                    // Notice an outage while idle too, so health() tells the truth.
                    lk.unlock();
                    MariaDbFailure failure;
                    const bool alive = session->ping(&failure);
                    lk.lock();
                    if (!alive) lost(failure, session);
                }
            }
        }
    }

    const MariaDbUrl url_;
    const std::string friends_query_;
    const std::function<void()> wake_;
    const std::function<void(int, const std::string&)> log_;
    // Destroyed after the worker (declared before it): the worker reports commits to it.
    std::unique_ptr<MariaDbJournal> journal_;
    // Loop thread: acknowledgements waiting for the journal (seq needed, callback).
    std::deque<std::pair<std::uint64_t, std::function<void()>>> durable_waiters_;

    mutable std::mutex mu_;
    std::condition_variable work_cv_;  // worker: work arrived or stop
    std::condition_variable idle_cv_;  // flush(): a batch finished
    MariaDbWriteQueue queue_;
    std::size_t in_flight_ = 0;
    std::unordered_set<std::string> writing_;  // users of the batch being written (release())
    std::deque<LoadJob> loads_;
    std::vector<std::function<void()>> done_;
    bool connected_ = true;
    bool stop_ = false;
    std::uint64_t rows_written_ = 0;
    std::size_t dropped_unlogged_ = 0;
    bool over_bound_unlogged_ = false;
    Clock::time_point next_overflow_log_{};
    std::thread worker_;  // last: started once everything above exists
};

// A friends_query must take exactly one parameter and return at least one column.
bool check_friends_query(MYSQL* conn, const std::string& sql,
                         const std::function<void(int, const std::string&)>& log,
                         std::string* err) {
    std::string why;
    unsigned errno_value = 0;
    StmtPtr stmt = mariadb_prepare(conn, sql, &why, &errno_value);
    if (!stmt) {
        // The host's table may be created after the plugin starts; anything else is a mistake.
        if (errno_value == 1146 /* ER_NO_SUCH_TABLE */) {
            if (log) log(kLogWarn, "presence.friends_query: " + why);
            return true;
        }
        *err = "presence.friends_query: " + why;
        return false;
    }
    if (mysql_stmt_param_count(stmt.get()) != 1 || mysql_stmt_field_count(stmt.get()) < 1) {
        *err = "presence.friends_query: needs exactly one '?' (the user id) and a result column";
        return false;
    }
    return true;
}

std::uint64_t fnv1a(std::string_view s) {
    std::uint64_t h = 1469598103934665603ull;
    for (const char c : s) {
        h ^= static_cast<unsigned char>(c);
        h *= 1099511628211ull;
    }
    return h;
}

// Where the database lives, without credentials: the journal's OWNER.
std::string database_identity(const MariaDbUrl& url) {
    const std::string where =
        url.socket.empty() ? url.host + ":" + std::to_string(url.port) : "socket:" + url.socket;
    return where + "/" + url.database;
}

}  // namespace

std::string default_journal_dir(const MariaDbUrl& url) {
    std::string base;
    if (const char* state = std::getenv("STATE_DIRECTORY"); state && *state) {
        base = state;  // systemd StateDirectory=; several are ':'-separated, take the first
        base = base.substr(0, base.find(':'));
    } else if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg && *xdg) {
        base = xdg;
    } else if (const char* home = std::getenv("HOME"); home && *home) {
        base = std::string(home) + "/.local/state";
    } else {
        return "";
    }
    std::string name;
    for (const char c : url.database) {
        const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                           (c >= '0' && c <= '9') || c == '_' || c == '-';
        name += plain ? c : '_';
    }
    char hash[17];
    std::snprintf(hash, sizeof hash, "%016llx",
                  static_cast<unsigned long long>(fnv1a(database_identity(url))));
    return base + "/presence/journal-" + name + "-" + hash;
}

std::unique_ptr<Store> make_mariadb_store(const MariaDbOptions& options, std::function<void()> wake,
                                          std::function<void(int, const std::string&)> log,
                                          std::string* err) {
    std::string why;
    auto url = parse_mariadb_url(options.url, &why);
    if (!url) {
        if (err) *err = why;
        return nullptr;
    }
    MysqlPtr conn = mariadb_open(*url, &why);
    if (!conn) {
        if (err) *err = "presence.db_url: cannot connect to MariaDB: " + why;
        return nullptr;
    }
    if (!mariadb_migrate(conn.get(), &why)) {
        if (err) *err = "presence.db_url: schema migration failed: " + why;
        return nullptr;
    }
    MariaDbOptions opts = options;
    if (opts.friends_query.empty()) {
        opts.friends_query = "SELECT friend_id FROM friendships WHERE user_id = ?";
    }
    if (opts.max_queue == 0) opts.max_queue = 1;
    if (!check_friends_query(conn.get(), opts.friends_query, log, &why)) {
        if (err) *err = why;
        return nullptr;
    }
    // The journal once the database is known to be right (a wrong password creates no
    // directory); its records go into the queue before the worker starts, so every load sees
    // what the last run acknowledged.
    JournalOptions jopts;
    jopts.dir = options.journal_path.empty() ? default_journal_dir(*url) : options.journal_path;
    if (jopts.dir.empty()) {
        if (err) {
            *err =
                "presence.journal_path: not set, and no STATE_DIRECTORY, XDG_STATE_HOME or "
                "HOME to put the default under";
        }
        return nullptr;
    }
    jopts.owner = database_identity(*url);
    jopts.wake = wake;
    jopts.log = log;
    std::vector<core::UserRecord> replayed;
    auto journal = MariaDbJournal::open(std::move(jopts), &replayed, &why);
    if (!journal) {
        if (err) *err = why;
        return nullptr;
    }
    return std::make_unique<MariaDbStore>(opts, std::move(*url), std::move(conn), std::move(wake),
                                          std::move(log), std::move(journal), std::move(replayed));
}

}  // namespace presence::store
