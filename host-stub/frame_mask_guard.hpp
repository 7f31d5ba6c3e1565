// RFC 6455 5.1: a server MUST close the connection when a client frame is not masked (status
// 1002). lws 4.1.6 reads the mask bit but never enforces it and tells no callback, so the host
// watches the bytes lws reads from each WebSocket (recv_guard.cpp sees them) and stops at the
// first unmasked frame header: lws never sees that frame, the host closes with 1002.
//
// FrameHeaderTracker follows frame boundaries only: it reads each header and skips the payload
// by its length, so its cost is per frame, not per byte. FrameMaskGuard is the table of
// watched sockets, indexed by descriptor, that the recv wrapper consults.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace presence_host {

class FrameHeaderTracker {
  public:
    static constexpr size_t kAllMasked = SIZE_MAX;
    // The next `len` bytes of the client's stream. Returns the offset in them where the first
    // unmasked frame starts (0 when its header began in an earlier read), or kAllMasked.
    // Once a frame was unmasked, every later call returns 0.
    size_t feed(const uint8_t* data, size_t len);
    bool failed() const { return failed_; }

  private:
    uint64_t skip_ = 0;         // mask key and payload bytes of the current frame still to come
    uint64_t length_ = 0;       // payload length, while its extended bytes arrive
    uint8_t header_stage_ = 0;  // 0: first byte next, 1: second byte, 2: extended length
    uint8_t length_bytes_ = 0;  // extended length bytes still to come
    bool failed_ = false;
};

// One entry per descriptor (loop thread writes; recv may run on any thread but only touches
// the entries of sockets lws owns, which only the loop thread reads).
class FrameMaskGuard {
  public:
    using OnUnmasked = void (*)(void* context, void* owner);
    explicit FrameMaskGuard(size_t max_fds, OnUnmasked on_unmasked = nullptr,
                            void* context = nullptr);

    // The socket goes to lws with exactly its first request (nothing of the stream after it
    // read): if that request becomes a WebSocket, its frames start at the next byte read.
    bool hand_over(int fd);
    bool handed_over(int fd) const;
    // The upgrade is done: watch every byte read from now on. `owner` goes to on_unmasked.
    void watch(int fd, void* owner);
    // The socket is closing (or served plain HTTP: a later upgrade on it is not watched).
    void forget(int fd);
    bool watched(int fd) const;

    // For the recv wrapper: `n` bytes were just read into `data`. Returns how many of them
    // lws may see (n for an unwatched socket), or -1 for none (the caller says EAGAIN).
    ssize_t screen(int fd, const uint8_t* data, ssize_t n);

  private:
    enum State : uint8_t { Free, HandedOver, Watched, Refused };
    struct Entry {
        std::atomic<uint8_t> state{Free};
        FrameHeaderTracker tracker;
        void* owner = nullptr;
    };
    Entry* entry(int fd) const;

    size_t size_;
    std::unique_ptr<Entry[]> entries_;
    OnUnmasked on_unmasked_;
    void* context_;
};

// The guard the process' recv() consults (recv_guard.cpp); null: none.
void set_active_frame_mask_guard(FrameMaskGuard* guard);
FrameMaskGuard* active_frame_mask_guard();

}  // namespace presence_host
