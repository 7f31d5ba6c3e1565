// A CoreSink that records every frame per connection, so tests can ask "what did connection
// X get about user Y" and "how many send_presence calls were made".
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/core_sink.hpp"

namespace presence::core::test {

// An owned copy of a PresenceView.
struct SeenPresence {
    std::string user_id;
    Status status = Status::Offline;
    std::optional<std::string> message;
    std::optional<Millis> last_seen;
};

SeenPresence copy_of(const PresenceView& v);

struct SeenSelf {
    std::string user_id;
    Status chosen = Status::Online;
    std::optional<std::string> message;
    std::optional<Millis> until;
    std::vector<std::string> visibility;
    std::uint32_t connections = 0;
};

enum class FrameKind { Presence, Self, Snapshot };

struct Frame {
    FrameKind kind = FrameKind::Presence;
    ConnId conn = 0;
    SeenPresence presence;              // Presence
    SeenSelf self;                      // Self, Snapshot
    std::vector<SeenPresence> friends;  // Snapshot
};

struct Closed {
    ConnId conn = 0;
    std::uint16_t code = 0;
    std::string reason;
};

struct Changed {
    std::string user_id;
    Status status = Status::Offline;
    Status chosen = Status::Online;
    std::uint32_t connections = 0;
    std::optional<std::string> message;
    std::optional<Millis> last_seen;
    Millis at = 0;
};

class RecordingSink : public CoreSink {
  public:
    void send_presence(const PresenceView& view, std::span<const ConnId> conns) override;
    void send_self(const SelfView& self, std::span<const ConnId> conns) override;
    void send_snapshot(ConnId conn, const SelfView& self,
                       std::span<const PresenceView> friends) override;
    void close_connection(ConnId conn, std::uint16_t code, std::string_view reason) override;
    void presence_changed(const PresenceChange& change) override;

    void clear();
    // Frames of one kind that reached `conn` (Presence frames optionally only about `subject`).
    std::vector<Frame> to(ConnId conn, FrameKind kind) const;
    std::vector<SeenPresence> presence_to(ConnId conn, const std::string& subject) const;
    std::size_t frames_to(ConnId conn) const;  // any kind

    std::vector<Frame> frames;
    std::vector<Closed> closed;
    std::vector<Changed> changes;
    std::size_t presence_calls = 0;                // send_presence invocations
    std::vector<std::size_t> presence_call_sizes;  // conns per send_presence call
    std::size_t empty_spans = 0;                   // contract: never empty
};

}  // namespace presence::core::test
