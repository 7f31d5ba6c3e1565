// The state of one running presence-host: the plugin instance, the libwebsockets context, and
// the live WebSocket connections and HTTP requests. Everything here is touched from the loop
// thread only; the plugin reaches us from other threads solely through wake() and log().
//
// HostServer's code is split by concern, one file each (docs/architecture.md, "presence-host"):
//   host_start.cpp          start() in named steps, run, stop, the plugin's tick
//   lws_bridge.cpp          the lws protocol callback: filter, established, receive, closed
//   lws_writes.cpp          how a frame leaves through lws: writable callback, close frame
//   turn_writer.cpp         (fast path) the end-of-turn writes, through io_uring or send()
//   acceptor.hpp/.cpp       (fast path) the host's own listener and held sockets (class
//                           Acceptor, no lws in it; lws_bridge.cpp adopts what it hands on)
//   slow_reader_cutoff.cpp  queueing a frame, and cutting off slow readers (1008)
//   plugin_bridge.cpp       the presence_host_api table the plugin calls
//   http_routes.cpp         the HTTP half of the lws callback
//
// Two paths, chosen once in start() (create_context) and asked everywhere by fast_path():
// - fast (host.event_lib = libev, the default): the host runs the libev loop lws uses, accepts
//   connections itself (acceptor.cpp) and writes every connection's frames at the end of each
//   loop turn (turn_writer.cpp), through one io_uring submit or one send() each (host.io_uring).
// - plain (host.event_lib = poll): lws' own listener and poll() loop; a queued frame asks for a
//   writable callback and leaves from there (lws_writes.cpp), as lws' minimal examples do. The
//   reference for how a host drives the plugin; the protections of the acceptor (held-socket
//   caps, JSON 400 for a bad %-escape, the unmasked-frame check) are not on it.
#pragma once

#include <libwebsockets.h>
#include <poll.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "acceptor.hpp"
#include "config_file.hpp"
#include "frame_batch.hpp"
#include "frame_mask_guard.hpp"
#include "friendship_table.hpp"
#include "idle_writables.hpp"
#include "outbound_queue.hpp"
#include "owned_ev_loop.hpp"
#include "presence_plugin.h"
#include "socket_ring.hpp"

namespace presence_host {

// One accepted WebSocket. Kept small: a benchmark holds ~20,000 of these.
struct Connection {
    lws* wsi = nullptr;
    uint64_t id = 0;
    OutboundQueue queue;
    std::string partial;      // reassembly of a fragmented message; empty almost always
    uint16_t close_code = 0;  // nonzero: close after the queue drains
    // How far the close has gone: the close frame handed to lws (waiting for a full socket to
    // take it), then written and the socket half-closed while input drains (close_linger).
    enum class Closing : uint8_t { no, frame_written, lingering };
    Closing closing = Closing::no;
    bool outside_budget = false;   // cut off: its queue counts in draining_, not budget_
    bool accepted = false;         // on_connect said yes, so on_disconnect is owed
    bool close_now = false;        // slow reader: close without draining
    bool oversized = false;        // current message passed max_message_bytes; drop the rest
    uint32_t oversized_bytes = 0;  // how long that message was (saturates), for the plugin
    bool flush_pending = false;    // listed in HostServer::pending_flush_ for this loop turn
    int64_t next_write_us = 0;     // host.write_interval_ms: not written again before this
    std::string close_reason;      // the plugin's reason, copied (it is borrowed)
    IdleWritables idle;            // a ping flood is closed with 1008 (note_idle_writable)
};

// One HTTP request from arrival to the last byte of its answer.
struct HttpExchange {
    lws* wsi = nullptr;
    uint64_t request_id = 0;
    std::string method, path, query, user_id, authorization;
    std::string if_none_match;  // handed to the plugin (it answers 304 when its ETag matches)
    bool has_user = false;
    bool operator_request = false;  // the admin token came with it (PRESENCE_HTTP_OPERATOR)
    bool body_too_large = false;
    std::string body;
    // The answer, once known. `response` starts with LWS_PRE spare bytes for lws_write.
    bool responded = false;
    bool headers_sent = false;
    int status = 0;
    std::string content_type;
    std::vector<std::pair<std::string, std::string>> response_headers;  // the plugin's
    std::string response;
    size_t sent = 0;  // body bytes written so far
};

// What lws allocates per wsi (HTTP or WebSocket): pointers only, the objects live in the maps.
struct SessionSlot {
    Connection* connection;
    HttpExchange* http;
};

struct HostOptions {
    std::string listen_host = "127.0.0.1";
    int listen_port = 8080;
    bool listen_ipv6 = false;
    std::string auth_secret;
    std::string admin_token;
    QueueBounds bounds;
    // host.max_outbound_bytes: what all connections' queues may hold together (OutboundBudget).
    size_t max_outbound_bytes = 64u * 1024u * 1024u;
    // From the plugin (max_message_bytes) once it runs; the setting parsed here is the fallback
    // for a plugin older than that slot.
    size_t max_message_bytes = 65536;
    bool demo = false;
    int log_level = PRESENCE_LOG_INFO;
    // "libev" (default): the fast path, epoll through lws' libev plugin on the host's own
    // loop, with the host's acceptor and end-of-turn writer. "poll": the plain path, lws'
    // own listener and poll() loop, frames written from the writable callback (how lws'
    // minimal examples drive a server): poll() hands the kernel every descriptor on every
    // turn, which at ~20,000 sockets costs ~46 % CPU for heartbeats alone.
    std::string event_lib = "libev";
    // True when event_lib is the default rather than the operator's choice: if the evlib
    // plugin cannot be loaded, start() falls back to poll instead of refusing to start.
    bool event_lib_fallback = false;
    // 8192, not fewer: lws 4.1 keeps waiters for a table in a list it walks on every attach
    // and detach, and each waiter's timeout in one sorted timer list (another walk per
    // insert). A 19,500-socket reconnect storm queues ~3,000 handshakes behind the 19,500
    // disconnects; with 256 or 2048 tables the waiters piled up and the host spent 90+ % of
    // its CPU in those walks (perf: lws_dll2_add_sorted), thousands of sockets were reset.
    // Tables are freed when a handshake ends, so held connections cost the same either way.
    size_t header_tables = 8192;
    // libev only: a connection written less than this long ago waits (its frames gather)
    // until it has passed; 0 writes every turn. 10 ms by default: at 300,000 deliveries/s
    // to 1,000 connections it took the server from 94 % to 85 % of its core and p99 from
    // 13-28 ms to ~12 ms (3 frames per write instead of 2.3); a lone frame is not delayed.
    int64_t write_interval_us = 10'000;
    // libev: the end-of-turn writes of all connections go to the kernel in one
    // io_uring submit instead of one send() each (socket_ring.hpp); off, or where the kernel
    // refuses io_uring, each connection's write is its own send().
    bool io_uring = true;
    // host.reuse_port: SO_REUSEPORT on the listening socket, so several hosts share one port.
    // libev only (the host's own listener); read_host_options refuses it with poll.
    bool reuse_port = false;
    // libev: sockets held until their request has arrived (pending_sockets.hpp): at most
    // host.max_pending_sockets, host.max_pending_per_address from one source, each for at
    // most host.pending_timeout_ms.
    PendingLimits pending;
    // host.friendships_table: with presence.db_url, the admin route writes this table first.
    std::string friendships_table = "friendships";
};

// The AcceptorSink is how the fast path's acceptor hands connections to lws (lws_bridge.cpp).
class HostServer : private AcceptorSink {
  public:
    HostServer(ConfigFile config, HostOptions options, const presence_plugin_api* api);
    ~HostServer();
    HostServer(const HostServer&) = delete;
    HostServer& operator=(const HostServer&) = delete;

    // Creates the plugin and the listening socket. False with a reason.
    bool start(std::string& error);
    // Serves until stop() (signal-safe) is called; then destroys the plugin. Returns 0.
    int run();
    void stop();
    // libev only, on the loop thread, after our signal handler woke the loop.
    void stop_own_loop();

    // --- used by the lws callback (lws_bridge.cpp, http_routes.cpp) ---
    int on_lws_event(lws* wsi, int reason, void* user, void* in, size_t len);

    // --- host callbacks for the plugin (plugin_bridge.cpp) ---
    int send(uint64_t conn_id, const char* data, size_t len);
    size_t send_many(const uint64_t* ids, size_t n, const char* data, size_t len);
    void close(uint64_t conn_id, uint16_t code, const char* reason);
    void respond(uint64_t request_id, int status, const char* content_type, const char* body,
                 size_t len, const presence_http_header* headers = nullptr, size_t n_headers = 0);
    void log(int level, const char* message) const override;  // also the acceptor's
    void wake();

    const HostOptions& options() const { return options_; }

    // Who is asking: a verified token, or in demo mode ?user= from a loopback peer.
    // Empty when nobody (or somebody invalid).
    std::string authenticate(lws* wsi, const std::string& bearer, const std::string& query);

  private:
    // The fast path (libev, own acceptor, end-of-turn writer) or the plain one (poll): the one
    // mode check. Decided in create_context, before anything else is set up.
    bool fast_path() const { return ev_loop_ != nullptr; }

    // start(), step by step (host_start.cpp)
    bool create_context(std::string& error);
    void set_up_fast_path();
    bool create_vhost(std::string& error);
    bool open_friendship_table(std::string& error);
    bool create_plugin(std::string& error);
    bool watch_new_connections(std::string& error);
    void announce_listening();
    void destroy_plugin();
    void trim_heap_after_handshakes();
    void schedule_tick();
    static void tick_callback(lws_sorted_usec_list_t* sul);

    // The lws protocol callback, WebSocket side (lws_bridge.cpp)
    int on_filter_ws(lws* wsi);
    void on_established(lws* wsi, SessionSlot* slot);
    void on_receive(Connection& conn, const char* data, size_t len);
    void note_idle_writable(Connection& conn);
    void refuse_unmasked(Connection& conn);
    void on_ws_closed(SessionSlot* slot);

    // How a frame leaves through lws (lws_writes.cpp)
    int on_ws_writeable(Connection& conn);
    int write_queued(Connection& conn);
    int write_large_frame_piece(Connection& conn);
    void begin_close(Connection& conn, uint16_t code, std::string reason);
    int send_close_frame(Connection& conn, uint16_t code, const std::string& reason);
    void close_linger(Connection& conn);

    // Fast path: the end-of-turn writes (turn_writer.cpp)
    void on_turn_end();
    void request_write(Connection& conn);
    void flush_pending_writes();
    bool stage_queued(Connection& conn);
    void submit_staged_writes();
    void drop_failed_socket(Connection& conn);

    // Fast path: what the acceptor (acceptor.hpp) hands over goes to lws (lws_bridge.cpp)
    void on_listen_ready();
    void adopt_with_request(int fd, const char* request, size_t len) override;
    void adopt_bare(int fd) override;
    void pause_accepting(double seconds) override;

    // Queueing a frame, and the slow-reader / outbound-budget cut-off (slow_reader_cutoff.cpp)
    bool enqueue(Connection& conn, const SharedFrame& frame);
    void cut_off(Connection& conn, const char* reason);
    void enforce_outbound_budget();

    // HTTP side (http_routes.cpp)
    int on_http_request(lws* wsi, SessionSlot* slot, const char* uri);
    int on_http_body(SessionSlot* slot, const char* data, size_t len);
    int dispatch_http(HttpExchange& exchange);
    int on_http_writeable(lws* wsi, SessionSlot* slot);
    void on_http_closed(SessionSlot* slot);
    // Friendships from the admin route: through the plugin's bulk call ("" or its reason),
    // after the host's own table took them when there is one (finish_friendship_writes).
    std::string apply_friendships(const std::vector<AdminOp>& ops);
    void finish_friendship_writes();
    void answer(HttpExchange& exchange, int status, const char* content_type, std::string body,
                const presence_http_header* headers = nullptr, size_t n_headers = 0);

    // The plugin's metrics route (<presence.http_prefix>/metrics): the host lets only its admin
    // token through and marks it PRESENCE_HTTP_OPERATOR (the plugin refuses it without).
    std::string metrics_path_;

    ConfigFile config_;
    HostOptions options_;
    const presence_plugin_api* api_;
    presence_plugin* plugin_ = nullptr;
    presence_host_api host_api_{};
    lws_context* context_ = nullptr;
    lws_vhost* vhost_ = nullptr;
    // The sul must come first so the timer callback can find its server from the sul alone.
    struct TickTimer {
        lws_sorted_usec_list_t sul;
        HostServer* owner;
    } tick_timer_{};
    std::atomic<bool> stopping_{false};
    unsigned int fd_limit_ = 0;  // the process' open-files limit, once lws' context exists

    // What every connection's queue holds, against host.max_outbound_bytes; what cut-off
    // connections still owe (the rest of a frame in progress) counts in draining_ instead.
    OutboundBudget budget_;
    OutboundBudget draining_;
    OutboundBudget& budget_of(const Connection& conn) {
        return conn.outside_budget ? draining_ : budget_;
    }
    // enforce_outbound_budget()'s list of backlogs, reused (it runs only past the budget).
    std::vector<std::pair<size_t, Connection*>> backlogs_;
    // One batch buffer for the whole server, reused by every writable callback (loop thread).
    FrameBatch batch_;
    // libev (the fast path): our own loop, so frames can be written at the end of each turn.
    // Null on the plain path (fast_path()).
    std::unique_ptr<OwnedEvLoop> ev_loop_;
    // Connections with frames queued this turn, in the order they were first owed one.
    std::vector<uint64_t> pending_flush_;
    std::vector<uint64_t> held_back_;  // owed frames, but written too recently (write_interval)
    // The end-of-turn writes, all in one system call (when io_uring is available and on).
    SocketRing ring_;
    // What a socket did not take of a ring write, with LWS_PRE headroom, handed to lws_write.
    std::vector<unsigned char> leftover_;
    // Fast path: the host's own listening socket (lws' vhost then has none) and the accepted
    // sockets whose request has not (fully) arrived yet (acceptor.hpp). Null on the plain path.
    std::unique_ptr<Acceptor> acceptor_;
    unsigned int lws_fd_limit_ = 0;  // lws' descriptor table size (create_context)
    // libev (the host's own acceptor): unmasked client frames are refused (frame_mask_guard.hpp).
    std::unique_ptr<FrameMaskGuard> mask_guard_;
    std::unordered_map<uint64_t, std::unique_ptr<Connection>> connections_;
    std::unordered_map<uint64_t, std::unique_ptr<HttpExchange>> exchanges_;
    // With presence.db_url and an admin token: the host application's friendships table, and
    // the admin requests waiting for their rows (ticket -> request id).
    std::unique_ptr<FriendshipTable> friendship_table_;
    std::unordered_map<uint64_t, uint64_t> friendship_writes_;
    uint64_t next_conn_id_ = 1;
    uint64_t next_request_id_ = 1;
    uint64_t handshakes_since_trim_ = 0;
    int64_t last_trim_us_ = 0;
};

// Fills the table the plugin calls back through (plugin_bridge.cpp).
presence_host_api make_host_api(HostServer& server);

// The host's one lws protocol, whose callback reaches HostServer::on_lws_event (lws_bridge.cpp).
const lws_protocols* lws_protocols_of_host();

}  // namespace presence_host
