#include "core/timer_queue.hpp"

#include <algorithm>

namespace presence::core {

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
