#include "sequence_run.hpp"

namespace presence::model::detail {

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

}  // namespace presence::model::detail
