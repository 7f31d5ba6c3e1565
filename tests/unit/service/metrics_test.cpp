// GET /metrics: Prometheus text with the counters SPEC 6 lists.
#include "service/metrics.hpp"

#include <string>

// CppUTest last: its memory-leak macros must not rewrite standard headers.
// clang-format off
#include <CppUTest/TestHarness.h>
// clang-format on

using namespace presence::service;

TEST_GROUP(Metrics){};

TEST(Metrics, RendersCountersAndCumulativeHistogram) {
    Metrics m;
    m.frame_in();
    m.frames_out(3);
    m.error("bad_json");
    m.error("bad_json");
    m.observe_fanout_us(20);       // le=25
    m.observe_fanout_us(1000000);  // only +Inf
    MetricsSnapshot g;
    g.connections = 4;
    g.online_users = 2;
    g.store_queue_depth = 7;
    const std::string text = m.render(g);
    auto has = [&](const char* line) { CHECK_TEXT(text.find(line) != std::string::npos, line); };
    has("presence_connections 4\n");
    has("presence_online_users 2\n");
    has("presence_frames_in_total 1\n");
    has("presence_frames_out_total 3\n");
    has("presence_store_queue_depth 7\n");
    has("presence_errors_total{code=\"bad_json\"} 2\n");
    has("presence_fanout_latency_us_bucket{le=\"10\"} 0\n");
    has("presence_fanout_latency_us_bucket{le=\"25\"} 1\n");
    has("presence_fanout_latency_us_bucket{le=\"100000\"} 1\n");
    has("presence_fanout_latency_us_bucket{le=\"+Inf\"} 2\n");
    has("presence_fanout_latency_us_count 2\n");
    has("# TYPE presence_fanout_latency_us histogram\n");
}

TEST(Metrics, RedisLinkMetricsOnlyWithSeveralInstances) {
    Metrics m;
    MetricsSnapshot g;
    CHECK(m.render(g).find("presence_redis") == std::string::npos);
    g.redis_enabled = true;
    g.redis_up = true;
    g.feed_lag_ms = -5;  // clocks apart: never a negative age
    g.changes_published = 11;
    g.changes_applied = 12;
    g.instances_reaped = 1;
    g.users_reaped = 300;
    g.resyncs = 2;
    const std::string text = m.render(g);
    auto has = [&](const char* line) { CHECK_TEXT(text.find(line) != std::string::npos, line); };
    has("# TYPE presence_redis_up gauge\npresence_redis_up 1\n");
    has("presence_redis_feed_lag_ms 0\n");
    has("# TYPE presence_redis_changes_published_total counter\n");
    has("presence_redis_changes_published_total 11\n");
    has("presence_redis_changes_applied_total 12\n");
    has("presence_redis_instances_reaped_total 1\n");
    has("presence_redis_users_reaped_total 300\n");
    has("presence_redis_resyncs_total 2\n");
}
