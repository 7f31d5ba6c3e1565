#include "pending_sockets.hpp"

#include <netinet/in.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace presence_host {

PendingSockets::~PendingSockets() {
    for (size_t fd = 0; fd < slots_.size(); ++fd) {
        if (slots_[fd].serial) ::close(static_cast<int>(fd));
    }
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

bool PendingSockets::open(std::string& why) {
    if (epoll_fd_ >= 0) return true;
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) {
        why = std::string("epoll_create1: ") + std::strerror(errno);
        return false;
    }
    return true;
}

bool PendingSockets::watch_listener(int fd) {
    epoll_event event{};
    event.events = EPOLLIN;  // level-triggered: a backlog left for the next turn stays visible
    event.data.fd = fd;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) return false;
    listener_fd_ = fd;
    return true;
}

PendingSockets::Address PendingSockets::address_of(const sockaddr* peer, socklen_t len) {
    Address a;
    if (!peer) return a;
    if (peer->sa_family == AF_INET && len >= sizeof(sockaddr_in)) {
        a.low = ntohl(reinterpret_cast<const sockaddr_in*>(peer)->sin_addr.s_addr);
    } else if (peer->sa_family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
        const in6_addr& v6 = reinterpret_cast<const sockaddr_in6*>(peer)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(&v6)) {
            uint32_t v4 = 0;
            std::memcpy(&v4, &v6.s6_addr[12], sizeof v4);
            a.low = ntohl(v4);
        } else {
            // One IPv6 client usually has a whole /64: count that as one address.
            std::memcpy(&a.high, &v6.s6_addr[0], sizeof a.high);
            a.low = 1ull << 32;  // never equal to an IPv4 key
        }
    }
    return a;
}

PendingSockets::Hold PendingSockets::hold(int fd, const sockaddr* peer, socklen_t peer_len,
                                          int64_t now_us) {
    const Address address = address_of(peer, peer_len);
    uint32_t& from_address = per_address_[address];
    if (from_address >= limits_.per_address || fd < 0) {
        if (from_address == 0) per_address_.erase(address);
        ++refused_;
        if (fd >= 0) ::close(fd);
        return Hold::RefusedAddress;
    }
    while (held_ >= limits_.total && !deadlines_.empty()) {
        drop_stale_front();
        if (deadlines_.empty()) break;
        const int oldest = deadlines_.front().fd;
        deadlines_.pop_front();
        ++evicted_;
        close(oldest);
    }
    epoll_event event{};
    // Edge-triggered: reported once per arrival of bytes, not on every turn while a partial
    // request sits unread (the host only peeks until the request is whole).
    event.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
    event.data.fd = fd;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) {
        const auto it = per_address_.find(address);
        if (it != per_address_.end() && it->second == 0) per_address_.erase(it);
        ++refused_;
        ::close(fd);
        return Hold::RefusedAddress;
    }
    if (slots_.size() <= static_cast<size_t>(fd)) slots_.resize(static_cast<size_t>(fd) + 1);
    const uint64_t serial = next_serial_++;
    slots_[fd] = {serial, address};
    ++per_address_[address];  // the reference above may be stale after close() erased keys
    ++held_;
    deadlines_.push_back({fd, serial, now_us + limits_.timeout_us});
    // Stale entries (sockets released early) wait at the front until their deadline; keep
    // the queue from growing without bound under a fast churn of short-lived sockets.
    if (deadlines_.size() > 4 * held_ + 1024) {
        std::deque<Deadline> live;
        for (const Deadline& d : deadlines_) {
            if (slots_[d.fd].serial == d.serial) live.push_back(d);
        }
        deadlines_.swap(live);
    }
    return Hold::Held;
}

void PendingSockets::take_ready(std::vector<int>& out) {
    if (epoll_fd_ < 0 || held_ == 0) return;
    epoll_event events[256];
    for (;;) {
        const int n = epoll_wait(epoll_fd_, events, 256, 0);
        if (n <= 0) return;
        for (int i = 0; i < n; ++i) {
            const int fd = events[i].data.fd;
            if (fd != listener_fd_ && holds(fd)) out.push_back(fd);
        }
        if (n < 256) return;
    }
}

void PendingSockets::forget(int fd) {
    Slot& slot = slots_[fd];
    const auto it = per_address_.find(slot.address);
    if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
    slot.serial = 0;
    --held_;
}

void PendingSockets::release(int fd) {
    if (!holds(fd)) return;
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    forget(fd);
}

void PendingSockets::close(int fd) {
    if (!holds(fd)) return;
    forget(fd);
    ::close(fd);  // also leaves the epoll set
}

bool PendingSockets::holds(int fd) const {
    return fd >= 0 && static_cast<size_t>(fd) < slots_.size() && slots_[fd].serial != 0;
}

void PendingSockets::drop_stale_front() {
    while (!deadlines_.empty() &&
           slots_[deadlines_.front().fd].serial != deadlines_.front().serial) {
        deadlines_.pop_front();
    }
}

size_t PendingSockets::expire(int64_t now_us) {
    size_t closed = 0;
    for (;;) {
        drop_stale_front();
        if (deadlines_.empty() || deadlines_.front().at_us > now_us) break;
        const int fd = deadlines_.front().fd;
        deadlines_.pop_front();
        close(fd);
        ++closed;
    }
    expired_ += closed;
    return closed;
}

int64_t PendingSockets::next_deadline_us() {
    drop_stale_front();
    return deadlines_.empty() ? 0 : deadlines_.front().at_us;
}

}  // namespace presence_host
