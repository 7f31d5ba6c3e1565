#include "service/user_loader.hpp"

#include <unordered_set>

#include "service/shared_presence.hpp"

namespace presence::service {

void UserLoader::finish(const std::shared_ptr<Job>& job, bool ok) {
    if (!ok) job->ok = false;
    if (--job->remaining == 0) {
        auto done = std::move(job->done);
        done(job->ok);
    }
}

void UserLoader::wake_waiters(Waiters& waiting, const std::string& id, bool ok) {
    const auto it = waiting.find(id);
    if (it == waiting.end()) return;
    auto jobs = std::move(it->second);
    waiting.erase(it);
    for (const auto& job : jobs) finish(job, ok);
}

UserLoader::Done UserLoader::pinned_until_done(std::vector<std::string> ids, Done done) {
    for (const auto& id : ids) ++pins_[id];
    return [this, ids = std::move(ids), done = std::move(done)](bool ok) {
        done(ok);  // runs the request while its users are still pinned
        for (const auto& id : ids) {
            const auto it = pins_.find(id);
            if (it != pins_.end() && --it->second == 0) pins_.erase(it);
        }
    };
}

void UserLoader::ensure(const std::vector<std::string>& records,
                        const std::vector<std::string>& friends, Done done) {
    auto job = std::make_shared<Job>();
    std::vector<std::string> held = records;
    held.insert(held.end(), friends.begin(), friends.end());
    job->done = pinned_until_done(std::move(held), std::move(done));

    std::vector<std::string> to_load;
    for (const auto& id : records) {
        if (core_.has_user(id)) continue;
        auto [it, fresh] = records_waiting_.try_emplace(id);
        if (fresh) to_load.push_back(id);
        it->second.push_back(job);
        ++job->remaining;
    }
    std::vector<std::string> friends_to_load;
    for (const auto& id : friends) {
        if (core_.has_friends(id)) continue;
        auto [it, fresh] = friends_waiting_.try_emplace(id);
        if (fresh) friends_to_load.push_back(id);
        it->second.push_back(job);
        ++job->remaining;
    }

    if (!to_load.empty()) load_records(std::move(to_load));
    for (auto& id : friends_to_load) {
        store_.load_friends(id, [this, id](bool ok, std::vector<std::string> list) {
            if (ok) core_.load_friends(id, list);
            wake_waiters(friends_waiting_, id, ok);
        });
    }
    finish(job, true);
}

namespace {

// Redis holds the durable part as last written by any instance: newer than the store's copy,
// which the instance that made the change writes behind.
void merge_shared(core::UserRecord& r, const redis::UserHash& h) {
    if (!h.has_record) return;
    const auto later = [](std::optional<core::Millis> a, std::optional<core::Millis> b) {
        if (!a) return b;
        if (!b) return a;
        return std::optional<core::Millis>(std::max(*a, *b));
    };
    r.chosen = h.record.chosen;
    r.message = h.record.message;
    r.until = h.record.until;
    r.visibility = h.record.visibility;
    r.last_seen = later(r.last_seen, h.record.last_seen);
    r.last_seen_listed = later(r.last_seen_listed, h.record.last_seen_listed);
}

}  // namespace

void UserLoader::load_records(std::vector<std::string> to_load) {
    auto ids = to_load;  // kept to wake waiters even for ids the store did not return
    store_.load_users(std::move(to_load), [this, ids = std::move(ids)](
                                              bool ok, std::vector<core::UserRecord> recs) {
        if (!ok || !shared_) {
            if (ok) {
                const core::Millis now = now_();
                for (const auto& r : recs) core_.load_user(r, now);
            }
            for (const auto& id : ids) wake_waiters(records_waiting_, id, ok);
            return;
        }
        auto records = std::make_shared<std::vector<core::UserRecord>>(std::move(recs));
        std::vector<std::string> names;
        names.reserve(records->size());
        for (const auto& r : *records) names.push_back(r.user_id);
        // Redis down: the store's record alone (the user is read again when Redis returns).
        shared_->fetch(std::move(names),
                       [this, ids, records](bool fetched, std::vector<redis::UserHash> hashes) {
                           const core::Millis now = now_();
                           for (std::size_t i = 0; i < records->size(); ++i) {
                               core::UserRecord& r = (*records)[i];
                               const bool have = fetched && i < hashes.size();
                               if (have) merge_shared(r, hashes[i]);
                               core_.load_user(r, now);
                               if (have) shared_->loaded(r.user_id, hashes[i]);
                           }
                           for (const auto& id : ids) wake_waiters(records_waiting_, id, true);
                       });
    });
}

void UserLoader::ensure_viewer(const std::string& viewer, std::vector<std::string> subjects,
                               bool all_friends, Done done) {
    // The viewer stays pinned between its own load and its friends' (two store round trips).
    done = pinned_until_done({viewer}, std::move(done));
    ensure({viewer}, {viewer},
           [this, viewer, subjects = std::move(subjects), all_friends,
            done = std::move(done)](bool ok) mutable {
               if (!ok) {
                   done(false);
                   return;
               }
               std::vector<std::string> friends = core_.friends_of(viewer);
               if (!all_friends) {
                   const std::unordered_set<std::string> is_friend(friends.begin(), friends.end());
                   std::vector<std::string> wanted;
                   for (auto& s : subjects) {
                       if (is_friend.count(s) && !core_.has_user(s)) wanted.push_back(std::move(s));
                   }
                   friends = std::move(wanted);
               }
               ensure(friends, {}, std::move(done));
           });
}

}  // namespace presence::service
