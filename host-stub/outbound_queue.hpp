// Per-connection queue of outgoing WebSocket frames. Frames queued during a loop turn are
// written at the turn's end (HostServer::flush_pending_writes: one send per connection, several
// frames framed back to back, frame_batch.hpp; through io_uring when it is on); only what a
// full socket refused, a frame sent in pieces or a close waits for
// LWS_CALLBACK_SERVER_WRITEABLE.
//
// Frames are refcounted and carry LWS_PRE bytes of headroom, so a frame fanned out by
// send_many is copied ONCE and shared by every queue it sits in. Sharing is safe because the
// server never masks and lws_write only writes its header into the headroom while the call
// runs, on the one loop thread.
//
// A reader that does not keep up is bounded: past max_bytes or max_frames the push is refused
// and the caller closes that connection with 1008, so one slow client cannot eat the memory.
// max_bytes counts the frames waiting BEHIND the oldest one (the one being sent, or next to
// go): a single frame larger than the bound, such as the snapshot of a user with 100,000
// friends (~8 MB), is taken into an empty queue and goes out in pieces (front_sent), while
// anything queued behind it must still fit the bound.
//
// All queues of a server also count into one OutboundBudget (host.max_outbound_bytes): the
// server cuts the largest backlogs when their sum passes it.
//
// A drained queue keeps at most kKeptCapacity slots (a few dozen bytes) so steady fan-out does
// not allocate per delivery; anything larger is given back.
#pragma once

#include <libwebsockets.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace presence_host {

// Immutable bytes of one frame, shared among queues. Cheap to copy (a refcount bump).
class SharedFrame {
  public:
    static constexpr size_t kHeadroom = LWS_PRE;

    SharedFrame() = default;
    static SharedFrame copy_of(const char* data, size_t len);

    // Start of the payload; kHeadroom writable bytes precede it for lws_write.
    unsigned char* payload() const { return bytes_.get() + kHeadroom; }
    size_t size() const { return size_; }
    long use_count() const { return bytes_.use_count(); }
    explicit operator bool() const { return static_cast<bool>(bytes_); }

  private:
    std::shared_ptr<unsigned char[]> bytes_;
    size_t size_ = 0;
};

struct QueueBounds {
    size_t max_bytes = 4u * 1024u * 1024u;
    size_t max_frames = 4096;
};

// The bytes queued by every connection of one server, against host.max_outbound_bytes. A
// frame shared by N queues counts N times: it is what the queues owe, an upper bound of
// what they hold.
class OutboundBudget {
  public:
    explicit OutboundBudget(size_t limit = 64u * 1024u * 1024u) : limit_(limit) {}
    size_t used() const { return used_; }
    size_t limit() const { return limit_; }
    bool exceeded() const { return used_ > limit_; }
    void add(size_t n) { used_ += n; }
    void remove(size_t n) { used_ -= n; }

  private:
    size_t used_ = 0;
    size_t limit_;
};

class OutboundQueue {
  public:
    static constexpr size_t kKeptCapacity = 4;

    // Appends a frame; false (and nothing queued) when it would pass a bound. The oldest
    // frame does not count against max_bytes (see above), so an empty queue takes any frame.
    bool push(const SharedFrame& frame, const QueueBounds& bounds, OutboundBudget& budget);
    bool empty() const { return head_ == frames_.size(); }
    const SharedFrame& front() const { return frames_[head_]; }
    // Payload bytes of front() already handed to the socket (a large frame goes in pieces);
    // 0 when none, i.e. its header has not been written yet either.
    size_t front_sent() const { return front_sent_; }
    // `n` more payload bytes of front() were handed over; pops it once all of it was.
    void advance_front(size_t n, OutboundBudget& budget);
    void pop(OutboundBudget& budget);
    void clear(OutboundBudget& budget);
    // Drops everything but a front() that is partly sent (its rest must still go, or the
    // stream would be cut inside a frame); clear() when none is.
    void clear_behind_sending(OutboundBudget& budget);

    size_t queued_bytes() const { return bytes_; }
    size_t queued_frames() const { return frames_.size() - head_; }

  private:
    std::vector<SharedFrame> frames_;
    size_t head_ = 0;  // index of the oldest frame still queued
    size_t bytes_ = 0;
    size_t front_sent_ = 0;
};

}  // namespace presence_host
