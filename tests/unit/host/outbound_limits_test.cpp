// The host's outgoing path under pressure (issue 12): a user with 100,000 friends gets their
// whole snapshot, the slow-reader bound still cuts a client that never reads, many clients
// that never read are held to the global outbound budget (largest backlogs cut first), and
// the abuse close reaches a client that is still sending as 1008, not as a reset (1006).
// Figures are printed (tests/bench/RESULTS.md, "Outgoing path"); none is a pass/fail check.
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "host_process.hpp"
#include "http_client.hpp"
#include "token.hpp"
#include "ws_client.hpp"

// CppUTest last: its leak-detecting operator new macros break STL headers after it.
#include <CppUTest/TestHarness.h>

using presence::test::HostOptions;
using presence::test::HostProcess;
using presence::test::http_send;
using presence::test::WsClient;
using std::chrono::milliseconds;

namespace {

const char* kSecret = "test-secret";
const char* kHeartbeat = R"({"type":"presence_heartbeat","idle":false})";

std::string token_for(const std::string& user) {
    return presence_host::mint_token(kSecret, user, static_cast<int64_t>(time(nullptr)) + 600);
}

// The launcher's options from a settings file's text.
HostOptions config(const std::string& text) {
    return HostOptions().config_text(text);
}

std::string base_config() {
    return std::string("host.listen = 127.0.0.1:0\nhost.auth_secret = ") + kSecret +
           "\nhost.admin_token = admin-token\nhost.log_level = warn\n";
}

double ms_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
        .count();
}

long rss_kib(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.starts_with("VmRSS:")) return std::atol(line.c_str() + 6);
    }
    return -1;
}

size_t count_of(const std::string& text, const std::string& needle) {
    size_t n = 0;
    for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
        ++n;
    }
    return n;
}

// A client receive buffer of ~256 KiB, so what a client that does not read leaves in the
// host does not depend on the kernel's autotuning (up to 6 MB). Not smaller: below the
// loopback MSS (64 KiB) the window stalls on the persist timer and reading the backlog
// afterwards would take minutes.
void limit_receive_buffer(WsClient& client) {
    int size = 128 * 1024;  // the kernel doubles it
    setsockopt(client.fd(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
}

// A friends file (presence.friends_file) giving `user` `count` friends f000000, f000001, ...
class FriendsFile {
  public:
    FriendsFile(const std::string& user, int count) {
        char pattern[] = "/tmp/presence-friends-XXXXXX";
        const int fd = mkstemp(pattern);
        if (fd >= 0) ::close(fd);
        path_ = pattern;
        std::ofstream out(path_);
        char id[16];
        for (int i = 0; i < count; ++i) {
            std::snprintf(id, sizeof id, "f%06d", i);
            out << user << ' ' << id << '\n';
        }
    }
    ~FriendsFile() { std::remove(path_.c_str()); }
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

// Heartbeat round trips on `client` every 25 ms (under the 50 frames/s limit) until `stop`:
// the longest one says how long the loop thread was held meanwhile.
double longest_heartbeat_ms(WsClient& client, const std::atomic<bool>& stop) {
    double longest = 0;
    while (!stop.load()) {
        const auto start = std::chrono::steady_clock::now();
        const bool ok = client.send_text(kHeartbeat) &&
                        client.wait_for("presence_heartbeat_ack", nullptr, milliseconds{20000});
        longest = std::max(longest, ms_since(start));
        if (!ok) break;
        usleep(25 * 1000);  // kept: the pace of the probe, under the frame rate limit
    }
    return longest;
}

}  // namespace

TEST_GROUP(HostOutbound){};

// 100,000 friends: a ~7.7 MB snapshot, larger than host.max_queue_bytes (4 MiB by default).
// It is the frame being sent, so the bound lets it through (in 64 KiB pieces) and the user
// gets every friend. Meanwhile another client's heartbeats show how long the loop was held.
TEST(HostOutbound, UserWithAHundredThousandFriendsGetsTheWholeSnapshot) {
    constexpr int kFriends = 100000;
    FriendsFile friends("big", kFriends);
    HostProcess host(config(base_config() + "presence.friends_file = " + friends.path() + "\n"));
    CHECK_TRUE(host.start());
    WsClient watcher;
    CHECK_EQUAL(101, watcher.connect_status(host.port(), "/ws?token=" + token_for("watcher")));
    CHECK_TRUE(watcher.wait_for("presence_snapshot"));
    std::atomic<bool> done{false};
    double longest_ms = 0;
    std::thread beats([&] { longest_ms = longest_heartbeat_ms(watcher, done); });

    const long rss_before = rss_kib(host.pid());
    const auto start = std::chrono::steady_clock::now();
    WsClient big;
    CHECK_EQUAL(101, big.connect_status(host.port(), "/ws?token=" + token_for("big")));
    std::string snapshot;
    const bool got = big.wait_for("\"presence_snapshot\"", &snapshot, milliseconds{20000});
    const double connect_ms = ms_since(start);
    done.store(true);
    beats.join();
    CHECK_TRUE(got);
    // Every friend once, plus the user's own record.
    LONGS_EQUAL(kFriends + 1, count_of(snapshot, "\"user_id\":"));
    CHECK_TRUE(snapshot.find("\"f099999\"") != std::string::npos);
    // The connection carries on normally afterwards.
    CHECK_TRUE(big.send_text(kHeartbeat));
    CHECK_TRUE(big.wait_for("presence_heartbeat_ack"));
    std::printf(
        "\n  [figure] 100k-friend snapshot: %zu bytes, upgrade to last byte %.0f ms; another "
        "client's longest heartbeat round trip meanwhile %.0f ms; host RSS %ld -> %ld KiB\n",
        snapshot.size(), connect_ms, longest_ms, rss_before, rss_kib(host.pid()));
}

// The bound still protects memory: a client that never reads gets the big snapshot as the
// frame in progress, but the traffic that keeps coming for it waits behind that frame and
// is bounded (here 64 KiB), so it is cut off with 1008 while its friend, who reads, is not.
TEST(HostOutbound, ClientThatNeverReadsIsStillCutBehindItsBigSnapshot) {
    FriendsFile friends("big", 100000);
    HostProcess host(config(base_config() + "presence.friends_file = " + friends.path() +
                            "\nhost.max_queue_bytes = 65536\nhost.max_queue_frames = 65536\n"));
    CHECK_TRUE(host.start());
    WsClient big, friend0;
    // Both upgrades may wait seconds behind big's 100,000-friend load (under ThreadSanitizer).
    CHECK_TRUE(big.connect(host.port(), "/ws?token=" + token_for("big"), milliseconds{30000}));
    limit_receive_buffer(big);  // and it never reads
    CHECK_TRUE(
        friend0.connect(host.port(), "/ws?token=" + token_for("f000000"), milliseconds{30000}));
    CHECK_TRUE(friend0.wait_for("presence_snapshot"));
    // Each op changes what big and f000000 see of each other: one frame each. f000000 reads
    // its frames after each request; big's wait behind its snapshot until they pass the bound.
    std::string ops = "{\"ops\":[";
    for (int i = 0; i < 200; ++i) {
        ops += std::string(i ? "," : "") + "{\"op\":\"" + (i % 2 ? "add" : "remove") +
               "\",\"a\":\"big\",\"b\":\"f000000\"}";
    }
    ops += "]}";
    bool cut = false;
    for (int request = 0; request < 40 && !cut; ++request) {
        // The answer can wait behind the 7 MB snapshot's writes and the 100,000-friend load
        // (seconds under ThreadSanitizer): a generous bound, and one request per round.
        const int status = http_send(host.port(), "POST", "/admin/friendships", ops, "admin-token",
                                     milliseconds{30000})
                               .status;
        CHECK_EQUAL(200, status);
        std::string payload;
        while (friend0.read_frame(payload, milliseconds{300}) == 1) {
        }
        cut = host.output().find("outgoing queue full, closing (1008)") != std::string::npos;
    }
    CHECK_TEXT(cut, host.output().c_str());
    CHECK_TRUE(friend0.send_text(kHeartbeat));
    CHECK_TRUE(friend0.wait_for("presence_heartbeat_ack"));
    // When big reads at last: the whole snapshot (the frame in progress is finished), then
    // 1008 (the frames behind it were dropped).
    std::string payload;
    int opcode = 0;
    bool whole_snapshot = false;
    while ((opcode = big.read_frame(payload, milliseconds{5000})) == 1) {
        if (payload.find("presence_snapshot") != std::string::npos) {
            whole_snapshot = count_of(payload, "\"user_id\":") == 100001;
        }
    }
    CHECK_TRUE(whole_snapshot);
    CHECK_EQUAL(8, opcode);
    LONGS_EQUAL(1008, (static_cast<unsigned char>(payload[0]) << 8) |
                          static_cast<unsigned char>(payload[1]));
}

// Query hogs: clients that ask for big presence_query answers and never read. Each stays under
// host.max_queue_bytes (16 MiB here), but together they pass host.max_outbound_bytes (24 MiB):
// the largest backlogs are cut with 1008, the smaller hogs keep all their answers, and
// clients that read are untouched. Answers of 5,000 users (~550 KB; max_batch raised) so a
// hog owes more than the kernel's socket buffers take (~4 MB here): the rest is the host's.
TEST(HostOutbound, QueryHogsAreHeldToTheGlobalBudgetLargestFirst) {
    HostProcess host(config(base_config() +
                            "host.max_queue_bytes = 16777216\nhost.max_outbound_bytes = 25165824\n"
                            "presence.max_batch = 5000\npresence.max_message_bytes = 1048576\n"));
    CHECK_TRUE(host.start());
    // 20 queries (the query burst) of `ids` ids, 48 bytes each: ~110 bytes per answered user.
    auto queries = [](int ids, const std::string& tag) {
        std::string query = "{\"type\":\"presence_query\",\"user_ids\":[";
        char id[64];
        for (int i = 0; i < ids; ++i) {
            std::snprintf(id, sizeof id, "%s%s%05d", i ? "," : "", ("\"" + tag).c_str(), i);
            query += id + std::string(48 - tag.size() - 5, 'x') + "\"";
        }
        query += "]}";
        return std::vector<std::string>(20, query);
    };
    constexpr int kGood = 2, kSmall = 6, kBig = 6;
    std::vector<WsClient> good(kGood), small(kSmall), big(kBig);
    for (int i = 0; i < kGood; ++i) {
        CHECK_EQUAL(101, good[i].connect_status(
                             host.port(), "/ws?token=" + token_for("good" + std::to_string(i))));
        CHECK_TRUE(good[i].wait_for("presence_snapshot"));
    }
    const long rss_before = rss_kib(host.pid());
    long rss_peak = rss_before;
    auto hog = [&](WsClient& client, const std::string& user, int ids) {
        CHECK_EQUAL(101, client.connect_status(host.port(), "/ws?token=" + token_for(user)));
        limit_receive_buffer(client);
        CHECK_TRUE(client.send_texts_in_one_write(queries(ids, user.substr(0, 2))));
        usleep(500 * 1000);  // kept: the hog stays unread while the host answers
        rss_peak = std::max(rss_peak, rss_kib(host.pid()));
        for (WsClient& ok : good) {  // those who read are served all along
            CHECK_TRUE(ok.send_text(kHeartbeat));
            CHECK_TRUE(ok.wait_for("presence_heartbeat_ack"));
        }
    };
    // Small hogs first (~1.1 MB each, which the kernel holds), then the big ones (~11 MB each,
    // ~7 MB of it queued in the host): each cut must take a big one.
    for (int i = 0; i < kSmall; ++i) hog(small[i], "sm" + std::to_string(i), 500);
    for (int i = 0; i < kBig; ++i) hog(big[i], "bg" + std::to_string(i), 5000);

    const std::string log = host.output();
    const size_t cuts = count_of(log, "outbound budget:");
    CHECK_TEXT(cuts >= 1, log.c_str());
    // The small hogs lost nothing: all 20 answers, and the connection is open.
    for (WsClient& client : small) {
        int answers = 0;
        std::string payload;
        while (answers < 20 && client.read_frame(payload, milliseconds{5000}) == 1) {
            if (payload.find("presence_result") != std::string::npos) ++answers;
        }
        LONGS_EQUAL(20, answers);
        CHECK_TRUE(client.send_text(kHeartbeat));
        CHECK_TRUE(client.wait_for("presence_heartbeat_ack"));
    }
    // The cut ones are big hogs: each ends with 1008 once it reads, or, if it did not read
    // within 5 s of the cut (its socket full, so the close frame could not be written), the
    // host has closed it without one. The others got all 20 answers.
    int closed_1008 = 0, closed_silently = 0;
    for (WsClient& client : big) {
        std::string payload;
        int opcode = 0;
        int answers = 0;
        while ((opcode = client.read_frame(payload, milliseconds{5000})) == 1 && ++answers < 20) {
        }
        if (opcode == 8) {
            LONGS_EQUAL(1008, (static_cast<unsigned char>(payload[0]) << 8) |
                                  static_cast<unsigned char>(payload[1]));
            ++closed_1008;
        } else if (opcode != 1) {
            ++closed_silently;
        }
    }
    // Every cut is logged; count again now: a slow host (sanitizers, a busy machine) may
    // still have been working through the last hog's queries when `cuts` was first read, and
    // a big hog may meet its own bound (host.max_queue_bytes) before the global one.
    const long closed = closed_1008 + closed_silently;
    auto cuts_logged = [&] {
        const std::string now = host.output();
        return static_cast<long>(count_of(now, "outbound budget:") +
                                 count_of(now, "outgoing queue full"));
    };
    for (int i = 0; i < 100 && cuts_logged() != closed; ++i) {
        usleep(20 * 1000);  // bounded poll (2 s) for the log line of a cut just made
    }
    LONGS_EQUAL(cuts_logged(), closed);
    std::printf(
        "\n  [figure] query hogs: %d small + %d big, budget 24576 KiB: %zu big ones cut (%d read "
        "1008, %d closed before they read), host RSS %ld KiB before, %ld KiB at peak (+%ld KiB)\n",
        kSmall, kBig, cuts, closed_1008, closed_silently, rss_before, rss_peak,
        rss_peak - rss_before);
}

// The abuse close (too many invalid frames) while the client is still sending: the client
// must read a 1008 close frame every time, not lose it to a TCP reset (1006). 50 rounds; the
// client reads right away or only after up to 80 ms of sending.
TEST(HostOutbound, AbuseCloseArrivesAs1008WhileTheClientKeepsSending) {
    HostProcess host(config(base_config()));
    CHECK_TRUE(host.start());
    std::map<std::string, int> outcomes;
    for (int round = 0; round < 50; ++round) {
        WsClient client;
        CHECK_EQUAL(101, client.connect_status(host.port(), "/ws?token=" + token_for("abuser")));
        std::atomic<bool> stop{false};
        // Straight to the socket: the client object stays the reading thread's.
        std::string bad;
        const unsigned char mask[4] = {0x12, 0x34, 0x56, 0x78};
        for (int i = 0; i < 20; ++i)
            presence::test::append_ws_frame(bad, presence::test::WsOpcode::Text, "{", true, mask);
        std::thread sender([&, fd = client.fd()] {
            // The socket is non-blocking: wait for room, and never leave half a batch.
            for (std::size_t off = 0; !stop.load();) {
                const ssize_t n = send(fd, bad.data() + off, bad.size() - off, MSG_NOSIGNAL);
                if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
                    pollfd p{fd, POLLOUT, 0};
                    poll(&p, 1, 100);
                    continue;
                }
                if (n <= 0) break;
                off += static_cast<std::size_t>(n);
                if (off == bad.size()) {
                    off = 0;
                    usleep(1000);
                }
            }
        });
        // Kept: how long the client sends before it reads (0-80 ms) is what the rounds vary.
        usleep(static_cast<useconds_t>(round % 5) * 20 * 1000);
        std::string payload;
        int opcode = 0;
        while ((opcode = client.read_frame(payload, milliseconds{5000})) == 1) {
        }
        stop.store(true);
        shutdown(client.fd(), SHUT_RDWR);  // a send blocked in the sender thread returns
        sender.join();
        std::string outcome = "reset or EOF (1006)";
        if (opcode == 8 && payload.size() >= 2) {
            outcome = std::to_string((static_cast<unsigned char>(payload[0]) << 8) |
                                     static_cast<unsigned char>(payload[1]));
        }
        ++outcomes[outcome];
    }
    std::string summary;
    for (const auto& [outcome, n] : outcomes) summary += outcome + ": " + std::to_string(n) + "  ";
    std::printf("\n  [figure] abuse close, 50 rounds while sending: %s\n", summary.c_str());
    LONGS_EQUAL_TEXT(50, outcomes["1008"], summary.c_str());
}

// host.max_outbound_bytes must be a number of bytes no smaller than one connection's bound;
// anything else stops the host with a reason naming the key.
TEST(HostOutbound, NonsenseOutboundBudgetIsRefusedWithItsName) {
    for (const char* value : {"lots", "-1", "0", "1048576"}) {  // the last < max_queue_bytes
        const auto r = HostProcess::run_with_config_text(
            base_config() + "host.max_outbound_bytes = " + value + "\n", {}, milliseconds{20000});
        const std::string out = r.output + "exit=" + std::to_string(r.exit_code);
        STRCMP_CONTAINS("host.max_outbound_bytes", out.c_str());
        STRCMP_CONTAINS("exit=2", out.c_str());
    }
}
