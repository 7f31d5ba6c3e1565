// What the presence core asks of the world. The service adapter implements it: it turns views
// into JSON frames (built once per distinct view) and hands them to the host.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "core/types.hpp"

namespace presence::core {

class CoreSink {
  public:
    virtual ~CoreSink() = default;

    // Every connection in `conns` now sees `view` of view.user_id. Called once per distinct
    // view per change (a status change yields at most two: friends on the visibility list and
    // the others), so the frame is built once and shared. `conns` is never empty.
    virtual void send_presence(const PresenceView& view, std::span<const ConnId> conns) = 0;

    // The user's own state changed (or a device joined/left): every connection in `conns`
    // (all their devices, or the one that just joined) gets presence_self.
    virtual void send_self(const SelfView& self, std::span<const ConnId> conns) = 0;

    // A freshly accepted connection gets its snapshot: its own state and every friend as it
    // sees them (friends sorted by user id).
    virtual void send_snapshot(ConnId conn, const SelfView& self,
                               std::span<const PresenceView> friends) = 0;

    // The core dropped this connection (heartbeat timeout); the adapter asks the host to
    // close it. A later disconnect() for it is ignored.
    virtual void close_connection(ConnId conn, std::uint16_t code, std::string_view reason) = 0;

    // The effective presence seen by ordinary friends changed (host change callback).
    virtual void presence_changed(const PresenceChange& change) = 0;
};

}  // namespace presence::core
