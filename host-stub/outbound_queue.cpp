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

bool OutboundQueue::push(const SharedFrame& frame, const QueueBounds& bounds,
                         OutboundBudget& budget) {
    if (queued_frames() + 1 > bounds.max_frames) return false;
    // What waits behind the oldest frame; that one is being sent (or goes next).
    const size_t behind = empty() ? 0 : bytes_ - front().size();
    if (!empty() && behind + frame.size() > bounds.max_bytes) return false;
    frames_.push_back(frame);
    bytes_ += frame.size();
    budget.add(frame.size());
    return true;
}

void OutboundQueue::advance_front(size_t n, OutboundBudget& budget) {
    if (empty()) return;
    front_sent_ += n;
    if (front_sent_ >= front().size()) pop(budget);
}

void OutboundQueue::pop(OutboundBudget& budget) {
    if (empty()) return;
    bytes_ -= frames_[head_].size();
    budget.remove(frames_[head_].size());
    front_sent_ = 0;
    frames_[head_] = SharedFrame{};  // drop our reference now, not at compaction
    ++head_;
    if (head_ == frames_.size()) {
        // Drained. Keep a small buffer so the next lone frame (the common case under fan-out)
        // costs no malloc/free; give a large one back, most connections are idle.
        if (frames_.capacity() > kKeptCapacity) {
            std::vector<SharedFrame>().swap(frames_);
        } else {
            frames_.clear();
        }
        head_ = 0;
    } else if (head_ >= 64 && head_ * 2 >= frames_.size()) {
        frames_.erase(frames_.begin(), frames_.begin() + static_cast<std::ptrdiff_t>(head_));
        head_ = 0;
    }
}

void OutboundQueue::clear(OutboundBudget& budget) {
    budget.remove(bytes_);
    // Give the memory back: most connections are idle most of the time.
    std::vector<SharedFrame>().swap(frames_);
    head_ = 0;
    bytes_ = 0;
    front_sent_ = 0;
}

void OutboundQueue::clear_behind_sending(OutboundBudget& budget) {
    if (empty() || front_sent_ == 0) {
        clear(budget);
        return;
    }
    const SharedFrame sending = front();
    const size_t sent = front_sent_;
    clear(budget);
    frames_.push_back(sending);
    bytes_ = sending.size();
    budget.add(bytes_);
    front_sent_ = sent;
}

}  // namespace presence_host
