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
