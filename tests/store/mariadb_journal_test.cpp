// The local journal without a database: records survive a reopen, a torn or corrupt tail is
// ignored with a log line saying where, one process per directory, one database per
// directory, and segments are emptied once the database has their records.
#include "store/mariadb_journal.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <thread>

#include "store/mariadb_journal_codec.hpp"
#include "temp_dir.hpp"

// CppUTest last: its leak-detecting new macros must not meet standard headers.
#include <CppUTest/TestHarness.h>

using namespace presence;
using presence::store::JournalOptions;
using presence::store::MariaDbJournal;

namespace {

struct Logged {
    std::mutex mu;
    std::string text;
    bool has(const std::string& s) {
        std::lock_guard lk(mu);
        return text.find(s) != std::string::npos;
    }
};

JournalOptions options(const std::string& dir, Logged* logged,
                       const std::string& owner = "127.0.0.1:3306/app") {
    JournalOptions o;
    o.dir = dir;
    o.owner = owner;
    o.log = [logged](int, const std::string& line) {
        std::lock_guard lk(logged->mu);
        logged->text += line + "\n";
    };
    return o;
}

core::UserRecord record(const std::string& id, int n) {
    core::UserRecord r;
    r.user_id = id;
    r.chosen = core::Status::Invisible;
    r.message = "message " + std::to_string(n) + " \xF0\x9F\x8C\xB4";
    r.until = 1'000'000 + n;
    r.last_seen = 77;
    r.visibility = {"bob", "carol"};
    return r;
}

// Bytes of every segment file in `dir`.
std::uintmax_t segment_bytes(const std::string& dir) {
    std::uintmax_t total = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        if (e.path().filename().string().rfind("journal-", 0) == 0) total += e.file_size();
    }
    return total;
}

std::string only_segment(const std::string& dir) {
    std::string found;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        const auto name = e.path().filename().string();
        if (name.rfind("journal-", 0) == 0 && e.file_size() > 0) found = e.path().string();
    }
    return found;
}

bool eventually(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
}

// A journal opened on `dir` (replaying what is there), with what the open logged, replayed and
// said on failure.
struct Opened {
    explicit Opened(const std::string& dir, const std::string& owner = "127.0.0.1:3306/app")
        : journal(MariaDbJournal::open(options(dir, &logged, owner), &replayed, &err)) {}
    Logged logged;
    std::vector<core::UserRecord> replayed;
    std::string err;
    std::unique_ptr<MariaDbJournal> journal;  // last: closed before `logged` goes
};

// Writes three durable records into a fresh journal and closes it.
void write_three(const std::string& dir) {
    Opened o(dir);
    CHECK_TEXT(o.journal != nullptr, o.err.c_str());
    for (int i = 1; i <= 3; ++i) o.journal->append(record("u" + std::to_string(i), i), 10 + i);
    CHECK_TRUE(o.journal->sync(5000));
    LONGS_EQUAL(3, o.journal->durable_seq());
}

}  // namespace

TEST_GROUP(MariaDbJournal){};

TEST(MariaDbJournal, RecordsComeBackAfterAReopenExactly) {
    test::TempDir dir("journal");
    write_three(dir.path());
    Opened o(dir.path());
    CHECK_TEXT(o.journal != nullptr, o.err.c_str());
    LONGS_EQUAL(3, o.replayed.size());
    const core::UserRecord want = record("u2", 2);
    STRCMP_EQUAL("u2", o.replayed[1].user_id.c_str());
    CHECK_TRUE(o.replayed[1].chosen == core::Status::Invisible);
    STRCMP_EQUAL(want.message->c_str(), o.replayed[1].message->c_str());
    LONGS_EQUAL(*want.until, *o.replayed[1].until);
    LONGS_EQUAL(77, *o.replayed[1].last_seen);
    CHECK_FALSE(o.replayed[1].last_seen_listed.has_value());
    CHECK_TRUE(o.replayed[1].visibility == want.visibility);
    CHECK_TRUE(o.logged.has("3 acknowledged change(s)"));
}

TEST(MariaDbJournal, ATornTailIsIgnoredWithALogLine) {
    test::TempDir dir("journal");
    write_three(dir.path());
    const std::string seg = only_segment(dir.path());
    {
        // Half of a fourth frame: what a crash in the middle of a write leaves.
        std::string frame;
        store::encode_journal_record(frame, 4, record("u4", 4));
        std::ofstream out(seg, std::ios::binary | std::ios::app);
        out.write(frame.data(), static_cast<std::streamsize>(frame.size() / 2));
    }
    Opened o(dir.path());
    CHECK_TEXT(o.journal != nullptr, o.err.c_str());
    LONGS_EQUAL(3, o.replayed.size());
    CHECK_TEXT(o.logged.has("torn record (cut short)"), o.logged.text.c_str());
    CHECK_TEXT(o.logged.has(seg), o.logged.text.c_str());
}

TEST(MariaDbJournal, ACorruptRecordEndsTheReplayOfItsFile) {
    test::TempDir dir("journal");
    write_three(dir.path());
    const std::string seg = only_segment(dir.path());
    const auto size = std::filesystem::file_size(seg);
    {
        // One byte of the last record's payload flipped.
        std::fstream f(seg, std::ios::binary | std::ios::in | std::ios::out);
        f.seekg(static_cast<std::streamoff>(size - 3));
        char c = 0;
        f.read(&c, 1);
        c = static_cast<char>(c ^ 0x40);
        f.seekp(static_cast<std::streamoff>(size - 3));
        f.write(&c, 1);
    }
    Opened o(dir.path());
    CHECK_TEXT(o.journal != nullptr, o.err.c_str());
    LONGS_EQUAL(2, o.replayed.size());
    STRCMP_EQUAL("u2", o.replayed.back().user_id.c_str());
    CHECK_TEXT(o.logged.has("corrupt record (checksum mismatch)"), o.logged.text.c_str());
}

TEST(MariaDbJournal, TwoProcessesCannotShareADirectory) {
    test::TempDir dir("journal");
    Opened first(dir.path());
    CHECK_TEXT(first.journal != nullptr, first.err.c_str());
    Opened second(dir.path());
    CHECK_TRUE(second.journal == nullptr);
    CHECK_TEXT(second.err.find("presence.journal_path") != std::string::npos, second.err.c_str());
    CHECK_TEXT(second.err.find("in use by another process") != std::string::npos,
               second.err.c_str());
}

TEST(MariaDbJournal, ADirectoryServesOneDatabase) {
    test::TempDir dir("journal");
    write_three(dir.path());
    Opened o(dir.path(), "127.0.0.1:3306/other");
    CHECK_TRUE(o.journal == nullptr);
    CHECK_TEXT(o.err.find("holds the journal of 127.0.0.1:3306/app") != std::string::npos,
               o.err.c_str());
    LONGS_EQUAL(0, o.replayed.size());
}

TEST(MariaDbJournal, CommittedRecordsAreTruncatedAway) {
    test::TempDir dir("journal");
    Opened o(dir.path());
    auto& j = o.journal;
    CHECK_TEXT(j != nullptr, o.err.c_str());
    j->append(record("a", 1), 5);
    j->append(record("b", 2), 9);
    CHECK_TRUE(j->sync(5000));
    CHECK_TRUE(segment_bytes(dir.path()) > 0);
    j->committed(8);  // "b" (mark 9) is not in the database yet: nothing goes
    // Kept: proving that nothing happens needs a window (no event says "looked and kept").
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK_TRUE(segment_bytes(dir.path()) > 0);
    j->committed(9);
    CHECK_TRUE(eventually([&] { return segment_bytes(dir.path()) == 0; }));
    CHECK_TRUE(eventually([&] { return j->stats().bytes == 0; }));
}

TEST(MariaDbJournal, ReplayedRecordsStayUntilTheyAreCommitted) {
    test::TempDir dir("journal");
    write_three(dir.path());
    Opened o(dir.path());
    auto& j = o.journal;
    CHECK_TEXT(j != nullptr, o.err.c_str());
    LONGS_EQUAL(3, o.replayed.size());
    j->committed(100);  // not sealed yet: the replayed file must stay
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // kept: a "nothing goes" window
    CHECK_TRUE(segment_bytes(dir.path()) > 0);
    j->seal_replayed(150);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // kept: the same window
    CHECK_TRUE(segment_bytes(dir.path()) > 0);
    j->committed(150);
    CHECK_TRUE(eventually([&] { return segment_bytes(dir.path()) == 0; }));
}

// Every cut and every flipped byte of a five-record segment: the decoder returns the intact
// records before the damage and stops there (run under ASan, nothing reads past the buffer).
TEST(MariaDbJournal, DamageAnywhereYieldsTheRecordsBeforeIt) {
    std::string seg;
    std::vector<std::size_t> ends;
    for (int i = 0; i < 5; ++i) {
        store::encode_journal_record(seg, i + 1, record("user" + std::to_string(i), i));
        ends.push_back(seg.size());
    }
    auto decode_all = [](const std::string& data, store::JournalDecode* last) {
        std::size_t offset = 0, n = 0;
        for (;;) {
            std::uint64_t seq = 0;
            core::UserRecord r;
            *last = store::decode_journal_record(data, &offset, &seq, &r);
            if (*last != store::JournalDecode::Ok) return n;
            if (r.user_id != "user" + std::to_string(n) || seq != n + 1) return std::size_t{99};
            ++n;
        }
    };
    store::JournalDecode last{};
    for (std::size_t cut = 0; cut <= seg.size(); ++cut) {
        const std::size_t whole = static_cast<std::size_t>(
            std::upper_bound(ends.begin(), ends.end(), cut) - ends.begin());
        LONGS_EQUAL(whole, decode_all(seg.substr(0, cut), &last));
        CHECK_TRUE(last == (std::find(ends.begin(), ends.end(), cut) != ends.end() || cut == 0
                                ? store::JournalDecode::End
                                : store::JournalDecode::Torn));
    }
    for (std::size_t at = 0; at < seg.size(); ++at) {
        std::string bad = seg;
        bad[at] = static_cast<char>(bad[at] ^ 0x01);
        const std::size_t before =
            static_cast<std::size_t>(std::upper_bound(ends.begin(), ends.end(), at) - ends.begin());
        // A flipped length may make the frame look longer than the data: torn, not corrupt.
        LONGS_EQUAL(before, decode_all(bad, &last));
        CHECK_TRUE(last != store::JournalDecode::Ok && last != store::JournalDecode::End);
    }
}
