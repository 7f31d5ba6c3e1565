// A minimal epoll-driven, non-blocking WebSocket client pool for the load tool. One process holds
// tens of thousands of connections, so nothing here is per-connection heavy: one socket, two
// byte buffers and a small state. Written for load generation only: text frames, masking,
// ping/pong, close; no extensions, no TLS. The wire format (frames, handshake) is the test
// support's (tests/support/ws_frame.hpp), shared with the suites' blocking WsClient.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace presence_host {
class SocketRing;
}

namespace presence::bench {

class WsClientPool {
  public:
    enum class State : std::uint8_t { Idle, Connecting, Handshaking, Open, Closed };

    struct Handlers {
        std::function<void(std::size_t slot)> on_open;
        std::function<void(std::size_t slot, std::string_view text)> on_text;
        // `why` names the cause ("refused", "eof", "handshake", "close frame", ...).
        std::function<void(std::size_t slot, std::string_view why)> on_close;
    };

    // With `ring_reads`, the receives of every connection ready in one poll() go to the kernel
    // in one io_uring submit (host-stub/socket_ring.hpp) instead of one recv() each: the tool
    // spends ~1 us less per read, which it needs to keep up with 300,000 lone frames/s. Where
    // io_uring is unavailable the pool reads with recv() (ring_reads() says which).
    WsClientPool(std::size_t slots, Handlers handlers, bool ring_reads = true);
    ~WsClientPool();
    WsClientPool(const WsClientPool&) = delete;
    WsClientPool& operator=(const WsClientPool&) = delete;

    // Starts a connection in `slot` from source address `src` (host order, e.g. 127.0.0.2) to
    // `dst`:`port`, GET `path`. Returns false (and reports no close) when the socket could not
    // even be started (e.g. out of file descriptors); errno is kept.
    bool connect(std::size_t slot, std::uint32_t src, std::uint32_t dst, std::uint16_t port,
                 const std::string& host_header, const std::string& path);
    // Queues a masked text frame. Ignored unless the slot is Open.
    void send_text(std::size_t slot, std::string_view text);
    // Drops the connection abruptly (no close frame): a reconnect storm looks like this.
    void drop(std::size_t slot);
    // Waits up to `timeout_ms` for I/O and runs the handlers. Returns events handled.
    int poll(int timeout_ms);

    State state(std::size_t slot) const { return conns_[slot].state; }
    std::size_t open_count() const { return open_; }
    std::uint64_t bytes_in() const { return bytes_in_; }
    std::uint64_t bytes_out() const { return bytes_out_; }
    bool ring_reads() const { return ring_ != nullptr; }

  private:
    struct Conn {
        int fd = -1;
        State state = State::Idle;
        bool want_out = false;   // EPOLLOUT currently registered
        std::string key_accept;  // expected Sec-WebSocket-Accept
        std::string out;         // bytes not yet written
        std::size_t out_off = 0;
        std::string in;                // bytes read, not yet parsed
        std::string message;           // fragmented message being assembled
        std::uint32_t generation = 0;  // bumped per connect: a ring read of an old one is void
    };

    void on_writable(std::size_t slot);
    void on_readable(std::size_t slot);
    void take_bytes(std::size_t slot, const char* data, std::size_t len);
    void flush(std::size_t slot);
    bool parse_handshake(std::size_t slot);
    void parse_frames(std::size_t slot);
    void queue_frame(std::size_t slot, std::uint8_t opcode, std::string_view payload);
    void fail(std::size_t slot, std::string_view why);
    void watch_out(std::size_t slot, bool on);

    std::vector<Conn> conns_;
    Handlers handlers_;
    int epfd_ = -1;
    std::size_t open_ = 0;
    std::uint64_t bytes_in_ = 0;
    std::uint64_t bytes_out_ = 0;
    std::uint64_t rng_ = 0x9e3779b97f4a7c15ull;
    std::unique_ptr<presence_host::SocketRing> ring_;
};

}  // namespace presence::bench
