// Counters of the running plugin, rendered as Prometheus text for GET /metrics. Loop thread
// only (every hook runs there), so plain integers suffice.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>

namespace presence::service {

struct MetricsSnapshot {  // gauges read from the core and the store at render time
    std::size_t connections = 0;
    std::size_t online_users = 0;
    std::size_t loaded_users = 0;  // user records in memory (online users, their friends, ...)
    std::uint64_t users_evicted = 0;
    std::size_t user_slots = 0;  // loaded users plus users only named in a loaded list
    std::size_t store_queue_depth = 0;
    bool store_ok = true;
    // Several instances (SPEC 9); absent on a single instance.
    bool redis_enabled = false;
    bool redis_up = false;
    std::int64_t feed_lag_ms = 0;
    std::uint64_t changes_published = 0;
    std::uint64_t changes_applied = 0;
    std::uint64_t instances_reaped = 0;
    std::uint64_t users_reaped = 0;
    std::uint64_t resyncs = 0;
};

class Metrics {
  public:
    // Fan-out latency buckets (microseconds), upper bounds; +Inf is implicit.
    static constexpr std::array<std::uint64_t, 12> kLatencyBucketsUs = {
        10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 100000};

    void frame_in() { ++frames_in_; }
    void frames_out(std::uint64_t n) { frames_out_ += n; }
    void connection_opened() { ++connections_total_; }
    void error(const std::string& code) { ++errors_[code]; }
    void observe_fanout_us(std::uint64_t us);

    std::uint64_t frames_in_count() const { return frames_in_; }
    std::uint64_t frames_out_count() const { return frames_out_; }
    std::uint64_t error_count(const std::string& code) const;
    std::uint64_t fanout_count() const { return fanout_count_; }

    // Prometheus text exposition format 0.0.4.
    std::string render(const MetricsSnapshot& gauges) const;

  private:
    std::uint64_t frames_in_ = 0;
    std::uint64_t frames_out_ = 0;
    std::uint64_t connections_total_ = 0;
    std::map<std::string, std::uint64_t> errors_;                           // sorted: stable output
    std::array<std::uint64_t, kLatencyBucketsUs.size()> fanout_buckets_{};  // not cumulative
    std::uint64_t fanout_count_ = 0;
    std::uint64_t fanout_sum_us_ = 0;
};

}  // namespace presence::service
