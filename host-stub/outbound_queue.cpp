#include "outbound_queue.hpp"

#include <cstring>

namespace presence_host {

SharedFrame SharedFrame::copy_of(const char* data, size_t len) {
    SharedFrame frame;
    // for_overwrite: the payload is written right below; zeroing it first would cost a pass
    // over every fanned-out frame.
    frame.bytes_ = std::make_shared_for_overwrite<unsigned char[]>(kHeadroom + len);
    if (len) std::memcpy(frame.bytes_.get() + kHeadroom, data, len);
    frame.size_ = len;
    return frame;
}

bool OutboundQueue::push(const SharedFrame& frame, const QueueBounds& bounds) {
    if (queued_frames() + 1 > bounds.max_frames || bytes_ + frame.size() > bounds.max_bytes) {
        return false;
    }
    frames_.push_back(frame);
    bytes_ += frame.size();
    return true;
}

void OutboundQueue::pop() {
    if (empty()) return;
    bytes_ -= frames_[head_].size();
    frames_[head_] = SharedFrame{};  // drop our reference now, not at compaction
    ++head_;
    if (head_ == frames_.size()) {
        // Drained. Keep a small buffer so the next lone frame (the common case under fan-out)
        // costs no malloc/free; give a large one back, most connections are idle.
        if (frames_.capacity() > kKeptCapacity) {
            clear();
        } else {
            frames_.clear();
            head_ = 0;
            bytes_ = 0;
        }
    } else if (head_ >= 64 && head_ * 2 >= frames_.size()) {
        frames_.erase(frames_.begin(), frames_.begin() + static_cast<std::ptrdiff_t>(head_));
        head_ = 0;
    }
}

void OutboundQueue::clear() {
    // Give the memory back: most connections are idle most of the time.
    std::vector<SharedFrame>().swap(frames_);
    head_ = 0;
    bytes_ = 0;
}

}  // namespace presence_host
