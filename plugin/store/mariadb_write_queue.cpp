#include "store/mariadb_write_queue.hpp"

#include <algorithm>
#include <utility>

namespace presence::store {
namespace {

struct Fnv1a {
    std::uint64_t h = 1469598103934665603ull;
    void bytes(const void* p, std::size_t n) {
        const auto* c = static_cast<const unsigned char*>(p);
        for (std::size_t i = 0; i < n; ++i) {
            h ^= c[i];
            h *= 1099511628211ull;
        }
    }
    void str(const std::string& s) {
        const std::uint64_t n = s.size();  // length first, so "ab"+"c" != "a"+"bc"
        bytes(&n, sizeof n);
        bytes(s.data(), s.size());
    }
    void flag(bool b) { bytes(&b, sizeof b); }
};

}  // namespace

MariaDbWriteQueue::Fingerprint MariaDbWriteQueue::fingerprint(const core::UserRecord& r) {
    Fnv1a state;
    const auto status = static_cast<std::uint8_t>(r.chosen);
    state.bytes(&status, sizeof status);
    state.flag(r.message.has_value());
    if (r.message) state.str(*r.message);
    state.flag(r.until.has_value());
    if (r.until) state.bytes(&*r.until, sizeof *r.until);
    Fnv1a vis;
    for (const auto& v : r.visibility) vis.str(v);
    return {state.h, vis.h};
}

void MariaDbWriteQueue::index(const std::string& id, const PendingWrite& w) {
    auto& order = (w.state_dirty || w.visibility_dirty) ? important_ : refresh_only_;
    order.emplace(w.seq, id);
}

void MariaDbWriteQueue::unindex(const PendingWrite& w) {
    important_.erase(w.seq);
    refresh_only_.erase(w.seq);
}

AcceptResult MariaDbWriteQueue::accept(const core::UserRecord& record) {
    const Fingerprint now = fingerprint(record);
    bool state_dirty = true;
    bool visibility_dirty = true;
    if (auto known = accepted_.find(record.user_id); known != accepted_.end()) {
        state_dirty = known->second.state != now.state;
        visibility_dirty = known->second.visibility != now.visibility;
        known->second = now;
    } else {
        accepted_.emplace(record.user_id, now);
    }

    const bool choice_changed = state_dirty || visibility_dirty;
    auto it = pending_.find(record.user_id);
    if (it != pending_.end()) {
        PendingWrite& w = it->second;
        unindex(w);
        w.record = record;
        w.state_dirty = w.state_dirty || state_dirty;
        w.visibility_dirty = w.visibility_dirty || visibility_dirty;
        index(record.user_id, w);
        AcceptResult result;
        result.choice_changed = choice_changed;
        return result;
    }
    PendingWrite w{record, state_dirty, visibility_dirty, next_seq_++};
    index(record.user_id, w);
    pending_.emplace(record.user_id, std::move(w));
    AcceptResult result = enforce_bound();
    result.choice_changed = choice_changed;
    return result;
}

std::uint64_t MariaDbWriteQueue::oldest_unwritten() const {
    std::uint64_t oldest = next_seq_;
    if (!important_.empty()) oldest = std::min(oldest, important_.begin()->first);
    if (!refresh_only_.empty()) oldest = std::min(oldest, refresh_only_.begin()->first);
    return oldest;
}

AcceptResult MariaDbWriteQueue::enforce_bound() {
    AcceptResult result;
    while (pending_.size() > max_users_) {
        if (refresh_only_.empty()) {
            result.over_bound = true;
            break;
        }
        auto oldest = refresh_only_.begin();
        pending_.erase(oldest->second);
        refresh_only_.erase(oldest);
        ++result.dropped;
    }
    return result;
}

std::vector<PendingWrite> MariaDbWriteQueue::take_batch(std::size_t max) {
    std::vector<PendingWrite> batch;
    batch.reserve(std::min(max, pending_.size()));
    while (batch.size() < max && !pending_.empty()) {
        // Oldest first across both orders, so that no user waits behind newer ones.
        auto& from = refresh_only_.empty()                                        ? important_
                     : important_.empty()                                         ? refresh_only_
                     : (important_.begin()->first < refresh_only_.begin()->first) ? important_
                                                                                  : refresh_only_;
        auto first = from.begin();
        auto node = pending_.extract(first->second);
        from.erase(first);
        batch.push_back(std::move(node.mapped()));
    }
    return batch;
}

AcceptResult MariaDbWriteQueue::give_back(std::vector<PendingWrite> batch) {
    for (auto& failed : batch) {
        auto it = pending_.find(failed.record.user_id);
        if (it == pending_.end()) {
            const std::string id = failed.record.user_id;
            index(id, failed);
            pending_.emplace(id, std::move(failed));
            continue;
        }
        PendingWrite& newer = it->second;
        unindex(newer);
        newer.state_dirty = newer.state_dirty || failed.state_dirty;
        newer.visibility_dirty = newer.visibility_dirty || failed.visibility_dirty;
        newer.seq = std::min(newer.seq, failed.seq);
        index(it->first, newer);
    }
    return enforce_bound();
}

const core::UserRecord* MariaDbWriteQueue::find(const std::string& user_id) const {
    auto it = pending_.find(user_id);
    return it == pending_.end() ? nullptr : &it->second.record;
}

void MariaDbWriteQueue::remember_loaded(const core::UserRecord& record) {
    accepted_.try_emplace(record.user_id, fingerprint(record));
}

}  // namespace presence::store
