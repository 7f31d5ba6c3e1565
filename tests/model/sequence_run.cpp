#include "sequence_run.hpp"

#include <algorithm>
#include <sstream>

namespace presence::model::detail {

std::string id(int u) {
    return ReferenceModel::user_id(u);
}

std::string show(const View& v) {
    std::ostringstream o;
    o << "{status:" << v.status << ", message:" << (v.message ? json_quote(*v.message) : "null")
      << ", last_seen:" << (v.last_seen ? std::to_string(*v.last_seen - kStartMs) : "null");
    if (v.last_seen_hi) o << ".." << (*v.last_seen_hi - kStartMs);
    o << "}";
    return o.str();
}

std::string show(const SelfView& s) {
    std::ostringstream o;
    o << "{status:" << s.status << ", message:" << (s.message ? json_quote(*s.message) : "null")
      << ", until:" << (s.until ? std::to_string(*s.until - kStartMs) : "null") << ", visibility:[";
    for (const auto& v : s.visibility) o << v << " ";
    o << "], connections:" << s.connections << "}";
    return o.str();
}

View parse_view(const Json& j) {
    View v;
    v.status = j["status"].str();
    if (!j["message"].is_null()) v.message = j["message"].str();
    if (!j["last_seen"].is_null()) v.last_seen = j["last_seen"].i64();
    return v;
}

SelfView parse_self(const Json& j) {
    SelfView s;
    s.status = j["status"].str();
    if (!j["message"].is_null()) s.message = j["message"].str();
    if (!j["until"].is_null()) s.until = j["until"].i64();
    for (const auto& v : j["visibility"].strings()) s.visibility.insert(v);
    s.connections = static_cast<int>(j["connections"].i64());
    return s;
}

std::optional<std::uint64_t> Run::device(int u, int slot) const {
    const auto conns = model_.connections_of(u);
    if (conns.empty()) return std::nullopt;
    return conns[static_cast<std::size_t>(slot) % conns.size()];
}

void Run::tick_at(std::int64_t t) {
    now_ = t;
    driver_.now = t;
    before_ = model_;
    const auto closed = model_.apply_due(now_);
    stats.timeouts += closed.size();
    driver_.tick();
    Expect e;
    e.timeout_closes.insert(closed.begin(), closed.end());
    check(e, "tick");
    // A host calls on_disconnect for every connection the plugin closed, on a later turn.
    for (std::uint64_t c : closed) {
        before_ = model_;
        driver_.disconnect(c);
        check(Expect{}, "on_disconnect of timed-out conn " + std::to_string(c));
    }
}

void Run::advance(std::int64_t dt) {
    const std::int64_t target = now_ + dt;
    for (int guard = 0; guard < 1000; ++guard) {
        const auto next = model_.next_deadline();
        if (!next || *next > target) break;
        tick_at(std::max(now_, *next));
    }
    tick_at(target);
}

std::string Run::update_body(const Op& op, bool with_type) const {
    std::string b = "{";
    if (with_type) b += R"("type":"presence_update",)";
    b += R"("status":")" + std::string(kStatuses[op.status]) + "\"";
    if (op.message == 1) b += R"(,"message":null)";
    if (op.message >= 2) b += ",\"message\":" + json_quote(kMessages[op.message]);
    if (op.until != 0) b += ",\"until\":" + std::to_string(now_ + kUntils[op.until]);
    return b + "}";
}

void Run::set_status_in_model(const Op& op) {
    MessageChange mc;
    if (op.message != 0) {
        mc.keep = false;
        if (op.message >= 2) mc.value = kMessages[op.message];
    }
    std::optional<std::int64_t> until;
    if (op.until != 0) until = now_ + kUntils[op.until];
    model_.set_status(op.user, kStatuses[op.status], mc, until, now_);
}

void Run::check_list_answer(const HttpAnswer& a, int u, bool accepted, const std::string& what) {
    const Json j = Json::parse(a.body);
    if (!accepted) {
        if (a.status != 422 || j["error"]["code"].str() != "not_friend") {
            throw Failure{what + ": expected 422 not_friend, got " + std::to_string(a.status) +
                          " " + a.body};
        }
        return;
    }
    if (a.status != 200) throw Failure{what + ": got " + std::to_string(a.status) + " " + a.body};
    const auto got = j["user_ids"].strings();
    const std::set<std::string> got_set(got.begin(), got.end());
    if (got_set != model_.self(u).visibility || got_set.size() != got.size()) {
        throw Failure{what + ": list " + a.body + ", model says " + show(model_.self(u))};
    }
}

void Run::rest_reads(const Op& op) {
    const int u = op.user;
    const int target = op.other;  // may be the user themself
    stats.rest_answers += 5;
    HttpAnswer a = driver_.http("GET", "/api/presence/users/" + id(target), id(u));
    Json j = Json::parse(a.body);
    const View want = model_.view(u, target);
    if (a.status != 200 || j["user_id"].str() != id(target) ||
        !agree(parse_view(j), want, u, target)) {
        throw Failure{"GET /users/" + id(target) + " by " + id(u) + ": " +
                      std::to_string(a.status) + " " + a.body + ", model says " + show(want)};
    }
    a = driver_.http("GET", "/api/presence/friends", id(u));
    j = Json::parse(a.body);
    std::vector<int> friends;
    for (int f = 0; f < kUsers; ++f) {
        if (f != u && model_.friends(u, f)) friends.push_back(f);
    }
    if (a.status != 200 || j["users"].size() != friends.size()) {
        throw Failure{"GET /friends by " + id(u) + ": " + a.body};
    }
    for (int f : friends) {
        const Json e = j["users"].find_by("user_id", id(f));
        if (!e.valid() || !agree(parse_view(e), model_.view(u, f), u, f)) {
            throw Failure{"GET /friends by " + id(u) + ": " + a.body + ", model says " + id(f) +
                          " " + show(model_.view(u, f))};
        }
    }
    std::vector<int> ids;
    std::string body = R"({"user_ids":[)";
    for (int i = 0; i <= kUsers; ++i) {
        if (!(op.mask & (1u << i))) continue;
        body += (ids.empty() ? "\"" : ",\"") + id(i) + "\"";
        ids.push_back(i);
    }
    body += "]}";
    a = driver_.http("POST", "/api/presence/query", id(u), body);
    if (a.status != 200) throw Failure{"POST /query " + body + ": " + a.body};
    expect_users(u, ids, Json::parse(a.body)["users"], "POST /query " + body);
    a = driver_.http("GET", "/api/presence/me", id(u));
    if (a.status != 200 || !(parse_self(Json::parse(a.body)) == model_.self(u))) {
        throw Failure{"GET /me by " + id(u) + ": " + a.body + ", model says " +
                      show(model_.self(u))};
    }
    a = driver_.http("GET", "/api/presence/visibility", id(u));
    check_list_answer(a, u, true, "GET /visibility by " + id(u));
}

void Run::apply(const Op& op) {
    if (op.kind == OpKind::Clock) {
        ++stats.ops_applied;
        note(describe(op));
        advance(op.dt_ms);
        return;
    }
    advance(kOpStepMs);
    before_ = model_;
    Expect e;
    const int u = op.user;
    const bool needs_device = op.kind == OpKind::Disconnect || op.kind == OpKind::Update ||
                              op.kind == OpKind::Heartbeat || op.kind == OpKind::Query ||
                              op.kind == OpKind::BadUpdate;
    const auto dev = device(u, op.slot);
    if ((needs_device && !dev) ||
        (op.kind == OpKind::Connect && model_.connections_of(u).size() >= kMaxDevices)) {
        note("(skipped) " + describe(op));
        ++stats.ops_skipped;
        return;
    }
    ++stats.ops_applied;
    note(describe(op) + (dev && needs_device ? " [conn " + std::to_string(*dev) + "]" : ""));
    switch (op.kind) {
        case OpKind::Connect: {
            const std::uint64_t c = next_conn_++;
            model_.connect(u, c, now_);
            const int rc = driver_.connect(c, id(u));
            if (rc != 0) throw Failure{"on_connect refused with " + std::to_string(rc)};
            e.new_conns.insert(c);
            break;
        }
        case OpKind::Disconnect:
            model_.disconnect(*dev, now_);
            driver_.disconnect(*dev);
            break;
        case OpKind::Update:
            model_.frame_received(*dev, now_);
            set_status_in_model(op);
            driver_.message(*dev, update_body(op, true));
            e.forced_self_user = u;
            break;
        case OpKind::RestStatus: {
            set_status_in_model(op);
            const HttpAnswer a =
                driver_.http("PUT", "/api/presence/status", id(u), update_body(op, false));
            if (a.status != 200 || !(parse_self(Json::parse(a.body)) == model_.self(u))) {
                throw Failure{"PUT /status: " + std::to_string(a.status) + " " + a.body +
                              ", model says " + show(model_.self(u))};
            }
            e.forced_self_user = u;
            break;
        }
        case OpKind::Heartbeat:
            model_.heartbeat(*dev, op.idle, now_);
            driver_.message(*dev, std::string(R"({"type":"presence_heartbeat","idle":)") +
                                      (op.idle ? "true}" : "false}"));
            e.ack_conn = *dev;
            break;
        case OpKind::VisAdd: {
            const bool ok = model_.visibility_add(u, op.other, now_);
            check_list_answer(
                driver_.http("PUT", "/api/presence/visibility/" + id(op.other), id(u)), u, ok,
                "PUT /visibility/" + id(op.other));
            break;
        }
        case OpKind::VisRemove:
            model_.visibility_remove(u, op.other, now_);
            check_list_answer(
                driver_.http("DELETE", "/api/presence/visibility/" + id(op.other), id(u)), u, true,
                "DELETE /visibility/" + id(op.other));
            break;
        case OpKind::VisReplace: {
            std::set<int> list;
            std::string body = R"({"user_ids":[)";
            for (int i = 0; i <= kUsers; ++i) {
                if (!(op.mask & (1u << i))) continue;
                body += (list.empty() ? "\"" : ",\"") + id(i) + "\"";
                list.insert(i);
            }
            body += "]}";
            const bool ok = model_.visibility_replace(u, list, now_);
            check_list_answer(driver_.http("PUT", "/api/presence/visibility", id(u), body), u, ok,
                              "PUT /visibility " + body);
            break;
        }
        case OpKind::FriendAdd:
        case OpKind::FriendRemove: {
            const bool add = op.kind == OpKind::FriendAdd;
            if (add) {
                model_.friendship_add(u, op.other, now_);
            } else {
                model_.friendship_remove(u, op.other, now_);
            }
            const int rc = driver_.friendship(
                add ? PRESENCE_FRIENDSHIP_ADD : PRESENCE_FRIENDSHIP_REMOVE, id(u), id(op.other));
            if (rc != 0) throw Failure{"friendship() returned " + std::to_string(rc)};
            break;
        }
        case OpKind::Query: {
            std::string body = R"({"type":"presence_query","user_ids":[)";
            std::vector<int> ids;
            for (int k = 0; k <= kUsers; ++k) {
                const int i = (k + op.slot) % (kUsers + 1);  // varied order
                if (!(op.mask & (1u << i))) continue;
                body += (ids.empty() ? "\"" : ",\"") + id(i) + "\"";
                ids.push_back(i);
            }
            if (!ids.empty()) body += ",\"" + id(ids.front()) + "\"";  // a duplicate
            body += "]}";
            model_.frame_received(*dev, now_);
            driver_.message(*dev, body);
            e.query_conn = *dev;
            e.query_ids = ids;
            break;
        }
        case OpKind::RestRead:
            rest_reads(op);
            break;
        case OpKind::FriendBulk: {
            std::vector<std::string> names;  // storage for the borrowed ids
            std::vector<std::pair<int, int>> pairs;
            for (int i = 0; i < 3; ++i)
                pairs.push_back({(u + i) % kUsers, (op.other + 2 * i) % kUsers});
            const bool bad = (op.mask & 8u) != 0;
            if (bad) pairs.push_back({0, 0});  // a == b: the whole batch is refused
            names.reserve(pairs.size() * 2);
            std::vector<presence_friendship> batch;
            for (std::size_t i = 0; i < pairs.size(); ++i) {
                names.push_back(id(pairs[i].first));
                names.push_back(id(pairs[i].second));
                const bool add = i >= 3 || ((op.mask >> i) & 1u);
                batch.push_back({add ? PRESENCE_FRIENDSHIP_ADD : PRESENCE_FRIENDSHIP_REMOVE,
                                 names[2 * i].data(), names[2 * i].size(), names[2 * i + 1].data(),
                                 names[2 * i + 1].size()});
            }
            // The ops of the batch themselves may pair a user with itself: then it is refused.
            bool refused = bad;
            for (const auto& [a, b] : pairs) refused |= a == b;
            e.self_frames.emplace();
            if (!refused) {
                for (std::size_t i = 0; i < pairs.size(); ++i) {
                    const auto [a, b] = pairs[i];
                    const SelfView sa = model_.self(a), sb = model_.self(b);
                    if ((op.mask >> i) & 1u) {
                        model_.friendship_add(a, b, now_);
                    } else {
                        model_.friendship_remove(a, b, now_);
                    }
                    if (!(sa == model_.self(a))) ++(*e.self_frames)[a];
                    if (!(sb == model_.self(b))) ++(*e.self_frames)[b];
                }
            }
            const int rc = driver_.friendships(batch);
            if (rc != (refused ? -1 : 0)) {
                throw Failure{"friendships() returned " + std::to_string(rc) +
                              (refused ? ", expected -1 (a bad op)" : ", expected 0")};
            }
            break;
        }
        case OpKind::BadUpdate: {
            model_.frame_received(*dev, now_);
            driver_.message(
                *dev, op.idle ? R"({"type":"presence_update","status":"online","until":)" +
                                    std::to_string(now_ + 5000) + "}"
                              : std::string(R"({"type":"presence_update","status":"offline"})"));
            e.error_conn = *dev;
            e.error_code = op.idle ? "invalid_field" : "invalid_status";
            break;
        }
        case OpKind::Clock:
            break;
    }
    check(e, "op");
}

}  // namespace presence::model::detail
