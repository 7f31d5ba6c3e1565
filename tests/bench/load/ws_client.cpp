#include "ws_client.hpp"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "socket_ring.hpp"

namespace presence::bench {
namespace {

constexpr std::size_t kReadChunk = 16 * 1024;
constexpr int kMaxEvents = 512;
// One ring read per ready connection and poll: frames are ~100-300 bytes, so 4 KiB almost
// always takes everything; a full chunk is followed by recv() for the rest.
constexpr std::size_t kRingChunk = 4096;
constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

std::string base64(const unsigned char* data, int len) {
    std::string out(4 * ((len + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, len);
    out.resize(static_cast<std::size_t>(n));
    return out;
}

// RFC 6455 4.2.2: accept = base64(sha1(key + GUID)); checking it proves we talk to a real
// WebSocket server and not to something that happens to answer 101.
std::string expected_accept(const std::string& key) {
    std::string joined = key + std::string(kGuid);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    EVP_Digest(joined.data(), joined.size(), digest, &dlen, EVP_sha1(), nullptr);
    return base64(digest, static_cast<int>(dlen));
}

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
    std::string key = base64(raw, sizeof raw);
    c.key_accept = expected_accept(key);
    c.out = "GET " + path + " HTTP/1.1\r\nHost: " + host_header +
            "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
            "\r\nSec-WebSocket-Version: 13\r\n\r\n";

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
    unsigned char head[14];
    std::size_t n = 0;
    head[n++] = static_cast<unsigned char>(0x80 | opcode);
    if (payload.size() < 126) {
        head[n++] = static_cast<unsigned char>(0x80 | payload.size());
    } else if (payload.size() <= 0xffff) {
        head[n++] = 0x80 | 126;
        head[n++] = static_cast<unsigned char>(payload.size() >> 8);
        head[n++] = static_cast<unsigned char>(payload.size());
    } else {
        head[n++] = 0x80 | 127;
        for (int i = 7; i >= 0; --i)
            head[n++] = static_cast<unsigned char>(payload.size() >> (8 * i));
    }
    rng_ = rng_ * 6364136223846793005ull + 1442695040888963407ull;
    unsigned char mask[4];
    for (int i = 0; i < 4; ++i) mask[i] = static_cast<unsigned char>(rng_ >> (24 + 8 * i));
    std::memcpy(head + n, mask, 4);
    n += 4;
    if (c.out_off == c.out.size()) {
        c.out.clear();
        c.out_off = 0;
    }
    c.out.append(reinterpret_cast<char*>(head), n);
    std::size_t base = c.out.size();
    c.out.append(payload);
    for (std::size_t i = 0; i < payload.size(); ++i)
        c.out[base + i] ^= static_cast<char>(mask[i & 3]);
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
    std::string_view head(c.in.data(), end);
    if (head.substr(0, 12) != "HTTP/1.1 101") {
        fail(slot, "handshake rejected");
        return false;
    }
    std::string want = "Sec-WebSocket-Accept: " + c.key_accept;
    // Header names are case-insensitive; lws writes this exact casing, and a mismatch is
    // reported rather than silently accepted.
    bool ok = head.find(want) != std::string_view::npos;
    if (!ok) {
        std::string lower(head);
        for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        std::string wl = want;
        for (std::size_t i = 0; i < 22; ++i)
            wl[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(wl[i])));
        ok = lower.find(wl) != std::string::npos;
    }
    if (!ok) {
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
        const auto* p = reinterpret_cast<const unsigned char*>(c.in.data()) + pos;
        std::size_t avail = c.in.size() - pos;
        if (avail < 2) break;
        bool fin = p[0] & 0x80;
        std::uint8_t opcode = p[0] & 0x0f;
        bool masked = p[1] & 0x80;
        std::uint64_t len = p[1] & 0x7f;
        std::size_t hdr = 2;
        if (len == 126) {
            if (avail < 4) break;
            len = (std::uint64_t{p[2]} << 8) | p[3];
            hdr = 4;
        } else if (len == 127) {
            if (avail < 10) break;
            len = 0;
            for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
            hdr = 10;
        }
        if (masked) {
            fail(slot, "masked server frame");
            return;
        }
        if (avail < hdr + len) break;
        std::string_view payload(reinterpret_cast<const char*>(p + hdr), len);
        pos += hdr + len;
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
                if (payload.size() >= 2) {
                    why += " " + std::to_string((static_cast<unsigned char>(payload[0]) << 8) |
                                                static_cast<unsigned char>(payload[1]));
                }
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
