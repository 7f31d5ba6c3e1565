// presence-host from start to stop: start() in named steps (the lws context and which path
// runs, the fast path's pieces, the vhost and listener, the friendships table, the plugin, the
// watch on new connections), run(), stop(), and the plugin's tick timer.
#include <malloc.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "fd_limits.hpp"
#include "host_server.hpp"

namespace presence_host {
namespace {

// lws 4.1.6 logs "adopt_socket_readbuf: calling service" at error level on every socket
// adopted with its request bytes, which the host does for nearly every connection (see
// on_listen_ready): 19,500 "E:" lines in a reconnect storm. It is not an error; drop it and
// pass everything else on as lws would print it.
void emit_lws_log(int level, const char* line) {
    if (std::strstr(line, "adopt_socket_readbuf: calling service")) return;
    lwsl_emit_stderr(level, line);
}

// No lws validity pings: liveness is the plugin's heartbeat timeout. lws 4.1 keeps every
// connection's validity timer in one sorted list and re-sorts it on each received frame, an
// O(connections) walk the benchmark measured at 14-27 % of the host's CPU with 19,500 sockets.
const lws_retry_bo_t kNoValidityPings = {nullptr, 0, 0, 0, 0, 0};

}  // namespace

HostServer::HostServer(ConfigFile config, HostOptions options, const presence_plugin_api* api)
    : config_(std::move(config)),
      options_(std::move(options)),
      api_(api),
      budget_(options_.max_outbound_bytes) {
    tick_timer_.owner = this;
    metrics_path_ = config_.get_or("presence.http_prefix", "/api/presence") + "/metrics";
}

HostServer::~HostServer() {
    if (active_frame_mask_guard() == mask_guard_.get()) set_active_frame_mask_guard(nullptr);
    friendship_table_.reset();  // its worker wakes the loop through context_
    if (plugin_) api_->destroy(plugin_);
    plugin_ = nullptr;
    if (context_) lws_context_destroy(context_);
    context_ = nullptr;
}

bool HostServer::start(std::string& error) {
    if (!create_context(error)) return false;
    if (fast_path()) set_up_fast_path();
    if (!create_vhost(error) || !open_friendship_table(error) || !create_plugin(error) ||
        !watch_new_connections(error)) {
        return false;
    }
    announce_listening();
    return true;
}

// The lws context, on the loop of the path host.event_lib chose: the fast path's libev loop
// (ours), or the plain path's poll() (lws'). The default falls back to poll when lws' libev
// plugin is missing.
bool HostServer::create_context(std::string& error) {
    // lws' own warnings are noise in normal runs; host.log_level=debug shows them too.
    lws_set_log_level(
        options_.log_level >= PRESENCE_LOG_DEBUG ? LLL_ERR | LLL_WARN | LLL_NOTICE : LLL_ERR,
        emit_lws_log);

    lws_context_creation_info info;
    std::memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
    info.user = this;  // what the protocol callback reaches us by (lws_bridge.cpp)
    // A connection waiting for a header table (see max_http_header_pool) is on lws' pending
    // timeout; during a reconnect storm of ~20,000 sockets the wait may exceed lws' default
    // and the waiters were reset. 60 s lets a storm drain through the pool.
    info.timeout_secs = 60;
    info.count_threads = 1;  // LWS_MAX_SMP is 1 in Debian's build
    // lws must stop taking connections before the kernel refuses accept() with EMFILE (the
    // plugin, its store and libev hold descriptors lws does not count): on EMFILE lws 4.1.6
    // logs and retries the still-readable listen socket forever (measured: 100 % CPU, ~170,000
    // log lines a second). At its own limit lws instead leaves them in the listen queue.
    // But fd_limit_per_thread must equal the soft limit lws reads at creation: otherwise lws
    // looks every event's descriptor up by a linear scan (wsi_from_fd, measured at 63 % of the
    // CPU with 19,500 sockets). So: soft limit kSpareFds below the hard one while the context
    // is created, then the spare descriptors are given back to the rest of the process.
    const unsigned int fd_limit = lower_fd_limit_for_lws();
    info.fd_limit_per_thread = fd_limit;
    lws_fd_limit_ = fd_limit;
    // Header tables (~5 KiB each) are needed only while a request's headers are parsed. A
    // pool bounds that memory however many sockets connect at once; connections past it wait
    // their turn for a table instead of each holding one. This is what keeps a held WebSocket
    // at a few hundred bytes of host memory. Why the default is 8192: see HostOptions.
    info.max_http_header_pool = static_cast<unsigned short>(options_.header_tables);
    if (options_.event_lib == "libev") {
        // The fast path: our loop, not lws' own, so lws installs no SIGINT watcher (our
        // sigaction handler stops the host for both signals) and we get the end-of-turn hook
        // (owned_ev_loop.hpp). A libev that cannot make a loop counts as libev missing.
        ev_loop_ = std::make_unique<OwnedEvLoop>();
        if (ev_loop_->ok()) {
            info.options |= LWS_SERVER_OPTION_LIBEV;
            info.foreign_loops = ev_loop_->foreign_loops();
            context_ = lws_create_context(&info);
        }
    } else {
        context_ = lws_create_context(&info);  // the plain path: lws' own poll() loop
    }
    // No fallback with host.reuse_port: poll's listener (lws') cannot share the port.
    if (!context_ && options_.event_lib_fallback && options_.event_lib != "poll" &&
        !options_.reuse_port) {
        // The default evlib is a separately packaged lws plugin; without it, still serve.
        log(PRESENCE_LOG_WARN, ("event lib '" + options_.event_lib +
                                "' cannot be loaded (package libwebsockets-evlib-ev?); "
                                "falling back to poll")
                                   .c_str());
        options_.event_lib = "poll";
        info.options &= ~static_cast<uint64_t>(LWS_SERVER_OPTION_LIBEV);
        info.foreign_loops = nullptr;
        ev_loop_.reset();
        context_ = lws_create_context(&info);
    }
    fd_limit_ = raise_fd_limit();  // the spare ones, for all but lws
    if (!context_) {
        error = "cannot create the libwebsockets context (event lib '" + options_.event_lib + "')";
        if (options_.reuse_port) {
            error +=
                "; host.reuse_port = true needs libev (package libwebsockets-evlib-ev?), "
                "it does not fall back to poll";
        }
        return false;
    }
    // Which loop really runs (the default may have fallen back), for operators and tests.
    log(PRESENCE_LOG_INFO, ("event loop: " + options_.event_lib).c_str());
    return true;
}

// The fast path's pieces on the loop: the unmasked-frame check on what lws reads, the
// end-of-turn hook, and the io_uring ring of the end-of-turn writes.
void HostServer::set_up_fast_path() {
    mask_guard_ = std::make_unique<FrameMaskGuard>(
        fd_limit_,
        [](void* server, void* conn) {
            static_cast<HostServer*>(server)->refuse_unmasked(*static_cast<Connection*>(conn));
        },
        this);
    set_active_frame_mask_guard(mask_guard_.get());
    ev_loop_->on_turn_end([](void* server) { static_cast<HostServer*>(server)->on_turn_end(); },
                          this);
    std::string why = "off (host.io_uring)";
    if (options_.io_uring && ring_.open(why)) {
        log(PRESENCE_LOG_INFO, "end-of-turn writes: io_uring");
    } else {
        log(options_.io_uring ? PRESENCE_LOG_WARN : PRESENCE_LOG_INFO,
            ("end-of-turn writes: send(), io_uring " + why).c_str());
    }
}

// The one vhost (HTTP and /ws on one port). The fast path opens its own listening socket first
// and gives lws none; on the plain path lws listens.
bool HostServer::create_vhost(std::string& error) {
    lws_context_creation_info vinfo;
    std::memset(&vinfo, 0, sizeof vinfo);
    vinfo.port = options_.listen_port;
    if (fast_path()) {
        // The fast path: the host listens and hands connections to lws itself (acceptor.hpp).
        acceptor_ = std::make_unique<Acceptor>(options_.pending, static_cast<AcceptorSink&>(*this));
        acceptor_->set_fd_ceiling(static_cast<int>(lws_fd_limit_));
        ListenAddress where{options_.listen_host, options_.listen_port, options_.listen_ipv6};
        if (!acceptor_->listen(where, options_.reuse_port, error)) return false;
        vinfo.port = CONTEXT_PORT_NO_LISTEN_SERVER;
    }
    vinfo.iface = options_.listen_host.empty() ? nullptr : options_.listen_host.c_str();
    vinfo.protocols = lws_protocols_of_host();
    vinfo.vhost_name = "presence";
    vinfo.retry_and_idle_policy = &kNoValidityPings;
    if (!options_.listen_ipv6) vinfo.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    vhost_ = lws_create_vhost(context_, &vinfo);
    if (!vhost_) {
        error =
            "cannot listen on " + options_.listen_host + ":" + std::to_string(options_.listen_port);
        return false;
    }
    return true;
}

// The host application's friendships table (with MariaDB and the admin route on), before
// the plugin, whose friends query then finds it.
bool HostServer::open_friendship_table(std::string& error) {
    const std::string db_url = config_.get_or("presence.db_url", "");
    if (!db_url.empty() && !options_.admin_token.empty()) {
        friendship_table_ = FriendshipTable::open(
            db_url, options_.friendships_table, [this] { wake(); }, error);
        if (!friendship_table_) return false;
    }
    return true;
}

// The plugin, with every presence.* setting.
bool HostServer::create_plugin(std::string& error) {
    host_api_ = make_host_api(*this);
    std::vector<presence_setting> settings;
    for (const auto& [key, value] : config_.all()) {
        if (key.starts_with("presence.")) settings.push_back({key.c_str(), value.c_str()});
    }
    char why[512] = "";
    plugin_ = api_->create(&host_api_, settings.data(), settings.size(), why, sizeof why);
    if (!plugin_) {
        error = std::string("plugin refused to start: ") + (why[0] ? why : "no reason given");
        return false;
    }
    // The plugin says how large a message may be (older plugins: the setting parsed by main).
    if (PRESENCE_HAS_FIELD(api_, presence_plugin_api, max_message_bytes)) {
        options_.max_message_bytes = api_->max_message_bytes(plugin_);
    }
    return true;
}

// Fast path: the acceptor's one descriptor on the loop (the listener and the sockets held for
// their request, on_listen_ready).
bool HostServer::watch_new_connections(std::string& error) {
    if (!fast_path()) return true;
    if (!acceptor_->watch(error)) return false;
    ev_loop_->watch_readable(
        acceptor_->ready_fd(),
        [](void* server) { static_cast<HostServer*>(server)->on_listen_ready(); }, this);
    return true;
}

// What tests and scripts wait for on stdout.
void HostServer::announce_listening() {
    const int port = fast_path() ? acceptor_->port() : lws_get_vhost_listen_port(vhost_);
    const std::string shown =
        options_.listen_ipv6 ? "[" + options_.listen_host + "]" : options_.listen_host;
    std::printf("listening on http://%s:%d\n", shown.c_str(), port);
    std::fflush(stdout);
}

int HostServer::run() {
    schedule_tick();
    if (fast_path()) {
        ev_loop_->run();  // until stop_own_loop()
    } else {
        while (!stopping_.load()) {
            if (lws_service(context_, 0) < 0) break;
        }
    }
    destroy_plugin();
    lws_context_destroy(context_);
    context_ = nullptr;
    return 0;
}

void HostServer::destroy_plugin() {
    friendship_table_.reset();  // writes what was submitted, then its worker stops
    if (!plugin_) return;
    log(PRESENCE_LOG_INFO, "stopping: flushing the plugin");
    // Destroy the plugin before the context: closing sockets afterwards must not call hooks
    // of a plugin that no longer exists.
    lws_sul_cancel(&tick_timer_.sul);
    api_->destroy(plugin_);
    plugin_ = nullptr;
}

void HostServer::stop_own_loop() {
    stopping_.store(true);
    destroy_plugin();           // the store is flushed here, whatever the loop does next
    ev_loop_->pause_reading();  // no new connections while stopping
    ev_loop_->stop();           // run() returns after this turn and destroys the context
}

void HostServer::stop() {
    // Called from a signal handler: an atomic store and a pipe write only.
    stopping_.store(true);
    if (context_) lws_cancel_service(context_);
}

void HostServer::schedule_tick() {
    const uint32_t interval = plugin_ ? api_->tick_interval_ms(plugin_) : 1000;
    lws_sul_schedule(context_, 0, &tick_timer_.sul, tick_callback,
                     static_cast<lws_usec_t>(interval ? interval : 1000) * LWS_US_PER_MS);
}

void HostServer::tick_callback(lws_sorted_usec_list_t* sul) {
    auto* timer = reinterpret_cast<TickTimer*>(sul);
    HostServer& server = *timer->owner;
    if (!server.plugin_) return;
    server.api_->tick(server.plugin_);
    server.trim_heap_after_handshakes();
    server.schedule_tick();
}

void HostServer::trim_heap_after_handshakes() {
    // Each handshake borrows a ~5 KiB header table and gives it back; after a burst of
    // connections those freed tables sit between long-lived allocations and glibc keeps
    // their pages. malloc_trim hands whole free pages back to the kernel, so a host holding
    // many idle WebSockets costs what they really use. Once a burst is over, not per handshake.
    const int64_t now = lws_now_usecs();
    if (handshakes_since_trim_ == 0 || now - last_trim_us_ < 2 * LWS_US_PER_SEC) return;
    handshakes_since_trim_ = 0;
    last_trim_us_ = now;
    malloc_trim(0);
}

}  // namespace presence_host
