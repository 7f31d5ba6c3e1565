#include "redis/redis_link.hpp"

#include <chrono>
#include <cstdlib>
#include <iterator>
#include <optional>
#include <utility>

#include "redis/packed_hash.hpp"
#include "redis/presence_scripts.hpp"

namespace presence::redis {

namespace {

using Clock = std::chrono::steady_clock;

core::Millis steady_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
        .count();
}

core::Millis wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string millis_text(std::optional<core::Millis> v) {
    return v ? std::to_string(*v) : std::string();
}

// Stream ids are "<ms>-<seq>"; anything else counts as 0-0.
std::pair<std::uint64_t, std::uint64_t> id_parts(const std::string& id) {
    std::pair<std::uint64_t, std::uint64_t> out{0, 0};
    if (!parse_stream_id(id, out)) out = {0, 0};
    return out;
}

bool is_io_error(const Reply& r) {
    return r.is_error_with("IOERR");
}

constexpr std::size_t kMaxBatch = 512;
// Users per batched put script (one Redis): long enough to pay EVALSHA's own cost once for
// many, short enough that one call holds Redis for ~1 ms, not the whole batch's time.
constexpr std::size_t kPutsPerScript = 64;
constexpr std::size_t kNoSlot = static_cast<std::size_t>(-1);
constexpr core::Millis kGapCheckMs = 5'000;

}  // namespace

struct RedisLink::Job {
    enum class Kind { Put, Friendship, Fetch, Registered } kind = Kind::Put;
    std::string user;
    Argv argv;  // Put: the user's script arguments after the instance (put_user_script)
    bool has_devices = false;
    std::size_t reply = 0;       // Put, Friendship: the index of its command's reply
    std::size_t slot = kNoSlot;  // Put with one Redis: its place in the batched script's answer
    bool add = false;
    std::string a, b;
    std::uint64_t token = 0;
    std::vector<std::string> users;
};

RedisLink::RedisLink(LinkOptions options) : options_(std::move(options)) {
    feed_key_ = "{presence}:feed";
    instances_key_ = "{presence}:instances";
    own_set_key_ = "{presence}:inst:" + options_.instance;
    registered_key_ = "{presence}:registered";
    ClientOptions co;
    writer_client_ = std::make_unique<RedisClient>(options_.url, co);
    co.command_timeout_ms = 3000;  // more than the reader's XREAD BLOCK
    reader_client_ = std::make_unique<RedisClient>(options_.url, co);
}

std::unique_ptr<RedisLink> RedisLink::start(LinkOptions options, std::string& why) {
    std::unique_ptr<RedisLink> link(new RedisLink(std::move(options)));
    std::string detail;
    const ConnectResult r = link->writer_client_->connect(detail);
    if (r == ConnectResult::Refused) {
        why = detail;
        return nullptr;
    }
    if (r == ConnectResult::Unreachable) {
        link->warned_unreachable_ = true;
        link->log(1, "unreachable at start (" + detail +
                         "): serving this instance's users alone, retrying every second");
    }
    link->writer_ = std::thread([l = link.get()] { l->writer_main(); });
    link->reader_ = std::thread([l = link.get()] { l->reader_main(); });
    return link;
}

RedisLink::~RedisLink() {
    stop(false, 0);
}

// ---------------------------------------------------------------------------------------
// Loop thread

void RedisLink::put(const core::SharedUser& u) {
    Job j;
    j.kind = Job::Kind::Put;
    j.user.assign(u.user_id);
    j.has_devices = !u.devices.empty();
    const core::UserRecord& r = u.record;
    std::string vis;
    for (const auto& id : r.visibility) {
        if (!vis.empty()) vis.push_back(' ');
        vis += id;
    }
    Argv& a = j.argv;
    a.reserve(10 + 2 * u.devices.size());
    a.push_back(millis_text(u.left_at));
    a.emplace_back(u.left_idle ? "1" : "0");
    a.emplace_back(u.record_changed ? "1" : "i");
    a.push_back(std::to_string(static_cast<int>(r.chosen)));
    a.push_back(r.message.value_or(""));
    a.push_back(millis_text(r.until));
    a.push_back(millis_text(r.last_seen));
    a.push_back(millis_text(r.last_seen_listed));
    a.push_back(std::move(vis));
    a.push_back(std::to_string(u.devices.size()));
    for (const auto& d : u.devices) {
        a.push_back(std::to_string(d.conn));
        a.emplace_back(d.idle ? "1" : "0");
    }
    std::lock_guard lk(mutex_);
    jobs_.push_back(std::move(j));
    cv_.notify_one();
}

void RedisLink::friendship(bool add, const std::string& a, const std::string& b) {
    Job j;
    j.kind = Job::Kind::Friendship;
    j.add = add;
    j.a = a;
    j.b = b;
    std::lock_guard lk(mutex_);
    jobs_.push_back(std::move(j));
    cv_.notify_one();
}

std::uint64_t RedisLink::fetch(std::vector<std::string> users) {
    Job j;
    j.kind = Job::Kind::Fetch;
    j.users = std::move(users);
    std::lock_guard lk(mutex_);
    j.token = next_token_++;
    const auto token = j.token;
    jobs_.push_back(std::move(j));
    cv_.notify_one();
    return token;
}

void RedisLink::registered() {
    Job j;
    j.kind = Job::Kind::Registered;
    std::lock_guard lk(mutex_);
    jobs_.push_back(std::move(j));
    cv_.notify_one();
}

void RedisLink::take(std::vector<LinkEvent>& out) {
    std::lock_guard lk(mutex_);
    if (out.empty()) {
        out.swap(events_);
    } else {
        for (auto& e : events_) out.push_back(std::move(e));
        events_.clear();
    }
}

LinkStats RedisLink::stats() const {
    LinkStats s;
    s.up = up_.load();
    s.published = published_.load();
    s.feed_received = received_.load();
    s.instances_reaped = reaped_instances_.load();
    s.users_reaped = reaped_users_.load();
    s.feed_lag_ms = feed_lag_ms_.load();
    return s;
}

void RedisLink::stop(bool clean, int max_wait_ms) {
    {
        std::lock_guard lk(mutex_);
        if (stopping_ && !writer_.joinable() && !reader_.joinable()) return;
        stopping_ = true;
        clean_stop_ = clean;
        cv_.notify_all();
    }
    (void)max_wait_ms;  // bounded by the clients' timeouts (see ClientOptions)
    if (writer_.joinable()) writer_.join();
    if (reader_.joinable()) reader_.join();
}

// ---------------------------------------------------------------------------------------
// Both threads

void RedisLink::emit(LinkEvent e) {
    {
        std::lock_guard lk(mutex_);
        events_.push_back(std::move(e));
    }
    if (options_.wake) options_.wake();
}

void RedisLink::log(int level, std::string text) {
    LinkEvent e;
    e.kind = LinkEvent::Kind::Log;
    e.level = level;
    e.text = "redis: " + std::move(text);
    emit(std::move(e));
}

// ---------------------------------------------------------------------------------------
// Writer thread

void RedisLink::set_up(bool up, bool data_lost) {
    if (up == writer_up_ && !data_lost) return;
    const bool changed = up != writer_up_;
    // What Redis holds of this instance's set is unknown after a drop or a data loss: every
    // user's next change sends its membership again.
    if (!up || data_lost) in_own_set_.clear();
    writer_up_ = up;
    up_ = up;
    LinkEvent e;
    e.kind = up ? LinkEvent::Kind::Up : LinkEvent::Kind::Down;
    e.data_lost = data_lost;
    if (up && changed) {
        up_since_ = steady_ms();
        put_failed_ = false;  // the loop side sends every refused put again, then a mark
    }
    if (changed) log(up ? 0 : 1, up ? "link up" : "link down: serving this instance's users alone");
    emit(std::move(e));
}

void RedisLink::writer_main() {
    std::string why;
    for (;;) {
        std::vector<Job> batch;
        bool stopping = false;
        {
            std::unique_lock lk(mutex_);
            const core::Millis wait = std::max<core::Millis>(0, next_beat_ - steady_ms());
            cv_.wait_for(lk, std::chrono::milliseconds(wait),
                         [&] { return stopping_ || (!jobs_.empty() && writer_up_); });
            stopping = stopping_;
            while (!jobs_.empty() && batch.size() < kMaxBatch) {
                batch.push_back(std::move(jobs_.front()));
                jobs_.pop_front();
            }
        }
        if (!writer_client_->connected()) {
            const ConnectResult r = writer_client_->connect(why);
            if (r != ConnectResult::Ok) {
                if (!warned_unreachable_) log(1, "cannot reach Redis: " + why);
                warned_unreachable_ = true;
                set_up(false, false);
            } else {
                warned_unreachable_ = false;
            }
        }
        if (!writer_client_->connected()) {
            // Down: puts and fetches are answered "not done" (the loop side publishes the
            // users again once Redis is back); friendships wait for it.
            std::vector<Job> keep;
            for (auto& j : batch) {
                if (j.kind == Job::Kind::Friendship) {
                    keep.push_back(std::move(j));
                    continue;
                }
                // The loop side sends its mark again after the puts it sends again on return.
                if (j.kind == Job::Kind::Registered) continue;
                LinkEvent e;
                e.ok = false;
                e.kind = j.kind == Job::Kind::Put ? LinkEvent::Kind::Put : LinkEvent::Kind::Fetched;
                e.user = std::move(j.user);
                e.token = j.token;
                emit(std::move(e));
            }
            {
                std::lock_guard lk(mutex_);
                for (auto it = keep.rbegin(); it != keep.rend(); ++it) {
                    jobs_.push_front(std::move(*it));
                }
            }
            if (stopping) return;
            std::unique_lock lk(mutex_);
            cv_.wait_for(lk, std::chrono::milliseconds(500), [&] { return stopping_; });
            continue;
        }
        if (!cleaned_) {
            // A previous run under the same instance id (a fixed presence.instance_id,
            // restarted after a crash) may have left devices: this run's heartbeat would keep
            // them alive forever, so they go before this run writes anything.
            cleaned_ = true;
            drop_all_of(options_.instance, std::to_string(wall_ms()), false);
        }
        if (!writer_up_) {
            // (Re)connected: the heartbeat first, so a Redis that lost its data is known as
            // such before anything read from it is handed to the loop side.
            next_beat_ = steady_ms() + options_.heartbeat_ms;
            beat();
        }
        if (!batch.empty()) run_jobs(batch);
        if (stopping) {
            std::lock_guard lk(mutex_);
            if (!jobs_.empty()) continue;  // finish what was asked before stopping
        }
        if (stopping) {
            if (clean_stop_ && writer_client_->connected()) {
                drop_all_of(options_.instance, std::to_string(wall_ms()), false);
                Reply r;
                writer_client_->run_one(
                    {instances_key_, {"ZREM", instances_key_, options_.instance}}, r);
                writer_client_->run_one(
                    {registered_key_, {"HDEL", registered_key_, options_.instance}}, r);
            }
            return;
        }
        if (steady_ms() >= next_beat_) {
            next_beat_ = steady_ms() + options_.heartbeat_ms;
            beat();
        }
    }
}

void RedisLink::run_jobs(std::vector<Job>& jobs) {
    std::vector<Command> cmds;
    // One Redis: consecutive puts go as one batched script that also writes their feed
    // entries. A cluster: one script per user (one slot each), the feed written after.
    std::vector<Job*> chunk;
    std::vector<Command> after_chunk;
    auto flush_chunk = [&] {
        if (chunk.empty()) return;
        Argv a;
        a.push_back(std::to_string(chunk.size() + 1));
        a.push_back(feed_key_);
        for (Job* j : chunk) a.push_back(user_key(j->user));
        a.push_back(options_.instance);
        for (Job* j : chunk) {
            for (auto& x : j->argv) a.push_back(std::move(x));
        }
        for (std::size_t k = 0; k < chunk.size(); ++k) {
            chunk[k]->reply = cmds.size();
            chunk[k]->slot = k;
        }
        cmds.push_back({feed_key_, std::move(a), &put_users_script()});
        for (auto& c : after_chunk) cmds.push_back(std::move(c));
        chunk.clear();
        after_chunk.clear();
    };
    for (auto& j : jobs) {
        if (j.kind != Job::Kind::Put || chunk.size() == kPutsPerScript) flush_chunk();
        switch (j.kind) {
            case Job::Kind::Put: {
                // The instance's set of users (for reaping) changes only when the user's first
                // device here comes or the last goes: most changes cost the set nothing. Added
                // before the devices are written and removed after they are gone, so a device in
                // Redis is always in its instance's set when the instance dies.
                std::optional<Command> set_cmd;
                if (j.has_devices != (in_own_set_.count(j.user) > 0)) {
                    set_cmd = Command{own_set_key_,
                                      {j.has_devices ? "SADD" : "SREM", own_set_key_, j.user}};
                    if (j.has_devices) {
                        in_own_set_.insert(j.user);
                    } else {
                        in_own_set_.erase(j.user);
                    }
                }
                if (set_cmd && j.has_devices) {
                    // An SREM waiting for the batch's end would come after this SADD: the
                    // batch ends here instead, so the set ends as the devices do.
                    if (!after_chunk.empty()) flush_chunk();
                    cmds.push_back(std::move(*set_cmd));
                }
                if (!options_.url.cluster) {
                    chunk.push_back(&j);
                    if (set_cmd && !j.has_devices) after_chunk.push_back(std::move(*set_cmd));
                    break;
                }
                const std::string key = user_key(j.user);
                Argv a = {"1", key, options_.instance};
                for (auto& x : j.argv) a.push_back(std::move(x));
                j.reply = cmds.size();
                cmds.push_back({key, std::move(a), &put_user_script()});
                if (set_cmd && !j.has_devices) cmds.push_back(std::move(*set_cmd));
                break;
            }
            case Job::Kind::Friendship:
                j.reply = cmds.size();
                cmds.push_back(
                    {feed_key_,
                     {"XADD", feed_key_, "MAXLEN", "~", kFeedMaxLen, "*", "o", options_.instance,
                      "k", "f", "op", j.add ? "a" : "r", "a", j.a, "b", j.b}});
                break;
            case Job::Kind::Fetch:
                j.reply = cmds.size();
                for (const auto& u : j.users)
                    cmds.push_back({user_key(u), {"HGETALL", user_key(u)}});
                break;
            case Job::Kind::Registered:
                break;  // written after the batch (below)
        }
    }
    flush_chunk();
    std::vector<Reply> replies;
    bool all_ok = writer_client_->run(cmds, replies);
    replies.resize(cmds.size(), Reply::error("IOERR no reply"));

    // Each written change goes to the feed, with the state the script returned (a cluster).
    std::vector<Command> feed;
    std::vector<LinkEvent> out;
    bool mark = false;
    for (auto& j : jobs) {
        switch (j.kind) {
            case Job::Kind::Put: {
                const Reply& r = replies[j.reply];
                LinkEvent e;
                e.kind = LinkEvent::Kind::Put;
                e.user = j.user;
                // What Redis said when the change was not taken (the whole call's error, or
                // this user's alone in a batch); empty when nothing needs logging.
                std::string refused;
                if (j.slot != kNoSlot) {
                    // The batched script's answer: one packed hash per user, in order, or the
                    // error of that user's step alone.
                    const Reply* el =
                        r.is_array() && j.slot < r.elements.size() ? &r.elements[j.slot] : nullptr;
                    e.ok = el != nullptr && el->type == Reply::Type::String &&
                           unpack_user_hash(el->str, e.hash);
                    if (e.ok) {
                        published_.fetch_add(1);  // by the script
                    } else if (el != nullptr) {
                        refused = el->is_error() ? el->str : "an odd answer";
                    } else if (j.slot == 0 && !is_io_error(r)) {
                        refused = r.is_error() ? r.str : "an odd answer";  // once per call
                    }
                } else {
                    e.ok = r.is_array();
                    if (e.ok) {
                        e.hash = parse_user_hash(r);
                        feed.push_back(user_feed_entry(j.user, r));
                    } else if (!is_io_error(r)) {
                        refused = r.is_error() ? r.str : "an odd answer";
                    }
                }
                if (!e.ok) put_failed_ = true;
                if (!refused.empty()) log(2, "writing user " + j.user + " failed: " + refused);
                out.push_back(std::move(e));
                break;
            }
            case Job::Kind::Friendship:
                if (!replies[j.reply].is_error()) published_.fetch_add(1);
                break;
            case Job::Kind::Fetch: {
                LinkEvent e;
                e.kind = LinkEvent::Kind::Fetched;
                e.token = j.token;
                std::size_t i = j.reply;
                for (const auto& u : j.users) {
                    const Reply& r = replies[i++];
                    if (!r.is_array()) e.ok = false;
                    e.fetched.emplace_back(u, parse_user_hash(r));
                }
                out.push_back(std::move(e));
                break;
            }
            case Job::Kind::Registered:
                // Every put queued before it taken (a refused one is sent again by the loop
                // side, with another mark after it).
                mark = !put_failed_;
                put_failed_ = false;
                break;
        }
    }
    if (!feed.empty()) {
        std::vector<Reply> fr;
        if (!writer_client_->run(feed, fr)) all_ok = false;
        for (const auto& r : fr) {
            if (!r.is_error()) published_.fetch_add(1);
        }
    }
    // Written once this batch's answers are all in (with a cluster, on other nodes too). Jobs
    // run in order, so the puts of the re-registration went before.
    if (mark && all_ok) {
        // The run ids of every node seen: a mark holding those of the latest restarts was
        // written after this instance registered again following them.
        std::string ids = " ";
        for (const auto& [node, id] : run_ids_) ids += id + ' ';
        Reply r;
        writer_client_->run_one(
            {registered_key_, {"HSET", registered_key_, options_.instance, ids}}, r);
    }
    {
        std::lock_guard lk(mutex_);
        for (auto& e : out) events_.push_back(std::move(e));
    }
    if (options_.wake) options_.wake();
    if (all_ok) {
        set_up(true, false);
    } else {
        writer_client_->close();
        set_up(false, false);
    }
}

Command RedisLink::user_feed_entry(const std::string& user, const Reply& hash) const {
    Argv x = {"XADD", feed_key_,         "MAXLEN", "~", kFeedMaxLen, "*",
              "o",    options_.instance, "k",      "u", "u",         user};
    for (const auto& el : hash.elements) x.push_back(el.str);
    return {feed_key_, std::move(x)};
}

void RedisLink::beat() {
    const core::Millis dead_after = std::max<core::Millis>(options_.instance_ttl_ms / 3, 1000);
    // The heartbeat, and who else beats (O(instances) once a second, never per change).
    std::vector<Command> cmds;
    cmds.push_back({instances_key_,
                    {"1", instances_key_, options_.instance, std::to_string(dead_after)},
                    &heartbeat_script()});
    cmds.push_back({instances_key_, {"ZRANGE", instances_key_, "0", "-1", "WITHSCORES"}});
    std::vector<Reply> replies;
    writer_client_->run(cmds, replies);
    replies.resize(2, Reply::error("IOERR no reply"));
    const Reply& r = replies[0];
    if (!r.is_array() || r.elements.size() < 2) {
        if (is_io_error(r) || !r.is_array()) {
            if (!r.str.empty() && !is_io_error(r)) log(2, "heartbeat failed: " + r.str);
            writer_client_->close();
            set_up(false, false);
        }
        return;
    }
    const bool added = r.elements[0].integer == 1;
    const core::Millis now = r.elements[1].integer;
    // A node that restarted (new run_id) lost what it held, heartbeat or not: in a cluster,
    // users whose hashes sit on that node only.
    bool ids_known = true;
    std::vector<std::string> new_ids;  // of the nodes that restarted
    for (auto& [node, id] : writer_client_->node_run_ids()) {
        if (id.empty()) {
            ids_known = false;
            continue;
        }
        auto& known = run_ids_[node];
        if (!known.empty() && known != id) new_ids.push_back(id);
        known = id;
    }
    const bool restarted = !new_ids.empty();
    if (restarted) restart_ids_ = new_ids;
    std::map<std::string, core::Millis> members;  // other instances: Redis time of last beat
    const Reply& z = replies[1];
    for (std::size_t k = 0; z.is_array() && k + 1 < z.elements.size(); k += 2) {
        if (z.elements[k].str == options_.instance) continue;
        members[z.elements[k].str] = std::atoll(z.elements[k + 1].str.c_str());
    }
    const bool lost = (added && registered_) || restarted;
    registered_ = true;
    if (lost) {
        // A node lost its data (or may have: run ids unknown): every instance known before
        // registers again, and until each has (or has fallen silent) a user missing from
        // Redis may just be theirs. Reaped while paused, nobody else lost anything.
        if (restarted || !ids_known) awaiting_.insert(peers_.begin(), peers_.end());
        resync_owed_ = true;
    }
    if (z.is_array() && !resync_owed_) {
        // Who was there before a loss: kept as it was until the resync after it.
        peers_.clear();
        for (const auto& [m, score] : members) peers_.insert(m);
    }
    set_up(true, lost);
    if (lost) {
        log(1,
            "Redis lost this instance's state (a node restarted, or this instance was reaped "
            "while paused): registering every connection again");
    }
    if (resync_owed_) {
        settle(members, now, dead_after);
    } else if ((ids_known || run_ids_.empty()) && gap_.exchange(false)) {
        // A feed gap with Redis' data kept (no node restarted): read every loaded user again.
        // (Not while a node's run id is unknown: it may be one restarting; nor to be waited
        // for when no node ever told its run id.)
        LinkEvent e;
        e.kind = LinkEvent::Kind::Up;
        e.resync = true;
        emit(std::move(e));
    }
    // Right after the link came back, others' heartbeats may be stale through no fault of
    // theirs (Redis was away for everyone): wait before judging anyone dead.
    if (steady_ms() - up_since_ < 2 * dead_after) return;
    for (std::size_t k = 2; k + 1 < r.elements.size(); k += 2) {
        reap(r.elements[k].str, r.elements[k + 1].str);
    }
}

void RedisLink::settle(const std::map<std::string, core::Millis>& members, core::Millis now,
                       core::Millis dead_after) {
    Reply marks;
    if (!writer_client_->run_one({registered_key_, {"HGETALL", registered_key_}}, marks) ||
        !marks.is_array()) {
        return;  // asked again at the next beat
    }
    std::map<std::string, std::string> mark_of;
    for (std::size_t k = 0; k + 1 < marks.elements.size(); k += 2) {
        mark_of[marks.elements[k].str] = marks.elements[k + 1].str;
    }
    // The reap rule's patience: nobody is judged silent before two reap periods of link.
    const bool judge = steady_ms() - up_since_ >= 2 * dead_after;
    for (auto it = awaiting_.begin(); it != awaiting_.end();) {
        const auto m = mark_of.find(*it);
        const auto b = members.find(*it);
        bool again = m != mark_of.end();
        for (const auto& id : restart_ids_) {
            if (again && m->second.find(' ' + id + ' ') == std::string::npos) again = false;
        }
        const bool silent = judge && (b == members.end() || b->second <= now - dead_after);
        it = again || silent ? awaiting_.erase(it) : std::next(it);
    }
    if (!awaiting_.empty()) return;
    resync_owed_ = false;
    gap_ = false;  // covered by this resync
    log(0, "every instance registered again (or fell silent): reading every loaded user again");
    LinkEvent e;
    e.kind = LinkEvent::Kind::Up;
    e.resync = true;
    emit(std::move(e));
}

void RedisLink::reap(const std::string& instance, const std::string& score) {
    Reply claim;
    const std::string claim_key = "{presence}:reap:" + instance;
    writer_client_->run_one({claim_key, {"SET", claim_key, options_.instance, "NX", "PX", "60000"}},
                            claim);
    if (claim.type != Reply::Type::Status) return;  // another survivor has it
    const std::uint64_t before = reaped_users_.load();
    drop_all_of(instance, score, true);
    Reply r;
    writer_client_->run_one({instances_key_, {"ZREM", instances_key_, instance}}, r);
    writer_client_->run_one({registered_key_, {"HDEL", registered_key_, instance}}, r);
    reaped_instances_.fetch_add(1);
    log(1, "instance " + instance + " silent since " + score + ": reaped, " +
               std::to_string(reaped_users_.load() - before) + " users");
}

void RedisLink::drop_all_of(const std::string& instance, const std::string& gone_since,
                            bool announce_locally) {
    const std::string set_key = "{presence}:inst:" + instance;
    Reply members;
    if (!writer_client_->run_one({set_key, {"SMEMBERS", set_key}}, members) ||
        !members.is_array()) {
        return;
    }
    const auto& users = members.elements;
    for (std::size_t from = 0; from < users.size(); from += kMaxBatch) {
        const std::size_t to = std::min(users.size(), from + kMaxBatch);
        std::vector<Command> cmds;
        for (std::size_t k = from; k < to; ++k) {
            const std::string key = user_key(users[k].str);
            cmds.push_back({key, {"1", key, instance, gone_since}, &drop_instance_script()});
        }
        std::vector<Reply> replies;
        writer_client_->run(cmds, replies);
        std::vector<Command> feed;
        for (std::size_t k = 0; k < replies.size(); ++k) {
            const Reply& r = replies[k];
            if (!r.is_array() || r.elements.empty()) continue;
            const std::string& user = users[from + k].str;
            feed.push_back(user_feed_entry(user, r));
            reaped_users_.fetch_add(announce_locally ? 1 : 0);
            if (announce_locally) {
                LinkEvent e;
                e.kind = LinkEvent::Kind::User;
                e.user = user;
                e.hash = parse_user_hash(r);
                emit(std::move(e));
            }
        }
        std::vector<Reply> fr;
        if (!feed.empty()) writer_client_->run(feed, fr);
        published_.fetch_add(fr.size());
    }
    Reply r;
    writer_client_->run_one({set_key, {"DEL", set_key}}, r);
}

// ---------------------------------------------------------------------------------------
// Reader thread

void RedisLink::reader_main() {
    std::string why;
    for (;;) {
        {
            std::lock_guard lk(mutex_);
            if (stopping_) return;
        }
        if (!reader_client_->connected()) {
            if (reader_client_->connect(why) != ConnectResult::Ok) {
                std::unique_lock lk(mutex_);
                cv_.wait_for(lk, std::chrono::milliseconds(500), [&] { return stopping_; });
                continue;
            }
            Reply r;
            if (last_id_.empty()) {
                // First connection: changes from now on (the loader reads current state).
                reader_client_->run_one(
                    {feed_key_, {"XREVRANGE", feed_key_, "+", "-", "COUNT", "1"}}, r);
                last_id_ = "0-0";
                if (r.is_array() && !r.elements.empty() && r.elements[0].is_array() &&
                    !r.elements[0].elements.empty()) {
                    last_id_ = r.elements[0].elements[0].str;
                }
            } else {
                check_gap();  // back after a drop: resume from the last id if the feed has it
            }
            next_gap_check_ = steady_ms() + kGapCheckMs;
        }
        read_feed();
        if (steady_ms() >= next_gap_check_) {
            // A reader that was paused (SIGSTOP) keeps its connection but may have fallen
            // behind the feed's trimming.
            check_gap();
            next_gap_check_ = steady_ms() + kGapCheckMs;
        }
    }
}

void RedisLink::check_gap() {
    // The last entry read is trimmed away (or Redis lost the whole feed): entries after it may
    // have gone unread, so what the loaded users are must be read again. Readers keep up, so
    // the last entry they read is among the newest and stays while they do.
    if (last_id_ == "0-0") return;
    Reply r;
    if (!reader_client_->run_one({feed_key_, {"XRANGE", feed_key_, last_id_, last_id_}}, r) ||
        !r.is_array()) {
        return;
    }
    const bool gap = r.elements.empty();
    if (gap) {
        Reply len;
        reader_client_->run_one({feed_key_, {"XLEN", feed_key_}}, len);
        if (len.integer == 0) last_id_ = "0-0";  // no feed at all: Redis lost it
    }
    if (!gap) return;
    // The writer asks for the resync at its next beat, unless Redis lost its data: then the
    // resync waits for every instance to register again (beat()).
    log(1,
        "the change feed lost entries this instance had not read: reading every loaded user "
        "again");
    gap_ = true;
}

void RedisLink::read_feed() {
    Reply r;
    const bool ok = reader_client_->run_one(
        {feed_key_, {"XREAD", "COUNT", "1000", "BLOCK", "500", "STREAMS", feed_key_, last_id_}}, r);
    if (!ok || is_io_error(r)) {
        reader_client_->close();
        return;
    }
    if (r.is_error()) {
        log(2, "reading the feed failed: " + r.str);
        reader_client_->close();
        return;
    }
    if (r.is_nil()) return;  // BLOCK timed out: nothing new
    std::vector<LinkEvent> out;
    parse_feed_reply(r, options_.instance, last_id_, out);
    received_.fetch_add(out.size());
    if (!last_id_.empty()) {
        const auto ms = static_cast<core::Millis>(id_parts(last_id_).first);
        feed_lag_ms_ = std::max<core::Millis>(0, wall_ms() - ms);
    }
    if (out.empty()) return;
    {
        std::lock_guard lk(mutex_);
        for (auto& e : out) events_.push_back(std::move(e));
    }
    if (options_.wake) options_.wake();
}

}  // namespace presence::redis
