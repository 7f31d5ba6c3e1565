// Which connections the outbound budget cuts (host.max_outbound_bytes, slow_reader_cutoff.cpp):
// the largest backlogs first, until the rest fits. Clients that keep up hold a few frames and
// are never the largest. A template over the connection type so the choice is tested alone.
#pragma once

#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

namespace presence_host {

// `backlogs`: (queued bytes, connection), any order; consumed. While `exceeded()`, the largest
// left (ties: the higher address) is taken out and `cut(connection, bytes)` called; `cut` is
// what brings the total down.
template <typename Conn, typename Exceeded, typename Cut>
void cut_largest_backlogs(std::vector<std::pair<size_t, Conn*>>& backlogs, Exceeded&& exceeded,
                          Cut&& cut) {
    std::make_heap(backlogs.begin(), backlogs.end());
    while (exceeded() && !backlogs.empty()) {
        std::pop_heap(backlogs.begin(), backlogs.end());
        const auto [bytes, conn] = backlogs.back();
        backlogs.pop_back();
        cut(*conn, bytes);
    }
}

}  // namespace presence_host
