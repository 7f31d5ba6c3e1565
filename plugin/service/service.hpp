// The service: one plugin instance. It turns ABI hooks into core calls (after loading what
// they need from the store), turns the core's views into frames for the host, answers REST
// routes, and keeps the store in step (write-behind of dirty users, pumping loads).
// Loop thread only, like every hook.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/presence_core.hpp"
#include "presence_plugin.h"
#include "protocol/client_message.hpp"
#include "service/abuse_guard.hpp"
#include "service/metrics.hpp"
#include "service/settings.hpp"
#include "service/shared_presence.hpp"
#include "service/user_loader.hpp"
#include "store/store.hpp"

namespace presence::service {

class Service final : public core::CoreSink {
  public:
    static constexpr std::size_t kMaxPendingMessages = 32;  // per connection while loading
    static constexpr std::uint32_t kTickIntervalMs = 100;
    // Users looked at for eviction per tick (at most 20,000 a second at the 100 ms tick).
    static constexpr std::size_t kEvictBatch = 2000;

    // `host` was copied and checked by the caller; `store` is ready; `link` is the started
    // Redis link when presence.redis_url is set (nullptr: a single instance).
    Service(const presence_host_api& host, PluginConfig config, std::unique_ptr<store::Store> store,
            std::unique_ptr<redis::RedisLink> link = nullptr);
    ~Service() override;
    Service(const Service&) = delete;
    Service& operator=(const Service&) = delete;

    // ---- hooks ----
    int on_connect(core::ConnId conn, std::string_view user);
    void on_disconnect(core::ConnId conn);
    void on_message(core::ConnId conn, std::string_view data);
    // The host dropped a message of `len` bytes, over max_message_bytes: a too_large error.
    void on_message_too_large(core::ConnId conn, std::size_t len);
    int on_http(const presence_http_request& request);
    void tick();
    void on_wake();
    // Returns false with `err` on a bad op or id.
    bool friendship(int op, std::string_view a, std::string_view b, std::string& err);
    // All of `ops` or none: false with `err` naming the first bad op's index.
    bool friendships(const presence_friendship* ops, std::size_t n, std::string& err);
    std::uint32_t max_message_bytes() const { return config_.max_message_bytes; }
    // destroy(): answers outstanding requests, flushes the store.
    void shutdown();

    void log(int level, const std::string& line) const;
    const Metrics& metrics() const { return metrics_; }

    // ---- core::CoreSink ----
    void send_presence(const core::PresenceView& view,
                       std::span<const core::ConnId> conns) override;
    void send_self(const core::SelfView& self, std::span<const core::ConnId> conns) override;
    void send_snapshot(core::ConnId conn, const core::SelfView& self,
                       std::span<const core::PresenceView> friends) override;
    void close_connection(core::ConnId conn, std::uint16_t code, std::string_view reason) override;
    void presence_changed(const core::PresenceChange& change) override;

  private:
    struct Connection {
        std::string user;
        bool pending = true;   // waiting for the store before core.connect
        bool closing = false;  // we asked the host to close it; ignore what still arrives
        std::vector<std::string> buffered;  // messages received while pending
        AbuseGuard guard;
    };
    struct FriendOp {
        bool add = true;
        std::string a, b;
        bool ready = false;
    };
    struct HookScope;  // times a hook for the fan-out histogram and syncs the store after it
    // What an HTTP request's answer needs to know to add its headers (respond_with_headers).
    struct PendingHttp {
        bool get = false;           // a GET: a 200 answer carries an ETag
        std::string if_none_match;  // the request's If-None-Match, if any
        std::string allow;          // 405: the methods of the route
    };

    // An answer to a user's choice (the sender's presence_self, a REST 200 of a change). With
    // a store that holds_acks it goes out once the change is durable (sync_store hands the
    // answers held during a hook to store->when_durable); other devices and viewers are not
    // held back (docs/operations.md, Storage).
    struct HeldAck {
        bool http = false;
        core::ConnId conn = 0;
        std::string user;  // WebSocket: the connection's user, in case the id was reused
        std::uint64_t request = 0;
        std::string body;
    };
    void ack_frame(core::ConnId conn, const std::string& user, const std::string& frame);
    void ack_http(std::uint64_t id, std::string body);
    void release_acks(const std::vector<HeldAck>& acks);

    core::Millis now() const { return host_.now_ms(host_.host_ctx); }
    void sync_store();  // dirty users -> store, store results -> core
    void deliver(std::span<const core::ConnId> conns, const std::string& frame);
    void send_one(core::ConnId conn, const std::string& frame);
    void send_error(core::ConnId conn, Connection& c, const char* code, std::string_view message,
                    std::string_view ref_json, std::span<const std::string> user_ids = {});

    // WebSocket
    void finish_connect(core::ConnId conn, bool ok);
    void refuse_or_close(core::ConnId conn, std::uint16_t code, const char* reason);
    void handle_message(core::ConnId conn, Connection& c, std::string_view data);
    void handle_update(core::ConnId conn, Connection& c, protocol::ClientMessage& msg);
    void handle_query(core::ConnId conn, Connection& c, protocol::ClientMessage& msg);
    void answer_query(core::ConnId conn, const std::string& viewer,
                      const std::vector<std::string>& ids, const std::string& ref_json);

    // REST (rest_handlers.cpp)
    void handle_http(std::uint64_t id, int route, const std::string& param, const std::string& user,
                     std::string_view body);
    void http_own_state(std::uint64_t id, const std::string& user, bool whole);
    void http_put_status(std::uint64_t id, const std::string& user, std::string_view body);
    void http_get_user(std::uint64_t id, const std::string& user, const std::string& param);
    void http_query(std::uint64_t id, const std::string& user, std::string_view body);
    void http_friends(std::uint64_t id, const std::string& user);
    void http_put_visibility(std::uint64_t id, const std::string& user, std::string_view body);
    void http_change_visibility(std::uint64_t id, const std::string& user, const std::string& param,
                                bool add);
    void respond_unavailable(std::uint64_t id);
    void respond(std::uint64_t id, int status, const std::string& body,
                 const char* content_type = "application/json");
    void respond_error(std::uint64_t id, int status, std::string_view code,
                       std::string_view message, std::span<const std::string> user_ids = {});
    void respond_core_error(std::uint64_t id, core::CoreError e,
                            std::span<const std::string> offenders = {});
    // `ack`: the answer to a change (held until durable, see HeldAck).
    void respond_self(std::uint64_t id, const std::string& user, bool ack = false);
    void respond_visibility(std::uint64_t id, const std::string& user, bool ack = false);
    std::string health_body() const;

    // Friendships. `local`: through this instance's host (the others are told through Redis).
    void queue_friend_op(bool add, std::string_view a, std::string_view b, bool local);
    void drain_friend_ops();
    // Eviction asks: may `id` leave the core? (no load waiting for it, Redis and the store
    // hold everything of it); yes also drops what those keep only for the loaded user.
    bool release_user(const std::string& id);
    MetricsSnapshot metrics_snapshot() const;

    presence_host_api host_;
    PluginConfig config_;
    protocol::ParseLimits limits_;
    Metrics metrics_;
    core::PresenceCore core_;
    std::unique_ptr<store::Store> store_;
    UserLoader loader_;
    std::unique_ptr<SharedPresence> shared_;  // several instances (SPEC 9), else null

    std::unordered_map<core::ConnId, Connection> conns_;
    std::unordered_map<std::uint64_t, PendingHttp> pending_http_;  // accepted, not answered
    std::deque<std::shared_ptr<FriendOp>> friend_ops_;             // applied in arrival order
    std::vector<HeldAck> held_acks_;  // answers of this hook waiting for durability

    // Refusal of the connection being accepted right now (on_connect returns it).
    core::ConnId connecting_ = 0;
    int connect_refusal_ = 0;

    // The ref of the presence_update being applied, echoed on that connection's presence_self.
    // (ref_active_ rather than a 0 sentinel: connection ids are host-chosen, 0 included.)
    bool ref_active_ = false;
    core::ConnId ref_conn_ = 0;
    std::string_view ref_json_;
    std::string ref_user_;  // the sender's user id
    bool ref_answered_ = false;

    // Reused buffers: the fan-out path allocates nothing once they have grown.
    std::string frame_;
    std::string frame2_;
    std::vector<core::ConnId> conn_buf_;
    std::vector<core::PresenceView> views_;
    std::string change_user_, change_message_;

    // Fan-out latency of the hook being run.
    std::chrono::steady_clock::time_point hook_start_;
    std::uint64_t fanout_frames_ = 0;
    std::uint64_t users_evicted_ = 0;
    bool shut_down_ = false;
};

}  // namespace presence::service
