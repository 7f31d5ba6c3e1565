// tick(): runs due deadlines only. Entries are validated on pop (lazy invalidation).
#include "core/core_impl.hpp"

namespace presence::core {

void PresenceCore::tick(Millis now) {
    Impl& m = *impl_;
    while (m.timers.due(now)) m.run_timer(m.timers.pop(), now);
}

std::size_t PresenceCore::timer_queue_size() const {
    return impl_->timers.size();
}
std::uint64_t PresenceCore::timers_run() const {
    return impl_->timers.pops();
}

void PresenceCore::Impl::run_timer(const TimerEntry& e, Millis now) {
    switch (e.kind) {
        case TimerKind::Heartbeat: {
            auto it = conns.find(e.key);
            if (it == conns.end() || it->second.serial != e.gen) {  // closed since
                if (stale_heartbeats > 0) --stale_heartbeats;
                return;
            }
            const Millis deadline = it->second.last_activity + config.heartbeat_timeout_ms;
            if (deadline > now) {
                timers.push({deadline, e.key, e.gen, TimerKind::Heartbeat});  // lazy re-arm
                return;
            }
            remove_connection(e.key, now, true);
            return;
        }
        case TimerKind::Grace: {
            const auto idx = static_cast<UserIdx>(e.key);
            UserState& u = users[idx];
            if (!u.in_grace || u.grace_gen != e.gen) return;  // came back in time
            begin_change(idx);
            mark_offline(idx, u.grace_since, now);  // offline since the last connection closed
            end_change(idx, now);
            return;
        }
        case TimerKind::Until: {
            const auto idx = static_cast<UserIdx>(e.key);
            UserState& u = users[idx];
            if (u.until_gen != e.gen || !u.until || *u.until > now) return;
            expire_until(idx, now);
            return;
        }
        case TimerKind::Pending: {
            const auto idx = static_cast<UserIdx>(e.key);
            UserState& u = users[idx];
            if (!u.pending || u.pending_gen != e.gen) return;
            TokenBucket* bucket = bucket_for(idx, u.pending->via, now);
            if (bucket && !bucket->take(config.updates_per_s, config.update_burst, now)) {
                u.pending->due = now + bucket->ms_until_token(config.updates_per_s);
                timers.push({u.pending->due, idx, e.gen, TimerKind::Pending});
                return;
            }
            const StatusUpdate up = std::move(u.pending->update);
            apply_update(idx, up, now);  // also clears the pending slot
            return;
        }
    }
}

}  // namespace presence::core
