#include "recording_sink.hpp"

namespace presence::core::test {

SeenPresence copy_of(const PresenceView& v) {
    SeenPresence p;
    p.user_id = std::string(v.user_id);
    p.status = v.status;
    if (v.message) p.message = std::string(*v.message);
    p.last_seen = v.last_seen;
    return p;
}

namespace {
SeenSelf copy_self(const SelfView& s) {
    SeenSelf o;
    o.user_id = std::string(s.user_id);
    o.chosen = s.chosen;
    if (s.message) o.message = std::string(*s.message);
    o.until = s.until;
    for (auto v : s.visibility) o.visibility.emplace_back(v);
    o.connections = s.connections;
    return o;
}
}  // namespace

void RecordingSink::send_presence(const PresenceView& view, std::span<const ConnId> conns) {
    ++presence_calls;
    presence_call_sizes.push_back(conns.size());
    if (conns.empty()) ++empty_spans;
    for (ConnId c : conns) {
        Frame f;
        f.kind = FrameKind::Presence;
        f.conn = c;
        f.presence = copy_of(view);
        frames.push_back(std::move(f));
    }
}

void RecordingSink::send_self(const SelfView& self, std::span<const ConnId> conns) {
    if (conns.empty()) ++empty_spans;
    for (ConnId c : conns) {
        Frame f;
        f.kind = FrameKind::Self;
        f.conn = c;
        f.self = copy_self(self);
        frames.push_back(std::move(f));
    }
}

void RecordingSink::send_snapshot(ConnId conn, const SelfView& self,
                                  std::span<const PresenceView> friends) {
    Frame f;
    f.kind = FrameKind::Snapshot;
    f.conn = conn;
    f.self = copy_self(self);
    for (const auto& v : friends) f.friends.push_back(copy_of(v));
    frames.push_back(std::move(f));
}

void RecordingSink::close_connection(ConnId conn, std::uint16_t code, std::string_view reason) {
    closed.push_back({conn, code, std::string(reason)});
}

void RecordingSink::presence_changed(const PresenceChange& c) {
    Changed o;
    o.user_id = std::string(c.user_id);
    o.status = c.status;
    o.chosen = c.chosen;
    o.connections = c.connections;
    if (c.message) o.message = std::string(*c.message);
    o.last_seen = c.last_seen;
    o.at = c.at;
    changes.push_back(std::move(o));
}

void RecordingSink::clear() {
    frames.clear();
    closed.clear();
    changes.clear();
    presence_calls = 0;
    presence_call_sizes.clear();
    empty_spans = 0;
}

std::vector<Frame> RecordingSink::to(ConnId conn, FrameKind kind) const {
    std::vector<Frame> out;
    for (const auto& f : frames) {
        if (f.conn == conn && f.kind == kind) out.push_back(f);
    }
    return out;
}

std::vector<SeenPresence> RecordingSink::presence_to(ConnId conn,
                                                     const std::string& subject) const {
    std::vector<SeenPresence> out;
    for (const auto& f : frames) {
        if (f.conn == conn && f.kind == FrameKind::Presence && f.presence.user_id == subject) {
            out.push_back(f.presence);
        }
    }
    return out;
}

std::size_t RecordingSink::frames_to(ConnId conn) const {
    std::size_t n = 0;
    for (const auto& f : frames) n += f.conn == conn ? 1 : 0;
    return n;
}

}  // namespace presence::core::test
