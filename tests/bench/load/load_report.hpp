// What a load run measured, and how it is printed: a human table and one JSON object.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "latency_histogram.hpp"

namespace presence::bench {

struct LoadReport {
    // The run as asked.
    std::string command;
    std::string graph;
    std::uint32_t users = 0, friends = 0, hubs = 0, hub_friends = 0;
    std::uint64_t edges = 0;
    double invisible_pct = 0, rate = 0, heartbeat_s = 0, duration_s = 0;
    bool pinned = false;
    bool tool_ring_reads = false;  // the tool read through io_uring (else one recv() each)

    // Connect phase.
    std::uint64_t connections_target = 0, connections_held = 0, connect_failures = 0;
    double connect_s = 0, connect_rate = 0;
    double connect_cpu_us_per_conn = 0;  // server CPU per accepted connection (with snapshot)
    LatencyHistogram snapshot;

    // Server, from /proc (0 when attached without --server-pid).
    std::uint64_t rss_before = 0, rss_connected = 0, rss_end = 0, rss_peak = 0;
    double rss_per_conn = 0;
    double idle_s = 0, idle_cpu_pct = 0;
    double measure_cpu_pct = 0, cpu_ns_per_delivery = 0;
    double tool_cpu_pct = 0;  // this load tool's own CPU in the measured phase (is it the limit?)

    // Measured phase.
    std::uint64_t changes_sent = 0, heartbeats_sent = 0, heartbeat_acks = 0;
    std::uint64_t deliveries = 0, expected_deliveries = 0, self_frames = 0, other_frames = 0;
    double measured_s = 0, deliveries_per_s = 0;
    LatencyHistogram fanout;

    // Reconnect storm (storm scenario only).
    bool storm = false;
    std::uint64_t storm_snapshots = 0, storm_failures = 0;
    double storm_s = 0;
    LatencyHistogram storm_snapshot;
    // The same, split by the second of the storm the reconnect was attempted in: shows whether
    // a tail belongs to the first reconnects (queued behind the disconnects) or to all of them.
    std::vector<LatencyHistogram> storm_by_second;

    // Errors.
    std::uint64_t unexpected_closes = 0;
    std::map<std::string, std::uint64_t> error_codes;  // error frames by code
    std::map<std::string, std::uint64_t> close_reasons;
};

void print_table(const LoadReport& r);
std::string to_json(const LoadReport& r);

}  // namespace presence::bench
