#include "core/timer_queue.hpp"

#include <algorithm>

namespace presence::core {

namespace {
// std heap algorithms build a max-heap; invert to get the earliest deadline at the front.
bool later(const TimerEntry& a, const TimerEntry& b) {
    return a.at > b.at;
}
}  // namespace

void TimerQueue::push(const TimerEntry& e) {
    heap_.push_back(e);
    std::push_heap(heap_.begin(), heap_.end(), later);
}

TimerEntry TimerQueue::pop() {
    std::pop_heap(heap_.begin(), heap_.end(), later);
    TimerEntry e = heap_.back();
    heap_.pop_back();
    ++pops_;
    return e;
}

}  // namespace presence::core
