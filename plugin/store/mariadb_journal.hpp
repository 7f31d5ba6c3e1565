// The MariaDB store's local journal: what makes an acknowledged choice durable before the
// database has it. Every change of a user's status, message, until or visibility is appended
// here (loop thread: an in-memory append), written and fsynced by the journal's own thread
// (group commit: the records that arrive during one write+fsync go into the next), and only
// then acknowledged (durable_seq, then `wake`). Records are kept until the database has
// committed them (committed()), then their segment file is deleted or truncated; at start the
// records still there are replayed into the write queue.
//
// Files in the directory: LOCK (flock: one process per journal), OWNER (the database the
// records belong to), journal-<n>.log segments (mariadb_journal_codec.hpp frames). A torn or
// corrupt frame ends the replay of its segment, with a log line saying where.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/types.hpp"

namespace presence::store {

struct JournalOptions {
    std::string dir;    // created when missing
    std::string owner;  // the database the records are for, e.g. "127.0.0.1:3306/app"
    std::function<void()> wake;
    std::function<void(int, const std::string&)> log;
};

struct JournalStats {
    std::uint64_t bytes = 0;     // on disk, every segment
    std::uint64_t segments = 0;  // files, the active one included
};

class MariaDbJournal {
  public:
    // Locks and reads the directory. The records found (oldest first) are appended to
    // *replayed; call seal_replayed once they are in the write queue. nullptr + *err naming
    // presence.journal_path when the directory cannot be created, locked or read.
    static std::unique_ptr<MariaDbJournal> open(JournalOptions options,
                                                std::vector<core::UserRecord>* replayed,
                                                std::string* err);
    ~MariaDbJournal();  // writes and fsyncs what is still buffered
    MariaDbJournal(const MariaDbJournal&) = delete;
    MariaDbJournal& operator=(const MariaDbJournal&) = delete;

    // The replayed records are committed once the write queue's watermark reaches `mark`.
    void seal_replayed(std::uint64_t mark);

    // Loop thread only. Buffers the record; it is durable once durable_seq() reaches the
    // returned number. `mark`: committed once committed() reports a watermark >= mark.
    std::uint64_t append(const core::UserRecord& record, std::uint64_t mark);
    std::uint64_t last_appended() const { return appended_; }
    std::uint64_t durable_seq() const { return durable_.load(std::memory_order_acquire); }

    // Any thread: every record whose mark <= watermark is in the database.
    void committed(std::uint64_t watermark);

    // Waits until everything appended is durable (destroy, tests).
    bool sync(long max_wait_ms);

    JournalStats stats() const;
    // The last write or sync failed (disk full, I/O error): acknowledgements are waiting.
    bool failing() const { return failing_.load(std::memory_order_relaxed); }
    const std::string& dir() const { return dir_; }

  private:
    struct Key {};  // only open() constructs

  public:
    MariaDbJournal(Key, JournalOptions options, int lock_fd);

  private:
    struct Segment {
        std::uint64_t number = 0;
        std::uint64_t mark = 0;  // committed once the watermark reaches it
        std::uint64_t bytes = 0;
        bool replayed = false;  // found at start: committed once replay_mark_ is
    };
    bool open_active(std::uint64_t number, std::string* err);
    std::string path_of(std::uint64_t number) const;
    void run();
    bool write_out(const std::string& data);
    void release(std::uint64_t watermark, std::uint64_t replay_mark);
    void log(int level, const std::string& line) const {
        if (log_) log_(level, line);
    }

    const std::string dir_;
    const std::function<void()> wake_;
    const std::function<void(int, const std::string&)> log_;
    int lock_fd_ = -1;

    // Loop thread.
    std::uint64_t appended_ = 0;
    std::string scratch_;

    // Shared, under mu_.
    mutable std::mutex mu_;
    std::condition_variable cv_;       // journal thread: records, a watermark or stop
    std::condition_variable synced_;   // sync(): a write+fsync finished
    std::string buf_;                  // frames not yet written
    std::uint64_t buf_last_seq_ = 0;   // seq of the last frame in buf_
    std::uint64_t buf_last_mark_ = 0;  // its mark
    std::uint64_t watermark_ = 0;
    std::uint64_t replay_mark_ = std::numeric_limits<std::uint64_t>::max();
    bool stop_ = false;
    std::atomic<std::uint64_t> durable_{0};
    std::atomic<std::uint64_t> disk_bytes_{0};
    std::atomic<std::uint64_t> disk_segments_{0};
    std::atomic<bool> failing_{false};

    // Journal thread (and open/destructor, when it is not running).
    int fd_ = -1;
    Segment active_;
    std::deque<Segment> sealed_;  // oldest first
    std::thread thread_;          // last: started once everything above exists
};

}  // namespace presence::store
