#include "model_runner.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "json.hpp"
#include "plugin_driver.hpp"
#include "reference_model.hpp"

namespace presence::model {

namespace {

using presence::test::Json;
using presence::test::json_quote;

constexpr std::int64_t kStartMs = 1'700'000'000'000;
constexpr std::int64_t kOpStepMs = 100;  // time between two ops
constexpr std::int64_t kGraceMs = 3000;
constexpr std::int64_t kHeartbeatMs = 10000;
constexpr int kMaxDevices = 3;

struct Failure {
    std::string why;
};

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

struct Expect {
    std::set<std::uint64_t> new_conns;       // expect the snapshot
    int forced_self_user = -1;               // an update: presence_self to every device
    std::uint64_t ack_conn = 0;              // a heartbeat ack
    std::uint64_t query_conn = 0;            // a presence_result for query_ids
    std::vector<int> query_ids;              // expected users, in order
    std::set<std::uint64_t> timeout_closes;  // closes (1001) expected in this hook
    // friendships(): as n calls of friendship(), so one presence_self per step that changed a
    // user's own state (a list entry leaving); replaces the usual 0/1 when set.
    std::optional<std::map<int, std::size_t>> self_frames;
    std::uint64_t error_conn = 0;  // an error frame with error_code
    std::string error_code;
};

class Run {
  public:
    Run(const RunOptions& opt, std::string* trace)
        : model_(kUsers, kGraceMs, kHeartbeatMs),
          before_(model_),
          driver_(kStartMs, {{"presence.offline_grace_s", opt.plugin_grace_s},
                             {"presence.heartbeat_timeout_s", "10"},
                             {"presence.updates_per_s", "1000"},
                             {"presence.instance_id", "model"}}),
          trace_(trace) {}

    bool ready(std::string& why) const {
        why = driver_.error();
        return driver_.ok();
    }

    void apply(const Op& op);

  private:
    void advance(std::int64_t dt);
    void tick_at(std::int64_t t);
    std::optional<std::uint64_t> device(int u, int slot) const;
    void expect_users(int viewer, const std::vector<int>& ids, const Json& users,
                      const std::string& what);
    void check(const Expect& e, const std::string& hook);
    void check_changes(const std::string& hook);
    void check_conn(const Expect& e, int v, std::uint64_t c,
                    const std::vector<std::string>& frames);
    void note(const std::string& line) {
        if (trace_) *trace_ += "  t=" + std::to_string(now_ - kStartMs) + " " + line + "\n";
    }
    std::string update_body(const Op& op, bool with_type) const;
    void set_status_in_model(const Op& op);
    void check_list_answer(const HttpAnswer& a, int u, bool accepted, const std::string& what);
    void rest_reads(const Op& op);

    // Compares what the plugin showed `viewer` of `target` with the model, pinning a last_seen
    // range.
    bool agree(const View& got, const View& want, int viewer, int target);

  public:
    RunStats stats;

  private:
    ReferenceModel model_;
    ReferenceModel before_;  // the model before the hook being checked
    PluginDriver driver_;
    std::string* trace_;
    std::int64_t now_ = kStartMs;
    std::uint64_t next_conn_ = 1;
};

bool Run::agree(const View& got, const View& want, int viewer, int target) {
    if (!agrees(got, want)) return false;
    if (want.last_seen_hi && got.last_seen) {
        model_.pin(viewer, target, *got.last_seen);
        before_.pin(viewer, target, *got.last_seen);
    }
    return true;
}

// Checks `users` (an array of <presence>) against the model's views, in order.
void Run::expect_users(int viewer, const std::vector<int>& ids, const Json& users,
                       const std::string& what) {
    if (users.size() != ids.size()) {
        throw Failure{what + ": " + std::to_string(users.size()) + " users, expected " +
                      std::to_string(ids.size()) + ": " + users.dump()};
    }
    for (std::size_t i = 0; i < ids.size(); ++i) {
        const Json u = users[i];
        const View want = model_.view(viewer, ids[i]);
        if (u["user_id"].str() != id(ids[i]) || !agree(parse_view(u), want, viewer, ids[i])) {
            throw Failure{what + ": entry " + std::to_string(i) + " is " + u.dump() +
                          ", model says " + id(ids[i]) + " " + show(want)};
        }
    }
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
    const int target = op.other == u ? kUsers : op.other;  // never self: unknown id instead
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
        if (i == u || !(op.mask & (1u << i))) continue;
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
                if (i == u || !(op.mask & (1u << i))) continue;
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

void Run::check(const Expect& e, const std::string& hook) {
    const auto frames = driver_.take_frames();
    const auto closes = driver_.take_closes();
    stats.frames += frames.size();
    std::map<std::uint64_t, std::vector<std::string>> by_conn;
    for (const auto& [c, f] : frames) by_conn[c].push_back(f);
    for (const auto& [c, code] : closes) {
        if (!e.timeout_closes.count(c) || code != PRESENCE_CLOSE_GOING_AWAY) {
            throw Failure{hook + ": unexpected close of conn " + std::to_string(c) + " code " +
                          std::to_string(code)};
        }
    }
    if (closes.size() != e.timeout_closes.size()) {
        throw Failure{hook + ": expected " + std::to_string(e.timeout_closes.size()) +
                      " heartbeat-timeout closes, plugin closed " + std::to_string(closes.size())};
    }
    for (const auto& [c, list] : by_conn) {
        // Timers due at the same moment run in any order: a connection that timed out in
        // this tick may have heard of another timer first.
        if (model_.owner_of(c) >= 0 || e.timeout_closes.count(c)) continue;
        for (const auto& f : list) {
            if (Json::parse(f)["type"].str() != "error") {
                throw Failure{hook + ": frame to closed conn " + std::to_string(c) + ": " + f};
            }
        }
    }
    for (int v = 0; v < kUsers; ++v) {
        for (std::uint64_t c : model_.connections_of(v)) {
            check_conn(e, v, c, by_conn[c]);
        }
    }
    check_changes(hook);
}

int status_code(const std::string& s) {
    if (s == "online") return PRESENCE_STATUS_ONLINE;
    if (s == "away") return PRESENCE_STATUS_AWAY;
    if (s == "dnd") return PRESENCE_STATUS_DND;
    if (s == "invisible") return PRESENCE_STATUS_INVISIBLE;
    return PRESENCE_STATUS_OFFLINE;
}

// The host's on_presence_change: every change of what ordinary friends see is reported (at
// least once; a message edit may be too), and every report tells the model's state.
void Run::check_changes(const std::string& hook) {
    std::set<std::string> reported;
    for (const Change& ch : driver_.take_changes()) {
        int u = -1;
        for (int i = 0; i < kUsers; ++i) {
            if (id(i) == ch.user) u = i;
        }
        if (u < 0) throw Failure{hook + ": on_presence_change for unknown " + ch.user};
        const SelfView self = model_.self(u);
        if (ch.status != status_code(model_.public_status(u)) ||
            ch.chosen != status_code(self.status) || ch.connections != self.connections) {
            throw Failure{hook + ": on_presence_change " + ch.user + " status " +
                          std::to_string(ch.status) + " chosen " + std::to_string(ch.chosen) +
                          " connections " + std::to_string(ch.connections) + ", model says " +
                          model_.public_status(u) + " " + show(self)};
        }
        reported.insert(ch.user);
        ++stats.host_changes;
    }
    for (int u = 0; u < kUsers; ++u) {
        if (before_.public_status(u) != model_.public_status(u) && !reported.count(id(u))) {
            throw Failure{hook + ": no on_presence_change for " + id(u) + " (" +
                          before_.public_status(u) + " -> " + model_.public_status(u) + ")"};
        }
    }
}

void Run::check_conn(const Expect& e, int v, std::uint64_t c,
                     const std::vector<std::string>& frames) {
    const std::string where = "conn " + std::to_string(c) + " of " + id(v);
    const bool is_new = e.new_conns.count(c) > 0;
    std::map<std::string, std::vector<Json>> about;
    std::vector<Json> selfs;
    int snapshots = 0, acks = 0, results = 0, errors = 0;
    for (std::size_t i = 0; i < frames.size(); ++i) {
        const Json j = Json::parse(frames[i]);
        const std::string type = j["type"].str();
        if (type == "presence_snapshot") {
            if (!is_new || i != 0) throw Failure{where + ": unexpected snapshot " + frames[i]};
            ++snapshots;
            ++stats.snapshots;
            if (!(parse_self(j["self"]) == model_.self(v))) {
                throw Failure{where + ": snapshot self " + j["self"].dump() + ", model says " +
                              show(model_.self(v))};
            }
            std::vector<int> friends;
            for (int f = 0; f < kUsers; ++f) {
                if (f != v && model_.friends(v, f)) friends.push_back(f);
            }
            if (j["friends"].size() != friends.size()) {
                throw Failure{where + ": snapshot friends " + j["friends"].dump()};
            }
            for (int f : friends) {
                const Json fj = j["friends"].find_by("user_id", id(f));
                if (!fj.valid() || !agree(parse_view(fj), model_.view(v, f), v, f)) {
                    throw Failure{where + ": snapshot friends " + j["friends"].dump() +
                                  ", model says " + id(f) + " " + show(model_.view(v, f))};
                }
            }
        } else if (type == "presence") {
            about[j["user_id"].str()].push_back(j);
        } else if (type == "presence_self") {
            selfs.push_back(j);
        } else if (type == "presence_heartbeat_ack") {
            ++acks;
            if (c != e.ack_conn || j["server_time"].i64() != now_) {
                throw Failure{where + ": unexpected ack " + frames[i]};
            }
        } else if (type == "error") {
            if (c != e.error_conn || j["code"].str() != e.error_code) {
                throw Failure{where + ": unexpected error " + frames[i]};
            }
            ++errors;
        } else if (type == "presence_result") {
            ++results;
            if (c != e.query_conn) throw Failure{where + ": unexpected result " + frames[i]};
            expect_users(v, e.query_ids, j["users"], where + ": presence_result");
        } else {
            throw Failure{where + ": unexpected frame " + frames[i]};
        }
    }
    if (is_new && snapshots != 1) throw Failure{where + ": no snapshot on open"};
    if ((c == e.ack_conn) != (acks == 1))
        throw Failure{where + ": " + std::to_string(acks) + " acks"};
    if ((c == e.error_conn) != (errors == 1)) {
        throw Failure{where + ": " + std::to_string(errors) + " error frames, expected " +
                      (c == e.error_conn ? "1 " + e.error_code : "0")};
    }
    if ((c == e.query_conn) != (results == 1)) {
        throw Failure{where + ": " + std::to_string(results) + " presence_result frames"};
    }
    for (int t = 0; t < kUsers; ++t) {
        if (t == v) continue;
        const auto it = about.find(id(t));
        const std::vector<Json> got = it == about.end() ? std::vector<Json>{} : it->second;
        if (it != about.end()) about.erase(it);
        const View was = before_.view(v, t);
        const View now = model_.view(v, t);
        // A last_seen range (see ReferenceModel::Stamp) that holds the old value may or may
        // not be a change: either no frame, or one frame with a new value in the range.
        const bool maybe_same = !is_new && !(was == now) && was.status == now.status &&
                                was.message == now.message && was.last_seen && now.last_seen &&
                                (was.last_seen_hi || now.last_seen_hi) &&
                                *now.last_seen <= was.last_seen_hi.value_or(*was.last_seen) &&
                                *was.last_seen <= now.last_seen_hi.value_or(*now.last_seen);
        std::size_t want = 0;
        std::string want_text;
        if (is_new) {
            want = 0;  // the snapshot said it all
        } else if (!(was == now)) {
            want = 1;
            want_text = show(now);
        }
        std::string got_text;
        for (const auto& g : got) got_text += " " + g.dump();
        if (got.empty()) ++stats.silent_views;
        stats.presence_frames += got.size();
        if (maybe_same && got.empty()) {
            if (now.last_seen_hi && !was.last_seen_hi) model_.pin(v, t, *was.last_seen);
            continue;
        }
        if (got.size() != want) {
            throw Failure{where + ": " + std::to_string(got.size()) + " presence frames about " +
                          id(t) + " (" + got_text + " ), expected " + std::to_string(want) + " " +
                          want_text + "; view was " + show(was) + ", now " + show(now)};
        }
        if (want == 1) {
            const View g = parse_view(got[0]);
            if (!agree(g, now, v, t) || (!was.last_seen_hi && g == was)) {
                throw Failure{where + ": presence about " + id(t) + " is" + got_text +
                              ", expected " + want_text + "; view was " + show(was)};
            }
        }
    }
    if (!about.empty()) {
        throw Failure{where + ": presence frame about " + about.begin()->first +
                      " (not a user this viewer may hear of)"};
    }
    const bool self_changed = !(before_.self(v) == model_.self(v));
    std::size_t want_self = is_new ? 0 : (self_changed || e.forced_self_user == v ? 1 : 0);
    if (e.self_frames && !is_new) {
        const auto it = e.self_frames->find(v);
        want_self = it == e.self_frames->end() ? 0 : it->second;
    }
    if (selfs.size() != want_self) {
        throw Failure{where + ": " + std::to_string(selfs.size()) +
                      " presence_self frames, expected " + std::to_string(want_self) +
                      "; model self " + show(model_.self(v)) +
                      (selfs.empty() ? "" : ", got " + selfs.back().dump())};
    }
    if (want_self >= 1 && !(parse_self(selfs.back()) == model_.self(v))) {
        throw Failure{where + ": presence_self " + selfs.back().dump() + ", model says " +
                      show(model_.self(v))};
    }
}

}  // namespace

void RunStats::add(const RunStats& o) {
    ops_applied += o.ops_applied;
    ops_skipped += o.ops_skipped;
    frames += o.frames;
    presence_frames += o.presence_frames;
    silent_views += o.silent_views;
    snapshots += o.snapshots;
    rest_answers += o.rest_answers;
    timeouts += o.timeouts;
    host_changes += o.host_changes;
}

RunResult run_sequence(const std::vector<Op>& ops, const RunOptions& opt, std::string* trace) {
    Run run(opt, trace);
    RunResult r;
    std::string why;
    if (!run.ready(why)) {
        r.ok = false;
        r.why = "create failed: " + why;
        return r;
    }
    for (std::size_t i = 0; i < ops.size(); ++i) {
        try {
            run.apply(ops[i]);
        } catch (const Failure& f) {
            r.stats = run.stats;
            r.ok = false;
            r.failed_op = i;
            r.why = f.why;
            return r;
        }
    }
    r.stats = run.stats;
    return r;
}

std::vector<Op> shrink(std::vector<Op> ops, const RunOptions& opt, int max_runs) {
    int runs = 0;
    auto fails = [&](const std::vector<Op>& s) {
        ++runs;
        return !run_sequence(s, opt).ok;
    };
    // Everything after the failing op is irrelevant.
    const RunResult first = run_sequence(ops, opt);
    if (first.ok) return ops;
    ops.resize(first.failed_op + 1);
    auto try_replace = [&](std::vector<Op> candidate) {
        if (runs >= max_runs || !fails(candidate)) return false;
        ops = std::move(candidate);
        return true;
    };
    for (bool progress = true; progress && runs < max_runs;) {
        progress = false;
        // 1. Drop chunks, halving their size down to single ops.
        for (std::size_t chunk = std::max<std::size_t>(ops.size() / 2, 1); chunk >= 1; chunk /= 2) {
            for (std::size_t at = 0; at + chunk <= ops.size() && runs < max_runs;) {
                std::vector<Op> candidate = ops;
                candidate.erase(candidate.begin() + static_cast<std::ptrdiff_t>(at),
                                candidate.begin() + static_cast<std::ptrdiff_t>(at + chunk));
                if (try_replace(std::move(candidate))) {
                    progress = true;
                } else {
                    at += chunk;
                }
            }
            if (chunk == 1) break;
        }
        // 2. An op that only matters for the time it takes becomes a clock step of that time,
        // and neighbouring clock steps merge: timing failures shrink too.
        for (std::size_t i = 0; i < ops.size(); ++i) {
            if (ops[i].kind == OpKind::Clock) continue;
            std::vector<Op> candidate = ops;
            candidate[i] = Op{};
            candidate[i].dt_ms = kOpStepMs;
            progress |= try_replace(std::move(candidate));
        }
        for (std::size_t i = 0; i + 1 < ops.size();) {
            if (ops[i].kind == OpKind::Clock && ops[i + 1].kind == OpKind::Clock) {
                std::vector<Op> candidate = ops;
                candidate[i].dt_ms += candidate[i + 1].dt_ms;
                candidate.erase(candidate.begin() + static_cast<std::ptrdiff_t>(i) + 1);
                if (try_replace(std::move(candidate))) {
                    progress = true;
                    continue;
                }
            }
            ++i;
        }
    }
    return ops;
}

}  // namespace presence::model
