// The libwebsockets side of presence-host: context and listening socket, the one protocol
// callback (HTTP and /ws share the port), the WebSocket half of it, and the tick timer.
// The HTTP half lives in http_routes.cpp.
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include "admin_routes.hpp"
#include "host_server.hpp"
#include "peer_address.hpp"
#include "request_fields.hpp"
#include "request_peek.hpp"
#include "token.hpp"

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

HostServer* g_server = nullptr;  // one server per process; lws hands callbacks no user ctx

int protocol_callback(lws* wsi, lws_callback_reasons reason, void* user, void* in, size_t len) {
    if (!g_server) return lws_callback_http_dummy(wsi, reason, user, in, len);
    return g_server->on_lws_event(wsi, static_cast<int>(reason), user, in, len);
}

const lws_protocols kProtocols[] = {
    // rx_buffer_size is small on purpose: lws keeps one per WebSocket, and a benchmark
    // holds ~20,000 of them. Larger messages arrive in pieces and are reassembled.
    // tx_packet_size is what lws hands the kernel per send (it allocates nothing for it);
    // left 0 it would be rx_buffer_size + 20, cutting a batch of frames into 532-byte sends,
    // each a loop turn of its own.
    {"presence", protocol_callback, sizeof(SessionSlot), 512, 0, nullptr, FrameBatch::kMaxBytes},
    {nullptr, nullptr, 0, 0, 0, nullptr, 0}};

// No lws validity pings: liveness is the plugin's heartbeat timeout. lws 4.1 keeps every
// connection's validity timer in one sorted list and re-sorts it on each received frame, an
// O(connections) walk the benchmark measured at 14-27 % of the host's CPU with 19,500 sockets.
const lws_retry_bo_t kNoValidityPings = {nullptr, 0, 0, 0, 0, 0};

int64_t now_seconds() {
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    return now.tv_sec;
}

// Descriptors kept out of lws' reach for everything else in the process (plugin, store
// connections, libev, the wake pipe, log and config files).
constexpr unsigned int kSpareFds = 64;

// Raises the soft open-files limit to the hard one so ~20,000 sockets fit; returns it.
unsigned int raise_fd_limit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
        getrlimit(RLIMIT_NOFILE, &limit);
    }
    return limit.rlim_cur == RLIM_INFINITY ? 65536u : static_cast<unsigned int>(limit.rlim_cur);
}

// The soft open-files limit for lws: kSpareFds below the hard limit (so lws, which counts only
// its own sockets, reaches its limit before the process does); returns it.
unsigned int lower_fd_limit_for_lws() {
    const unsigned int hard = raise_fd_limit();
    const unsigned int mine = hard > 2 * kSpareFds ? hard - kSpareFds : hard / 2;
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return hard;
    limit.rlim_cur = mine;
    return setrlimit(RLIMIT_NOFILE, &limit) == 0 ? mine : hard;
}

}  // namespace

HostServer::HostServer(ConfigFile config, HostOptions options, const presence_plugin_api* api)
    : config_(std::move(config)),
      options_(std::move(options)),
      api_(api),
      budget_(options_.max_outbound_bytes),
      pending_(options_.pending) {
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
    if (g_server == this) g_server = nullptr;
}

bool HostServer::start(std::string& error) {
    g_server = this;
    // lws' own warnings are noise in normal runs; host.log_level=debug shows them too.
    lws_set_log_level(
        options_.log_level >= PRESENCE_LOG_DEBUG ? LLL_ERR | LLL_WARN | LLL_NOTICE : LLL_ERR,
        emit_lws_log);

    lws_context_creation_info info;
    std::memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
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
    const unsigned int fd_hard_limit = raise_fd_limit();  // the spare ones, for all but lws
    if (options_.event_lib == "libev") {
        mask_guard_ = std::make_unique<FrameMaskGuard>(
            fd_hard_limit,
            [](void* server, void* conn) {
                static_cast<HostServer*>(server)->refuse_unmasked(*static_cast<Connection*>(conn));
            },
            this);
        set_active_frame_mask_guard(mask_guard_.get());
    }
    if (context_) {
        // Which loop really runs (the default may have fallen back), for operators and tests.
        log(PRESENCE_LOG_INFO, ("event loop: " + options_.event_lib).c_str());
        if (ev_loop_) {
            ev_loop_->on_turn_end(
                [](void* server) { static_cast<HostServer*>(server)->on_turn_end(); }, this);
        }
        // The plain path (poll) has no turn-end writer: each queued frame asks lws for a
        // writable callback, as lws' minimal examples do.
        flush_at_turn_end_ = ev_loop_ != nullptr;
        if (flush_at_turn_end_) {
            std::string why = "off (host.io_uring)";
            if (options_.io_uring && ring_.open(why)) {
                log(PRESENCE_LOG_INFO, "end-of-turn writes: io_uring");
            } else {
                log(options_.io_uring ? PRESENCE_LOG_WARN : PRESENCE_LOG_INFO,
                    ("end-of-turn writes: send(), io_uring " + why).c_str());
            }
        }
    }
    if (!context_) {
        error = "cannot create the libwebsockets context (event lib '" + options_.event_lib + "')";
        if (options_.reuse_port) {
            error +=
                "; host.reuse_port = true needs libev (package libwebsockets-evlib-ev?), "
                "it does not fall back to poll";
        }
        return false;
    }

    lws_context_creation_info vinfo;
    std::memset(&vinfo, 0, sizeof vinfo);
    vinfo.port = options_.listen_port;
    if (ev_loop_) {
        // libev: the host listens and hands connections to lws itself (on_listen_ready).
        ListenAddress where{options_.listen_host, options_.listen_port, options_.listen_ipv6};
        if (!listener_.open(where, error, options_.reuse_port)) {
            const bool in_use = errno == EADDRINUSE;
            error = "cannot listen on " + options_.listen_host + ":" +
                    std::to_string(options_.listen_port) + ": " + error;
            if (in_use) {
                error += options_.reuse_port
                             ? " (host.reuse_port = true, but the listener there does not share "
                               "the port, or is another user's)"
                             : " (hosts sharing a port need host.reuse_port = true, each)";
            }
            return false;
        }
        vinfo.port = CONTEXT_PORT_NO_LISTEN_SERVER;
    }
    vinfo.iface = options_.listen_host.empty() ? nullptr : options_.listen_host.c_str();
    vinfo.protocols = kProtocols;
    vinfo.vhost_name = "presence";
    vinfo.retry_and_idle_policy = &kNoValidityPings;
    if (!options_.listen_ipv6) vinfo.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    vhost_ = lws_create_vhost(context_, &vinfo);
    if (!vhost_) {
        error =
            "cannot listen on " + options_.listen_host + ":" + std::to_string(options_.listen_port);
        return false;
    }

    // The host application's friendships table (with MariaDB and the admin route on), before
    // the plugin, whose friends query then finds it.
    const std::string db_url = config_.get_or("presence.db_url", "");
    if (!db_url.empty() && !options_.admin_token.empty()) {
        friendship_table_ = FriendshipTable::open(
            db_url, options_.friendships_table, [this] { wake(); }, error);
        if (!friendship_table_) return false;
    }

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

    if (listener_.is_open()) {
        // One descriptor for the loop: the listener and the sockets held for their request.
        if (!pending_.open(error) || !pending_.watch_listener(listener_.fd())) {
            error = "cannot watch new connections: " + error;
            return false;
        }
        ev_loop_->watch_readable(
            pending_.ready_fd(),
            [](void* server) { static_cast<HostServer*>(server)->on_listen_ready(); }, this);
    }
    const int port = listener_.is_open() ? listener_.port() : lws_get_vhost_listen_port(vhost_);
    const std::string shown =
        options_.listen_ipv6 ? "[" + options_.listen_host + "]" : options_.listen_host;
    std::printf("listening on http://%s:%d\n", shown.c_str(), port);
    std::fflush(stdout);
    return true;
}

int HostServer::run() {
    schedule_tick();
    if (ev_loop_) {
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

// New connections, taken by the host (libev) instead of lws' own listener. Why:
// - lws 4.1 accepts everything queued on its listening socket at once and gives each new
//   connection a timeout in one sorted list, walked from the head on every insert, so a
//   backlog of k connections costs O(k^2) until their handshakes end. After the 19,500
//   disconnects of a reconnect storm ~3,000 connections are queued; accepted at once, the
//   walks outgrew the arrivals and the host spiralled (perf: 90 % in lws_dll2_add_sorted,
//   snapshots 13-16 s late, one storm in three).
// - The upgrade request of a queued connection is usually already in its socket. Read here
//   and handed over with the socket, lws runs the handshake right away, inside this callback
//   (our watcher runs before lws' own, EV_MAXPRI), and the snapshot leaves before this turn's
//   other events: a reconnect no longer waits behind thousands of queued disconnects.
// - A connection whose request has not arrived yet is held by the host (pending_, see
//   pending_sockets.hpp) until it has, then handed over with it; it never reaches lws without
//   its request. Adopted bare, lws would read it only when its event came up, behind the rest
//   of a burst (in a storm ~12 % of reconnects were accepted before their request; the slowest
//   waited 1-1.5 s); and idle sockets in lws each wait for a header table in lws' O(waiters)
//   lists (~9,000 of them held new connections back 6-9 s). Held sockets are capped per
//   source address and in total, and closed after host.pending_timeout_ms.
// At most kBareAdoptions bare adoptions per turn (a whole header block that lws reads itself:
// a request with a body, or headers over the peek buffer). Out of descriptors: no accept for
// 100 ms, rather than a hot loop.
void HostServer::on_listen_ready() {
    serve_pending();
    constexpr int kAcceptsPerTurn = 1024;
    constexpr int kBareAdoptions = 128;
    int bare = 0;
    for (int i = 0; i < kAcceptsPerTurn && bare < kBareAdoptions; ++i) {
        sockaddr_storage peer{};
        socklen_t peer_len = sizeof peer;
        const int fd = accept4(listener_.fd(), reinterpret_cast<sockaddr*>(&peer), &peer_len,
                               SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                log(PRESENCE_LOG_WARN, "out of descriptors: not accepting for 100 ms");
                ev_loop_->pause_reading_for(0.1);
            }
            break;  // EAGAIN: nothing more queued
        }
        // No Nagle delay on small frames, as lws' own listener sets it (not left to adoption):
        // otherwise a frame could wait ~40 ms for the peer's delayed ACK.
        const int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        switch (adopt_when_ready(fd, false)) {
            case Adoption::Waiting:
                if (pending_.hold(fd, reinterpret_cast<const sockaddr*>(&peer), peer_len,
                                  lws_now_usecs()) != PendingSockets::Hold::Held ||
                    pending_.size() >= pending_.limits().total) {
                    note_pending_pressure();
                }
                break;
            case Adoption::Bare:
                ++bare;
                break;
            case Adoption::WithRequest:
                break;
        }
    }
    flush_pending_writes();  // the snapshots of the handshakes above, now
}

// Sockets refused at their address' cap, or held with the set full (the oldest are being
// closed), are logged at most once a second: a flood would otherwise write a line each.
void HostServer::note_pending_pressure() {
    const int64_t now = lws_now_usecs();
    if (now - last_refusal_log_us_ < LWS_US_PER_SEC) return;
    last_refusal_log_us_ = now;
    char line[200];
    std::snprintf(line, sizeof line,
                  "sockets without a request: %llu refused at host.max_pending_per_address "
                  "(%zu), %llu closed at host.max_pending_sockets, %llu timed out",
                  static_cast<unsigned long long>(pending_.refused()),
                  pending_.limits().per_address,
                  static_cast<unsigned long long>(pending_.evicted()),
                  static_cast<unsigned long long>(pending_.expired()));
    log(PRESENCE_LOG_WARN, line);
}

namespace {

// How much of a new connection's first bytes the acceptor peeks at: lws 4.1's own header
// buffer (max_http_header_data, 4096 by default), so a request lws could parse whole (long
// cookies included) is never one the host gives up on for its size.
constexpr size_t kPeekBytes = 4096;

// The answer to a request line lws would refuse with its own HTML page (a bad %-escape):
// ours, in the REST error shape. Written straight to the fresh socket (its buffer is empty,
// so the few hundred bytes fit) after its request is read, so closing does not reset it.
void refuse_bad_request(int fd, size_t request_bytes, const std::string& body) {
    char sink[2048];
    while (request_bytes > 0) {
        const ssize_t got = recv(fd, sink, std::min(request_bytes, sizeof sink), 0);
        if (got <= 0) break;
        request_bytes -= static_cast<size_t>(got);
    }
    const std::string response =
        "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n" +
        body;
    (void)::send(fd, response.data(), response.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    shutdown(fd, SHUT_WR);
    ::close(fd);
}

}  // namespace

// What a connection has sent so far decides (decide_peek, request_peek.hpp): a GET header block
// without a body (an upgrade, or a plain GET) goes to lws with the socket and is served at once;
// any other (a body follows, or more than the kPeekBytes peek) lws reads from the socket itself;
// a request line with a bad %-escape gets our JSON 400; less than a header block waits (held in
// pending_). A socket gone before it said anything is closed. `held`: the socket is in pending_
// (let go of before it is handed on).
HostServer::Adoption HostServer::adopt_when_ready(int fd, bool held) {
    auto let_go = [&] {
        if (held) pending_.release(fd);
    };
    char first[kPeekBytes];
    const ssize_t seen = recv(fd, first, sizeof first, MSG_PEEK);
    if (seen == 0 || (seen < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
        let_go();
        ::close(fd);
        return Adoption::WithRequest;  // nothing left to do with it
    }
    const std::string_view head(first, seen > 0 ? static_cast<size_t>(seen) : 0);
    const PeekDecision decision = decide_peek(head, sizeof first);
    if (decision.verdict == PeekVerdict::Wait) return Adoption::Waiting;
    let_go();
    if (decision.verdict == PeekVerdict::BadEscape) {
        refuse_bad_request(fd, decision.request_bytes,
                           json_error("bad_request", "malformed %-escape in the request path"));
        return Adoption::WithRequest;
    }
    // Bytes after a header without a body (a client's first frames, sent with its upgrade
    // request) stay in the socket: lws reads them after the upgrade, where the mask guard sees
    // them (frame_mask_guard.hpp).
    if (decision.verdict == PeekVerdict::WholeGet) {
        const size_t n = decision.request_bytes;
        const ssize_t got = recv(fd, first, n, 0);  // the header, exactly
        if (got == static_cast<ssize_t>(n)) {
            if (mask_guard_) mask_guard_->hand_over(fd);
            // On failure (e.g. lws at its descriptor limit) lws closes the socket.
            lws_adopt_socket_vhost_readbuf(vhost_, fd, first, n);
        } else {
            ::close(fd);
        }
        return Adoption::WithRequest;
    }
    if (mask_guard_) mask_guard_->forget(fd);  // read from lws' first byte: not watchable
    lws_adopt_socket_vhost(vhost_, fd);
    return Adoption::Bare;
}

// The held sockets that received something are decided now (the rest keep waiting), and those
// past host.pending_timeout_ms are closed.
void HostServer::serve_pending() {
    if (pending_.size() == 0) return;
    ready_scratch_.clear();
    pending_.take_ready(ready_scratch_);
    for (const int fd : ready_scratch_) {
        if (pending_.holds(fd)) adopt_when_ready(fd, true);
    }
    pending_.expire(lws_now_usecs());
}

// Whether on_listen_ready has anything to do: a connection queued on the listening socket, a
// held socket that received something, or one past its deadline. Checked during a burst of
// disconnects, where accepting is not safe (inside an lws callback). The epoll set is only
// polled here (not read), so its edge-triggered reports are kept for on_listen_ready.
bool HostServer::listen_work_waiting() {
    const int64_t deadline = pending_.next_deadline_us();
    if (deadline && deadline <= lws_now_usecs()) return true;
    pollfd ready{pending_.ready_fd(), POLLIN, 0};
    return poll(&ready, 1, 0) > 0;
}

// libev: after every callback of a loop turn. Held sockets are looked at every turn, and the
// loop wakes for the oldest one's deadline; then every connection owed frames is written.
void HostServer::on_turn_end() {
    serve_pending();
    flush_pending_writes();
    const int64_t deadline = pending_.next_deadline_us();
    if (deadline) {
        const int64_t wait_us = std::max<int64_t>(deadline - lws_now_usecs(), 1000);
        ev_loop_->wake_within(static_cast<double>(wait_us) / 1e6);
    }
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

std::string HostServer::authenticate(lws* wsi, const std::string& bearer,
                                     const std::string& query) {
    std::string token = bearer.empty() ? query_param(query, "token") : bearer;
    if (!token.empty()) {
        if (options_.auth_secret.empty()) return {};
        auto result = verify_token(options_.auth_secret, token, now_seconds());
        if (result.check != TokenCheck::ok) {
            log(PRESENCE_LOG_DEBUG,
                (std::string("token refused: ") + token_check_name(result.check)).c_str());
            return {};
        }
        return result.user_id;
    }
    if (options_.demo) {
        std::string user = query_param(query, "user");
        if (!user.empty() && is_valid_user_id(user) && is_loopback_peer(lws_get_socket_fd(wsi))) {
            return user;
        }
    }
    return {};
}

int HostServer::on_lws_event(lws* wsi, int reason_int, void* user, void* in, size_t len) {
    auto reason = static_cast<lws_callback_reasons>(reason_int);
    auto* slot = static_cast<SessionSlot*>(user);
    switch (reason) {
        case LWS_CALLBACK_HTTP:
            // A plain request: an upgrade later on this connection would not be watched.
            if (mask_guard_) mask_guard_->forget(lws_get_socket_fd(wsi));
            return on_http_request(wsi, slot, static_cast<const char*>(in));
        case LWS_CALLBACK_HTTP_BODY:
            return on_http_body(slot, static_cast<const char*>(in), len);
        case LWS_CALLBACK_HTTP_BODY_COMPLETION:
            if (!slot || !slot->http) return -1;
            return dispatch_http(*slot->http);
        case LWS_CALLBACK_HTTP_WRITEABLE:
            return on_http_writeable(wsi, slot);
        case LWS_CALLBACK_CLOSED_HTTP:
            if (mask_guard_) mask_guard_->forget(lws_get_socket_fd(wsi));
            on_http_closed(slot);
            break;
        case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
            return on_filter_ws(wsi);
        case LWS_CALLBACK_ESTABLISHED:
            on_established(wsi, slot);
            return 0;
        case LWS_CALLBACK_RECEIVE:
            if (slot && slot->connection) {
                Connection& conn = *slot->connection;
                on_receive(conn, static_cast<const char*>(in), len);
            }
            return 0;
        case LWS_CALLBACK_SERVER_WRITEABLE:
            if (!slot || !slot->connection) return -1;
            note_idle_writable(*slot->connection);
            return on_ws_writeable(*slot->connection);
        case LWS_CALLBACK_CLOSED:
            on_ws_closed(slot);
            return 0;
        case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
            // libev: SIGINT and SIGTERM come through our own handler, which can only wake the
            // loop. Finish the stop here, on the loop thread.
            if (stopping_.load() && ev_loop_) stop_own_loop();
            if (plugin_ && !stopping_.load()) {
                api_->on_wake(plugin_);
                finish_friendship_writes();
            }
            return 0;
        default:
            break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

namespace {

// RFC 6455 4.2.2: a version the server does not speak is answered 426 with the one it does.
// lws 4.1 upgrades any version (it logs and carries on as 13), so the filter answers here.
int refuse_ws_version(lws* wsi) {
    const std::string body = json_error("upgrade_required", "Sec-WebSocket-Version must be 13");
    unsigned char buffer[LWS_PRE + 512];
    unsigned char* start = buffer + LWS_PRE;
    unsigned char* p = start;
    unsigned char* end = buffer + sizeof buffer - 1;
    static const unsigned char kName[] = "Sec-WebSocket-Version:";
    if (lws_add_http_common_headers(wsi, 426, "application/json", body.size(), &p, end) ||
        lws_add_http_header_by_name(wsi, kName, reinterpret_cast<const unsigned char*>("13"), 2, &p,
                                    end) ||
        lws_finalize_http_header(wsi, &p, end) || static_cast<size_t>(end - p) < body.size()) {
        return -1;
    }
    std::memcpy(p, body.data(), body.size());
    p += body.size();
    // HTTP/1: headers and body in one write, as lws_return_http_status does.
    lws_write(wsi, start, static_cast<size_t>(p - start), LWS_WRITE_HTTP);
    return -1;
}

}  // namespace

int HostServer::on_filter_ws(lws* wsi) {
    // RFC 6455 5.1 is enforced only on a stream read from its start (frame_mask_guard.hpp):
    // an upgrade after another request on the connection, or behind headers over the
    // kPeekBytes the host peeks (lws' own header limit), is refused.
    if (mask_guard_ && !mask_guard_->handed_over(lws_get_socket_fd(wsi))) {
        lws_return_http_status(wsi, HTTP_STATUS_BAD_REQUEST, nullptr);
        return -1;
    }
    if (header_value(wsi, WSI_TOKEN_VERSION) != "13") return refuse_ws_version(wsi);
    if (header_value(wsi, WSI_TOKEN_GET_URI) != "/ws") {
        lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, nullptr);
        return -1;
    }
    const std::string user = authenticate(
        wsi, bearer_token(header_value(wsi, WSI_TOKEN_HTTP_AUTHORIZATION)), query_string(wsi));
    if (user.empty()) {
        // Refused before the upgrade: the client sees 401 and no WebSocket is ever opened.
        lws_return_http_status(wsi, HTTP_STATUS_UNAUTHORIZED, nullptr);
        return -1;
    }
    return 0;
}

void HostServer::on_established(lws* wsi, SessionSlot* slot) {
    if (!slot) return;
    slot->connection = nullptr;
    slot->http = nullptr;
    // Headers are still attached here; the filter already checked them, this only reads the
    // user id back (cheaper to recompute than to keep per connection).
    const std::string user = authenticate(
        wsi, bearer_token(header_value(wsi, WSI_TOKEN_HTTP_AUTHORIZATION)), query_string(wsi));
    auto conn = std::make_unique<Connection>();
    conn->wsi = wsi;
    conn->id = next_conn_id_++;
    Connection& ref = *conn;
    slot->connection = conn.get();
    connections_.emplace(ref.id, std::move(conn));
    if (mask_guard_) mask_guard_->watch(lws_get_socket_fd(wsi), &ref);
    if (user.empty() || !plugin_) {
        ref.close_code = LWS_CLOSE_STATUS_POLICY_VIOLATION;
        ref.close_reason = "unauthenticated";
        lws_callback_on_writable(wsi);
        return;
    }
    // Registered before on_connect so frames the plugin sends from inside it are queued.
    const int verdict = api_->on_connect(plugin_, ref.id, user.data(), user.size());
    if (verdict != 0) {
        ref.close_code = static_cast<uint16_t>(verdict);
        ref.close_reason = "refused";
        lws_callback_on_writable(wsi);
        return;
    }
    ref.accepted = true;
    ++handshakes_since_trim_;
}

// Pings never reach us: lws 4.1 answers them itself, with no callback. But each pong leaves
// POLLOUT on, and the next turn brings a writable callback with nothing queued: one per loop
// turn in which the connection's pings were read, which is what a ping flood costs the host
// (a read, a pong, two epoll_ctl calls, a callback). More than kMaxIdleWritables of those in
// one second is a flood: closed with 1008 like other repeated abuse. Our own writes leave at
// most one such callback each (lws draining a partial send), and a connection is written at
// most every host.write_interval_ms (10 ms: 100 a second), so honest traffic stays below.
namespace {
constexpr uint32_t kMaxIdleWritables = 200;
}  // namespace

void HostServer::note_idle_writable(Connection& conn) {
    if (!conn.queue.empty() || conn.close_code || conn.close_now) return;
    const auto now_s = static_cast<uint32_t>(lws_now_usecs() / LWS_US_PER_SEC);
    if (now_s != conn.idle_window_s) {
        conn.idle_window_s = now_s;
        conn.idle_writables = 0;
    }
    if (++conn.idle_writables <= kMaxIdleWritables) return;
    char line[128];
    std::snprintf(line, sizeof line, "connection %llu: ping flood, closing (1008)",
                  static_cast<unsigned long long>(conn.id));
    log(PRESENCE_LOG_WARN, line);
    begin_close(conn, LWS_CLOSE_STATUS_POLICY_VIOLATION, "too many pings");
}

// RFC 6455 5.1: an unmasked client frame (screened out of what lws reads, so neither lws nor the
// plugin sees it) fails the connection with 1002. Called from inside lws' read (recv_guard.cpp).
void HostServer::refuse_unmasked(Connection& conn) {
    if (conn.close_code || conn.close_now) return;
    char line[128];
    std::snprintf(line, sizeof line, "connection %llu: unmasked frame, closing (1002)",
                  static_cast<unsigned long long>(conn.id));
    log(PRESENCE_LOG_INFO, line);
    begin_close(conn, LWS_CLOSE_STATUS_PROTOCOL_ERR, "unmasked frame");
}

// Binary messages are handed over like text (the plugin answers what is not UTF-8 JSON with
// bad_json), as the ABI header suggests.
void HostServer::on_receive(Connection& conn, const char* data, size_t len) {
    if (conn.close_code || conn.close_now || !conn.accepted) return;
    const bool final = lws_is_final_fragment(conn.wsi);
    const size_t max = options_.max_message_bytes;
    auto count_dropped = [&conn](size_t more) {
        const uint64_t total = uint64_t{conn.oversized_bytes} + more;
        conn.oversized_bytes = static_cast<uint32_t>(std::min<uint64_t>(total, UINT32_MAX));
    };
    if (!conn.oversized && conn.partial.empty() && final) {
        // The common case: a whole small message in one piece, handed over without a copy.
        if (len <= max) {
            api_->on_message(plugin_, conn.id, data, len);
            return;
        }
        conn.oversized = true;
        count_dropped(len);
    } else if (!conn.oversized) {
        if (conn.partial.size() + len > max) {
            conn.oversized = true;
            count_dropped(conn.partial.size() + len);
            std::string().swap(conn.partial);
        } else {
            conn.partial.append(data, len);
        }
    } else {
        count_dropped(len);
    }
    if (!final) return;
    if (conn.oversized) {
        // Past the limit nothing more was buffered; the plugin sends its too_large error.
        conn.oversized = false;
        const size_t dropped = conn.oversized_bytes;
        conn.oversized_bytes = 0;
        if (PRESENCE_HAS_FIELD(api_, presence_plugin_api, on_message_too_large)) {
            api_->on_message_too_large(plugin_, conn.id, dropped);
        } else {  // a plugin older than that hook: the same frame, written here
            const std::string frame =
                "{\"type\":\"error\",\"code\":\"too_large\",\"message\":\"frame is " +
                std::to_string(dropped) + " bytes, the limit is " + std::to_string(max) + "\"}";
            send(conn.id, frame.data(), frame.size());
        }
        return;
    }
    std::string message;
    message.swap(conn.partial);  // leaves the connection's buffer empty and unallocated
    api_->on_message(plugin_, conn.id, message.data(), message.size());
}

int HostServer::on_ws_writeable(Connection& conn) {
    if (conn.closing == Connection::Closing::lingering) return 0;
    if (conn.closing == Connection::Closing::frame_written) {
        close_linger(conn);  // lws' buffer (the close frame's tail) has reached the socket
        return 0;
    }
    // A cut connection may still owe the rest of a large frame it was in the middle of.
    if (!conn.queue.empty()) return write_queued(conn);
    if (conn.close_now) {
        return send_close_frame(conn, LWS_CLOSE_STATUS_POLICY_VIOLATION, conn.close_reason);
    }
    if (conn.close_code) return send_close_frame(conn, conn.close_code, conn.close_reason);
    return 0;
}

// The close frame, written by us rather than through lws' close: lws 4.1 closes the socket
// right after its shutdown(SHUT_WR) (its staged close never runs), so when the peer was still
// sending, unread input made the kernel answer with a TCP reset, which can destroy the close
// frame before the peer has read it: the client saw 1006 instead of 1008. Here the frame goes
// out, then close_linger() half-closes the socket and lets input drain until the peer closes
// (or kLingerSeconds pass); only then does lws close the descriptor.
int HostServer::send_close_frame(Connection& conn, uint16_t code, const std::string& reason) {
    const size_t reason_len = std::min<size_t>(reason.size(), 120);  // a close frame holds 123
    unsigned char buffer[LWS_PRE + 4 + 120];
    unsigned char* frame = buffer + LWS_PRE;
    frame[0] = 0x88;  // FIN, opcode 8 (close); the server never masks
    frame[1] = static_cast<unsigned char>(2 + reason_len);
    frame[2] = static_cast<unsigned char>(code >> 8);
    frame[3] = static_cast<unsigned char>(code);
    if (reason_len) std::memcpy(frame + 4, reason.data(), reason_len);
    // Raw, like a batch (write_queued): lws adds nothing and keeps what a full socket refuses.
    if (lws_write(conn.wsi, frame, 4 + reason_len, LWS_WRITE_RAW) < 0) return -1;
    conn.closing = Connection::Closing::frame_written;
    if (lws_partial_buffered(conn.wsi)) {
        lws_callback_on_writable(conn.wsi);  // called once lws has written it all
        lws_set_timeout(conn.wsi, PENDING_TIMEOUT_CLOSE_SEND, 5);
        return 0;
    }
    close_linger(conn);
    return 0;
}

// Half-close after the close frame: the kernel sends it, then FIN. Input is still read (and
// dropped, on_receive) so the socket is never closed with unread bytes, which is what draws
// the reset. lws closes it when the peer closes (EOF, or its close frame: lws' reply then
// fails on the shut socket) or, for a peer that never does, after kLingerSeconds.
void HostServer::close_linger(Connection& conn) {
    constexpr int kLingerSeconds = 2;
    conn.closing = Connection::Closing::lingering;
    shutdown(lws_get_socket_fd(conn.wsi), SHUT_WR);
    lws_set_timeout(conn.wsi, PENDING_TIMEOUT_USER_OK, kLingerSeconds);
}

// One write with what the connection is owed; asks for a writable callback if more is left
// (past the batch bounds) or a close is due. -1 when the socket failed.
int HostServer::write_queued(Connection& conn) {
    if (conn.queue.front_sent() || conn.queue.front().size() > FrameBatch::kMaxBytes) {
        if (write_large_frame_piece(conn) < 0) return -1;
    } else if (conn.queue.queued_frames() == 1) {
        // One frame: lws frames it in the frame's own headroom, no copy.
        const SharedFrame frame = conn.queue.front();  // keeps the bytes alive over the write
        conn.queue.pop(budget_of(conn));
        if (lws_write(conn.wsi, frame.payload(), frame.size(), LWS_WRITE_TEXT) < 0) return -1;
    } else {
        // Several frames (a fan-out burst, or a backlog while the socket was full): frame them
        // ourselves back to back and hand them over in one write, one send() instead of one
        // per frame. LWS_WRITE_RAW (= LWS_WRITE_HTTP) on a ws wsi goes straight to
        // lws_issue_raw in lws 4.1.6: no header added, and a partial send is kept in lws' own
        // output buffer and finished before anything else is written. No extensions are
        // negotiated (no permessage-deflate), so our frames are exactly what goes on the wire.
        batch_.clear();
        while (!conn.queue.empty()) {
            const SharedFrame& frame = conn.queue.front();
            // A large frame goes in pieces of its own, next time.
            if (frame.size() > FrameBatch::kMaxBytes || !batch_.add(frame.payload(), frame.size()))
                break;
            conn.queue.pop(budget_of(conn));
        }
        if (lws_write(conn.wsi, batch_.data(), batch_.size(), LWS_WRITE_RAW) < 0) return -1;
    }
    if (!conn.queue.empty() || conn.close_code || conn.close_now) {
        lws_callback_on_writable(conn.wsi);
    }
    return 0;
}

// The next piece (at most FrameBatch::kMaxBytes) of a frame too large for one batch: a
// 100,000-friend snapshot (~8 MB) leaves in ~120 writes, each one writable callback, so the
// loop serves the other connections in between and lws never holds a copy of the whole frame
// (it keeps at most one piece of it when the socket is full).
int HostServer::write_large_frame_piece(Connection& conn) {
    const SharedFrame frame = conn.queue.front();  // keeps the bytes alive over the write
    const size_t offset = conn.queue.front_sent();
    const size_t len = std::min(FrameBatch::kMaxBytes, frame.size() - offset);
    batch_.start_piece(frame.payload(), frame.size(), offset, len);
    conn.queue.advance_front(len, budget_of(conn));
    return lws_write(conn.wsi, batch_.data(), batch_.size(), LWS_WRITE_RAW) < 0 ? -1 : 0;
}

void HostServer::request_write(Connection& conn) {
    if (!flush_at_turn_end_) {
        lws_callback_on_writable(conn.wsi);
        return;
    }
    if (conn.flush_pending) return;
    conn.flush_pending = true;
    pending_flush_.push_back(conn.id);
}

// End of a loop turn: every connection owed frames gets them in one write, straight away.
// The socket is almost always writable, so this skips what the writable callback costs per
// frame (POLLOUT on, a wake-up, POLLOUT off: two epoll_ctl calls and a loop pass), and frames
// owed to one connection from several messages of the turn share one send(). lws_write
// outside the writable callback is safe here: it is the loop thread, between callbacks, and a
// partial send stays in lws' buffer, which lws finishes before anything else.
void HostServer::flush_pending_writes() {
    const int64_t interval = ev_loop_ ? options_.write_interval_us : 0;
    const int64_t now = interval ? lws_now_usecs() : 0;
    int64_t wake_at = 0;
    for (size_t i = 0; i < pending_flush_.size(); ++i) {
        const auto it = connections_.find(pending_flush_[i]);
        if (it == connections_.end()) continue;  // closed during the turn
        Connection& conn = *it->second;
        if (interval && now < conn.next_write_us && !conn.close_code && !conn.close_now) {
            held_back_.push_back(conn.id);  // stays flush_pending: later frames join these
            if (!wake_at || conn.next_write_us < wake_at) wake_at = conn.next_write_us;
            continue;
        }
        conn.flush_pending = false;
        if (conn.queue.empty()) continue;
        if (interval) conn.next_write_us = now + interval;
        if (conn.close_now || conn.close_code || lws_partial_buffered(conn.wsi)) {
            // Closing, or the socket is full: the writable callback takes it from here.
            lws_callback_on_writable(conn.wsi);
            continue;
        }
        if (ring_.is_open() && stage_queued(conn)) continue;
        if (write_queued(conn) < 0) drop_failed_socket(conn);
    }
    submit_staged_writes();
    pending_flush_.clear();
    pending_flush_.swap(held_back_);
    if (wake_at) ev_loop_->wake_within(static_cast<double>(wake_at - now) / 1e6);
}

// The socket failed: nothing more is queued for it and lws closes it on its next pass (no
// close frame: there is no one to read it).
void HostServer::drop_failed_socket(Connection& conn) {
    conn.queue.clear(budget_of(conn));
    conn.close_now = true;
    lws_set_timeout(conn.wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

// Frames what the connection is owed (within FrameBatch's bounds) straight into the ring's
// buffer, to be sent with every other connection's at submit_staged_writes(). False, with
// nothing taken, when its first frame is larger than the ring's whole buffer (a snapshot of
// thousands of friends): write_queued() sends that one.
bool HostServer::stage_queued(Connection& conn) {
    // A large frame goes in pieces through lws (write_large_frame_piece).
    if (conn.queue.front_sent() || conn.queue.front().size() > FrameBatch::kMaxBytes) {
        return false;
    }
    const size_t first = conn.queue.front().size() + kMaxFrameHeader;
    if (ring_.room().size() < first || ring_.staged() >= SocketRing::kEntries) {
        submit_staged_writes();
        if (!ring_.is_open() || ring_.room().size() < first) return false;
    }
    const std::span<unsigned char> room = ring_.room();
    size_t used = 0;
    size_t frames = 0;
    while (!conn.queue.empty()) {
        const SharedFrame& frame = conn.queue.front();
        if (!FrameBatch::accepts(frames, used, frame.size()) ||
            used + kMaxFrameHeader + frame.size() > room.size()) {
            break;
        }
        used += write_text_frame(room.data() + used, frame.payload(), frame.size());
        ++frames;
        conn.queue.pop(budget_of(conn));
    }
    ring_.stage_send(lws_get_socket_fd(conn.wsi), used, reinterpret_cast<uintptr_t>(&conn));
    return true;
}

// Every staged write in one system call. Nothing runs between staging and here that could
// close a connection, so the tags (Connection pointers) are still good.
void HostServer::submit_staged_writes() {
    if (!ring_.is_open() || ring_.staged() == 0) return;
    ring_.submit([this](const SocketRing::Outcome& outcome) {
        Connection& conn = *reinterpret_cast<Connection*>(outcome.tag);
        if (outcome.result < 0 && outcome.result != -EAGAIN && outcome.result != -EINTR) {
            drop_failed_socket(conn);
            return;
        }
        const size_t sent = outcome.result > 0 ? static_cast<size_t>(outcome.result) : 0;
        if (sent < outcome.len) {
            // A full socket took part or none of it: lws keeps the rest in its own buffer
            // (LWS_WRITE_RAW, as in write_queued) and finishes it before anything else.
            const size_t rest = outcome.len - sent;
            if (options_.log_level >= PRESENCE_LOG_DEBUG) {
                char line[128];
                std::snprintf(line, sizeof line,
                              "connection %llu: socket full, %zu of %zu bytes left to lws",
                              static_cast<unsigned long long>(conn.id), rest, outcome.len);
                log(PRESENCE_LOG_DEBUG, line);
            }
            if (leftover_.size() < LWS_PRE + rest) leftover_.resize(LWS_PRE + rest);
            std::memcpy(leftover_.data() + LWS_PRE, outcome.data + sent, rest);
            if (lws_write(conn.wsi, leftover_.data() + LWS_PRE, rest, LWS_WRITE_RAW) < 0) {
                drop_failed_socket(conn);
                return;
            }
        }
        if (!conn.queue.empty() || conn.close_code) lws_callback_on_writable(conn.wsi);
    });
}

void HostServer::on_ws_closed(SessionSlot* slot) {
    // Thousands of disconnects at once (a reconnect storm) arrive in one loop turn and take
    // ~80 us each in lws (mostly its _DEBUG scan of the descriptor table on every close).
    // Every 32 of them (~2.5 ms), waiting new connections (and accepted ones whose request
    // has arrived since, pending_) go first (on_listen_ready), so a reconnect does not wait
    // for the whole burst. Counted on closes, not on every event: a check on every event
    // tried in five storms gave p99 0.08-0.6 s against 0.08-0.27 s (before the host held such
    // sockets, likely by taking connections before their request had arrived).
    if (listener_.is_open() && ++closes_since_accept_check_ >= 32) {
        closes_since_accept_check_ = 0;
        if (listen_work_waiting()) ev_loop_->run_reader_next();
    }
    if (!slot || !slot->connection) return;
    Connection* conn = slot->connection;
    slot->connection = nullptr;
    if (mask_guard_) mask_guard_->forget(lws_get_socket_fd(conn->wsi));
    const uint64_t id = conn->id;
    conn->close_now = true;  // sends from inside on_disconnect are refused, not queued
    conn->queue.clear(budget_of(*conn));
    if (conn->accepted && plugin_) api_->on_disconnect(plugin_, id);
    connections_.erase(id);
}

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
    std::make_heap(backlogs_.begin(), backlogs_.end());
    while (budget_.exceeded() && !backlogs_.empty()) {
        std::pop_heap(backlogs_.begin(), backlogs_.end());
        Connection& conn = *backlogs_.back().second;
        char line[200];
        std::snprintf(line, sizeof line,
                      "outbound budget: %zu bytes queued, past host.max_outbound_bytes (%zu); "
                      "closing connection %llu, the largest backlog (%zu bytes) (1008)",
                      budget_.used(), budget_.limit(), static_cast<unsigned long long>(conn.id),
                      backlogs_.back().first);
        log(PRESENCE_LOG_WARN, line);
        backlogs_.pop_back();
        cut_off(conn, "server outbound budget");
    }
}

int HostServer::send(uint64_t conn_id, const char* data, size_t len) {
    const auto it = connections_.find(conn_id);
    if (it == connections_.end()) return -1;
    Connection& conn = *it->second;
    if (conn.close_code || conn.close_now) return -1;
    return enqueue(conn, SharedFrame::copy_of(data, len)) ? 0 : -1;
}

size_t HostServer::send_many(const uint64_t* ids, size_t n, const char* data, size_t len) {
    if (!ids || n == 0) return 0;
    SharedFrame frame;  // copied once, on the first live connection, shared by the rest
    size_t delivered = 0;
    for (size_t i = 0; i < n; ++i) {
        const auto it = connections_.find(ids[i]);
        if (it == connections_.end()) continue;
        Connection& conn = *it->second;
        if (conn.close_code || conn.close_now) continue;
        if (!frame) frame = SharedFrame::copy_of(data, len);
        if (enqueue(conn, frame)) ++delivered;
    }
    return delivered;
}

void HostServer::close(uint64_t conn_id, uint16_t code, const char* reason) {
    const auto it = connections_.find(conn_id);
    if (it == connections_.end()) return;
    Connection& conn = *it->second;
    if (conn.close_code || conn.close_now) return;
    begin_close(conn, code ? code : static_cast<uint16_t>(LWS_CLOSE_STATUS_NORMAL),
                reason ? reason : "");
}

// Every close the host or the plugin decides: frames queued before it still go out (e.g. the
// error that explains it), then on_ws_writeable sends the close frame (send_close_frame); a
// peer that never lets it out is dropped after 10 s.
void HostServer::begin_close(Connection& conn, uint16_t code, std::string reason) {
    conn.close_code = code;
    conn.close_reason = std::move(reason);
    lws_callback_on_writable(conn.wsi);
    lws_set_timeout(conn.wsi, PENDING_TIMEOUT_CLOSE_SEND, 10);
}

}  // namespace presence_host
