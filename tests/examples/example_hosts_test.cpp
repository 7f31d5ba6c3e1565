// examples/epoll_host.c, a host of its own (epoll, real sockets, no libwebsockets), driven over
// the wire: WebSocket snapshot, events, heartbeat, the size limit, HTTP with headers, a close
// from the plugin, and a clean stop. Every promise here is one the ABI header makes.
//
// Usage: example_hosts_tests [CppUTest options]; EPOLL_HOST_EXE and PRESENCE_PLUGIN_SO may
// name other builds (e.g. the installed ones).
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "http_client.hpp"
#include "json.hpp"
#include "subprocess.hpp"
#include "temp_dir.hpp"
#include "ws_client.hpp"

// CppUTest last: its leak-detecting new macros must not meet standard headers.
#include <CppUTest/CommandLineTestRunner.h>
#include <CppUTest/MemoryLeakWarningPlugin.h>
#include <CppUTest/TestHarness.h>

using namespace presence::test;
using namespace std::chrono_literals;

namespace {

std::string from_env(const char* name, const char* fallback) {
    const char* value = std::getenv(name);
    return value && *value ? value : fallback;
}

// epoll_host in a child process, on a port it picked, with its output in a temp dir.
class ExampleHost {
  public:
    explicit ExampleHost(const std::vector<std::string>& args) {
        std::vector<std::string> argv = {from_env("EPOLL_HOST_EXE", EPOLL_HOST_EXE), "--plugin",
                                         from_env("PRESENCE_PLUGIN_SO", PRESENCE_PLUGIN_SO)};
        argv.insert(argv.end(), args.begin(), args.end());
        log_ = dir_.file("epoll_host.log");
        if (!child_.start(argv, log_)) return;
        static const std::regex listening(R"(listening on http://127\.0\.0\.1:(\d+))");
        for (int i = 0; i < 500 && child_.running(); ++i) {
            std::smatch m;
            const std::string out = output();
            if (std::regex_search(out, m, listening)) {
                port_ = static_cast<std::uint16_t>(std::stoi(m[1].str()));
                return;
            }
            std::this_thread::sleep_for(10ms);
        }
    }
    std::uint16_t port() const { return port_; }
    std::string output() const { return read_file(log_); }
    int stop() { return child_.stop(); }  // SIGTERM, and its exit status

  private:
    TempDir dir_{"epoll-host"};
    ChildProcess child_;
    std::string log_;
    std::uint16_t port_ = 0;
};

}  // namespace

TEST_GROUP(EpollHost) {
    std::unique_ptr<ExampleHost> host;
    void setup() override {
        host = std::make_unique<ExampleHost>(std::vector<std::string>{
            "--friend", "alice,bob", "presence.offline_grace_s=0",
            "presence.max_message_bytes=2048", "presence.max_connections_per_user=1",
            "host.ignored=by the plugin"});
        CHECK_TRUE_TEXT(host->port() != 0, host->output().c_str());
    }
    void teardown() override {
        host.reset();
    }
};

TEST(EpollHost, FriendsSeeEachOtherAndTheHeartbeatIsAcked) {
    WsClient alice, bob;
    CHECK_TRUE_TEXT(alice.connect(host->port(), "/ws?user=alice"), alice.error().c_str());
    Json snap = alice.read_until_type("presence_snapshot");
    STRCMP_EQUAL("alice", snap["self"]["user_id"].str().c_str());
    CHECK_TRUE(snap["friends"].find_by("user_id", "bob").valid());
    CHECK_TRUE_TEXT(bob.connect(host->port(), "/ws?user=bob"), bob.error().c_str());
    CHECK_TRUE(bob.read_until_type("presence_snapshot").valid());
    Json online = alice.read_until_type("presence");
    STRCMP_EQUAL("bob", online["user_id"].str().c_str());
    STRCMP_EQUAL("online", online["status"].str().c_str());
    CHECK_TRUE(alice.heartbeat_roundtrip());

    // bob leaves: on_disconnect on the host's next loop turn; grace 0, so offline at a tick.
    bob.send_close();
    bob.drop();
    Json offline = alice.read_until_type("presence", 3000ms);
    STRCMP_EQUAL("offline", offline["status"].str().c_str());
    CHECK_TRUE_TEXT(host->output().find("change: bob is offline") != std::string::npos,
                    host->output().c_str());
}

TEST(EpollHost, AnOversizedMessageIsDroppedAndAnsweredTooLarge) {
    WsClient alice;
    CHECK_TRUE(alice.connect(host->port(), "/ws?user=alice"));
    CHECK_TRUE(alice.read_until_type("presence_snapshot").valid());
    CHECK_TRUE(alice.send_fragmented_text(std::string(5000, ' '), 3));
    Json error = alice.read_until_type("error");
    STRCMP_EQUAL("too_large", error["code"].str().c_str());
    CHECK_TRUE_TEXT(error["message"].str().find("2048") != std::string::npos,
                    error["message"].str().c_str());
    CHECK_TRUE(alice.heartbeat_roundtrip());  // still open
}

TEST(EpollHost, ARefusedConnectionIsClosedWithThePluginsCode) {
    WsClient first, second;
    CHECK_TRUE(first.connect(host->port(), "/ws?user=alice"));
    CHECK_TRUE(first.read_until_type("presence_snapshot").valid());
    CHECK_TRUE(second.connect(host->port(), "/ws?user=alice"));  // over the limit of 1
    STRCMP_EQUAL("too_many", second.read_until_type("error")["code"].str().c_str());
    CHECK_TRUE(second.wait_closed());
    LONGS_EQUAL(1008, second.close_code());
    CHECK_TRUE(first.heartbeat_roundtrip());
}

TEST(EpollHost, HttpGoesThroughOnHttpWithHeadersBothWays) {
    HttpResponse me = http_get(host->port(), "/api/presence/me?user=alice");
    LONGS_EQUAL_TEXT(200, me.status, me.body.c_str());
    STRCMP_EQUAL("alice", me.json()["user_id"].str().c_str());
    const std::string etag = me.headers["etag"];
    CHECK_FALSE(etag.empty());
    HttpResponse same =
        http_request(host->port(), "GET", "/api/presence/me?user=alice", {{"If-None-Match", etag}});
    LONGS_EQUAL_TEXT(304, same.status, same.body.c_str());
    HttpResponse anonymous = http_get(host->port(), "/api/presence/me");
    LONGS_EQUAL(401, anonymous.status);
    CHECK_TRUE(anonymous.headers["www-authenticate"].rfind("Bearer", 0) == 0);
    LONGS_EQUAL(404, http_get(host->port(), "/elsewhere").status);
    HttpResponse health = http_get(host->port(), "/api/presence/health");
    LONGS_EQUAL(200, health.status);
    STRCMP_EQUAL("ok", health.json()["status"].str().c_str());
}

TEST(EpollHost, SigtermStopsItCleanlyWithConnectionsOpen) {
    WsClient alice;
    CHECK_TRUE(alice.connect(host->port(), "/ws?user=alice"));
    CHECK_TRUE(alice.read_until_type("presence_snapshot").valid());
    LONGS_EQUAL_TEXT(0, host->stop(), host->output().c_str());
    CHECK_TRUE(alice.wait_closed());
    LONGS_EQUAL(1001, alice.close_code());
}

int main(int argc, char** argv) {
    // The host is another process; leak accounting would only see library caches here.
    MemoryLeakWarningPlugin::turnOffNewDeleteOverloads();
    return CommandLineTestRunner::RunAllTests(argc, argv);
}
