#include "friendship_table.hpp"

#include "presence_plugin.h"
#include "store/mariadb_connection.hpp"
#include "store/mariadb_url.hpp"

namespace presence_host {

using presence::store::MariaDbParams;
using presence::store::MariaDbUrl;
using presence::store::MysqlPtr;

struct FriendshipTable::Impl {
    MariaDbUrl url;
    std::string table;
    std::function<void()> wake;
    MysqlPtr conn;  // the worker's, once started

    std::mutex mu;
    std::condition_variable work_cv;
    std::deque<Written> queue;  // submitted, not written yet
    std::vector<Written> finished;
    uint64_t next_ticket = 1;
    bool stop = false;
    std::thread worker;

    // One batch in one transaction; false with the reason (the connection may be gone).
    bool write(const std::vector<AdminOp>& ops, std::string& error, unsigned& errno_out) {
        if (!conn) {
            std::string why;
            conn = presence::store::mariadb_open(url, &why);
            if (!conn) {
                error = "cannot connect: " + why;
                errno_out = 2003;
                return false;
            }
        }
        MYSQL* c = conn.get();
        const std::string add =
            "INSERT IGNORE INTO " + table + " (user_id, friend_id) VALUES (?, ?), (?, ?)";
        const std::string remove = "DELETE FROM " + table +
                                   " WHERE (user_id = ? AND friend_id = ?)"
                                   " OR (user_id = ? AND friend_id = ?)";
        auto stmt_add = presence::store::mariadb_prepare(c, add, &error, &errno_out);
        if (!stmt_add) return false;
        auto stmt_remove = presence::store::mariadb_prepare(c, remove, &error, &errno_out);
        if (!stmt_remove) return false;
        if (!presence::store::mariadb_exec(c, "START TRANSACTION", &error)) {
            errno_out = mysql_errno(c);
            return false;
        }
        for (const AdminOp& op : ops) {
            MariaDbParams params(4);
            params.text(0, op.a);
            params.text(1, op.b);
            params.text(2, op.b);
            params.text(3, op.a);
            MYSQL_STMT* stmt =
                op.op == PRESENCE_FRIENDSHIP_ADD ? stmt_add.get() : stmt_remove.get();
            if (!params.execute(stmt, &error, &errno_out)) {
                presence::store::mariadb_exec(c, "ROLLBACK", nullptr);
                return false;
            }
        }
        if (!presence::store::mariadb_exec(c, "COMMIT", &error)) {
            errno_out = mysql_errno(c);
            return false;
        }
        return true;
    }

    void run() {
        std::unique_lock lock(mu);
        for (;;) {
            work_cv.wait(lock, [this] { return stop || !queue.empty(); });
            if (queue.empty()) return;  // stopping, and everything submitted is written
            Written job = std::move(queue.front());
            queue.pop_front();
            lock.unlock();
            // A connection lost since the last batch (idle timeout, server restart) is
            // reopened once; a second failure is the answer.
            for (int attempt = 0; attempt < 2; ++attempt) {
                unsigned errno_value = 0;
                job.error.clear();
                job.ok = write(job.ops, job.error, errno_value);
                if (job.ok || !presence::store::mariadb_error_is_transient(errno_value)) break;
                conn.reset();
            }
            lock.lock();
            finished.push_back(std::move(job));
            lock.unlock();
            if (wake) wake();
            lock.lock();
        }
    }
};

bool FriendshipTable::valid_table_name(const std::string& name) {
    if (name.empty() || name.size() > 64) return false;
    for (const char c : name) {
        const bool ok =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        if (!ok) return false;
    }
    return true;
}

std::unique_ptr<FriendshipTable> FriendshipTable::open(const std::string& db_url,
                                                       const std::string& table,
                                                       std::function<void()> wake,
                                                       std::string& error) {
    if (!valid_table_name(table)) {
        error = "host.friendships_table must be 1-64 characters of [A-Za-z0-9_]";
        return nullptr;
    }
    std::string why;
    auto url = presence::store::parse_mariadb_url(db_url, &why);
    if (!url) {
        error = why;  // names presence.db_url
        return nullptr;
    }
    auto impl = std::make_unique<Impl>();
    impl->url = std::move(*url);
    impl->table = table;
    impl->wake = std::move(wake);
    impl->conn = presence::store::mariadb_open(impl->url, &why);
    if (!impl->conn) {
        error = "presence.db_url: the friendships table cannot be written: " + why;
        return nullptr;
    }
    // The host application's table, as the plugin's default presence.friends_query reads it.
    if (!presence::store::mariadb_exec(impl->conn.get(),
                                       "CREATE TABLE IF NOT EXISTS " + table +
                                           " (user_id VARCHAR(64) NOT NULL, friend_id VARCHAR(64)"
                                           " NOT NULL, PRIMARY KEY (user_id, friend_id),"
                                           " KEY (friend_id))",
                                       &why)) {
        error = "host.friendships_table: cannot create " + table + ": " + why;
        return nullptr;
    }
    Impl* raw = impl.get();
    impl->worker = std::thread([raw] { raw->run(); });
    return std::unique_ptr<FriendshipTable>(new FriendshipTable(std::move(impl)));
}

FriendshipTable::FriendshipTable(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

FriendshipTable::~FriendshipTable() {
    {
        std::lock_guard lock(impl_->mu);
        impl_->stop = true;
    }
    impl_->work_cv.notify_all();
    impl_->worker.join();
}

uint64_t FriendshipTable::submit(std::vector<AdminOp> ops) {
    std::lock_guard lock(impl_->mu);
    Written job;
    job.ticket = impl_->next_ticket++;
    job.ops = std::move(ops);
    const uint64_t ticket = job.ticket;
    impl_->queue.push_back(std::move(job));
    impl_->work_cv.notify_one();
    return ticket;
}

std::vector<FriendshipTable::Written> FriendshipTable::take_finished() {
    std::lock_guard lock(impl_->mu);
    std::vector<Written> out;
    out.swap(impl_->finished);
    return out;
}

}  // namespace presence_host
