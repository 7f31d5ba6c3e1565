#include "service/metrics.hpp"

#include <algorithm>

namespace presence::service {
namespace {

void line(std::string& out, const char* name, std::uint64_t value) {
    out += name;
    out += ' ';
    out += std::to_string(value);
    out += '\n';
}

void header(std::string& out, const char* name, const char* type, const char* help) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
}

// A metric with one unlabelled sample: its HELP and TYPE lines, then the value.
void metric(std::string& out, const char* name, const char* type, const char* help,
            std::uint64_t value) {
    header(out, name, type, help);
    line(out, name, value);
}

}  // namespace

void Metrics::observe_fanout_us(std::uint64_t us) {
    ++fanout_count_;
    fanout_sum_us_ += us;
    for (std::size_t i = 0; i < kLatencyBucketsUs.size(); ++i) {
        if (us <= kLatencyBucketsUs[i]) {
            ++fanout_buckets_[i];
            return;
        }
    }
    // Above the last bound: counted only in +Inf (fanout_count_).
}

std::uint64_t Metrics::error_count(const std::string& code) const {
    const auto it = errors_.find(code);
    return it == errors_.end() ? 0 : it->second;
}

std::string Metrics::render(const MetricsSnapshot& g) const {
    std::string out;
    out.reserve(2048);
    metric(out, "presence_connections", "gauge", "Live WebSocket connections.", g.connections);
    metric(out, "presence_connections_opened_total", "counter", "Connections accepted.",
           connections_total_);
    metric(out, "presence_online_users", "gauge", "Users with at least one live connection.",
           g.online_users);
    metric(out, "presence_loaded_users", "gauge",
           "User records in memory (online users, their friends, recent readers).", g.loaded_users);
    metric(
        out, "presence_user_slots", "gauge",
        "Users the core holds state for (loaded, or named in a loaded friend or visibility list).",
        g.user_slots);
    metric(out, "presence_users_evicted_total", "counter",
           "Users dropped from memory because nobody here watched them (loaded again on demand).",
           g.users_evicted);
    metric(out, "presence_frames_in_total", "counter", "WebSocket frames received.", frames_in_);
    metric(out, "presence_frames_out_total", "counter",
           "WebSocket frames handed to the host (one per connection).", frames_out_);
    metric(out, "presence_store_queue_depth", "gauge", "Store operations waiting.",
           g.store_queue_depth);
    metric(out, "presence_store_up", "gauge", "1 when the store answers, 0 when degraded.",
           g.store_ok ? 1 : 0);

    if (g.redis_enabled) {
        metric(out, "presence_redis_up", "gauge", "1 when the Redis link works, 0 when degraded.",
               g.redis_up ? 1 : 0);
        metric(out, "presence_redis_feed_lag_ms", "gauge",
               "Age of the newest change-feed entry when this instance read it.",
               static_cast<std::uint64_t>(std::max<std::int64_t>(0, g.feed_lag_ms)));
        metric(out, "presence_redis_changes_published_total", "counter",
               "Changes this instance wrote to the change feed.", g.changes_published);
        metric(out, "presence_redis_changes_applied_total", "counter",
               "Other instances' changes applied here.", g.changes_applied);
        metric(out, "presence_redis_instances_reaped_total", "counter",
               "Dead instances whose users this instance turned offline.", g.instances_reaped);
        metric(out, "presence_redis_users_reaped_total", "counter",
               "Users of dead instances updated by this instance's reaping.", g.users_reaped);
        metric(out, "presence_redis_resyncs_total", "counter",
               "Times this instance read every loaded user again (feed gap, Redis data lost).",
               g.resyncs);
    }

    header(out, "presence_errors_total", "counter", "Errors sent to clients, by code.");
    for (const auto& [code, n] : errors_) {
        out += "presence_errors_total{code=\"" + code + "\"} " + std::to_string(n) + '\n';
    }

    header(out, "presence_fanout_latency_us", "histogram",
           "Time from receiving a change to handing all its frames to the host, microseconds.");
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < kLatencyBucketsUs.size(); ++i) {
        cumulative += fanout_buckets_[i];
        out += "presence_fanout_latency_us_bucket{le=\"" + std::to_string(kLatencyBucketsUs[i]) +
               "\"} " + std::to_string(cumulative) + '\n';
    }
    out += "presence_fanout_latency_us_bucket{le=\"+Inf\"} " + std::to_string(fanout_count_) + '\n';
    line(out, "presence_fanout_latency_us_sum", fanout_sum_us_);
    line(out, "presence_fanout_latency_us_count", fanout_count_);
    return out;
}

}  // namespace presence::service
