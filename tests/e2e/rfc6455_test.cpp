// RFC 6455 points lws 4.1.6 lets through, enforced by the host (issue 12). 5.1: a client frame
// that is not masked fails the connection with 1002 (host-stub/frame_mask_guard.hpp), whatever
// came before it, and nothing of it reaches the plugin. Real presence-host, real sockets.
#include <string>

#include "e2e_fixture.hpp"

using namespace presence::e2e;

namespace {

// Reads raw bytes until the peer closes or `timeout` passes between reads.
std::string read_until_eof(TcpSocket& sock, milliseconds timeout = milliseconds{3000}) {
    std::string got;
    char buf[2048];
    for (;;) {
        const long n = sock.read_some(buf, sizeof buf, timeout);
        if (n <= 0) break;
        got.append(buf, static_cast<size_t>(n));
    }
    return got;
}

// An unmasked text frame of `payload` (< 126 bytes), as a broken client would send it.
std::string unmasked_text(const std::string& payload) {
    return std::string{'\x81', static_cast<char>(payload.size())} + payload;
}

// Waits for the server's close; true when it was 1002 and no frame of `forbidden` type came
// before it.
void expect_closed_1002(WsClient& ws, WsOpcode forbidden = WsOpcode::Continuation) {
    for (int i = 0; i < 20; ++i) {
        auto frame = ws.read_frame(milliseconds{3000});
        if (!frame) break;
        CHECK_TEXT(forbidden == WsOpcode::Continuation || frame->opcode != forbidden,
                   "answered a frame it should have refused");
        if (frame->opcode == WsOpcode::Close) break;
    }
    CHECK_TEXT(ws.wait_closed(milliseconds{3000}), "an unmasked frame did not close");
    LONGS_EQUAL(1002, ws.close_code());
}

}  // namespace

TEST_GROUP(Rfc6455) {
    std::unique_ptr<HostProcess> host;
    void setup() override {
        HostOptions o = small_timings();
        o.friends({{"alice", "bob"}});
        host = start_host(o);
    }
    void teardown() override {
        stop_cleanly(host);
    }
};

// An unmasked presence_update: closed with 1002, and the friend never sees the status it
// carried; the masked friend carries on.
TEST(Rfc6455, UnmaskedTextFrameClosesWith1002AndReachesNothing) {
    WsClient alice, bob;
    connect_user(*host, bob, "bob");
    connect_user(*host, alice, "alice");
    CHECK(next_presence_about(bob, "alice").valid());  // alice came online
    CHECK(alice.send_raw(unmasked_text(R"({"type":"presence_update","status":"dnd"})")));
    expect_closed_1002(alice);
    CHECK_TEXT(host->output().find("unmasked frame, closing (1002)") != std::string::npos,
               host->output().c_str());
    // Back within the grace period: still online, never dnd, for herself and for bob.
    WsClient again;
    const Json snap = connect_user(*host, again, "alice");
    STRCMP_EQUAL("online", snap["self"]["status"].str().c_str());
    for (const Json& seen : sync(bob)) {
        CHECK_TEXT(seen["type"].str() != "presence" || status_of(seen) != "dnd",
                   "the unmasked update reached the plugin");
    }
    const HttpResponse r = rest_get(*host, "bob", "/users/alice");
    CHECK_TEXT(r.body.find("\"dnd\"") == std::string::npos, r.body.c_str());
    CHECK(bob.heartbeat_roundtrip());
    // The same update, masked, does change it: the check above could have failed.
    CHECK(send_update(again, R"("status":"dnd")"));
    STRCMP_EQUAL("dnd", status_of(next_presence_about(bob, "alice")).c_str());
}

// A control frame too: an unmasked ping gets no pong, only the close.
TEST(Rfc6455, UnmaskedPingClosesWith1002WithoutAPong) {
    WsClient alice;
    connect_user(*host, alice, "alice");
    CHECK(alice.send_frame(WsOpcode::Ping, "hello", true, false));
    expect_closed_1002(alice, WsOpcode::Pong);
}

// Masked frames first (whole messages, a fragmented one, a ping), then one unmasked frame.
TEST(Rfc6455, UnmaskedFrameAfterMaskedOnesClosesWith1002) {
    WsClient alice;
    connect_user(*host, alice, "alice");
    CHECK(alice.heartbeat_roundtrip());
    CHECK(alice.send_fragmented_text(R"({"type":"heartbeat"})", 3));
    CHECK(alice.read_json().valid());  // its ack
    CHECK(alice.send_ping("p"));
    auto pong = alice.read_frame();
    CHECK(pong.has_value() && pong->opcode == WsOpcode::Pong);
    CHECK(alice.heartbeat_roundtrip());
    // An unmasked continuation inside a fragmented message is refused the same way.
    CHECK(alice.send_frame(WsOpcode::Text, R"({"type":)", false, true));
    CHECK(alice.send_frame(WsOpcode::Continuation, R"("heartbeat"})", true, false));
    expect_closed_1002(alice);
}

// A client that sends its first frame with its upgrade request, in one write: the host hands
// lws the request alone, so the frame is screened like any other.
TEST(Rfc6455, UnmaskedFrameSentWithTheUpgradeRequest) {
    TcpSocket sock;
    CHECK_TEXT(sock.connect("127.0.0.1", host->port(), milliseconds{2000}), sock.error().c_str());
    const std::string request = upgrade_request(*host, "alice");
    CHECK(sock.write_all(request + unmasked_text(R"({"type":"heartbeat"})"), milliseconds{2000}));
    const std::string answer = read_until_eof(sock);
    CHECK_TEXT(answer.starts_with("HTTP/1.1 101"), answer.c_str());
    const size_t body = answer.find("\r\n\r\n");
    CHECK(body != std::string::npos);
    // After the upgrade: the snapshot perhaps, then the close frame with 1002 (0x03 0xEA).
    CHECK_TEXT(answer.find(std::string{'\x88'}, body) != std::string::npos, answer.c_str());
    CHECK_TEXT(answer.find("\x03\xea", body) != std::string::npos, answer.c_str());
    CHECK_TEXT(answer.find("heartbeat_ack") == std::string::npos, "the frame reached the plugin");
}

// The guard reads a connection's stream from its start: an upgrade after a plain request on
// the same keep-alive connection is refused (400), not left unchecked.
TEST(Rfc6455, UpgradeAfterAnotherRequestOnTheConnectionIs400) {
    TcpSocket sock;
    CHECK_TEXT(sock.connect("127.0.0.1", host->port(), milliseconds{2000}), sock.error().c_str());
    CHECK(sock.write_all("GET /nothing-here HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                         milliseconds{2000}));
    char buf[4096];
    const long n = sock.read_some(buf, sizeof buf, milliseconds{3000});
    CHECK(n > 0);
    const std::string request = upgrade_request(*host, "alice");
    if (!sock.write_all(request, milliseconds{2000})) return;  // the host closed after the 404
    const std::string answer = read_until_eof(sock);
    CHECK_TEXT(answer.find(" 101 ") == std::string::npos, answer.c_str());
}

// Bytes after a bodiless GET stay in the socket for lws (so that frames sent with an upgrade
// are screened): two pipelined plain requests in one write are still both answered.
TEST(Rfc6455, PipelinedPlainRequestsAreBothAnswered) {
    TcpSocket sock;
    CHECK_TEXT(sock.connect("127.0.0.1", host->port(), milliseconds{2000}), sock.error().c_str());
    const std::string one = "GET /nothing-here HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    CHECK(sock.write_all(one + one, milliseconds{2000}));
    std::string answer;
    char buf[4096];
    for (int i = 0; i < 10; ++i) {
        const long n = sock.read_some(buf, sizeof buf, milliseconds{1000});
        if (n <= 0) break;
        answer.append(buf, static_cast<size_t>(n));
        const size_t first = answer.find("HTTP/1.1 ");
        if (first != std::string::npos &&
            answer.find("HTTP/1.1 ", first + 1) != std::string::npos) {
            break;
        }
    }
    const size_t first = answer.find("HTTP/1.1 ");
    CHECK_TEXT(first != std::string::npos, answer.c_str());
    CHECK_TEXT(answer.find("HTTP/1.1 ", first + 1) != std::string::npos, answer.c_str());
}

// Headers as long as browsers send with many cookies (3 KB, under lws' 4 KB header buffer):
// the host peeks that far, so the upgrade is served and its frames are screened.
TEST(Rfc6455, LongHeadersStillUpgrade) {
    TcpSocket sock;
    CHECK_TEXT(sock.connect("127.0.0.1", host->port(), milliseconds{2000}), sock.error().c_str());
    const std::string request =
        upgrade_request(*host, "alice", "Cookie: c=" + std::string(3000, 'x') + "\r\n");
    CHECK(sock.write_all(request + unmasked_text(R"({"type":"heartbeat"})"), milliseconds{2000}));
    const std::string answer = read_until_eof(sock);
    CHECK_TEXT(answer.starts_with("HTTP/1.1 101"), answer.substr(0, 200).c_str());
    CHECK_TEXT(answer.find("\x03\xea", answer.find("\r\n\r\n")) != std::string::npos,
               "the unmasked frame behind long headers was not refused with 1002");
}
