// What reaches the host before and around the WebSocket (issue 12): sockets that never send
// their request, ping floods, repeated too_large messages, an unknown WebSocket version, a bad
// %-escape in the path (/metrics for operators only: rest_test.cpp). Real presence-host, real
// sockets on loopback.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "e2e_fixture.hpp"

using namespace presence::e2e;

namespace {

using Clock = std::chrono::steady_clock;

// Raises the soft open-files limit to the hard one (the flood holds thousands of sockets).
rlim_t raise_fd_limit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    getrlimit(RLIMIT_NOFILE, &limit);
    return limit.rlim_cur;
}

// `count` connections from 127.0.0.`source` that never send a byte; their descriptors are
// appended to `fds` once connected (the kernel completes the handshake, so the host has them
// in its accept queue or has accepted them). Returns how many connected.
size_t open_idle(std::vector<int>& fds, int source, std::uint16_t port, size_t count) {
    std::vector<int> connecting;
    for (size_t i = 0; i < count; ++i) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) break;
        int one = 1;
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        sockaddr_in from{};
        from.sin_family = AF_INET;
        from.sin_addr.s_addr = htonl((127u << 24) | static_cast<uint32_t>(source));
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        to.sin_port = htons(port);
        if (::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0 ||
            (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0 &&
             errno != EINPROGRESS)) {
            ::close(fd);
            continue;
        }
        connecting.push_back(fd);
    }
    // Wait (bounded) for the handshakes, so the next wave does not overflow the listen queue.
    size_t connected = 0;
    const auto deadline = Clock::now() + milliseconds{5000};
    for (const int fd : connecting) {
        pollfd p{fd, POLLOUT, 0};
        const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
        if (::poll(&p, 1, static_cast<int>(std::max<long>(left, 0))) == 1) ++connected;
        fds.push_back(fd);
    }
    return connected;
}

// True when the host has closed `fd` (EOF or reset), waiting at most `timeout`.
bool closed_by_host(int fd, milliseconds timeout) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return false;
    char byte;
    const ssize_t n = ::recv(fd, &byte, 1, MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

// CPU seconds (user + system) the process has used so far, from /proc/PID/stat.
double cpu_seconds(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto paren = stat.rfind(')');
    if (paren == std::string::npos) return 0;
    std::istringstream fields(stat.substr(paren + 2));
    std::string skip;
    for (int i = 0; i < 11; ++i) fields >> skip;  // state .. cmajflt (fields 3-13)
    double utime = 0, stime = 0;
    fields >> utime >> stime;
    return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double percentile(std::vector<double> v, double q) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const size_t at =
        std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
    return v[at];
}

void close_all(std::vector<int>& fds) {
    for (const int fd : fds) ::close(fd);
    fds.clear();
}

}  // namespace

// The new host settings refuse nonsense with a reason naming the key (and start with sane
// values, every test below).
TEST_GROUP(GateSettings){};

TEST(GateSettings, NonsenseIsRefused) {
    const std::vector<std::pair<std::string, std::string>> bad = {
        {"host.max_pending_sockets", "0"},      {"host.max_pending_sockets", "many"},
        {"host.max_pending_sockets", "70000"},  {"host.max_pending_per_address", "0"},
        {"host.max_pending_per_address", "-1"}, {"host.pending_timeout_ms", "50"},
        {"host.pending_timeout_ms", "600000"},  {"host.pending_timeout_ms", "5s"}};
    for (const auto& [key, value] : bad) {
        RunResult r = HostProcess::run_with_config({{key, value}});
        const std::string what = key + " = " + value + ": " + r.output;
        CHECK_TEXT(!r.timed_out && r.exit_code == 2, what.c_str());
        CHECK_TEXT(r.output.find(key) != std::string::npos, what.c_str());
    }
    // Per address above the total makes no sense either.
    RunResult r = HostProcess::run_with_config(
        {{"host.max_pending_sockets", "10"}, {"host.max_pending_per_address", "11"}});
    CHECK_TEXT(
        r.exit_code == 2 && r.output.find("host.max_pending_per_address") != std::string::npos,
        r.output.c_str());
}

TEST_GROUP(Gate) {
    std::unique_ptr<HostProcess> host;
    void setup() override {
        HostOptions o = small_timings();
        o.set("presence.max_message_bytes", "4096");
        o.friends({{"alice", "bob"}});
        host = start_host(o);
    }
    void teardown() override {
        stop_cleanly(host);
    }
};

// The abuse guard counts the too_large errors the host reports (the message itself never
// reaches the plugin): a client sending nothing but oversized messages is closed with 1008.
TEST(Gate, RepeatedTooLargeMessagesCloseWith1008) {
    WsClient ws;
    connect_user(*host, ws, "alice");
    const std::string big(5000, 'x');
    const std::string huge(100000, 'y');  // in lws' 512-byte pieces, and in 4 fragments
    int errors = 0;
    for (int i = 0; i < 40 && !ws.closed(); ++i) {
        if (!(i % 2 ? ws.send_fragmented_text(huge, 4) : ws.send_text(big))) break;
        Json answer = ws.read_json(milliseconds{3000});
        if (!answer.valid()) break;
        STRCMP_EQUAL("too_large", answer["code"].str().c_str());
        ++errors;
        ws.read_text(milliseconds{20});  // a close frame right behind the error, if any
    }
    CHECK_TEXT(ws.wait_closed(milliseconds{5000}), "40 too_large messages did not close");
    LONGS_EQUAL(1008, ws.close_code());
    CHECK_TEXT(errors > 1, "closed before any repetition");
}

// lws answers pings itself; a client flooding them is closed with 1008 by the host, within
// bounded CPU, and other clients carry on.
TEST(Gate, PingFloodClosesWith1008) {
    WsClient flooder, bystander;
    connect_user(*host, flooder, "alice");
    connect_user(*host, bystander, "bob");
    const double cpu_before = cpu_seconds(host->pid());
    const auto t0 = Clock::now();
    int pings = 0;
    // Bursts of pings, each burst followed by a look for the close (pongs are skipped): writing
    // on into a socket the host has closed would draw a reset that can eat its close frame.
    // A flood keeps coming until it is closed (bounded at 4 s, under the 5 s heartbeat timeout
    // that would otherwise close it with 1001): a loaded host reads more pings per loop turn.
    while (!flooder.closed() && Clock::now() - t0 < std::chrono::seconds(4)) {
        for (int i = 0; i < 20 && flooder.send_ping("flood"); ++i) ++pings;
        while (auto frame = flooder.read_frame(milliseconds{0})) {
            if (frame->opcode == WsOpcode::Close) break;
        }
    }
    CHECK_TEXT(flooder.wait_closed(milliseconds{5000}), "a ping flood was not closed");
    LONGS_EQUAL(1008, flooder.close_code());
    CHECK_TEXT(host->output().find("ping flood, closing (1008)") != std::string::npos,
               host->output().c_str());
    const double flood_s = std::chrono::duration<double>(Clock::now() - t0).count();
    const double cpu = cpu_seconds(host->pid()) - cpu_before;
    char line[200];
    std::snprintf(line, sizeof line,
                  "PingFlood: closed with 1008 after %d pings in %.2f s, host CPU %.2f s", pings,
                  flood_s, cpu);
    UT_PRINT(line);
    CHECK_TEXT(bystander.heartbeat_roundtrip(), "a bystander suffered from the ping flood");
    // An honest client's pings are answered.
    WsClient honest;
    connect_user(*host, honest, "alice");
    for (int i = 0; i < 5; ++i) {
        CHECK(honest.send_ping("hi"));
        auto pong = honest.read_frame();
        CHECK(pong.has_value() && pong->opcode == WsOpcode::Pong);
    }
    CHECK(honest.heartbeat_roundtrip());
}

// RFC 6455 4.2.2: an unknown version is answered 426 with the version the server speaks.
TEST(Gate, UnknownWebSocketVersionIs426) {
    TcpSocket sock;
    CHECK_TEXT(sock.connect("127.0.0.1", host->port(), milliseconds{2000}), sock.error().c_str());
    const std::string request = upgrade_request(*host, "alice", "", "8");
    CHECK(sock.write_all(request, milliseconds{2000}));
    std::string answer;
    char buf[2048];
    for (;;) {
        const long n = sock.read_some(buf, sizeof buf, milliseconds{3000});
        if (n <= 0) break;
        answer.append(buf, static_cast<size_t>(n));
    }
    // lws writes the status line of a refused upgrade as HTTP/1.0.
    CHECK_TEXT(answer.starts_with("HTTP/1.1 426") || answer.starts_with("HTTP/1.0 426"),
               answer.c_str());
    std::string lower = answer;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    CHECK_TEXT(lower.find("\r\nsec-websocket-version: 13\r\n") != std::string::npos,
               answer.c_str());
    CHECK_TEXT(answer.find("\"upgrade_required\"") != std::string::npos, answer.c_str());
    // Version 13 still upgrades.
    WsClient ws;
    connect_user(*host, ws, "alice");
}

// lws refuses a bad %-escape with its own HTML page; the host answers in the REST shape.
TEST(Gate, BadPercentEscapeGetsTheJsonError) {
    const std::string token = host->mint_token("alice");
    for (const char* tail : {"/users/bob%", "/users/bob%zz", "/users/b%0", "/users/%00bob"}) {
        HttpResponse r = http_get(host->port(), host->http_prefix() + tail, token);
        LONGS_EQUAL_TEXT(400, r.status, (std::string(tail) + ": " + r.body).c_str());
        STRCMP_EQUAL_TEXT("bad_request", r.error_code().c_str(), r.body.c_str());
        CHECK(r.headers["content-type"].find("application/json") != std::string::npos);
    }
    // A good escape is still a user id lookup.
    HttpResponse r = http_get(host->port(), host->http_prefix() + "/users/b%6Fb", token);
    LONGS_EQUAL_TEXT(200, r.status, r.body.c_str());
}

// host.max_pending_per_address: past it, a source's new idle sockets are closed at once while
// other sources still connect; host.pending_timeout_ms closes the rest.
TEST_GROUP(PendingSockets) {
    std::unique_ptr<HostProcess> host;
    std::vector<int> idle;
    void setup() override {
        raise_fd_limit();
        HostOptions o = small_timings();
        o.set("host.max_pending_per_address", "10");
        o.set("host.max_pending_sockets", "100");
        o.set("host.pending_timeout_ms", "1500");
        o.friends({{"alice", "bob"}});
        host = start_host(o);
    }
    void teardown() override {
        close_all(idle);
        stop_cleanly(host);
    }
};

TEST(PendingSockets, CappedPerAddressAndClosedAfterTheTimeout) {
    CHECK_EQUAL(30u, open_idle(idle, 9, host->port(), 30));
    size_t refused = 0;
    for (const int fd : idle) refused += closed_by_host(fd, milliseconds{0}) ? 1 : 0;
    // Give the host a moment for the sockets still in its accept queue.
    if (refused < 20) {
        refused = 0;
        for (const int fd : idle) refused += closed_by_host(fd, milliseconds{50}) ? 1 : 0;
    }
    LONGS_EQUAL_TEXT(20, refused, "sockets past the per-address cap of 10 were kept");
    // Another source is not affected, nor a real client.
    std::vector<int> other;
    CHECK_EQUAL(5u, open_idle(other, 10, host->port(), 5));
    WsClient ws;
    connect_user(*host, ws, "alice");
    // After the timeout every idle socket is gone.
    for (const int fd : other) CHECK_TEXT(closed_by_host(fd, milliseconds{4000}), "kept idle");
    for (const int fd : idle) CHECK_TEXT(closed_by_host(fd, milliseconds{4000}), "kept idle");
    close_all(other);
    CHECK(ws.heartbeat_roundtrip());
}

// Issue 12 item 5: thousands of idle sockets from several sources must not hold back a real
// client. Timings are printed (tests/bench/RESULTS.md), never asserted: the machine is shared.
TEST_GROUP(IdleFlood) {
    std::unique_ptr<HostProcess> host;
    std::vector<int> idle;
    void setup() override {
        HostOptions o = small_timings();
        o.set("host.pending_timeout_ms", "3000");
        o.friends({{"alice", "bob"}});
        host = start_host(o);
    }
    void teardown() override {
        close_all(idle);
        stop_cleanly(host);
    }
};

TEST(IdleFlood, RealClientsGetTheirSnapshotWhileThousandsOfSocketsSayNothing) {
    constexpr int kSources = 9;  // 9,000 idle sockets, as in the issue
    constexpr size_t kPerSource = 1000;
    if (raise_fd_limit() < kSources * kPerSource + 512) {
        UT_PRINT("IdleFlood: RLIMIT_NOFILE too low here; flood skipped");
        return;
    }
    // Real clients while the flood arrives (a thread of their own; tokens minted beforehand).
    std::vector<std::string> paths;
    for (int i = 0; i < 20; ++i) paths.push_back(host->ws_path(i % 2 ? "alice" : "bob"));
    std::vector<double> arriving_ms;
    int arriving_failed = 0;
    std::atomic<bool> flooding{true};
    std::thread clients([&] {
        for (size_t i = 0; flooding.load() && i < paths.size(); ++i) {
            WsClient ws;
            const auto t0 = Clock::now();
            if (!ws.connect(host->port(), paths[i]) ||
                !ws.read_until_type("presence_snapshot", milliseconds{3000}).valid()) {
                ++arriving_failed;
                continue;
            }
            arriving_ms.push_back(
                std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
            std::this_thread::sleep_for(milliseconds{10});  // clients spread over the flood
        }
    });
    const double cpu_before = cpu_seconds(host->pid());
    const auto flood_start = Clock::now();
    size_t connected = 0;
    for (int s = 0; s < kSources; ++s)
        connected += open_idle(idle, 20 + s, host->port(), kPerSource);
    const double flood_s = std::chrono::duration<double>(Clock::now() - flood_start).count();
    const double cpu_flood = cpu_seconds(host->pid()) - cpu_before;
    flooding.store(false);
    clients.join();
    CHECK_TEXT(connected > kSources * kPerSource * 9 / 10, "the flood did not connect");
    LONGS_EQUAL_TEXT(0, arriving_failed, "clients failed while the flood arrived");

    // Real clients, one after another, while the idle sockets are held.
    std::vector<double> delays_ms;
    const double cpu_clients_before = cpu_seconds(host->pid());
    for (int i = 0; i < 30; ++i) {
        WsClient ws;
        const std::string path = host->ws_path(i % 2 ? "alice" : "bob");  // mints: untimed
        const auto t0 = Clock::now();
        CHECK_TEXT(ws.connect(host->port(), path), ws.error().c_str());
        Json snapshot = ws.read_until_type("presence_snapshot", milliseconds{3000});
        CHECK_TEXT(snapshot.valid(), "no snapshot during the flood");
        delays_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
    const double cpu_clients = cpu_seconds(host->pid()) - cpu_clients_before;
    // The host's CPU while it holds the idle sockets and nothing else happens.
    const double cpu_idle_before = cpu_seconds(host->pid());
    std::this_thread::sleep_for(milliseconds{1000});  // the measured second: the point here
    const double cpu_idle = cpu_seconds(host->pid()) - cpu_idle_before;

    char line[512];
    std::snprintf(line, sizeof line,
                  "IdleFlood: %zu idle sockets from %d sources connected in %.2f s (host CPU "
                  "%.2f s; %zu clients meanwhile, max %.1f ms); 30 clients connect+snapshot "
                  "p50 %.1f ms, p99 %.1f ms, max %.1f ms (host CPU %.2f s); host CPU with the "
                  "flood held, 1 s: %.0f %%",
                  connected, kSources, flood_s, cpu_flood, arriving_ms.size(),
                  percentile(arriving_ms, 1.0), percentile(delays_ms, 0.5),
                  percentile(delays_ms, 0.99), percentile(delays_ms, 1.0), cpu_clients,
                  cpu_idle * 100);
    UT_PRINT(line);
    CHECK_TEXT(cpu_idle < 0.5, line);  // not a timing: an idle host must not spin

    // host.pending_timeout_ms (3 s here): the idle sockets are closed within 3.2 s from now
    // (most already are: they were accepted during the flood), the host is idle again.
    const auto deadline = Clock::now() + milliseconds{3200};
    size_t still_open = 0;
    for (const int fd : idle) {
        const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
        still_open += closed_by_host(fd, std::max(left, milliseconds{0})) ? 0 : 1;
    }
    LONGS_EQUAL_TEXT(0, still_open, "idle sockets outlived host.pending_timeout_ms");
}
