// Min-heap of deadlines with lazy invalidation. An entry names what it is about (a connection
// or a user) plus the generation it was armed for; the owner checks on pop whether the entry
// still matters, so cancelling or moving a deadline never searches the heap.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/types.hpp"

namespace presence::core {

enum class TimerKind : std::uint8_t {
    Heartbeat,  // key: ConnId, gen: connection serial
    Grace,      // key: user index, gen: grace generation
    Until,      // key: user index, gen: until generation
    Pending,    // key: user index, gen: pending-update generation
};

struct TimerEntry {
    Millis at = 0;
    std::uint64_t key = 0;
    std::uint64_t gen = 0;
    TimerKind kind = TimerKind::Heartbeat;
};

class TimerQueue {
  public:
    void push(const TimerEntry& e);
    bool due(Millis now) const { return !heap_.empty() && heap_.front().at <= now; }
    TimerEntry pop();  // precondition: !empty()
    bool empty() const { return heap_.empty(); }
    std::size_t size() const { return heap_.size(); }
    std::uint64_t pops() const { return pops_; }  // for tests: work done by tick()
    // Drops the entries `keep` refuses (stale ones) and gives spare capacity back.
    template <typename Keep>
    void compact(Keep keep) {
        std::erase_if(heap_, [&](const TimerEntry& e) { return !keep(e); });
        std::make_heap(heap_.begin(), heap_.end(), later);
        if (heap_.capacity() > 2 * heap_.size() + 1024) heap_.shrink_to_fit();
    }

  private:
    // std heap algorithms build a max-heap; invert to get the earliest deadline at the front.
    static bool later(const TimerEntry& a, const TimerEntry& b) { return a.at > b.at; }

    std::vector<TimerEntry> heap_;
    std::uint64_t pops_ = 0;
};

}  // namespace presence::core
