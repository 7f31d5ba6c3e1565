#include "frame_mask_guard.hpp"

#include <algorithm>

namespace presence_host {

size_t FrameHeaderTracker::feed(const uint8_t* data, size_t len) {
    if (failed_) return 0;
    size_t i = 0;
    size_t frame_start = 0;  // where the header being read began in this call (0: earlier)
    while (i < len) {
        if (skip_ > 0) {  // mask key and payload: jumped over, not read
            const uint64_t step = std::min<uint64_t>(skip_, len - i);
            i += static_cast<size_t>(step);
            skip_ -= step;
            continue;
        }
        const uint8_t byte = data[i++];
        if (header_stage_ == 0) {  // FIN, RSV, opcode: lws checks those
            frame_start = i - 1;
            header_stage_ = 1;
            continue;
        }
        if (header_stage_ == 1) {
            if (!(byte & 0x80)) {
                failed_ = true;
                return frame_start;
            }
            length_ = byte & 0x7f;
            length_bytes_ = length_ == 126 ? 2 : length_ == 127 ? 8 : 0;
            if (length_bytes_) length_ = 0;
            header_stage_ = 2;
        } else {
            length_ = (length_ << 8) | byte;
            --length_bytes_;
        }
        if (length_bytes_ == 0) {
            // Then the 4-byte mask key and the payload (a 64-bit length near 2^64 is refused
            // by lws anyway; saturate rather than wrap).
            skip_ = length_ > UINT64_MAX - 4 ? UINT64_MAX : length_ + 4;
            header_stage_ = 0;
        }
    }
    return kAllMasked;
}

FrameMaskGuard::FrameMaskGuard(size_t max_fds, OnUnmasked on_unmasked, void* context)
    : size_(max_fds),
      entries_(std::make_unique<Entry[]>(max_fds)),
      on_unmasked_(on_unmasked),
      context_(context) {}

FrameMaskGuard::Entry* FrameMaskGuard::entry(int fd) const {
    if (fd < 0 || static_cast<size_t>(fd) >= size_) return nullptr;
    return &entries_[static_cast<size_t>(fd)];
}

bool FrameMaskGuard::hand_over(int fd) {
    Entry* e = entry(fd);
    if (!e) return false;
    e->tracker = FrameHeaderTracker{};
    e->owner = nullptr;
    e->state.store(HandedOver, std::memory_order_release);
    return true;
}

bool FrameMaskGuard::handed_over(int fd) const {
    const Entry* e = entry(fd);
    return e && e->state.load(std::memory_order_relaxed) == HandedOver;
}

void FrameMaskGuard::watch(int fd, void* owner) {
    Entry* e = entry(fd);
    if (!e) return;
    e->owner = owner;
    e->state.store(Watched, std::memory_order_release);
}

void FrameMaskGuard::forget(int fd) {
    Entry* e = entry(fd);
    if (e) e->state.store(Free, std::memory_order_release);
}

bool FrameMaskGuard::watched(int fd) const {
    const Entry* e = entry(fd);
    return e && e->state.load(std::memory_order_relaxed) == Watched;
}

ssize_t FrameMaskGuard::screen(int fd, const uint8_t* data, ssize_t n) {
    Entry* e = entry(fd);
    if (!e || n <= 0) return n;
    const uint8_t state = e->state.load(std::memory_order_acquire);
    if (state == Refused) return -1;  // the close is under way: what follows is dropped
    if (state != Watched) return n;
    const size_t bad = e->tracker.feed(data, static_cast<size_t>(n));
    if (bad == FrameHeaderTracker::kAllMasked) return n;
    e->state.store(Refused, std::memory_order_release);
    if (on_unmasked_) on_unmasked_(context_, e->owner);
    return bad == 0 ? -1 : static_cast<ssize_t>(bad);
}

namespace {
// Process-wide on purpose: the interposed recv() (recv_guard.cpp) is a libc symbol lws calls
// with no user pointer, so this is the only way from lws' read to the guard.
std::atomic<FrameMaskGuard*> g_active_guard{nullptr};
}  // namespace

void set_active_frame_mask_guard(FrameMaskGuard* guard) {
    g_active_guard.store(guard, std::memory_order_release);
}

FrameMaskGuard* active_frame_mask_guard() {
    return g_active_guard.load(std::memory_order_acquire);
}

}  // namespace presence_host
