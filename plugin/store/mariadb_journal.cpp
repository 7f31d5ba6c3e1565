#include "store/mariadb_journal.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>

#include "store/mariadb_journal_codec.hpp"
#include "store/store.hpp"

namespace presence::store {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A segment this large is closed and a new one begun, so that under steady load the journal
// keeps about two segments: one being committed to the database, one being written. Small, so
// that committed records do not linger (at 5,000 changes/s of ~100-byte records a segment lasts
// about 8 s), and large enough that the directory sync of a new segment is rare.
constexpr std::uint64_t kSegmentBytes = 4u << 20;
constexpr auto kRetryAfterError = 100ms;
constexpr auto kSyncInterval = 2ms;

std::string errno_text() {
    return std::strerror(errno);
}

bool read_file(const std::string& path, std::string* out) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    out->clear();
    char chunk[65536];
    for (;;) {
        const ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            ::close(fd);
            return false;
        }
        if (n == 0) break;
        out->append(chunk, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return true;
}

bool write_all(int fd, const char* p, std::size_t n) {
    while (n > 0) {
        const ssize_t w = ::write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        p += w;
        n -= static_cast<std::size_t>(w);
    }
    return true;
}

// Makes the creation or removal of a file in `dir` survive a power loss.
void sync_dir(const std::string& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    ::fsync(fd);
    ::close(fd);
}

// "journal-<n>.log" -> n, or 0 when the name is not a segment's.
std::uint64_t segment_number(const std::string& name) {
    constexpr std::string_view prefix = "journal-", suffix = ".log";
    if (name.size() <= prefix.size() + suffix.size() || name.rfind(prefix, 0) != 0 ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
        return 0;
    }
    const std::string digits =
        name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (ec != std::errc{} || end != digits.data() + digits.size()) return 0;
    return n;
}

}  // namespace

MariaDbJournal::MariaDbJournal(Key, JournalOptions options, int lock_fd)
    : dir_(std::move(options.dir)),
      wake_(std::move(options.wake)),
      log_(std::move(options.log)),
      lock_fd_(lock_fd) {}

std::string MariaDbJournal::path_of(std::uint64_t number) const {
    char name[48];
    std::snprintf(name, sizeof name, "journal-%020llu.log",
                  static_cast<unsigned long long>(number));
    return dir_ + "/" + name;
}

std::unique_ptr<MariaDbJournal> MariaDbJournal::open(JournalOptions options,
                                                     std::vector<core::UserRecord>* replayed,
                                                     std::string* err) {
    const std::string where = "presence.journal_path: " + options.dir + ": ";
    std::error_code ec;
    fs::create_directories(options.dir, ec);
    if (ec) {
        *err = where + "cannot create the directory: " + ec.message();
        return nullptr;
    }
    const std::string lock_path = options.dir + "/LOCK";
    const int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd < 0) {
        *err = where + "cannot open " + lock_path + ": " + errno_text();
        return nullptr;
    }
    if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
        const bool busy = errno == EWOULDBLOCK;
        *err = where + (busy ? "in use by another process (LOCK is held): every instance needs "
                               "a journal directory of its own"
                             : "cannot lock " + lock_path + ": " + errno_text());
        ::close(lock_fd);
        return nullptr;
    }
    // From here the object owns lock_fd (its destructor closes it).
    auto j = std::make_unique<MariaDbJournal>(Key{}, options, lock_fd);

    // The records belong to one database: replaying them into another would be wrong.
    const std::string owner_path = j->dir_ + "/OWNER";
    std::string owner;
    if (read_file(owner_path, &owner) && !owner.empty()) {
        if (owner != options.owner) {
            *err = where + "holds the journal of " + owner + ", not of " + options.owner +
                   " (a journal directory serves one database)";
            return nullptr;
        }
    } else {
        const int fd = ::open(owner_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || !write_all(fd, options.owner.data(), options.owner.size()) ||
            ::fsync(fd) != 0) {
            *err = where + "cannot write " + owner_path + ": " + errno_text();
            if (fd >= 0) ::close(fd);
            return nullptr;
        }
        ::close(fd);
        sync_dir(j->dir_);
    }

    std::map<std::uint64_t, std::string> files;
    for (const auto& entry : fs::directory_iterator(j->dir_, ec)) {
        const std::string name = entry.path().filename().string();
        if (const auto n = segment_number(name)) files.emplace(n, entry.path().string());
    }
    if (ec) {
        *err = where + "cannot list the directory: " + ec.message();
        return nullptr;
    }
    std::uint64_t last_number = 0;
    std::size_t records = 0;
    std::string data;
    for (const auto& [number, path] : files) {
        last_number = number;
        if (!read_file(path, &data)) {
            *err = where + "cannot read " + path + ": " + errno_text();
            return nullptr;
        }
        std::size_t offset = 0;
        std::size_t found = 0;
        for (;;) {
            std::uint64_t seq = 0;
            core::UserRecord record;
            const std::size_t at = offset;
            const JournalDecode d = decode_journal_record(data, &offset, &seq, &record);
            if (d == JournalDecode::Ok) {
                replayed->push_back(std::move(record));
                ++found;
                continue;
            }
            if (d != JournalDecode::End) {
                // Never acknowledged (a write cut short by the crash) or damaged on disk:
                // nothing after it in this file can be trusted either.
                j->log(kLogWarn,
                       "journal: " + path + ": " +
                           (d == JournalDecode::Torn ? "torn record (cut short)"
                                                     : "corrupt record (checksum mismatch)") +
                           " at byte " + std::to_string(at) + " of " + std::to_string(data.size()) +
                           "; ignored with the " + std::to_string(data.size() - at) +
                           " bytes after it, " + std::to_string(found) +
                           " good records before it replayed");
            }
            break;
        }
        records += found;
        if (found == 0) {
            ::unlink(path.c_str());
            continue;
        }
        // Kept until the replayed records are committed (seal_replayed sets the mark).
        j->sealed_.push_back({number, 0, data.size(), true});
        j->disk_bytes_ += data.size();
    }
    if (records > 0) {
        j->log(kLogInfo, "journal: " + std::to_string(records) +
                             " acknowledged change(s) not yet in the database "
                             "replayed from " +
                             j->dir_);
    }
    if (!j->open_active(last_number + 1, err)) {
        *err = where + *err;
        return nullptr;
    }
    j->thread_ = std::thread([p = j.get()] { p->run(); });
    return j;
}

bool MariaDbJournal::open_active(std::uint64_t number, std::string* err) {
    const std::string path = path_of(number);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        *err = "cannot create " + path + ": " + errno_text();
        return false;
    }
    sync_dir(dir_);  // the new file's name must survive a crash too
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
    active_ = Segment{number, 0, 0};
    disk_segments_.store(sealed_.size() + 1);
    return true;
}

MariaDbJournal::~MariaDbJournal() {
    if (thread_.joinable()) {
        {
            std::lock_guard lk(mu_);
            stop_ = true;
        }
        cv_.notify_all();
        thread_.join();
    }
    if (fd_ >= 0) {
        ::close(fd_);
        if (active_.bytes == 0) ::unlink(path_of(active_.number).c_str());
    }
    if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

void MariaDbJournal::seal_replayed(std::uint64_t mark) {
    {
        std::lock_guard lk(mu_);
        replay_mark_ = mark;
    }
    cv_.notify_all();
}

std::uint64_t MariaDbJournal::append(const core::UserRecord& record, std::uint64_t mark) {
    const std::uint64_t seq = ++appended_;
    scratch_.clear();
    encode_journal_record(scratch_, seq, record);  // outside the lock
    {
        std::lock_guard lk(mu_);
        buf_ += scratch_;
        buf_last_seq_ = seq;
        buf_last_mark_ = mark;
    }
    cv_.notify_one();
    return seq;
}

void MariaDbJournal::committed(std::uint64_t watermark) {
    {
        std::lock_guard lk(mu_);
        if (watermark <= watermark_) return;
        watermark_ = watermark;
    }
    cv_.notify_one();
}

bool MariaDbJournal::sync(long max_wait_ms) {
    const std::uint64_t want = appended_;
    std::unique_lock lk(mu_);
    return synced_.wait_for(lk, std::chrono::milliseconds(std::max(0L, max_wait_ms)),
                            [&] { return durable_.load() >= want; });
}

JournalStats MariaDbJournal::stats() const {
    return {disk_bytes_.load(), disk_segments_.load()};
}

bool MariaDbJournal::write_out(const std::string& data) {
    if (write_all(fd_, data.data(), data.size()) && ::fdatasync(fd_) == 0) {
        active_.bytes += data.size();
        disk_bytes_ += data.size();
        failing_.store(false, std::memory_order_relaxed);
        return true;
    }
    const std::string why = errno_text();
    failing_.store(true, std::memory_order_relaxed);
    // A partial frame must not stay in front of the retried ones.
    if (::ftruncate(fd_, static_cast<off_t>(active_.bytes)) != 0) {
        // Then start a fresh segment: a torn frame ends this one's replay anyway.
        std::string err;
        Segment old = active_;
        if (open_active(active_.number + 1, &err)) sealed_.push_back(old);
    }
    log(kLogError, "journal: cannot write " + path_of(active_.number) + " (" + why +
                       "): acknowledgements wait, retrying");
    return false;
}

void MariaDbJournal::release(std::uint64_t watermark, std::uint64_t replay_mark) {
    bool removed = false;
    while (!sealed_.empty() &&
           (sealed_.front().replayed ? replay_mark : sealed_.front().mark) <= watermark) {
        ::unlink(path_of(sealed_.front().number).c_str());
        disk_bytes_ -= sealed_.front().bytes;
        sealed_.pop_front();
        removed = true;
    }
    // The removals are not synced: if one is lost in a crash, its records (all committed) are
    // replayed, which writes what the database already has. A directory sync here would hold
    // the next group commit for a whole file-system journal commit.
    if (removed) disk_segments_.store(sealed_.size() + 1);
    // Everything written to the active segment is in the database: empty it. Not synced: if
    // the truncation is lost in a crash, the records are replayed, which writes what the
    // database already has; a sync here would cost the disk a flush per committed batch.
    if (sealed_.empty() && active_.bytes > 0 && active_.mark <= watermark) {
        if (::ftruncate(fd_, 0) == 0) {
            disk_bytes_ -= active_.bytes;
            active_.bytes = 0;
        }
    }
}

void MariaDbJournal::run() {
    std::unique_lock lk(mu_);
    std::uint64_t released_at = 0;
    std::uint64_t replay_seen = replay_mark_;
    std::chrono::steady_clock::time_point last_sync{};
    for (;;) {
        cv_.wait(lk, [&] {
            return stop_ || !buf_.empty() || watermark_ != released_at ||
                   replay_mark_ != replay_seen;
        });
        if (!buf_.empty()) {
            // Group commit: syncs start at most once per kSyncInterval, so under load one
            // sync carries every record of the interval (an idle journal syncs at once).
            cv_.wait_until(lk, last_sync + kSyncInterval, [&] { return stop_; });
            last_sync = std::chrono::steady_clock::now();
            std::string out;
            out.swap(buf_);
            const std::uint64_t seq = buf_last_seq_;
            const std::uint64_t mark = buf_last_mark_;
            lk.unlock();
            const bool ok = write_out(out);
            if (ok && active_.bytes >= kSegmentBytes) {
                std::string err;
                Segment full = active_;
                full.mark = mark;
                if (open_active(active_.number + 1, &err)) {
                    sealed_.push_back(full);
                } else {
                    log(kLogError, "journal: " + err + "; the current segment grows");
                }
            }
            lk.lock();
            if (!ok) {
                buf_.insert(0, out);  // retried, with whatever arrived meanwhile
                if (stop_) break;     // destroy must not hang on a broken disk
                cv_.wait_for(lk, kRetryAfterError, [&] { return stop_; });
                continue;
            }
            active_.mark = std::max(active_.mark, mark);
            durable_.store(seq, std::memory_order_release);
            synced_.notify_all();
            lk.unlock();
            if (wake_) wake_();
            lk.lock();
        }
        released_at = watermark_;
        replay_seen = replay_mark_;
        lk.unlock();
        release(released_at, replay_seen);
        lk.lock();
        if (stop_ && buf_.empty()) break;
    }
}

}  // namespace presence::store
