// A blocking WebSocket client written for tests (RFC 6455, client side, no extensions): it
// speaks the protocol correctly by default and can also break it on purpose (raw bytes,
// fragments, oversized frames) to test how the server copes with bad input.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "json.hpp"
#include "tcp_socket.hpp"
#include "ws_frame.hpp"

namespace presence::test {

struct WsFrame {
    WsOpcode opcode = WsOpcode::Text;
    bool fin = true;
    std::string payload;
};

// How connect() reaches the server (tests of the host's own request handling).
struct WsConnectPacing {
    std::string source_ip;        // bind to this 127.x.y.z first ("" = the kernel's choice)
    milliseconds silent{0};       // say nothing this long after the TCP connect
    std::size_t first_bytes = 0;  // > 0: send only this much of the request first,
    milliseconds gap{0};          // then wait this long before the rest
};

class WsClient {
  public:
    static constexpr milliseconds kDefaultTimeout{3000};

    WsClient() = default;
    ~WsClient();  // sends a close frame if still open, then drops the socket
    WsClient(WsClient&&) noexcept = default;
    WsClient& operator=(WsClient&&) noexcept = default;

    // Connects to 127.0.0.1:port and upgrades on `path_and_query` (e.g. "/ws?token=..").
    // True on 101 with a correct Sec-WebSocket-Accept. Otherwise false; handshake_status()
    // then holds the HTTP status the server answered (e.g. 401), or 0 if it never answered.
    // `pacing` (silent, gap) adds to `timeout`.
    bool connect(std::uint16_t port, const std::string& path_and_query,
                 milliseconds timeout = kDefaultTimeout, const WsConnectPacing& pacing = {});
    // connect(), answering the HTTP status of the upgrade: 101 when open, else what the server
    // said (e.g. 401), 0 when it said nothing.
    int connect_status(std::uint16_t port, const std::string& path_and_query,
                       const WsConnectPacing& pacing = {}) {
        return connect(port, path_and_query, kDefaultTimeout, pacing) ? 101 : handshake_status_;
    }
    int handshake_status() const { return handshake_status_; }
    const std::string& handshake_body() const { return handshake_body_; }
    const std::string& error() const { return error_; }

    // ---- well-formed traffic ----
    bool send_text(std::string_view text);
    bool send_ping(std::string_view payload = {});
    bool send_close(std::uint16_t code = 1000, std::string_view reason = {});

    // ---- deliberately odd traffic (bad-input tests) ----
    // One frame with any opcode/fin/mask; masked=false breaks the client-must-mask rule.
    bool send_frame(WsOpcode opcode, std::string_view payload, bool fin = true, bool masked = true);
    // `text` split into `parts` fragments (Text + Continuation frames).
    bool send_fragmented_text(std::string_view text, std::size_t parts);
    // Several whole text frames handed to the kernel in one write (one TCP segment).
    bool send_texts_in_one_write(const std::vector<std::string>& texts);
    // Bytes written to the socket as they are (no framing).
    bool send_raw(std::string_view bytes);
    // Closes the TCP socket without a close frame (a crashed client / lost network).
    void drop();

    // ---- reading ----
    // The next frame of any kind (control frames included), or nullopt on timeout/close.
    std::optional<WsFrame> read_frame(milliseconds timeout = kDefaultTimeout);
    // The same as an opcode (-1 on timeout or EOF) and its payload.
    int read_frame(std::string& payload, milliseconds timeout = kDefaultTimeout);
    // The next complete text message (fragments joined). Pings are answered with pongs and
    // skipped. nullopt on timeout or when the server closed (see closed()/close_code()).
    std::optional<std::string> read_text(milliseconds timeout = kDefaultTimeout);
    // read_text parsed as JSON (invalid view on timeout/close or bad JSON).
    Json read_json(milliseconds timeout = kDefaultTimeout);
    // Reads messages until one has "type" == type; the skipped ones are dropped. Invalid view
    // on timeout.
    Json read_until_type(std::string_view type, milliseconds timeout = kDefaultTimeout);
    // Reads messages until one contains `needle` (true, the message in *got) or a timeout /
    // close (false); the others are dropped.
    bool wait_for(std::string_view needle, std::string* got = nullptr,
                  milliseconds timeout = kDefaultTimeout);
    // True when nothing at all arrives within `quiet` (used to prove silence; pair it with a
    // heartbeat round trip so silence is not just a dead connection).
    bool expect_silence(milliseconds quiet, std::string* got = nullptr);
    // Waits until the server closes the connection (close frame or EOF). True if it did.
    bool wait_closed(milliseconds timeout = kDefaultTimeout);

    // Sends a heartbeat and waits for its ack (skipping nothing: the ack must be the next
    // message). True when the connection is alive and in order.
    bool heartbeat_roundtrip(bool idle = false, milliseconds timeout = kDefaultTimeout,
                             std::string* got = nullptr);

    bool closed() const { return closed_; }
    // Close code the server sent (0 if none or only EOF).
    std::uint16_t close_code() const { return close_code_; }
    bool is_open() const { return sock_.is_open() && !closed_; }
    // The socket, for socket options and TCP_INFO in tests (-1 when not connected).
    int fd() const { return sock_.fd(); }

  private:
    bool fill(milliseconds timeout);  // reads more bytes into in_; false on timeout/EOF
    std::optional<WsFrame> parse_frame();
    void mark_closed(std::uint16_t code);

    TcpSocket sock_;
    std::string in_;
    std::size_t in_off_ = 0;  // bytes of in_ already parsed (dropped on the next fill)
    bool closed_ = false;
    bool close_sent_ = false;
    std::uint16_t close_code_ = 0;
    int handshake_status_ = 0;
    std::string handshake_body_;
    std::string error_;
};

// Percent-encodes a query-string value (tokens are base64url-ish, but be safe).
std::string url_encode(std::string_view s);

}  // namespace presence::test
