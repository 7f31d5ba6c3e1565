// Chosen status: validation (SPEC 3), rate limits with a deferred latest-wins update (SPEC 7),
// and `until` expiry.
#include "core/core_impl.hpp"
#include "core/utf8.hpp"

namespace presence::core {

CoreError PresenceCore::Impl::validate(const StatusUpdate& in, StatusUpdate& out,
                                       Millis now) const {
    switch (in.status) {
        case Status::Online:
        case Status::Away:
        case Status::Dnd:
            break;
        case Status::Invisible:
            if (!config.allow_invisible) return CoreError::InvalidStatus;
            break;
        default:
            return CoreError::InvalidStatus;  // Offline is never chosen
    }
    out = in;
    if (in.has_message && in.message) {
        const auto points = utf8_code_points(*in.message);
        if (!points || *points > config.max_message_code_points) return CoreError::InvalidField;
        if (in.message->empty()) out.message.reset();  // "" clears, like null
    }
    if (!in.has_message) out.message.reset();
    if (in.until) {
        if (in.status == Status::Online) return CoreError::InvalidField;  // nothing to return to
        if (*in.until <= now) return CoreError::InvalidField;
    }
    return CoreError::None;
}

TokenBucket* PresenceCore::Impl::bucket_for(UserIdx idx, ConnId via, Millis now) {
    if (via != 0) {
        auto it = conns.find(via);
        if (it != conns.end() && it->second.user == idx) return &it->second.bucket;
        return nullptr;  // the connection is gone: nothing left to limit
    }
    UserState& u = users[idx];
    if (!u.rest_bucket_ready) {
        u.rest_bucket = TokenBucket(config.update_burst, now);
        u.rest_bucket_ready = true;
    }
    return &u.rest_bucket;
}

CoreError PresenceCore::update_status(std::string_view user, const StatusUpdate& update, ConnId via,
                                      Millis now) {
    Impl& m = *impl_;
    UserState* u = m.loaded_user(user);
    if (!u) return CoreError::UnknownUser;
    const UserIdx idx = *m.find(user);
    StatusUpdate clean;
    if (CoreError e = m.validate(update, clean, now); e != CoreError::None) return e;

    TokenBucket* bucket = m.bucket_for(idx, via, now);
    if (via != 0 && !bucket) {
        // A connection of someone else (or unknown): use the user's REST bucket instead.
        via = 0;
        bucket = m.bucket_for(idx, 0, now);
    }
    if (bucket->take(m.config.updates_per_s, m.config.update_burst, now)) {
        m.apply_update(idx, clean, now);
        return CoreError::None;
    }
    // No token: keep it as the pending update (latest wins); tick() applies it. One timer
    // entry is enough unless this bucket refills sooner than the one already armed.
    const Millis due = now + bucket->ms_until_token(m.config.updates_per_s);
    const bool armed = u->pending != nullptr;
    if (!armed) {
        u->pending = std::make_unique<PendingUpdate>();
        ++u->pending_gen;
    }
    u->pending->update = std::move(clean);
    u->pending->via = via;
    if (!armed || due < u->pending->due) {
        u->pending->due = due;
        m.timers.push({due, idx, u->pending_gen, TimerKind::Pending});
    }
    return CoreError::RateLimited;
}

void PresenceCore::Impl::apply_update(UserIdx idx, const StatusUpdate& up, Millis now) {
    UserState& u = users[idx];
    if (u.pending) {
        u.pending.reset();  // this update is newer than anything deferred
        ++u.pending_gen;
    }
    Status status = up.status;
    std::optional<Millis> until = up.until;
    if (until && *until <= now) {
        // A deferred update whose `until` passed while it waited: it has already expired.
        status = Status::Online;
        until.reset();
    }

    begin_change(idx);
    const bool changed =
        u.chosen != status || u.until != until || (up.has_message && u.message != up.message);
    if (is_present(u) && u.chosen != Status::Invisible && status == Status::Invisible) {
        u.last_seen = now;  // ordinary friends stop seeing them now: freeze their stamp here
    }
    u.chosen = status;
    if (up.has_message) u.message = up.message;
    if (u.until != until) {
        u.until = until;
        ++u.until_gen;  // invalidates the old expiry entry
        if (until) timers.push({*until, idx, u.until_gen, TimerKind::Until});
    }
    if (changed) {
        mark_dirty(idx);
        mark_shared(idx, true);
    }
    end_change(idx, now);
    send_self_to_devices(idx);  // every update is answered, even one that changes nothing
}

void PresenceCore::Impl::expire_until(UserIdx idx, Millis now) {
    begin_change(idx);
    UserState& u = users[idx];
    u.chosen = Status::Online;  // the message is kept
    u.until.reset();
    ++u.until_gen;
    mark_dirty(idx);
    mark_shared(idx, true);
    end_change(idx, now);
    send_self_to_devices(idx);
}

}  // namespace presence::core
