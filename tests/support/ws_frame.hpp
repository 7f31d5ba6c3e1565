// The WebSocket wire format (RFC 6455), client side, written once for every test client: the
// blocking WsClient of the suites and the load tool's many-connection pool. Frames are appended
// to a caller's buffer and parsed in place, so a caller that reuses its buffers allocates
// nothing per frame.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace presence::test {

enum class WsOpcode : std::uint8_t {
    Continuation = 0x0,
    Text = 0x1,
    Binary = 0x2,
    Close = 0x8,
    Ping = 0x9,
    Pong = 0xA,
};

// Appends one frame to `out`: header, then the payload, masked with `mask` (4 bytes) when it
// is given (a client must mask; nullptr breaks that rule on purpose).
void append_ws_frame(std::string& out, WsOpcode opcode, std::string_view payload, bool fin,
                     const unsigned char* mask);

// The head of a frame at the start of some bytes.
struct WsFrameHead {
    bool fin = true;
    WsOpcode opcode = WsOpcode::Text;
    bool masked = false;
    unsigned char mask[4] = {0, 0, 0, 0};
    std::uint64_t payload_len = 0;
    std::size_t head_len = 0;  // bytes before the payload
    // Header and payload both in the bytes parsed.
    bool complete(std::size_t available) const {
        return available >= head_len && available - head_len >= payload_len;
    }
};

// Parses the frame head at the start of `bytes`; nullopt until the whole head is there (the
// payload may still be missing: see WsFrameHead::complete).
std::optional<WsFrameHead> parse_ws_frame_head(std::string_view bytes);

// Unmasks (or masks) `len` bytes in place with a frame's 4-byte key.
void apply_ws_mask(char* data, std::size_t len, const unsigned char mask[4]);

// The close code of a close frame's payload (0 when it has none).
std::uint16_t ws_close_code(std::string_view close_payload);

// ---- the opening handshake ----

// A Sec-WebSocket-Key: the base64 of 16 (random) bytes.
std::string ws_key(const unsigned char raw[16]);
// The Sec-WebSocket-Accept a server must answer to `key` (RFC 6455 4.2.2).
std::string ws_accept_for(std::string_view key);
// "GET <path> HTTP/1.1" with the upgrade headers, up to and including the blank line.
std::string ws_upgrade_request(std::string_view path, std::string_view host_header,
                               std::string_view key);

// HTTP answer heads ("HTTP/1.1 101 ...\r\nName: value\r\n..." without the blank line).
// The status code (0 when there is none).
int http_status_of(std::string_view head);
// The value of header `name` (case-insensitive), without surrounding blanks; nullopt if absent.
std::optional<std::string_view> http_header_of(std::string_view head, std::string_view name);

}  // namespace presence::test
