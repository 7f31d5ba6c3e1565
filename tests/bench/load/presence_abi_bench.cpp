// presence_abi_bench: drives libpresence.so through the C ABI in-process, no sockets. A fake
// host whose send/send_many only count, N users with F friends each all connected, then M
// status changes: reports personalized deliveries planned and framed per second (and per CPU
// second of this thread), plus the plugin's memory per connection and per friendship edge.
//
// presence_abi_bench [--plugin PATH] [--users N] [--friends F] [--changes M] [--no-send-many]
#include <dlfcn.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "frame_scan.hpp"
#include "friend_graph.hpp"
#include "presence_plugin.h"
#include "proc_stats.hpp"

#ifndef PRESENCE_PLUGIN_PATH
#define PRESENCE_PLUGIN_PATH ""
#endif

namespace pb = presence::bench;

namespace {

std::uint64_t thread_cpu_ns() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ull +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

// The fake host: counts what the plugin hands it, keeps nothing.
struct FakeHost {
    bool woken = false;
    std::uint64_t snapshots = 0;
    std::uint64_t presence_deliveries = 0;  // connections that got a `presence` frame
    std::uint64_t other_frames = 0;
    std::uint64_t bytes = 0;  // bytes the host would have copied/queued
    std::uint64_t send_calls = 0, send_many_calls = 0;
    std::uint64_t errors = 0;

    void count(std::string_view frame, std::size_t conns) {
        bytes += frame.size() * conns;
        auto type = pb::json_string_field(frame, "type");
        if (!type) {
            other_frames += conns;
        } else if (*type == "presence") {
            presence_deliveries += conns;
        } else if (*type == "presence_snapshot") {
            snapshots += conns;
        } else {
            if (*type == "error") ++errors;
            other_frames += conns;
        }
    }
};

int host_send(void* ctx, std::uint64_t, const char* data, std::size_t len) {
    auto* h = static_cast<FakeHost*>(ctx);
    ++h->send_calls;
    h->count(std::string_view(data, len), 1);
    return 0;
}
std::size_t host_send_many(void* ctx, const std::uint64_t*, std::size_t n, const char* data,
                           std::size_t len) {
    auto* h = static_cast<FakeHost*>(ctx);
    ++h->send_many_calls;
    h->count(std::string_view(data, len), n);
    return n;
}
void host_close(void*, std::uint64_t, std::uint16_t, const char*) {}
void host_respond(void*, std::uint64_t, int, const char*, const char*, std::size_t) {}
const char* host_get_setting(void*, const char*) {
    return nullptr;
}
void host_log(void*, int level, const char* msg) {
    if (level <= PRESENCE_LOG_WARN) std::fprintf(stderr, "plugin: %s\n", msg);
}
std::int64_t host_now_ms(void*) {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}
void host_wake(void* ctx) {
    static_cast<FakeHost*>(ctx)->woken = true;
}

}  // namespace

int main(int argc, char** argv) {
    std::string plugin_path = PRESENCE_PLUGIN_PATH;
    std::uint32_t users = 10000, friends = 100;
    std::uint64_t changes = 1'000'000;
    bool use_send_many = true;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto val = [&]() -> const char* { return i + 1 < argc ? argv[++i] : "0"; };
        if (a == "--plugin")
            plugin_path = val();
        else if (a == "--users")
            users = static_cast<std::uint32_t>(std::strtoul(val(), nullptr, 10));
        else if (a == "--friends")
            friends = static_cast<std::uint32_t>(std::strtoul(val(), nullptr, 10));
        else if (a == "--changes")
            changes = std::strtoull(val(), nullptr, 10);
        else if (a == "--no-send-many")
            use_send_many = false;
        else {
            std::fprintf(stderr, "unknown option %s\n", a.c_str());
            return 2;
        }
    }
    if (plugin_path.empty() || users < 2) {
        std::fprintf(stderr, "need --plugin PATH and --users >= 2\n");
        return 2;
    }

    // Friends file in a throwaway directory.
    char tmpl[] = "/tmp/presence-abi-XXXXXX";
    if (!mkdtemp(tmpl)) return 1;
    std::string dir = tmpl;
    struct DirGuard {
        std::string d;
        ~DirGuard() {
            std::error_code ec;
            std::filesystem::remove_all(d, ec);
        }
    } guard{dir};
    pb::FriendGraph graph = pb::make_graph(pb::GraphSpec{users, friends, 0, 0, 1});
    std::string friends_file = dir + "/friends.txt";
    if (!graph.write_friends_file(friends_file)) return 1;

    auto rss0 = pb::sample_process(getpid());
    void* so = dlopen(plugin_path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!so) {
        std::fprintf(stderr, "dlopen: %s\n", dlerror());
        return 1;
    }
    auto entry = reinterpret_cast<presence_entry_fn>(dlsym(so, PRESENCE_ENTRY_SYMBOL));
    char why[256] = "";
    const presence_plugin_api* api = entry ? entry(PRESENCE_ABI_VERSION, why, sizeof why) : nullptr;
    if (!api) {
        std::fprintf(stderr, "plugin refused: %s\n", why);
        return 1;
    }

    FakeHost fake;
    presence_host_api host{};
    host.struct_size = sizeof host;
    host.host_ctx = &fake;
    host.send = host_send;
    host.close = host_close;
    host.respond = host_respond;
    host.get_setting = host_get_setting;
    host.log = host_log;
    host.now_ms = host_now_ms;
    host.wake = host_wake;
    host.send_many = use_send_many ? host_send_many : nullptr;
    // Rate limits are per connection; 1000/s (the plugin's maximum) stays far above what one
    // user gets here (changes are spread round-robin over all users), so none is deferred.
    presence_setting settings[] = {
        {"presence.friends_file", friends_file.c_str()},
        {"presence.updates_per_s", "1000"},
        {"presence.heartbeat_timeout_s", "3600"},
    };
    presence_plugin* plugin = api->create(&host, settings, 3, why, sizeof why);
    if (!plugin) {
        std::fprintf(stderr, "create failed: %s\n", why);
        return 1;
    }
    auto pump = [&] {
        for (int i = 0; i < 1000 && fake.woken; ++i) {
            fake.woken = false;
            api->on_wake(plugin);
        }
    };
    pump();
    auto rss1 = pb::sample_process(getpid());

    // Connect everyone (conn id = user index + 1) and wait for every snapshot (bounded).
    std::uint64_t t_connect = pb::monotonic_ns();
    std::uint32_t refused = 0;
    for (std::uint32_t i = 0; i < users; ++i) {
        std::string u = pb::user_name(i);
        if (api->on_connect(plugin, i + 1, u.data(), u.size()) != 0) ++refused;
        if (fake.woken) pump();
    }
    std::uint64_t deadline = pb::monotonic_ns() + 30'000'000'000ull;
    while (fake.snapshots < users - refused && pb::monotonic_ns() < deadline) {
        fake.woken = true;  // poll: a store may answer without waking
        pump();
        api->tick(plugin);
    }
    double connect_s = static_cast<double>(pb::monotonic_ns() - t_connect) / 1e9;
    auto rss2 = pb::sample_process(getpid());

    // M status changes, round-robin over users; each user cycles away -> dnd -> online so
    // every change alters what its friends see.
    static const char* kFrames[] = {
        R"({"type":"presence_update","status":"away"})",
        R"({"type":"presence_update","status":"dnd"})",
        R"({"type":"presence_update","status":"online"})",
    };
    std::vector<std::uint8_t> cycle(users, 0);
    fake.presence_deliveries = 0;
    fake.bytes = 0;
    std::uint64_t c0 = thread_cpu_ns(), w0 = pb::monotonic_ns();
    for (std::uint64_t k = 0; k < changes; ++k) {
        std::uint32_t u = static_cast<std::uint32_t>((k * 7919) % users);  // spread, not sequential
        const char* f = kFrames[cycle[u]];
        cycle[u] = static_cast<std::uint8_t>((cycle[u] + 1) % 3);
        api->on_message(plugin, u + 1, f, std::strlen(f));
        if (fake.woken) pump();
    }
    std::uint64_t c1 = thread_cpu_ns(), w1 = pb::monotonic_ns();
    double wall_s = static_cast<double>(w1 - w0) / 1e9;
    double cpu_s = static_cast<double>(c1 - c0) / 1e9;
    std::uint64_t deliveries = fake.presence_deliveries;

    std::printf("presence_abi_bench: %u users x %u friends (%llu edges), %llu changes, %s\n", users,
                friends, static_cast<unsigned long long>(graph.edges),
                static_cast<unsigned long long>(changes),
                use_send_many ? "send_many" : "send only");
    std::printf("  connected              %llu snapshots of %u in %.2f s (refused %u)\n",
                static_cast<unsigned long long>(fake.snapshots), users, connect_s, refused);
    std::printf("  deliveries             %llu (%.1f per change), %.1f MB framed\n",
                static_cast<unsigned long long>(deliveries),
                static_cast<double>(deliveries) / static_cast<double>(changes),
                static_cast<double>(fake.bytes) / 1e6);
    std::printf("  rate                   %.0f deliveries/s wall, %.0f per CPU-second\n",
                static_cast<double>(deliveries) / wall_s, static_cast<double>(deliveries) / cpu_s);
    std::printf("  per change             %.0f ns CPU; per delivery %.1f ns CPU\n",
                static_cast<double>(c1 - c0) / static_cast<double>(changes),
                static_cast<double>(c1 - c0) / static_cast<double>(deliveries ? deliveries : 1));
    std::printf(
        "  calls                  send %llu, send_many %llu, other frames %llu, errors %llu\n",
        static_cast<unsigned long long>(fake.send_calls),
        static_cast<unsigned long long>(fake.send_many_calls),
        static_cast<unsigned long long>(fake.other_frames),
        static_cast<unsigned long long>(fake.errors));
    double per_edge =
        graph.edges ? (static_cast<double>(rss2.rss_bytes) - static_cast<double>(rss0.rss_bytes)) /
                          static_cast<double>(2 * graph.edges)
                    : 0;
    std::printf(
        "  RSS                    start %.1f MiB, created %.1f MiB, connected %.1f MiB: "
        "%.0f B per directed friendship edge (plugin+store, all online)\n",
        rss0.rss_bytes / 1048576.0, rss1.rss_bytes / 1048576.0, rss2.rss_bytes / 1048576.0,
        per_edge);
    std::printf(
        "{\"users\":%u,\"friends\":%u,\"changes\":%llu,\"deliveries\":%llu,"
        "\"deliveries_per_s\":%.0f,\"deliveries_per_cpu_s\":%.0f,\"connect_s\":%.3f,"
        "\"rss_start\":%llu,\"rss_created\":%llu,\"rss_connected\":%llu,"
        "\"bytes_per_directed_edge\":%.1f,\"send_many\":%s}\n",
        users, friends, static_cast<unsigned long long>(changes),
        static_cast<unsigned long long>(deliveries), static_cast<double>(deliveries) / wall_s,
        static_cast<double>(deliveries) / cpu_s, connect_s,
        static_cast<unsigned long long>(rss0.rss_bytes),
        static_cast<unsigned long long>(rss1.rss_bytes),
        static_cast<unsigned long long>(rss2.rss_bytes), per_edge,
        use_send_many ? "true" : "false");

    api->destroy(plugin);
    dlclose(so);
    // The tool worked when everyone connected and changes were delivered; no figure is judged.
    bool ok = fake.snapshots >= users && deliveries > 0 && fake.errors == 0;
    if (!ok) std::fprintf(stderr, "presence_abi_bench: run incomplete (see counts above)\n");
    return ok ? 0 : 1;
}
