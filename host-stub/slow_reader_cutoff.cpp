// Where a frame joins a connection's queue, and where a connection is cut off for not keeping
// up: its own queue past host.max_queue_* (a slow reader), or all queues together past
// host.max_outbound_bytes (the largest backlogs, largest_backlogs.hpp). Cut off = backlog
// dropped, close 1008 once the frame in progress is out.
#include <cstdio>
#include <utility>

#include "host_server.hpp"
#include "largest_backlogs.hpp"

namespace presence_host {

bool HostServer::enqueue(Connection& conn, const SharedFrame& frame) {
    if (conn.queue.push(frame, options_.bounds, budget_of(conn))) {
        request_write(conn);
        if (budget_.exceeded()) enforce_outbound_budget();  // rare: one compare otherwise
        return !conn.close_now;
    }
    // A slow reader: drop its backlog and cut it off with 1008.
    char line[128];
    std::snprintf(line, sizeof line, "connection %llu: outgoing queue full, closing (1008)",
                  static_cast<unsigned long long>(conn.id));
    log(PRESENCE_LOG_WARN, line);
    cut_off(conn, "slow reader");
    return false;
}

// Drops the backlog and closes with 1008 (`reason` is a literal). A large frame already partly
// sent is finished first, so the client reads whole frames and then the close frame. If the
// socket never becomes writable again the timeout closes it anyway.
void HostServer::cut_off(Connection& conn, const char* reason) {
    conn.queue.clear_behind_sending(budget_of(conn));
    if (!conn.outside_budget) {
        // What it still owes (at most the frame in progress) leaves the budget: it is gone
        // within 5 s, and counting it would make every later push rescan the connections
        // and cut clients that keep up.
        budget_.remove(conn.queue.queued_bytes());
        draining_.add(conn.queue.queued_bytes());
        conn.outside_budget = true;
    }
    conn.close_now = true;
    conn.close_reason = reason;
    lws_callback_on_writable(conn.wsi);
    lws_set_timeout(conn.wsi, PENDING_TIMEOUT_CLOSE_SEND, 5);
}

// All queues together hold more than host.max_outbound_bytes: the largest backlogs are cut
// (1008) until they fit again, so many clients that each stay under max_queue_bytes cannot
// add up to unbounded memory, and clients that keep up (small queues) are not touched. One
// pass over the connections, only when past the budget.
void HostServer::enforce_outbound_budget() {
    backlogs_.clear();
    for (const auto& [id, conn] : connections_) {
        if (conn->queue.queued_bytes() && !conn->close_now) {
            backlogs_.emplace_back(conn->queue.queued_bytes(), conn.get());
        }
    }
    cut_largest_backlogs(
        backlogs_, [this] { return budget_.exceeded(); },
        [this](Connection& conn, size_t backlog) {
            char line[200];
            std::snprintf(line, sizeof line,
                          "outbound budget: %zu bytes queued, past host.max_outbound_bytes (%zu); "
                          "closing connection %llu, the largest backlog (%zu bytes) (1008)",
                          budget_.used(), budget_.limit(), static_cast<unsigned long long>(conn.id),
                          backlog);
            log(PRESENCE_LOG_WARN, line);
            cut_off(conn, "server outbound budget");
        });
}

}  // namespace presence_host
