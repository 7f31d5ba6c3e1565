// Accepted sockets whose request has not arrived yet (libev: the host's own listener), held
// by the host until it has, so that lws only ever sees connections it can serve at once.
//
// Why: an idle socket handed to lws takes a header table, and past host.header_tables it waits
// in lws' list of waiters, walked on every attach and detach; ~9,000 idle sockets made new
// connections take 6-9 s and the host spin at 95-99 % of a core inside lws. Held here, an idle
// socket costs a descriptor and an epoll registration, nothing per loop turn:
// - one epoll set (ready_fd(), watched by the loop) holds them, edge-triggered, so a socket is
//   looked at only when bytes arrive (a partial request never spins the loop);
// - at most `per_address` from one source (IPv4 address, IPv6 /64): past it a new socket is
//   closed at once;
// - at most `total`: past it the oldest held socket is closed for the new one (it has had the
//   longest to speak; a flood must outpace a real client's round trip to push it out);
// - each at most `timeout_us`: then it is closed, whatever it has sent (a slow or silent
//   client gets no lws time at all). Deadlines are kept in arrival order (one timeout for
//   all), so expiry costs O(expired).
// The listening socket is in the same epoll set (level-triggered), so one descriptor tells the
// loop there is work.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

namespace presence_host {

struct PendingLimits {
    size_t total = 4096;
    size_t per_address = 1024;
    int64_t timeout_us = 5'000'000;
};

class PendingSockets {
  public:
    explicit PendingSockets(PendingLimits limits = {}) : limits_(limits) {}
    ~PendingSockets();  // closes every socket still held
    PendingSockets(const PendingSockets&) = delete;
    PendingSockets& operator=(const PendingSockets&) = delete;

    // Creates the epoll set; false with the reason.
    bool open(std::string& why);
    // Readable when the listener has connections or a held socket received something.
    int ready_fd() const { return epoll_fd_; }
    // Adds the listening socket (not owned).
    bool watch_listener(int fd);

    enum class Hold { Held, RefusedAddress };
    // Takes ownership of `fd` (peer `peer`, `peer_len` bytes). RefusedAddress: its source
    // already has `per_address` held, and `fd` is closed. Held may have closed the oldest
    // socket to make room (see evicted()).
    Hold hold(int fd, const sockaddr* peer, socklen_t peer_len, int64_t now_us);
    // Appends the held sockets that received something (or were closed by their peer) since
    // the last call; they stay held until release() or close().
    void take_ready(std::vector<int>& out);
    // No longer held: the caller owns `fd` (hands it to lws, or closes it).
    void release(int fd);
    // Releases and closes.
    void close(int fd);
    // Closes the sockets held past their deadline; returns how many.
    size_t expire(int64_t now_us);
    // Deadline of the oldest held socket (0 when none).
    int64_t next_deadline_us();
    bool holds(int fd) const;
    size_t size() const { return held_; }
    // Sockets closed because the total was full / their address was / they timed out, so far.
    uint64_t evicted() const { return evicted_; }
    uint64_t refused() const { return refused_; }
    uint64_t expired() const { return expired_; }
    const PendingLimits& limits() const { return limits_; }

  private:
    struct Address {
        uint64_t high = 0, low = 0;
        bool operator==(const Address&) const = default;
    };
    struct AddressHash {
        size_t operator()(const Address& a) const {
            return std::hash<uint64_t>()(a.high * 0x9E3779B97F4A7C15ull ^ a.low);
        }
    };
    struct Slot {
        uint64_t serial = 0;  // 0: not held
        Address address;
    };
    struct Deadline {
        int fd;
        uint64_t serial;
        int64_t at_us;
    };
    static Address address_of(const sockaddr* peer, socklen_t len);
    void forget(int fd);  // releases the bookkeeping of a held fd
    void drop_stale_front();

    PendingLimits limits_;
    int epoll_fd_ = -1;
    int listener_fd_ = -1;
    std::vector<Slot> slots_;  // by descriptor
    std::deque<Deadline> deadlines_;
    std::unordered_map<Address, uint32_t, AddressHash> per_address_;
    size_t held_ = 0;
    uint64_t next_serial_ = 1;
    uint64_t evicted_ = 0, refused_ = 0, expired_ = 0;
};

}  // namespace presence_host
