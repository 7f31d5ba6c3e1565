#include "service/shared_presence.hpp"

#include <utility>

#include "presence_plugin.h"

namespace presence::service {

namespace {
constexpr core::Millis kRetryMs = 1'000;
}  // namespace

SharedPresence::SharedPresence(core::PresenceCore& core, std::unique_ptr<redis::RedisLink> link,
                               std::string instance, Clock now, Log log, FriendshipFn on_friendship)
    : core_(core),
      link_(std::move(link)),
      instance_(std::move(instance)),
      now_(std::move(now)),
      log_(std::move(log)),
      on_friendship_(std::move(on_friendship)) {}

SharedPresence::~SharedPresence() {
    stop(false);
}

void SharedPresence::stop(bool clean) {
    if (link_) link_->stop(clean, 2000);
}

bool SharedPresence::up() const {
    return link_ && link_->stats().up;
}

SharedStats SharedPresence::stats() const {
    SharedStats s;
    if (link_) s.link = link_->stats();
    s.applied = applied_;
    s.resyncs = resyncs_;
    return s;
}

void SharedPresence::publish_changes() {
    core_.drain_shared([this](const core::SharedUser& u) {
        ++pending_[std::string(u.user_id)].in_flight;
        link_->put(u);
    });
}

void SharedPresence::friendship(bool add, const std::string& a, const std::string& b) {
    link_->friendship(add, a, b);
}

void SharedPresence::fetch(std::vector<std::string> users, Fetched done) {
    fetches_.emplace(link_->fetch(std::move(users)), std::move(done));
}

void SharedPresence::loaded(const std::string& user, const redis::UserHash& hash) {
    auto& v = versions_[user];
    if (hash.version > v) v = hash.version;
    core_.apply_remote(user, hash.remote_for(instance_), nullptr, now_());
}

bool SharedPresence::may_forget(const std::string& user) const {
    return !pending_.count(user) && !failed_.count(user);
}

void SharedPresence::forget(const std::string& user) {
    // News of a user not loaded is ignored (apply), and loading reads the hash again with its
    // version, so nothing else is kept per user.
    versions_.erase(user);
}

void SharedPresence::on_wake() {
    events_.clear();
    link_->take(events_);
    for (auto& e : events_) handle(e);
    events_.clear();
}

void SharedPresence::tick() {
    const core::Millis now = now_();
    // A change Redis answered with an error (CLUSTERDOWN while a master is away, ...) is
    // written again every second until it is taken.
    if (!failed_.empty() && now >= next_retry_ && up()) {
        next_retry_ = now + kRetryMs;
        republish_failed();
        link_->registered();
    }
}

void SharedPresence::handle(redis::LinkEvent& e) {
    using Kind = redis::LinkEvent::Kind;
    switch (e.kind) {
        case Kind::Log:
            log_(e.level == 0   ? PRESENCE_LOG_INFO
                 : e.level == 1 ? PRESENCE_LOG_WARN
                                : PRESENCE_LOG_ERROR,
                 e.text);
            return;
        case Kind::Put: {
            auto it = pending_.find(e.user);
            if (it == pending_.end()) return;
            Pending& p = it->second;
            if (p.in_flight > 0) --p.in_flight;
            if (!e.ok) failed_.insert(e.user);
            if (p.in_flight > 0) {
                if (e.ok && e.hash.version > p.newest.version) {
                    p.newest = std::move(e.hash);  // the merged state so far
                    p.held = true;
                }
                return;
            }
            // Settled: the newest of the script's answer and what was held back.
            redis::UserHash best = std::move(p.newest);
            const bool have = p.held || e.ok;
            if (e.ok && e.hash.version > best.version) best = std::move(e.hash);
            pending_.erase(it);
            if (have) apply(e.user, best, false);
            return;
        }
        case Kind::User: {
            auto it = pending_.find(e.user);
            if (it != pending_.end()) {
                if (e.hash.version > it->second.newest.version) {
                    it->second.newest = std::move(e.hash);
                    it->second.held = true;
                }
                return;
            }
            ++applied_;
            apply(e.user, e.hash, false);
            return;
        }
        case Kind::Friendship:
            ++applied_;
            on_friendship_(e.add, e.a, e.b);
            return;
        case Kind::Fetched: {
            auto it = fetches_.find(e.token);
            if (it == fetches_.end()) return;
            auto done = std::move(it->second);
            fetches_.erase(it);
            std::vector<redis::UserHash> hashes;
            if (e.ok) {
                for (auto& [user, hash] : e.fetched) hashes.push_back(std::move(hash));
            } else {
                fetch_failed_ = true;  // loaded from the store alone: read again on return
            }
            done(e.ok, std::move(hashes));
            return;
        }
        case Kind::Down:
            return;
        case Kind::Up:
            if (e.resync) {
                // The link's call: the feed skipped entries, or after a data loss every other
                // instance has registered again or fallen silent past the reap period. Only
                // then may a user missing from Redis be taken as gone.
                awaiting_resync_ = false;
                fetch_failed_ = false;
                resync();
                return;
            }
            // Redis kept its data: only what it did not take is written again, and the feed
            // reader resumes from its last entry. It lost its data: every local user is
            // registered again, and users of other instances keep their last known presence
            // until the link's resync (a user missing from Redis may belong to an instance
            // that has not registered again yet).
            if (e.data_lost) {
                awaiting_resync_ = true;
                republish_local();
            } else {
                republish_failed();
            }
            link_->registered();  // after the puts just queued
            if (!awaiting_resync_ && std::exchange(fetch_failed_, false)) resync();
            return;
    }
}

void SharedPresence::apply(const std::string& user, const redis::UserHash& hash, bool force) {
    // News of users nobody here has loaded is not kept: loading reads the hash anyway, and
    // remembering every user of the service would grow without bound.
    if (!core_.has_user(user)) return;
    auto& known = versions_[user];
    if (!force && hash.version <= known) return;  // older news than what the core has
    if (hash.version > known) known = hash.version;
    core::UserRecord record;
    const core::UserRecord* rec = nullptr;
    if (hash.has_record) {
        record = hash.record;
        record.user_id = user;
        rec = &record;
    }
    core_.apply_remote(user, hash.remote_for(instance_), rec, now_());
}

void SharedPresence::republish(const std::unordered_set<std::string>& users) {
    for (const auto& id : users) {
        core_.shared_state(id, [this](const core::SharedUser& u) {
            ++pending_[std::string(u.user_id)].in_flight;
            link_->put(u);
        });
    }
}

void SharedPresence::republish_failed() {
    std::unordered_set<std::string> users;
    users.swap(failed_);
    republish(users);
}

void SharedPresence::republish_local() {
    // Every user with a connection here, and every change Redis did not take.
    std::unordered_set<std::string> users;
    users.swap(failed_);
    for (auto& u : core_.local_users()) users.insert(std::move(u));
    republish(users);
    log_(PRESENCE_LOG_INFO,
         "redis: registered " + std::to_string(users.size()) + " users of this instance again");
}

void SharedPresence::resync() {
    std::vector<std::string> users = core_.loaded_users();
    ++resyncs_;
    if (users.empty()) return;
    auto ids = std::make_shared<std::vector<std::string>>(users);
    fetch(std::move(users), [this, ids](bool ok, std::vector<redis::UserHash> hashes) {
        if (!ok) return;
        for (std::size_t i = 0; i < ids->size() && i < hashes.size(); ++i) {
            // A user Redis no longer knows (version 0) has no device elsewhere: apply that too.
            apply((*ids)[i], hashes[i], hashes[i].version == 0);
        }
    });
}

}  // namespace presence::service
