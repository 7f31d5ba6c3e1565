// presence-host as a process: what a client of the host stub sees on the wire.
#include "host_process.hpp"

#include <arpa/inet.h>
#include <linux/tcp.h>  // struct tcp_info with tcpi_data_segs_in (glibc's lacks it)
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "http_client.hpp"
#include "token.hpp"
#include "ws_client.hpp"

// CppUTest last: its leak-detecting operator new macros break STL headers after it.
#include <CppUTest/TestHarness.h>

using presence::test::HostOptions;
using presence::test::HostProcess;
using presence::test::http_get;
using presence::test::http_send;
using presence::test::WsClient;
using presence::test::WsOpcode;
using std::chrono::milliseconds;

namespace {

const char* kSecret = "test-secret";

// The launcher's options from a settings file's text.
HostOptions config(const std::string& text) {
    return HostOptions().config_text(text);
}

std::string base_config() {
    return std::string("host.listen = 127.0.0.1:0\nhost.auth_secret = ") + kSecret +
           "\nhost.admin_token = admin-token\nhost.max_queue_frames = 100\nhost.log_level = warn\n";
}

std::string token_for(const std::string& user, int64_t ttl_s = 600) {
    return presence_host::mint_token(kSecret, user, static_cast<int64_t>(time(nullptr)) + ttl_s);
}

// TCP segments with payload the client's socket has received so far (TCP_INFO), -1 on error.
long data_segments_received(const WsClient& client) {
    tcp_info info{};
    socklen_t len = sizeof info;
    if (getsockopt(client.fd(), IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return -1;
    return static_cast<long>(info.tcpi_data_segs_in);
}

// How many descriptors `pid` holds open (/proc/PID/fd).
size_t open_fds(pid_t pid) {
    size_t n = 0;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
        ++n;
    }
    return n;
}

std::string friendship_body(const char* op, const char* a, const char* b) {
    return std::string("{\"op\":\"") + op + "\",\"a\":\"" + a + "\",\"b\":\"" + b + "\"}";
}

// One admin request of `count` ops on alice and bob: remove, add, remove, ... Each one changes
// what the two see of each other, so each owes both a frame.
std::string toggle_alice_bob_ops(int count) {
    std::string ops = "{\"ops\":[";
    for (int i = 0; i < count; ++i) {
        ops +=
            std::string(i ? "," : "") + friendship_body(i % 2 ? "add" : "remove", "alice", "bob");
    }
    return ops + "]}";
}

// alice and bob, friends, both connected; bob's status carries the longest message, so each
// frame about him is big (~250 bytes while he is visible to alice).
void connect_alice_and_bob_with_big_frames(int port, WsClient& alice, WsClient& bob) {
    http_send(port, "POST", "/admin/friendships", friendship_body("add", "alice", "bob"),
              "admin-token");
    CHECK_EQUAL(101, alice.connect_status(port, "/ws?token=" + token_for("alice")));
    CHECK_TRUE(alice.wait_for("presence_snapshot"));
    CHECK_EQUAL(101, bob.connect_status(port, "/ws?token=" + token_for("bob")));
    CHECK_TRUE(bob.wait_for("presence_snapshot"));
    CHECK_TRUE(bob.send_text(R"({"type":"presence_update","status":"online","message":")" +
                             std::string(128, 'm') + "\"}"));
    CHECK_TRUE(alice.wait_for("mmmm"));
}

// Reads alice's frames until her socket is quiet (not closed): those about bob must alternate
// offline, online, ... (toggle_alice_bob_ops, order kept). Returns how many there were.
int read_alternating_frames_about_bob(WsClient& alice) {
    std::string payload;
    int about_bob = 0;
    int opcode = 0;
    while ((opcode = alice.read_frame(payload, milliseconds{1000})) == 1) {
        if (payload.find("\"bob\"") == std::string::npos) continue;
        const bool online = payload.find("\"status\":\"online\"") != std::string::npos;
        CHECK_EQUAL_TEXT(about_bob % 2 == 1, online, payload.c_str());
        ++about_bob;
    }
    CHECK_EQUAL(-1, opcode);
    return about_bob;
}

}  // namespace

TEST_GROUP(HostProcess) {
    std::unique_ptr<HostProcess> host;
    void setup() override {
        host = std::make_unique<HostProcess>(config(base_config()));
        CHECK_TRUE_TEXT(host->start(), "presence-host printed its listening line");
    }
    void teardown() override {
        host.reset();
    }
};

TEST(HostProcess, PrintsTheRealPortWhenAskedForPortZero) {
    CHECK_TRUE(host->port() > 0);
    CHECK_EQUAL(200, http_get(host->port(), "/api/presence/health").status);
}

TEST(HostProcess, TokenSubcommandPrintsATokenTheHostAccepts) {
    const std::string out =
        presence::test::run_program({presence::test::default_host_executable(), "token", "--config",
                                     host->config_path(), "carol", "--ttl", "60"},
                                    milliseconds{10000})
            .output;
    CHECK_TRUE(out.size() > 2 && out.back() == '\n');
    const std::string token = out.substr(0, out.size() - 1);
    CHECK_TRUE(token.find(' ') == std::string::npos);
    const auto reply = http_get(host->port(), "/api/presence/me", token);
    CHECK_EQUAL(200, reply.status);
    STRCMP_CONTAINS("\"user_id\":\"carol\"", reply.body.c_str());
}

TEST(HostProcess, HttpWithoutOrWithBadTokenReachesPluginWithoutUser) {
    CHECK_EQUAL(401, http_get(host->port(), "/api/presence/me").status);
    CHECK_EQUAL(401, http_get(host->port(), "/api/presence/me", "junk").status);
    const std::string expired = presence_host::mint_token(kSecret, "alice", 1000);
    CHECK_EQUAL(401, http_get(host->port(), "/api/presence/me", expired).status);
    // No user needed for health, even with a stale token.
    CHECK_EQUAL(200, http_get(host->port(), "/api/presence/health", "junk").status);
}

TEST(HostProcess, UnknownRouteIs404) {
    CHECK_EQUAL(404, http_get(host->port(), "/nowhere").status);
}

TEST(HostProcess, WebSocketWithoutTokenIsRefusedBeforeUpgrade) {
    WsClient client;
    CHECK_EQUAL(401, client.connect_status(host->port(), "/ws"));
}

TEST(HostProcess, WebSocketWithBadSignatureOrExpiredTokenIsRefused) {
    WsClient forged, expired, wrong_secret;
    std::string token = token_for("alice");
    token.back() = token.back() == 'A' ? 'B' : 'A';
    CHECK_EQUAL(401, forged.connect_status(host->port(), "/ws?token=" + token));
    CHECK_EQUAL(401, expired.connect_status(host->port(), "/ws?token=" + presence_host::mint_token(
                                                                             kSecret, "a", 1000)));
    CHECK_EQUAL(401, wrong_secret.connect_status(
                         host->port(), "/ws?token=" + presence_host::mint_token(
                                                          "other", "a", time(nullptr) + 60)));
}

TEST(HostProcess, DemoUserParameterIsRefusedOutsideDemoMode) {
    WsClient client;
    CHECK_EQUAL(401, client.connect_status(host->port(), "/ws?user=alice"));
}

TEST(HostProcess, WebSocketWithTokenGetsSnapshotAndHeartbeatAck) {
    WsClient client;
    CHECK_EQUAL(101, client.connect_status(host->port(), "/ws?token=" + token_for("alice")));
    CHECK_TRUE(client.wait_for("\"presence_snapshot\""));
    CHECK_TRUE(client.send_text("{\"type\":\"presence_heartbeat\",\"idle\":false}"));
    CHECK_TRUE(client.wait_for("presence_heartbeat_ack"));
}

TEST(HostProcess, FragmentedMessageIsReassembled) {
    WsClient client;
    CHECK_EQUAL(101, client.connect_status(host->port(), "/ws?token=" + token_for("alice")));
    CHECK_TRUE(client.wait_for("presence_snapshot"));
    CHECK_TRUE(client.send_frame(WsOpcode::Text, "{\"type\":\"presence_up", false));
    CHECK_TRUE(client.send_frame(WsOpcode::Continuation, "date\",\"status\":\"away\",", false));
    CHECK_TRUE(client.send_frame(WsOpcode::Continuation, "\"message\":\"lunch\"}", true));
    std::string frame;
    CHECK_TRUE(client.wait_for("presence_self", &frame));
    STRCMP_CONTAINS("lunch", frame.c_str());
}

TEST(HostProcess, OversizedMessageGetsTooLargeAndTheConnectionStays) {
    WsClient client;
    CHECK_EQUAL(101, client.connect_status(host->port(), "/ws?token=" + token_for("alice")));
    CHECK_TRUE(client.wait_for("presence_snapshot"));
    // Past presence.max_message_bytes (65536), in pieces, so the host must stop buffering.
    CHECK_TRUE(client.send_frame(WsOpcode::Text, std::string(40000, ' '), false));
    CHECK_TRUE(client.send_frame(WsOpcode::Continuation, std::string(40000, ' '), true));
    CHECK_TRUE(client.wait_for("\"too_large\""));
    CHECK_TRUE(client.send_text("{\"type\":\"presence_heartbeat\",\"idle\":false}"));
    CHECK_TRUE(client.wait_for("presence_heartbeat_ack"));
}

TEST(HostProcess, FriendsSeeEachOtherThroughTheAdminRoute) {
    const auto added = http_send(host->port(), "POST", "/admin/friendships",
                                 friendship_body("add", "alice", "bob"), "admin-token");
    CHECK_EQUAL(200, added.status);
    STRCMP_EQUAL("{\"applied\":1}", added.body.c_str());
    WsClient alice, bob;
    CHECK_EQUAL(101, alice.connect_status(host->port(), "/ws?token=" + token_for("alice")));
    CHECK_TRUE(alice.wait_for("presence_snapshot"));
    CHECK_EQUAL(101, bob.connect_status(host->port(), "/ws?token=" + token_for("bob")));
    std::string frame;
    CHECK_TRUE(alice.wait_for("\"type\":\"presence\"", &frame));
    STRCMP_CONTAINS("\"bob\"", frame.c_str());
}

TEST(HostProcess, AdminRouteNeedsTheAdminToken) {
    const std::string body = friendship_body("add", "alice", "bob");
    CHECK_EQUAL(401, http_send(host->port(), "POST", "/admin/friendships", body).status);
    CHECK_EQUAL(401, http_send(host->port(), "POST", "/admin/friendships", body, "nope").status);
    const auto bad = http_send(host->port(), "POST", "/admin/friendships",
                               "{\"ops\":[{\"op\":\"add\"}]}", "admin-token");
    CHECK_EQUAL(400, bad.status);
    STRCMP_CONTAINS("op 0", bad.body.c_str());
}

TEST(HostProcess, SlowReaderIsClosedWith1008) {
    http_send(host->port(), "POST", "/admin/friendships", friendship_body("add", "alice", "bob"),
              "admin-token");
    WsClient alice, bob;
    CHECK_EQUAL(101, alice.connect_status(host->port(), "/ws?token=" + token_for("alice")));
    CHECK_TRUE(alice.wait_for("presence_snapshot"));
    CHECK_EQUAL(101, bob.connect_status(host->port(), "/ws?token=" + token_for("bob")));
    CHECK_TRUE(bob.wait_for("presence_snapshot"));
    // 300 ops each change what alice sees of bob: 300 frames at once for alice, whose queue
    // holds 100 (host.max_queue_frames), so the host must cut her off.
    const std::string ops = toggle_alice_bob_ops(300);
    CHECK_EQUAL(200,
                http_send(host->port(), "POST", "/admin/friendships", ops, "admin-token").status);
    std::string payload;
    int opcode = 0;
    while ((opcode = alice.read_frame(payload)) == 1) {
    }
    CHECK_EQUAL(8, opcode);
    CHECK_TRUE(payload.size() >= 2);
    CHECK_EQUAL(1008, (static_cast<unsigned char>(payload[0]) << 8) |
                          static_cast<unsigned char>(payload[1]));
    // (bob got the same 300 frames and is cut off too.) Others are unaffected.
    WsClient carol;
    CHECK_EQUAL(101, carol.connect_status(host->port(), "/ws?token=" + token_for("carol")));
    CHECK_TRUE(carol.wait_for("presence_snapshot"));
    CHECK_TRUE(carol.send_text("{\"type\":\"presence_heartbeat\",\"idle\":false}"));
    CHECK_TRUE(carol.wait_for("presence_heartbeat_ack"));
}

// 90 admin ops at once queue ~90 frames for alice within one loop turn: the host sends them
// framed by itself in batches (one write each). Every frame must still parse, in order, and
// the stream must stay in step afterwards.
TEST(HostProcess, BurstOfFramesArrivesWholeAndInOrder) {
    http_send(host->port(), "POST", "/admin/friendships", friendship_body("add", "alice", "bob"),
              "admin-token");
    WsClient alice, bob;
    CHECK_EQUAL(101, alice.connect_status(host->port(), "/ws?token=" + token_for("alice")));
    CHECK_TRUE(alice.wait_for("presence_snapshot"));
    CHECK_EQUAL(101, bob.connect_status(host->port(), "/ws?token=" + token_for("bob")));
    CHECK_TRUE(bob.wait_for("presence_snapshot"));
    CHECK_TRUE(alice.wait_for("\"bob\""));  // bob's arrival, before the burst
    const std::string ops = toggle_alice_bob_ops(90);
    CHECK_EQUAL(200,
                http_send(host->port(), "POST", "/admin/friendships", ops, "admin-token").status);
    std::string payload;
    int frames = 0;
    int opcode = 0;
    while ((opcode = alice.read_frame(payload, milliseconds{1000})) == 1) {
        CHECK_TRUE_TEXT(payload.starts_with("{") && payload.ends_with("}"), payload.c_str());
        ++frames;
    }
    CHECK_EQUAL(-1, opcode);  // a quiet socket, not a close
    CHECK_TRUE_TEXT(frames >= 90, std::to_string(frames).c_str());
    CHECK_TRUE(alice.send_text("{\"type\":\"presence_heartbeat\",\"idle\":false}"));
    CHECK_TRUE(alice.wait_for("presence_heartbeat_ack"));
}

// A reader that pauses: 48,000 frames (~8 MB) are owed to alice while she reads nothing, more
// than the two socket buffers hold (the host's send buffer grows to ~4 MB here), so writes are
// partial, lws keeps the rest, later
// frames wait in the queue (the end-of-turn write leaves a full socket to the writable
// callback) and the writable callback carries on. When she reads again every frame is there,
// whole and in order (bob's status alternates with each op), and the stream stays in step.
// With io_uring (partial and refused ring sends, handed to lws), with send(), and on the plain
// path (poll: every write from the writable callback, no end-of-turn writer).
static void paused_reader_gets_every_frame(const char* setting, const char* log_line);
TEST(HostProcess, PausedReaderGetsEveryFrameInOrderOnceItReads) {
    paused_reader_gets_every_frame("host.io_uring = on", "end-of-turn writes: io_uring");
    paused_reader_gets_every_frame("host.io_uring = off", "end-of-turn writes: send()");
    paused_reader_gets_every_frame("host.event_lib = poll", "event loop: poll");
}

static void paused_reader_gets_every_frame(const char* setting, const char* log_line) {
    HostProcess big(config(std::string("host.listen = 127.0.0.1:0\nhost.auth_secret = ") + kSecret +
                           "\nhost.admin_token = admin-token\nhost.max_queue_frames = 65536\n"
                           "host.max_queue_bytes = 33554432\n" +
                           setting + "\nhost.log_level = info\n"));
    CHECK_TRUE(big.start());
    WsClient alice, bob;
    connect_alice_and_bob_with_big_frames(big.port(), alice, bob);
    // remove, add, remove, ...: alice sees bob offline, online, offline, ... Four requests, so
    // later frames are queued while the earlier ones still fill alice's socket.
    constexpr int kRequests = 6, kOpsEach = 8000;
    for (int r = 0; r < kRequests; ++r) {
        const std::string ops = toggle_alice_bob_ops(kOpsEach);
        CHECK_EQUAL(200,
                    http_send(big.port(), "POST", "/admin/friendships", ops, "admin-token").status);
        usleep(250 * 1000);  // kept: alice reads nothing while the host queues the frames
    }
    CHECK_EQUAL(kRequests * kOpsEach, read_alternating_frames_about_bob(alice));
    CHECK_TRUE(alice.send_text("{\"type\":\"presence_heartbeat\",\"idle\":false}"));
    CHECK_TRUE(alice.wait_for("presence_heartbeat_ack"));
    CHECK_EQUAL(0, big.stop());
    STRCMP_CONTAINS(log_line, big.output().c_str());
}

// A reader that stops reading while small bursts keep coming, one loop turn each: every burst
// fits one end-of-turn write, so they go through the io_uring ring until alice's socket is
// full; then a ring send is partial (or refused) and lws keeps the rest (the debug line says
// so). No write interval, so that each burst leaves in its own turn's write. Every frame still
// arrives, whole and in order, when she reads again.
TEST(HostProcess, ReaderFallingBehindBurstByBurstGetsEveryFrameInOrder) {
    HostProcess big(config(std::string("host.listen = 127.0.0.1:0\nhost.auth_secret = ") + kSecret +
                           "\nhost.admin_token = admin-token\nhost.max_queue_frames = 65536\n"
                           "host.max_queue_bytes = 33554432\nhost.write_interval_ms = 0\n"
                           "host.log_level = debug\n"));
    CHECK_TRUE(big.start());
    WsClient alice, bob;
    connect_alice_and_bob_with_big_frames(big.port(), alice, bob);
    // 60 ops per request: ~15 KB for alice, within one write's bounds (64 frames, 64 KiB).
    constexpr int kOpsEach = 60;
    const std::string ops = toggle_alice_bob_ops(kOpsEach);
    int requests = 0;
    for (; requests < 2000; ++requests) {
        CHECK_EQUAL(200,
                    http_send(big.port(), "POST", "/admin/friendships", ops, "admin-token").status);
        if (requests % 20 == 19 && big.output().find("socket full") != std::string::npos) break;
    }
    STRCMP_CONTAINS("bytes left to lws", big.output().c_str());
    ++requests;
    CHECK_EQUAL(requests * kOpsEach, read_alternating_frames_about_bob(alice));
    CHECK_TRUE(alice.send_text("{\"type\":\"presence_heartbeat\",\"idle\":false}"));
    CHECK_TRUE(alice.wait_for("presence_heartbeat_ack"));
    CHECK_EQUAL(0, big.stop());
}

// libev: a connection whose request has not arrived when it is accepted is kept by the host
// until it has (up to 200 ms), then handed to lws with it; past that, lws gets it bare and reads
// the request itself. Every timing is served, whole or in parts; a connection that leaves
// without a word costs nothing.
TEST(HostProcess, UpgradeRequestsArrivingLateOrInPartsAreServed) {
    struct Case {
        int silent_ms;
        size_t first_bytes;
        int gap_ms;
    };
    for (const Case c :
         {Case{100, 0, 0}, Case{350, 0, 0}, Case{0, 20, 60}, Case{30, 3, 300}, Case{0, 100, 400}}) {
        const std::string what = std::to_string(c.silent_ms) + "/" + std::to_string(c.first_bytes) +
                                 "/" + std::to_string(c.gap_ms);
        WsClient client;
        CHECK_EQUAL_TEXT(101,
                         client.connect_status(host->port(), "/ws?token=" + token_for("alice"),
                                               {.source_ip = {},
                                                .silent = milliseconds{c.silent_ms},
                                                .first_bytes = c.first_bytes,
                                                .gap = milliseconds{c.gap_ms}}),
                         what.c_str());
        CHECK_TRUE_TEXT(client.wait_for("presence_snapshot"), what.c_str());
    }
    for (int i = 0; i < 20; ++i) {  // connect and leave without a word, or after "GE"
        const int fd = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(static_cast<uint16_t>(host->port()));
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        CHECK_EQUAL(0, ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to));
        if (i % 2) CHECK_EQUAL(2, write(fd, "GE", 2));
        close(fd);
    }
    WsClient after;
    CHECK_EQUAL(101, after.connect_status(host->port(), "/ws?token=" + token_for("bob")));
    CHECK_TRUE(after.wait_for("presence_snapshot"));
}

TEST(HostProcess, SigtermStopsCleanlyWithExitZero) {
    WsClient client;
    CHECK_EQUAL(101, client.connect_status(host->port(), "/ws?token=" + token_for("alice")));
    CHECK_TRUE(client.wait_for("presence_snapshot"));
    CHECK_EQUAL(0, host->stop());
}

TEST_GROUP(DemoHost) {
    std::unique_ptr<HostProcess> host;
    void setup() override {
        HostOptions options = config("host.listen = 127.0.0.1:0\n");
        options.extra_args = {"--demo"};
        host = std::make_unique<HostProcess>(options);
        CHECK_TRUE_TEXT(host->start(), "demo host printed its listening line");
    }
    void teardown() override {
        host.reset();
    }
};

TEST(DemoHost, ServesASelfContainedPageAtRoot) {
    const auto page = http_get(host->port(), "/");
    CHECK_EQUAL(200, page.status);
    STRCMP_CONTAINS("<script>", page.body.c_str());
    STRCMP_CONTAINS("/ws?user=", page.body.c_str());
    CHECK_TRUE(page.body.find("src=\"http") == std::string::npos);
}

TEST(DemoHost, UserParameterIsAcceptedFromAnyLoopbackSource) {
    WsClient alice, bob;
    CHECK_EQUAL(101,
                alice.connect_status(host->port(), "/ws?user=alice", {.source_ip = "127.0.0.7"}));
    std::string snapshot;
    CHECK_TRUE(alice.wait_for("presence_snapshot", &snapshot));
    // The demo friendships are loaded: alice's friends include bob.
    STRCMP_CONTAINS("\"bob\"", snapshot.c_str());
    CHECK_EQUAL(101, bob.connect_status(host->port(), "/ws?user=bob", {.source_ip = "127.1.2.3"}));
    CHECK_TRUE(alice.wait_for("\"user_id\":\"bob\",\"status\":\"online\""));
}

TEST(DemoHost, InvalidDemoUserIsRefused) {
    WsClient client;
    CHECK_EQUAL(401, client.connect_status(host->port(), "/ws?user=bad/name"));
}

TEST_GROUP(HostStartup){
    // Runs presence-host to completion (it must refuse to start) and returns its output and
    // "exit=<status>".
    std::string run(const std::string& config,
                    const std::string& args){std::vector<std::string> argv;
for (std::size_t at = 0; at < args.size();) {  // space-separated words
    const std::size_t end = std::min(args.find(' ', at), args.size());
    if (end > at) argv.push_back(args.substr(at, end - at));
    at = end + 1;
}
const auto r = HostProcess::run_with_config_text(config, argv, milliseconds{20000});
return r.output + "exit=" + std::to_string(r.exit_code);
}
}
;

TEST(HostStartup, PluginRefusalIsPrintedAndExitIsNonZero) {
    const std::string out = run(base_config(), "--set presence.offline_grace_s=soon");
    STRCMP_CONTAINS("offline_grace_s", out.c_str());
    CHECK_TRUE(out.find("exit=0") == std::string::npos);
}

TEST(HostStartup, MalformedConfigLineIsAnErrorWithItsLineNumber) {
    const std::string out = run(base_config() + "this line is wrong\n", "");
    STRCMP_CONTAINS("line 6", out.c_str());
    STRCMP_CONTAINS("exit=2", out.c_str());
}

TEST(HostStartup, HostSettingWithANonsenseValueIsRefusedWithItsName) {
    for (const char* line :
         {"host.io_uring = maybe", "host.write_interval_ms = 5000", "host.event_lib = select",
          "host.event_lib = libuv", "host.reuse_port = maybe"}) {
        const std::string key = std::string(line).substr(0, std::string(line).find(' '));
        const std::string out = run(base_config() + line + "\n", "");
        STRCMP_CONTAINS(key.c_str(), out.c_str());
        STRCMP_CONTAINS("exit=2", out.c_str());
    }
}

// host.reuse_port needs the host's own listener (libev): lws 4.1's (poll) cannot share its
// port, so asking for both is a settings error naming the keys.
TEST(HostStartup, ReusePortWithPollIsRefusedNamingTheKeys) {
    const std::string out =
        run(base_config() + "host.reuse_port = true\nhost.event_lib = poll\n", "");
    STRCMP_CONTAINS("host.reuse_port", out.c_str());
    STRCMP_CONTAINS("host.event_lib = libev", out.c_str());
    STRCMP_CONTAINS("poll", out.c_str());
    STRCMP_CONTAINS("exit=2", out.c_str());
}

// libuv was a third write path no user needed; asking for it says so.
TEST(HostStartup, LibuvIsRefusedSayingSo) {
    const std::string out = run(base_config() + "host.event_lib = libuv\n", "");
    STRCMP_CONTAINS("host.event_lib must be libev or poll", out.c_str());
    STRCMP_CONTAINS("libuv is no longer supported", out.c_str());
    STRCMP_CONTAINS("exit=2", out.c_str());
}

// A second host on a port in use fails (exit 1) saying so and naming the port, unless both
// hosts have host.reuse_port = true (ReusePort below): one having it is not enough.
TEST(HostStartup, ASecondHostOnAPortInUseFailsNamingThePort) {
    for (const auto& [first_reuses, second_reuses] :
         std::vector<std::pair<bool, bool>>{{false, false}, {false, true}, {true, false}}) {
        const std::string what = std::to_string(first_reuses) + "/" + std::to_string(second_reuses);
        HostProcess first(config(base_config() + (first_reuses ? "host.reuse_port = true\n" : "")));
        CHECK_TRUE_TEXT(first.start(), what.c_str());
        const std::string where = "127.0.0.1:" + std::to_string(first.port());
        const std::string out = run(
            base_config() + (second_reuses ? "host.reuse_port = true\n" : ""), "--listen " + where);
        STRCMP_CONTAINS_TEXT(("cannot listen on " + where).c_str(), out.c_str(), what.c_str());
        STRCMP_CONTAINS_TEXT("Address already in use", out.c_str(), what.c_str());
        STRCMP_CONTAINS_TEXT("host.reuse_port", out.c_str(), what.c_str());  // the hint
        STRCMP_CONTAINS_TEXT("exit=1", out.c_str(), what.c_str());
        // The first host is unaffected.
        WsClient client;
        CHECK_EQUAL(101, client.connect_status(first.port(), "/ws?token=" + token_for("alice")));
        CHECK_TRUE(client.wait_for("presence_snapshot"));
    }
}

TEST(HostStartup, AuthSecretIsRequiredOutsideDemo) {
    const std::string out = run("host.listen = 127.0.0.1:0\n", "");
    STRCMP_CONTAINS("host.auth_secret", out.c_str());
    STRCMP_CONTAINS("exit=2", out.c_str());
}

TEST_GROUP(ReusePort){};

namespace {

// The value of a "key":"text" or "key":number field of a flat JSON object (health), as text.
std::string json_field(const std::string& body, const std::string& key) {
    const std::string marker = "\"" + key + "\":";
    const auto at = body.find(marker);
    if (at == std::string::npos) return {};
    size_t from = at + marker.size();
    if (from < body.size() && body[from] == '"') {
        ++from;
        return body.substr(from, body.find('"', from) - from);
    }
    return body.substr(from, body.find_first_of(",}", from) - from);
}

}  // namespace

// host.reuse_port: two hosts on one port (the second told the first's real port). Both start
// and print their listening line; the kernel spreads connections over them and each is served
// (101, then its snapshot). Each host's /api/presence/health names its instance (by default
// hostname-pid) and counts its own connections; health requests land on either host too, so
// asking a few times hears from both: both served some of the 20, together all of them.
TEST(ReusePort, TwoHostsShareOnePortAndBothServeConnections) {
    const HostOptions options = config(base_config() + "host.reuse_port = true\n");
    HostProcess first(options);
    CHECK_TRUE_TEXT(first.start(), first.output().c_str());
    const int port = first.port();
    HostOptions second_options = options;
    second_options.extra_args = {"--listen", "127.0.0.1:" + std::to_string(port)};
    HostProcess second(second_options);
    CHECK_TRUE_TEXT(second.start(), second.output().c_str());
    CHECK_EQUAL(port, second.port());

    constexpr int kClients = 20;
    std::vector<std::unique_ptr<WsClient>> clients;
    for (int i = 0; i < kClients; ++i) {
        clients.push_back(std::make_unique<WsClient>());
        const std::string user = "u" + std::to_string(i);
        CHECK_EQUAL_TEXT(101, clients.back()->connect_status(port, "/ws?token=" + token_for(user)),
                         user.c_str());
        CHECK_TRUE_TEXT(clients.back()->wait_for("presence_snapshot"), user.c_str());
    }

    std::map<std::string, int> connections_of;  // instance -> its WebSocket connections
    for (int i = 0; i < 100 && connections_of.size() < 2; ++i) {
        const auto health = http_get(port, "/api/presence/health");
        CHECK_EQUAL(200, health.status);
        const std::string instance = json_field(health.body, "instance");
        CHECK_TRUE_TEXT(!instance.empty(), health.body.c_str());
        connections_of[instance] = std::atoi(json_field(health.body, "connections").c_str());
    }
    std::string seen;
    int total = 0;
    for (const auto& [instance, connections] : connections_of) {
        seen += instance + "=" + std::to_string(connections) + " ";
        CHECK_TRUE_TEXT(connections > 0, seen.c_str());
        total += connections;
    }
    CHECK_EQUAL_TEXT(2u, connections_of.size(), seen.c_str());
    CHECK_EQUAL_TEXT(kClients, total, seen.c_str());

    clients.clear();
    CHECK_EQUAL(0, second.stop());
    CHECK_EQUAL(0, first.stop());
}

TEST_GROUP(DescriptorLimit){};

// More connections than descriptors: the host must refuse the surplus and keep serving, not
// spin on accept() failing with EMFILE (lws 4.1.6 logs "accept: errno 24" and retries the
// still-readable listen socket forever), and must serve again once clients leave.
TEST(DescriptorLimit, SurplusConnectionsAreRefusedWithoutAnAcceptLoop) {
    HostOptions options = config(base_config());
    options.max_open_files = 200;
    auto host = std::make_unique<HostProcess>(options);
    CHECK_TRUE(host->start());
    const size_t idle_fds = open_fds(host->pid());
    std::vector<std::unique_ptr<WsClient>> clients;
    int accepted = 0;
    bool refused = false;
    // Until the first refusal (each refusal costs the client's 5 s read timeout).
    for (int i = 0; i < 250 && !refused; ++i) {
        clients.push_back(std::make_unique<WsClient>());
        const int status = clients.back()->connect_status(
            host->port(), "/ws?token=" + token_for("u" + std::to_string(i)),
            {.source_ip = "127.0.0.1"});
        if (status == 101) ++accepted;
        refused = status != 101;
    }
    CHECK_TRUE_TEXT(refused, std::to_string(accepted).c_str());
    CHECK_TRUE_TEXT(accepted >= 100, std::to_string(accepted).c_str());
    clients.clear();
    // The host reaps the closed sockets: its descriptors come back to what it held idle.
    bool reaped = false;
    for (int i = 0; i < 500 && !reaped; ++i) {
        reaped = open_fds(host->pid()) <= idle_fds + 5;
        if (!reaped) usleep(10 * 1000);
    }
    CHECK_TRUE_TEXT(reaped, std::to_string(open_fds(host->pid())).c_str());
    WsClient late;
    CHECK_EQUAL(101, late.connect_status(host->port(), "/ws?token=" + token_for("late")));
    CHECK_TRUE(late.wait_for("presence_snapshot"));
    CHECK_EQUAL(0, host->stop());
    const std::string log = host->output();
    CHECK_TRUE_TEXT(log.find("errno 24") == std::string::npos, log.substr(0, 300).c_str());
    // The surplus never reached lws (which fails on a descriptor past its table, and was seen
    // to crash after a run of such failures): the host closed it and said so.
    CHECK_TRUE_TEXT(log.find("is too high") == std::string::npos, log.substr(0, 300).c_str());
    STRCMP_CONTAINS("descriptors at lws' limit", log.c_str());
}

TEST_GROUP(EventLibHosts){};

// The default loop (libev when its lws plugin is installed, as on the build machines) must
// stop on both signals with exit 0 after destroying (and so flushing) the plugin.
TEST(EventLibHosts, DefaultLoopIsLibevAndStopsCleanlyOnSigintAndSigterm) {
    for (int signum : {SIGINT, SIGTERM}) {
        HostProcess host(config(std::string("host.listen = 127.0.0.1:0\nhost.auth_secret = ") +
                                kSecret + "\nhost.log_level = info\n"));
        CHECK_TRUE(host.start());
        WsClient client;
        CHECK_EQUAL(101, client.connect_status(host.port(), "/ws?token=" + token_for("alice")));
        CHECK_TRUE(client.wait_for("presence_snapshot"));
        CHECK_EQUAL(0, host.stop_with(signum));
        const std::string log = host.output();
        STRCMP_CONTAINS("event loop: libev", log.c_str());
        STRCMP_CONTAINS("end-of-turn writes: io_uring", log.c_str());
        // lws' "E: adopt_socket_readbuf: calling service" on every adopted connection is not
        // an error and is filtered out (host_start.cpp, emit_lws_log).
        CHECK_TRUE_TEXT(log.find("calling service") == std::string::npos, log.c_str());
        STRCMP_CONTAINS("stopping: flushing the plugin", log.c_str());
    }
}

TEST(EventLibHosts, PollStaysSelectable) {
    HostProcess host(config(std::string("host.listen = 127.0.0.1:0\nhost.auth_secret = ") +
                            kSecret + "\nhost.event_lib = poll\nhost.log_level = info\n"));
    CHECK_TRUE(host.start());
    WsClient client;
    CHECK_EQUAL(101, client.connect_status(host.port(), "/ws?token=" + token_for("alice")));
    CHECK_TRUE(client.wait_for("presence_snapshot"));
    CHECK_EQUAL(0, host.stop_with(SIGINT));
    const std::string log = host.output();
    STRCMP_CONTAINS("event loop: poll", log.c_str());
    // The plain path writes from lws' writable callback: no end-of-turn writer is set up.
    CHECK_TRUE_TEXT(log.find("end-of-turn writes") == std::string::npos, log.c_str());
}

TEST(EventLibHosts, LibevAndPollHostsServeAndStopCleanlyOnSigterm) {
    for (const char* lib : {"libev", "poll"}) {
        HostProcess host(config(base_config() + "host.event_lib = " + lib + "\n"));
        CHECK_TRUE_TEXT(host.start(), lib);
        WsClient client;
        CHECK_EQUAL(101, client.connect_status(host.port(), "/ws?token=" + token_for("alice")));
        CHECK_TRUE(client.wait_for("presence_snapshot"));
        CHECK_EQUAL(0, host.stop());
    }
}

TEST_GROUP(TurnEndFlush){};

// Frames owed to one connection within one loop turn leave in one write (issue 4): three
// heartbeats in one TCP segment are read in one turn, and their three acks arrive in ONE data
// segment, on both paths: libev writes at the end of the turn (through io_uring, or with
// send() when it is off), poll (the plain path) from the writable callback the turn asked for.
TEST(TurnEndFlush, AnswersToMessagesOfOneTurnLeaveInOneWrite) {
    for (const char* lib : {"libev", "poll", "libev\nhost.io_uring = off"}) {
        HostProcess host(config(base_config() + "host.event_lib = " + lib + "\n"));
        CHECK_TRUE_TEXT(host.start(), lib);
        WsClient client;
        CHECK_EQUAL(101, client.connect_status(host.port(), "/ws?token=" + token_for("alice")));
        CHECK_TRUE(client.wait_for("presence_snapshot"));
        std::string payload;
        while (client.read_frame(payload, milliseconds{200}) > 0) {
        }  // whatever else the connect produced
        const long before = data_segments_received(client);
        CHECK_TRUE(before > 0);
        const std::string heartbeat = R"({"type":"presence_heartbeat","idle":false})";
        CHECK_TRUE(client.send_texts_in_one_write({heartbeat, heartbeat, heartbeat}));
        for (int i = 0; i < 3; ++i) CHECK_TRUE_TEXT(client.wait_for("presence_heartbeat_ack"), lib);
        CHECK_EQUAL_TEXT(before + 1, data_segments_received(client), lib);
        CHECK_EQUAL(0, host.stop());
    }
}

// host.write_interval_ms: a connection written less than the interval ago gets its next
// frames when the interval has passed (they gather meanwhile), and no later; a connection
// idle for longer is written at once. 0 writes every turn.
TEST(TurnEndFlush, WriteIntervalHoldsFramesForARecentlyWrittenConnection) {
    const std::string heartbeat = R"({"type":"presence_heartbeat","idle":false})";
    for (int interval_ms : {300, 0}) {
        HostProcess host(config(base_config() +
                                "host.write_interval_ms = " + std::to_string(interval_ms) + "\n"));
        CHECK_TRUE(host.start());
        WsClient client;
        CHECK_EQUAL(101, client.connect_status(host.port(), "/ws?token=" + token_for("alice")));
        CHECK_TRUE(client.wait_for("presence_snapshot"));
        usleep(400 * 1000);  // kept (no clock in the host): longer than the interval
        auto ms_since = [](const timespec& from) {
            timespec now{};
            clock_gettime(CLOCK_MONOTONIC, &now);
            return (now.tv_sec - from.tv_sec) * 1000 + (now.tv_nsec - from.tv_nsec) / 1000000;
        };
        timespec start{};
        clock_gettime(CLOCK_MONOTONIC, &start);
        CHECK_TRUE(client.send_text(heartbeat));
        CHECK_TRUE(client.wait_for("presence_heartbeat_ack"));
        CHECK_TRUE_TEXT(ms_since(start) < 150, std::to_string(ms_since(start)).c_str());
        // Written just now: a second answer waits out the interval, then arrives.
        clock_gettime(CLOCK_MONOTONIC, &start);
        CHECK_TRUE(client.send_text(heartbeat));
        CHECK_TRUE(client.wait_for("presence_heartbeat_ack"));
        const long waited = ms_since(start);
        if (interval_ms > 0) {
            CHECK_TRUE_TEXT(waited >= 200 && waited < 1000, std::to_string(waited).c_str());
        } else {
            CHECK_TRUE_TEXT(waited < 150, std::to_string(waited).c_str());
        }
        CHECK_EQUAL(0, host.stop());
    }
}
