#include "ws_client.hpp"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "socket_ring.hpp"
#include "ws_frame.hpp"

namespace presence::bench {
namespace {

using presence::test::WsOpcode;

constexpr std::size_t kReadChunk = 16 * 1024;
constexpr int kMaxEvents = 512;
// One ring read per ready connection and poll: frames are ~100-300 bytes, so 4 KiB almost
// always takes everything; a full chunk is followed by recv() for the rest.
constexpr std::size_t kRingChunk = 4096;

}  // namespace

WsClientPool::WsClientPool(std::size_t slots, Handlers handlers, bool ring_reads)
    : conns_(slots), handlers_(std::move(handlers)) {
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    if (ring_reads) {
        ring_ = std::make_unique<presence_host::SocketRing>(kMaxEvents * kRingChunk);
        std::string why;
        if (!ring_->open(why)) ring_.reset();
    }
}

WsClientPool::~WsClientPool() {
    for (auto& c : conns_) {
        if (c.fd >= 0) ::close(c.fd);
    }
    if (epfd_ >= 0) ::close(epfd_);
}

bool WsClientPool::connect(std::size_t slot, std::uint32_t src, std::uint32_t dst,
                           std::uint16_t port, const std::string& host_header,
                           const std::string& path) {
    Conn& c = conns_[slot];
    if (c.fd >= 0) drop(slot);
    ++c.generation;
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    // Picking the port at connect time (not bind time) lets every source address use the
    // whole ephemeral range for this one destination.
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(src);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
        int e = errno;
        ::close(fd);
        errno = e;
        return false;
    }
    sockaddr_in da{};
    da.sin_family = AF_INET;
    da.sin_addr.s_addr = htonl(dst);
    da.sin_port = htons(port);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&da), sizeof da) != 0 && errno != EINPROGRESS) {
        int e = errno;
        ::close(fd);
        errno = e;
        return false;
    }
    c.fd = fd;
    c.state = State::Connecting;
    c.in.clear();
    c.message.clear();
    c.out.clear();
    c.out_off = 0;

    unsigned char raw[16];
    for (auto& b : raw) {
        rng_ = rng_ * 6364136223846793005ull + 1442695040888963407ull;
        b = static_cast<unsigned char>(rng_ >> 56);
    }
    const std::string key = presence::test::ws_key(raw);
    c.key_accept = presence::test::ws_accept_for(key);
    c.out = presence::test::ws_upgrade_request(path, host_header, key);

    epoll_event ev{};
    ev.events = EPOLLOUT | EPOLLIN;
    ev.data.u64 = slot;
    c.want_out = true;
    epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
    return true;
}

void WsClientPool::watch_out(std::size_t slot, bool on) {
    Conn& c = conns_[slot];
    if (c.want_out == on || c.fd < 0) return;
    epoll_event ev{};
    ev.events = on ? (EPOLLIN | EPOLLOUT) : EPOLLIN;
    ev.data.u64 = slot;
    epoll_ctl(epfd_, EPOLL_CTL_MOD, c.fd, &ev);
    c.want_out = on;
}

void WsClientPool::drop(std::size_t slot) {
    Conn& c = conns_[slot];
    if (c.fd < 0) return;
    if (c.state == State::Open) --open_;
    ::close(c.fd);  // closing removes it from the epoll set
    c.fd = -1;
    c.state = State::Closed;
    c.want_out = false;
    std::string().swap(c.out);
    std::string().swap(c.in);
    std::string().swap(c.message);
}

void WsClientPool::fail(std::size_t slot, std::string_view why) {
    drop(slot);
    if (handlers_.on_close) handlers_.on_close(slot, why);
}

void WsClientPool::queue_frame(std::size_t slot, std::uint8_t opcode, std::string_view payload) {
    Conn& c = conns_[slot];
    rng_ = rng_ * 6364136223846793005ull + 1442695040888963407ull;
    unsigned char mask[4];
    for (int i = 0; i < 4; ++i) mask[i] = static_cast<unsigned char>(rng_ >> (24 + 8 * i));
    if (c.out_off == c.out.size()) {
        c.out.clear();
        c.out_off = 0;
    }
    // Appended in place: the buffer's capacity is reused, nothing is allocated per frame.
    presence::test::append_ws_frame(c.out, static_cast<WsOpcode>(opcode), payload, true, mask);
}

void WsClientPool::send_text(std::size_t slot, std::string_view text) {
    if (conns_[slot].state != State::Open) return;
    queue_frame(slot, 0x1, text);
    flush(slot);
}

void WsClientPool::flush(std::size_t slot) {
    Conn& c = conns_[slot];
    while (c.out_off < c.out.size()) {
        ssize_t w = ::send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
        if (w > 0) {
            c.out_off += static_cast<std::size_t>(w);
            bytes_out_ += static_cast<std::uint64_t>(w);
            continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            watch_out(slot, true);
            return;
        }
        if (w < 0 && errno == EINTR) continue;
        fail(slot, "write error");
        return;
    }
    c.out.clear();
    c.out_off = 0;
    watch_out(slot, false);
}

void WsClientPool::on_writable(std::size_t slot) {
    Conn& c = conns_[slot];
    if (c.state == State::Connecting) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
            fail(slot, err == ECONNREFUSED ? "refused" : "connect error");
            return;
        }
        c.state = State::Handshaking;
    }
    flush(slot);
}

bool WsClientPool::parse_handshake(std::size_t slot) {
    Conn& c = conns_[slot];
    std::size_t end = c.in.find("\r\n\r\n");
    if (end == std::string::npos) {
        if (c.in.size() > 8192) fail(slot, "handshake too long");
        return false;
    }
    const std::string_view head(c.in.data(), end);
    if (presence::test::http_status_of(head) != 101) {
        fail(slot, "handshake rejected");
        return false;
    }
    if (presence::test::http_header_of(head, "sec-websocket-accept") != c.key_accept) {
        fail(slot, "bad accept key");
        return false;
    }
    c.in.erase(0, end + 4);
    std::string().swap(c.key_accept);
    c.state = State::Open;
    ++open_;
    if (handlers_.on_open) handlers_.on_open(slot);
    return conns_[slot].state == State::Open;
}

void WsClientPool::parse_frames(std::size_t slot) {
    std::size_t pos = 0;
    while (true) {
        Conn& c = conns_[slot];
        if (c.state != State::Open) return;
        const std::string_view avail = std::string_view(c.in).substr(pos);
        const auto head = presence::test::parse_ws_frame_head(avail);
        if (!head) break;
        if (head->masked) {
            fail(slot, "masked server frame");
            return;
        }
        if (!head->complete(avail.size())) break;
        const bool fin = head->fin;
        const auto opcode = static_cast<std::uint8_t>(head->opcode);
        const auto len = static_cast<std::size_t>(head->payload_len);
        const std::string_view payload = avail.substr(head->head_len, len);
        pos += head->head_len + len;
        switch (opcode) {
            case 0x0:
            case 0x1:
                if (fin && opcode == 0x1 && c.message.empty()) {
                    if (handlers_.on_text) handlers_.on_text(slot, payload);
                } else {
                    c.message.append(payload);
                    if (fin) {
                        std::string msg;
                        msg.swap(c.message);
                        if (handlers_.on_text) handlers_.on_text(slot, msg);
                    }
                }
                break;
            case 0x8: {
                std::string why = "close frame";
                if (payload.size() >= 2)
                    why += " " + std::to_string(presence::test::ws_close_code(payload));
                fail(slot, why);
                return;
            }
            case 0x9:
                queue_frame(slot, 0xA, payload);
                flush(slot);
                break;
            default:
                break;  // pong and binary frames are not part of the protocol: ignore
        }
    }
    Conn& c = conns_[slot];
    if (pos > 0) c.in.erase(0, pos);
}

void WsClientPool::on_readable(std::size_t slot) {
    char buf[kReadChunk];
    while (true) {
        Conn& c = conns_[slot];
        if (c.fd < 0) return;
        ssize_t r = ::recv(c.fd, buf, sizeof buf, 0);
        if (r > 0) {
            take_bytes(slot, buf, static_cast<std::size_t>(r));
            if (static_cast<std::size_t>(r) < sizeof buf) return;
            continue;
        }
        if (r == 0) {
            fail(slot, "eof");
            return;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        if (errno == EINTR) continue;
        fail(slot, c.state == State::Connecting ? "refused" : "read error");
        return;
    }
}

// Bytes read for `slot` (by recv() or the ring): the handshake answer first, then frames.
void WsClientPool::take_bytes(std::size_t slot, const char* data, std::size_t len) {
    bytes_in_ += len;
    conns_[slot].in.append(data, len);
    if (conns_[slot].state == State::Handshaking && !parse_handshake(slot)) return;
    parse_frames(slot);
}

int WsClientPool::poll(int timeout_ms) {
    epoll_event evs[kMaxEvents];
    int n = epoll_wait(epfd_, evs, kMaxEvents, timeout_ms);
    for (int i = 0; i < n; ++i) {
        std::size_t slot = evs[i].data.u64;
        if (conns_[slot].fd < 0) continue;
        if (evs[i].events & EPOLLOUT) on_writable(slot);
        if (conns_[slot].fd < 0) continue;
        if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
            if (conns_[slot].state == State::Connecting) {
                on_writable(slot);  // reports the connect error
                if (conns_[slot].fd < 0) continue;
            }
            const Conn& c = conns_[slot];
            if (ring_ && c.state == State::Open &&
                ring_->stage_recv(c.fd, kRingChunk, (std::uint64_t{c.generation} << 32) | slot)) {
                continue;
            }
            on_readable(slot);
        }
    }
    if (ring_ && ring_->staged() > 0) {
        ring_->submit([this](const presence_host::SocketRing::Outcome& read) {
            const std::size_t slot = read.tag & 0xffffffffu;
            const Conn& c = conns_[slot];
            // A handler may have dropped (or even reconnected) it since the read was staged.
            if (c.fd < 0 || c.generation != (read.tag >> 32)) return;
            if (read.result > 0) {
                take_bytes(slot, reinterpret_cast<const char*>(read.data),
                           static_cast<std::size_t>(read.result));
                const Conn& after = conns_[slot];
                if (static_cast<std::size_t>(read.result) == read.len && after.fd >= 0 &&
                    after.generation == (read.tag >> 32)) {
                    on_readable(slot);  // a full chunk: there may be more
                }
            } else if (read.result == 0) {
                fail(slot, "eof");
            } else if (read.result != -EAGAIN && read.result != -EINTR) {
                fail(slot, "read error");
            }
        });
    }
    return n;
}

}  // namespace presence::bench
