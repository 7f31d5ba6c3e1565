#include "service/service.hpp"

#include <algorithm>

#include "protocol/frames.hpp"
#include "service/hook_scope.hpp"

namespace presence::service {

Service::Service(const presence_host_api& host, PluginConfig config,
                 std::unique_ptr<store::Store> store, std::unique_ptr<redis::RedisLink> link)
    : host_(host),
      config_(std::move(config)),
      limits_{config_.max_message_bytes, config_.max_batch},
      core_(config_.core_config(), *this),
      store_(std::move(store)),
      loader_(core_, *store_, [this] { return now(); }) {
    if (link) {
        shared_ = std::make_unique<SharedPresence>(
            core_, std::move(link), config_.instance_id, [this] { return now(); },
            [this](int level, const std::string& line) { log(level, line); },
            [this](bool add, const std::string& a, const std::string& b) {
                queue_friend_op(add, a, b, false);
            });
        loader_.set_shared(shared_.get());
    }
}

Service::~Service() = default;

void Service::log(int level, const std::string& line) const {
    if (host_.log) host_.log(host_.host_ctx, level, line.c_str());
}

void Service::sync_store() {
    // Loads answered by pump() can dirty users (an expired `until` reset on load), so the
    // dirty set is drained after pumping too.
    core_.drain_dirty([this](const core::UserRecord& r) { store_->save_user(r); });
    store_->pump();
    core_.drain_dirty([this](const core::UserRecord& r) { store_->save_user(r); });
    if (!held_acks_.empty()) {
        // After the saves above: the answers wait for every change this hook made.
        store_->when_durable([this, acks = std::move(held_acks_)] { release_acks(acks); });
        held_acks_.clear();
    }
    if (shared_) shared_->publish_changes();
}

void Service::ack_frame(core::ConnId conn, const std::string& user, const std::string& frame) {
    if (!store_->holds_acks()) return send_one(conn, frame);
    held_acks_.push_back({false, conn, user, 0, frame});
}

void Service::ack_http(std::uint64_t id, std::string body) {
    if (!store_->holds_acks()) return respond(id, 200, body);
    held_acks_.push_back({true, 0, {}, id, std::move(body)});
}

void Service::release_acks(const std::vector<HeldAck>& acks) {
    for (const auto& a : acks) {
        if (a.http) {
            respond(a.request, 200, a.body);  // forgotten if answered 503 at shutdown
            continue;
        }
        const auto it = conns_.find(a.conn);
        if (it != conns_.end() && !it->second.closing && it->second.user == a.user) {
            send_one(a.conn, a.body);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Delivery

void Service::deliver(std::span<const core::ConnId> conns, const std::string& frame) {
    if (conns.empty()) return;
    if (host_.send_many && conns.size() > 1) {
        host_.send_many(host_.host_ctx, conns.data(), conns.size(), frame.data(), frame.size());
    } else {
        for (const auto conn : conns) host_.send(host_.host_ctx, conn, frame.data(), frame.size());
    }
    metrics_.frames_out(conns.size());
}

void Service::send_one(core::ConnId conn, const std::string& frame) {
    host_.send(host_.host_ctx, conn, frame.data(), frame.size());
    metrics_.frames_out(1);
}

void Service::send_error(core::ConnId conn, Connection& c, const char* code,
                         std::string_view message, std::string_view ref_json,
                         std::span<const std::string> user_ids) {
    metrics_.error(code);
    protocol::build_error_frame(frame_, code, message, ref_json, user_ids);
    send_one(conn, frame_);
    if (c.guard.record_error(now()) && !c.closing) {
        c.closing = true;
        host_.close(host_.host_ctx, conn, 1008, "too many invalid frames");
    }
}

void Service::send_presence(const core::PresenceView& view, std::span<const core::ConnId> conns) {
    protocol::build_presence_frame(frame_, view);
    deliver(conns, frame_);
    fanout_frames_ += conns.size();
}

void Service::send_self(const core::SelfView& self, std::span<const core::ConnId> conns) {
    fanout_frames_ += conns.size();
    const bool to_ref_conn =
        ref_active_ && std::find(conns.begin(), conns.end(), ref_conn_) != conns.end();
    if (to_ref_conn) ref_answered_ = true;
    // The sender's copy is the answer: it carries the ref, and may wait for durability.
    const bool has_ref_conn = to_ref_conn && (!ref_json_.empty() || store_->holds_acks());
    if (!has_ref_conn) {
        protocol::build_self_frame(frame_, self);
        deliver(conns, frame_);
        return;
    }
    // The device that sent the update gets its ref back; the others get the plain frame.
    conn_buf_.clear();
    for (const auto c : conns) {
        if (c != ref_conn_) conn_buf_.push_back(c);
    }
    protocol::build_self_frame(frame_, self);
    deliver(conn_buf_, frame_);
    protocol::build_self_frame(frame2_, self, ref_json_);
    ack_frame(ref_conn_, ref_user_, frame2_);
}

void Service::send_snapshot(core::ConnId conn, const core::SelfView& self,
                            std::span<const core::PresenceView> friends) {
    protocol::build_snapshot_frame(frame_, self, friends);
    send_one(conn, frame_);
}

void Service::close_connection(core::ConnId conn, std::uint16_t code, std::string_view reason) {
    const auto it = conns_.find(conn);
    if (it != conns_.end()) it->second.closing = true;
    const std::string why(reason);  // the host wants NUL-terminated text
    host_.close(host_.host_ctx, conn, code, why.c_str());
}

void Service::presence_changed(const core::PresenceChange& change) {
    if (!host_.on_presence_change) return;
    // The ABI promises NUL-terminated strings; views from the core are not, so copy them
    // into reused buffers.
    change_user_.assign(change.user_id);
    presence_change c{};
    c.struct_size = sizeof c;
    c.user_id = change_user_.c_str();
    c.user_id_len = static_cast<std::uint32_t>(change_user_.size());
    c.status = static_cast<std::int32_t>(change.status);
    c.chosen_status = static_cast<std::int32_t>(change.chosen);
    c.connections = static_cast<std::int32_t>(change.connections);
    if (change.message) {
        change_message_.assign(*change.message);
        c.message = change_message_.c_str();
    }
    c.last_seen_ms = change.last_seen.value_or(-1);
    c.at_ms = change.at;
    host_.on_presence_change(host_.host_ctx, &c);
}

// ---------------------------------------------------------------------------------------
// WebSocket hooks

int Service::on_connect(core::ConnId conn, std::string_view user) {
    HookScope scope(*this);
    if (!core::is_valid_user_id(user)) {
        log(PRESENCE_LOG_WARN, "refused a connection with an invalid user id");
        return 1008;
    }
    if (conns_.count(conn)) {
        log(PRESENCE_LOG_WARN, "refused a connection id already in use: " + std::to_string(conn));
        return 1008;
    }
    Connection& c = conns_[conn];
    c.user.assign(user);
    connecting_ = conn;
    connect_refusal_ = 0;
    loader_.ensure_viewer(c.user, {}, true, [this, conn](bool ok) { finish_connect(conn, ok); });
    // A store that answers at once (memory) completes the connect here, so a refusal (too
    // many connections) is still this hook's return value rather than a later close().
    store_->pump();
    connecting_ = 0;
    const int refusal = connect_refusal_;
    connect_refusal_ = 0;
    if (refusal == 0) metrics_.connection_opened();
    return refusal;
}

void Service::refuse_or_close(core::ConnId conn, std::uint16_t code, const char* reason) {
    conns_.erase(conn);
    if (conn == connecting_) {
        connect_refusal_ = code;  // still inside on_connect: the return value refuses it
    } else {
        host_.close(host_.host_ctx, conn, code, reason);
    }
}

void Service::finish_connect(core::ConnId conn, bool ok) {
    const auto it = conns_.find(conn);
    if (it == conns_.end() || !it->second.pending) return;  // gone while loading
    Connection& c = it->second;
    if (!ok) {
        metrics_.error("unavailable");
        protocol::build_error_frame(frame_, "unavailable",
                                    "presence store unavailable, retry later", {});
        send_one(conn, frame_);
        refuse_or_close(conn, 1013, "presence store unavailable");
        return;
    }
    const core::CoreError e = core_.connect(conn, c.user, now());
    if (e == core::CoreError::TooMany) {
        metrics_.error("too_many");
        protocol::build_error_frame(frame_, "too_many", "too many connections for this user", {});
        send_one(conn, frame_);
        refuse_or_close(conn, 1008, "too many connections");
        return;
    }
    if (e != core::CoreError::None) {
        log(PRESENCE_LOG_ERROR, std::string("connect failed: ") + core::error_code(e));
        refuse_or_close(conn, 1011, "presence error");
        return;
    }
    c.pending = false;
    // Messages that arrived while loading are answered now, after the snapshot, in order.
    auto buffered = std::move(c.buffered);
    c.buffered.clear();
    for (const auto& m : buffered) {
        const auto again = conns_.find(conn);
        if (again == conns_.end() || again->second.closing) break;
        handle_message(conn, again->second, m);
    }
}

void Service::on_disconnect(core::ConnId conn) {
    HookScope scope(*this);
    const auto it = conns_.find(conn);
    if (it == conns_.end()) return;
    const bool pending = it->second.pending;
    conns_.erase(it);
    if (!pending) core_.disconnect(conn, now());
}

void Service::on_message(core::ConnId conn, std::string_view data) {
    HookScope scope(*this);
    metrics_.frame_in();
    const auto it = conns_.find(conn);
    if (it == conns_.end() || it->second.closing) return;
    Connection& c = it->second;
    if (c.pending) {
        if (c.buffered.size() < kMaxPendingMessages) {
            c.buffered.emplace_back(data);
        } else {
            send_error(conn, c, "rate_limited", "too many frames before the snapshot", {});
        }
        return;
    }
    handle_message(conn, c, data);
}

void Service::on_message_too_large(core::ConnId conn, std::size_t len) {
    HookScope scope(*this);
    metrics_.frame_in();
    const auto it = conns_.find(conn);
    if (it == conns_.end() || it->second.closing) return;
    // The same answer as for an oversized message handed to on_message (no ref: unread).
    send_error(conn, it->second, "too_large",
               "frame is " + std::to_string(len) + " bytes, the limit is " +
                   std::to_string(config_.max_message_bytes),
               {});
}

void Service::handle_message(core::ConnId conn, Connection& c, std::string_view data) {
    const core::Millis t = now();
    core_.touch(conn, t);  // any frame proves the connection alive
    if (!c.guard.allow_frame(t)) {
        send_error(conn, c, "rate_limited", "too many frames, slow down", {});
        return;
    }
    protocol::ClientMessage msg;
    if (auto e = protocol::parse_client_frame(data, limits_, msg)) {
        send_error(conn, c, e.code, e.message, msg.ref_json, e.user_ids);
        return;
    }
    switch (msg.type) {
        case protocol::ClientType::Heartbeat:
            core_.heartbeat(conn, msg.idle, t);
            protocol::build_heartbeat_ack_frame(frame_, t, msg.ref_json);
            send_one(conn, frame_);
            break;
        case protocol::ClientType::Update:
            handle_update(conn, c, msg);
            break;
        case protocol::ClientType::Query:
            handle_query(conn, c, msg);
            break;
    }
}

namespace {
const char* core_error_message(core::CoreError e) {
    switch (e) {
        case core::CoreError::InvalidStatus:
            return "status not allowed";
        case core::CoreError::InvalidField:
            return "invalid field (message over 128 characters, or until not in the future)";
        case core::CoreError::TooMany:
            return "too many entries";
        case core::CoreError::NotFriend:
            return "not a friend";
        case core::CoreError::RateLimited:
            return "too many updates: the latest is applied as soon as the limit allows";
        case core::CoreError::UnknownUser:
            return "user not available";
        case core::CoreError::None:
            break;
    }
    return "";
}
}  // namespace

void Service::handle_update(core::ConnId conn, Connection& c, protocol::ClientMessage& msg) {
    ref_active_ = true;
    ref_conn_ = conn;
    ref_json_ = msg.ref_json;
    ref_user_ = c.user;
    ref_answered_ = false;
    const core::CoreError e = core_.update_status(c.user, msg.update, conn, now());
    const bool answered = ref_answered_;
    ref_active_ = false;
    ref_json_ = {};
    if (e != core::CoreError::None) {
        send_error(conn, c, core::error_code(e), core_error_message(e), msg.ref_json);
        return;
    }
    if (!answered) {
        // Nothing changed (same status again): the sender still gets its answer.
        protocol::build_self_frame(frame_, core_.self(c.user), msg.ref_json);
        ack_frame(conn, c.user, frame_);
    }
}

void Service::handle_query(core::ConnId conn, Connection& c, protocol::ClientMessage& msg) {
    if (!c.guard.allow_query(now())) {
        send_error(conn, c, "rate_limited", "too many queries, slow down", msg.ref_json);
        return;
    }
    protocol::remove_duplicate_ids(msg.user_ids);
    bool all_loaded = true;
    for (const auto& id : msg.user_ids) {
        if (!core_.has_user(id)) {
            all_loaded = false;
            break;
        }
    }
    if (all_loaded) {
        answer_query(conn, c.user, msg.user_ids, msg.ref_json);
        return;
    }
    // Offline friends are not in the core yet: load them, answer later.
    auto ids = std::make_shared<std::vector<std::string>>(std::move(msg.user_ids));
    loader_.ensure_viewer(c.user, *ids, false,
                          [this, conn, ids, user = c.user, ref = msg.ref_json](bool ok) {
                              const auto it = conns_.find(conn);
                              if (it == conns_.end() || it->second.closing) return;
                              if (!ok) {
                                  send_error(conn, it->second, "unavailable",
                                             "presence store unavailable, retry later", ref);
                                  return;
                              }
                              answer_query(conn, user, *ids, ref);
                          });
}

void Service::answer_query(core::ConnId conn, const std::string& viewer,
                           const std::vector<std::string>& ids, const std::string& ref_json) {
    views_.clear();
    for (const auto& id : ids) views_.push_back(core_.view(viewer, id));
    protocol::build_result_frame(frame_, views_, ref_json);
    send_one(conn, frame_);
}

// ---------------------------------------------------------------------------------------
// Time, wake-ups, friendships, shutdown

void Service::tick() {
    HookScope scope(*this);
    const core::Millis t = now();
    core_.tick(t);
    users_evicted_ += core_.evict_idle(
        t, kEvictBatch, [this](std::string_view id) { return release_user(std::string(id)); });
    if (shared_) shared_->tick();
}

bool Service::release_user(const std::string& id) {
    if (loader_.pinned(id)) return false;
    if (shared_ && !shared_->may_forget(id)) return false;
    if (!store_->release(id)) return false;
    if (shared_) shared_->forget(id);
    return true;
}

void Service::on_wake() {
    HookScope scope(*this);
    if (shared_) shared_->on_wake();
}

namespace {
// Why a friendship op is refused, or nullptr when it is fine.
const char* friendship_problem(int op, std::string_view a, std::string_view b, std::string& err) {
    if (op != PRESENCE_FRIENDSHIP_ADD && op != PRESENCE_FRIENDSHIP_REMOVE) {
        err = "unknown friendship op " + std::to_string(op);
    } else if (!core::is_valid_user_id(a) || !core::is_valid_user_id(b)) {
        err = "invalid user id";
    } else if (a == b) {
        err = "a user cannot be their own friend";
    } else {
        return nullptr;
    }
    return err.c_str();
}
}  // namespace

bool Service::friendship(int op, std::string_view a, std::string_view b, std::string& err) {
    HookScope scope(*this);
    if (friendship_problem(op, a, b, err)) return false;
    queue_friend_op(op == PRESENCE_FRIENDSHIP_ADD, a, b, true);
    return true;
}

bool Service::friendships(const presence_friendship* ops, std::size_t n, std::string& err) {
    HookScope scope(*this);
    if (n > 0 && !ops) {
        err = "ops is NULL";
        return false;
    }
    auto id = [](const char* p, std::size_t len) {
        return p ? std::string_view(p, len) : std::string_view{};
    };
    for (std::size_t i = 0; i < n; ++i) {  // all checked before any is applied
        std::string why;
        if (friendship_problem(ops[i].op, id(ops[i].a, ops[i].a_len), id(ops[i].b, ops[i].b_len),
                               why)) {
            err = "op " + std::to_string(i) + ": " + why;
            return false;
        }
    }
    for (std::size_t i = 0; i < n; ++i) {
        queue_friend_op(ops[i].op == PRESENCE_FRIENDSHIP_ADD, id(ops[i].a, ops[i].a_len),
                        id(ops[i].b, ops[i].b_len), true);
    }
    return true;
}

void Service::queue_friend_op(bool add, std::string_view a, std::string_view b, bool local) {
    if (!core::is_valid_user_id(a) || !core::is_valid_user_id(b) || a == b) return;
    auto fop = std::make_shared<FriendOp>();
    fop->add = add;
    fop->a.assign(a);
    fop->b.assign(b);
    store_->friendship_changed(fop->add, fop->a, fop->b);
    if (local && shared_) shared_->friendship(fop->add, fop->a, fop->b);
    // A side that is in the core needs the other's record to show it (last_seen, status).
    std::vector<std::string> need;
    if (core_.has_user(fop->a) && !core_.has_user(fop->b)) need.push_back(fop->b);
    if (core_.has_user(fop->b) && !core_.has_user(fop->a)) need.push_back(fop->a);
    friend_ops_.push_back(fop);
    if (need.empty()) {
        fop->ready = true;
    } else {
        // Applied even when the load fails: an unloaded user simply stays unseen.
        loader_.ensure(need, {}, [this, fop](bool) {
            fop->ready = true;
            drain_friend_ops();
        });
    }
    drain_friend_ops();
}

void Service::drain_friend_ops() {
    // In arrival order, so "add then remove" never ends up as "remove then add".
    while (!friend_ops_.empty() && friend_ops_.front()->ready) {
        const auto op = friend_ops_.front();
        friend_ops_.pop_front();
        if (op->add) {
            core_.add_friendship(op->a, op->b, now());
        } else {
            core_.remove_friendship(op->a, op->b, now());
        }
    }
}

void Service::shutdown() {
    if (shut_down_) return;
    shut_down_ = true;
    std::vector<std::uint64_t> unanswered;
    for (const auto& [id, request] : pending_http_) unanswered.push_back(id);
    for (const auto id : unanswered) {
        respond_error(id, 503, "unavailable", "presence plugin stopping");
    }
    core_.drain_dirty([this](const core::UserRecord& r) { store_->save_user(r); });
    if (shared_) {
        // A clean stop leaves nothing behind: this instance's devices and heartbeat go.
        shared_->publish_changes();
        shared_->stop(true);
    }
    if (!store_->flush(5000)) log(PRESENCE_LOG_ERROR, "store flush incomplete at shutdown");
}

}  // namespace presence::service
