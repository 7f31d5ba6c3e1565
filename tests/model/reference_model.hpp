// A small reference model of SPEC 3-4 (statuses, multi-device, grace, auto-away, until,
// last_seen, friendships, visibility lists), written from the SPEC and "Choices" in
// docs/architecture.md alone, never from plugin/core: the model-based test compares the real plugin
// against it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace presence::model {

// What one viewer sees of one user (`<presence>` of SPEC 5).
struct View {
    std::string status = "offline";
    std::optional<std::string> message;
    std::optional<std::int64_t> last_seen;
    // Set when the model allows a range [last_seen, last_seen_hi] (see Stamp); never set in
    // what the plugin sent.
    std::optional<std::int64_t> last_seen_hi;
    bool operator==(const View&) const = default;
};

// True when what the plugin sent (`got`) is what the model allows (`want`).
bool agrees(const View& got, const View& want);

// What a user's own devices see (`<self>` of SPEC 5).
struct SelfView {
    std::string status = "online";
    std::optional<std::string> message;
    std::optional<std::int64_t> until;
    std::set<std::string> visibility;
    int connections = 0;
    bool operator==(const SelfView&) const = default;
};

// How a status update treats the custom message (SPEC 5: absent keeps, null clears).
struct MessageChange {
    bool keep = true;
    std::optional<std::string> value;  // nullopt or "" clears
};

class ReferenceModel {
  public:
    ReferenceModel(int n_users, std::int64_t grace_ms, std::int64_t heartbeat_timeout_ms);

    static std::string user_id(int u);
    int n_users() const { return static_cast<int>(users_.size()); }

    void connect(int u, std::uint64_t conn, std::int64_t now);
    void disconnect(std::uint64_t conn, std::int64_t now);  // a normal close
    void frame_received(std::uint64_t conn, std::int64_t now);
    void heartbeat(std::uint64_t conn, bool idle, std::int64_t now);
    void set_status(int u, const std::string& status, const MessageChange& msg,
                    std::optional<std::int64_t> until, std::int64_t now);
    bool visibility_add(int u, int other, std::int64_t now);  // false: not a friend
    void visibility_remove(int u, int other, std::int64_t now);
    bool visibility_replace(int u, const std::set<int>& list, std::int64_t now);
    void friendship_add(int a, int b, std::int64_t now);
    void friendship_remove(int a, int b, std::int64_t now);

    // The earliest timer (grace end, heartbeat timeout, until), if any.
    std::optional<std::int64_t> next_deadline() const;
    // Applies every timer due at `now` (deadline <= now); returns the connections closed for
    // silence.
    std::vector<std::uint64_t> apply_due(std::int64_t now);

    bool friends(int a, int b) const;
    // target may be n_users() (an unknown id) or the viewer.
    View view(int viewer, int target) const;
    SelfView self(int u) const;
    // What friends outside the visibility list see (the host's on_presence_change).
    std::string public_status(int u) const;
    std::vector<std::uint64_t> connections_of(int u) const;
    int owner_of(std::uint64_t conn) const;  // -1 when not live
    std::int64_t last_frame(std::uint64_t conn) const;
    // Fixes the last_seen range `viewer` sees of `target` to the value the plugin showed, so
    // that later views are exact again (friends on the list and the others have a stamp each).
    void pin(int viewer, int target, std::int64_t last_seen);

  private:
    // A last_seen the SPEC leaves a little open: docs/architecture.md says the moment the last
    // connection closed (grace) or the dead connection's last frame (timeout); a later sign of life
    // of the user (a frame on another device, a status write) is as true a "last moment seen", so
    // [lo, hi] is accepted, hi never after the user went offline.
    struct Stamp {
        std::int64_t lo = 0, hi = 0;
    };

    struct Connection {
        bool idle = false;
        std::int64_t last_rx = 0;
    };
    struct User {
        std::string status = "online";
        std::optional<std::string> message;
        std::optional<std::int64_t> until;
        std::set<int> visibility;
        std::map<std::uint64_t, Connection> conns;
        bool in_grace = false;
        std::int64_t gone_at = 0;      // when the last connection closed (grace start)
        bool grace_idle = false;       // idle state when the last connection closed
        std::int64_t last_active = 0;  // the last frame, connect or status write of the user
        // last_seen for friends outside the list (frozen when the user went invisible or
        // offline) and for those on it (when the user went offline).
        std::optional<Stamp> ls_public, ls_list;
        bool seen_public = false, seen_list = false;  // visible as of the last settle
    };

    bool alive(const User& u) const { return !u.conns.empty() || u.in_grace; }
    bool all_idle(const User& u) const;
    // Records last_seen when the user stops being visible; `drop` is the moment they were last
    // seen (now, the last close before a grace, the last frame before a timeout).
    void settle(User& u, Stamp drop);

    std::vector<User> users_;
    std::set<std::pair<int, int>> friends_;  // (min, max)
    std::int64_t grace_ms_, heartbeat_ms_;
};

}  // namespace presence::model
