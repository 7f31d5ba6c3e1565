#include "load_report.hpp"

#include <cstdio>
#include <sstream>

namespace presence::bench {
namespace {

double ms(std::uint64_t ns) {
    return static_cast<double>(ns) / 1e6;
}

void print_hist(const char* name, const LatencyHistogram& h) {
    std::printf("  %-22s n=%llu p50=%.3f ms p99=%.3f ms p999=%.3f ms max=%.3f ms\n", name,
                static_cast<unsigned long long>(h.count()), ms(h.quantile(0.5)),
                ms(h.quantile(0.99)), ms(h.quantile(0.999)), ms(h.max()));
}

void json_hist(std::ostringstream& o, const char* name, const LatencyHistogram& h) {
    o << "\"" << name << "\":{\"count\":" << h.count() << ",\"p50_ms\":" << ms(h.quantile(0.5))
      << ",\"p99_ms\":" << ms(h.quantile(0.99)) << ",\"p999_ms\":" << ms(h.quantile(0.999))
      << ",\"max_ms\":" << ms(h.max()) << "}";
}

std::string escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        if (static_cast<unsigned char>(c) < 0x20) continue;
        out += c;
    }
    return out;
}

}  // namespace

void print_table(const LoadReport& r) {
    std::printf(
        "presence-load: %s graph, %u users x %u friends (%u hubs x %u), %llu edges, "
        "%.0f%% invisible, rate %.0f/s, heartbeat %.1f s, %.1f s%s, tool reads: %s\n",
        r.graph.c_str(), r.users, r.friends, r.hubs, r.hub_friends,
        static_cast<unsigned long long>(r.edges), r.invisible_pct, r.rate, r.heartbeat_s,
        r.duration_s, r.pinned ? ", pinned" : "", r.tool_ring_reads ? "io_uring" : "recv()");
    std::printf("  connections held       %llu / %llu (failures %llu)\n",
                static_cast<unsigned long long>(r.connections_held),
                static_cast<unsigned long long>(r.connections_target),
                static_cast<unsigned long long>(r.connect_failures));
    std::printf("  connect                %.2f s, %.0f conn/s, server CPU %.0f us per connection\n",
                r.connect_s, r.connect_rate, r.connect_cpu_us_per_conn);
    print_hist("snapshot latency", r.snapshot);
    std::printf(
        "  server RSS             before %.1f MiB, connected %.1f MiB, end %.1f MiB, "
        "peak %.1f MiB, %.0f B/conn\n",
        r.rss_before / 1048576.0, r.rss_connected / 1048576.0, r.rss_end / 1048576.0,
        r.rss_peak / 1048576.0, r.rss_per_conn);
    std::printf("  server CPU idle        %.2f %% over %.1f s (heartbeats only)\n", r.idle_cpu_pct,
                r.idle_s);
    std::printf("  changes sent           %llu, heartbeats %llu (acks %llu)\n",
                static_cast<unsigned long long>(r.changes_sent),
                static_cast<unsigned long long>(r.heartbeats_sent),
                static_cast<unsigned long long>(r.heartbeat_acks));
    std::printf("  deliveries             %llu of %llu expected, %.0f/s over %.2f s\n",
                static_cast<unsigned long long>(r.deliveries),
                static_cast<unsigned long long>(r.expected_deliveries), r.deliveries_per_s,
                r.measured_s);
    print_hist("fan-out latency", r.fanout);
    std::printf(
        "  server CPU measured    %.1f %%, %.0f ns per delivered frame (load tool %.1f %%)\n",
        r.measure_cpu_pct, r.cpu_ns_per_delivery, r.tool_cpu_pct);
    if (r.storm) {
        std::printf("  reconnect storm        %llu snapshots in %.2f s (failures %llu)\n",
                    static_cast<unsigned long long>(r.storm_snapshots), r.storm_s,
                    static_cast<unsigned long long>(r.storm_failures));
        print_hist("storm snapshot", r.storm_snapshot);
        for (std::size_t i = 0; i < r.storm_by_second.size(); ++i) {
            const std::string name = "  started in second " + std::to_string(i);
            if (r.storm_by_second[i].count()) print_hist(name.c_str(), r.storm_by_second[i]);
        }
    }
    std::printf("  errors                 unexpected closes %llu",
                static_cast<unsigned long long>(r.unexpected_closes));
    for (const auto& [code, n] : r.error_codes)
        std::printf(", %s=%llu", code.c_str(), static_cast<unsigned long long>(n));
    for (const auto& [why, n] : r.close_reasons)
        std::printf(", close[%s]=%llu", why.c_str(), static_cast<unsigned long long>(n));
    std::printf("\n");
    std::fflush(stdout);
}

std::string to_json(const LoadReport& r) {
    std::ostringstream o;
    o << "{\"command\":\"" << escape(r.command) << "\",\"graph\":\"" << r.graph
      << "\",\"users\":" << r.users << ",\"friends\":" << r.friends << ",\"hubs\":" << r.hubs
      << ",\"hub_friends\":" << r.hub_friends << ",\"edges\":" << r.edges
      << ",\"invisible_pct\":" << r.invisible_pct << ",\"rate\":" << r.rate
      << ",\"heartbeat_s\":" << r.heartbeat_s << ",\"duration_s\":" << r.duration_s
      << ",\"pinned\":" << (r.pinned ? "true" : "false") << ",\"tool_reads\":\""
      << (r.tool_ring_reads ? "io_uring" : "recv") << "\""
      << ",\"connections_target\":" << r.connections_target
      << ",\"connections_held\":" << r.connections_held
      << ",\"connect_failures\":" << r.connect_failures << ",\"connect_s\":" << r.connect_s
      << ",\"connect_rate\":" << r.connect_rate
      << ",\"connect_cpu_us_per_conn\":" << r.connect_cpu_us_per_conn << ",";
    json_hist(o, "snapshot", r.snapshot);
    o << ",\"rss_before\":" << r.rss_before << ",\"rss_connected\":" << r.rss_connected
      << ",\"rss_end\":" << r.rss_end << ",\"rss_peak\":" << r.rss_peak
      << ",\"rss_per_conn\":" << r.rss_per_conn << ",\"idle_s\":" << r.idle_s
      << ",\"idle_cpu_pct\":" << r.idle_cpu_pct << ",\"measure_cpu_pct\":" << r.measure_cpu_pct
      << ",\"cpu_ns_per_delivery\":" << r.cpu_ns_per_delivery
      << ",\"tool_cpu_pct\":" << r.tool_cpu_pct << ",\"changes_sent\":" << r.changes_sent
      << ",\"heartbeats_sent\":" << r.heartbeats_sent << ",\"heartbeat_acks\":" << r.heartbeat_acks
      << ",\"deliveries\":" << r.deliveries << ",\"expected_deliveries\":" << r.expected_deliveries
      << ",\"self_frames\":" << r.self_frames << ",\"other_frames\":" << r.other_frames
      << ",\"measured_s\":" << r.measured_s << ",\"deliveries_per_s\":" << r.deliveries_per_s
      << ",";
    json_hist(o, "fanout", r.fanout);
    o << ",\"storm\":" << (r.storm ? "true" : "false")
      << ",\"storm_snapshots\":" << r.storm_snapshots << ",\"storm_failures\":" << r.storm_failures
      << ",\"storm_s\":" << r.storm_s << ",";
    json_hist(o, "storm_snapshot", r.storm_snapshot);
    o << ",\"storm_p99_ms_by_second\":[";
    for (std::size_t i = 0; i < r.storm_by_second.size(); ++i)
        o << (i ? "," : "") << ms(r.storm_by_second[i].quantile(0.99));
    o << "]";
    o << ",\"unexpected_closes\":" << r.unexpected_closes << ",\"error_codes\":{";
    bool first = true;
    for (const auto& [code, n] : r.error_codes) {
        o << (first ? "" : ",") << "\"" << escape(code) << "\":" << n;
        first = false;
    }
    o << "},\"close_reasons\":{";
    first = true;
    for (const auto& [why, n] : r.close_reasons) {
        o << (first ? "" : ",") << "\"" << escape(why) << "\":" << n;
        first = false;
    }
    o << "}}";
    return o.str();
}

}  // namespace presence::bench
