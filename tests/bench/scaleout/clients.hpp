// The WebSocket side of the scale-out benchmarks: one connection per slot (a user on the host
// slot of the caller's choice), signed tokens minted up front, snapshots noted, heartbeats
// every heartbeat_s from open, every other frame handed to the caller. Single-threaded, on
// the load tool's WsClientPool (epoll, reads through io_uring where the kernel allows).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "scaleout_env.hpp"
#include "ws_client.hpp"

namespace presence::bench::scaleout {

class Clients {
  public:
    // Every frame but snapshots and heartbeat acks, with its "type" (empty when absent).
    using OnFrame = std::function<void(std::size_t slot, std::string_view type,
                                       std::string_view frame, std::uint64_t now_ns)>;

    Clients(Env& env, std::size_t slots, double heartbeat_s, OnFrame on_frame);

    // Who slot `slot` is and which host it connects to (mints its token).
    void assign(std::size_t slot, const std::string& user, std::size_t host_slot);
    std::size_t host_of(std::size_t slot) const { return users_[slot].host; }

    // Connects `slots` (at most `window` handshakes at once) and waits for their snapshots.
    // Returns how many got one within `timeout_s`.
    std::size_t connect(const std::vector<std::size_t>& slots, std::size_t window,
                        double timeout_s);
    // Runs the pool (and due heartbeats) for up to `timeout_ms`.
    void poll(int timeout_ms);
    // Polls until `done()` or `timeout_s`; true when done.
    bool wait_until(const std::function<bool()>& done, double timeout_s);
    void run_for(double seconds);

    void send(std::size_t slot, std::string_view text) { pool_.send_text(slot, text); }
    // Sends a heartbeat now with `idle`; the periodic ones say the same from then on.
    void heartbeat_now(std::size_t slot, bool idle);
    void drop(std::size_t slot);  // abrupt close (no close frame), no close reported
    bool live(std::size_t slot) const;
    std::size_t open_count() const { return pool_.open_count(); }

    std::uint64_t heartbeats_sent() const { return heartbeats_; }
    std::uint64_t heartbeat_acks() const { return acks_; }
    std::uint64_t unexpected_closes() const { return unexpected_closes_; }
    std::uint64_t connect_failures() const { return connect_failures_; }
    const std::map<std::string, std::uint64_t>& errors() const { return errors_; }
    const std::map<std::string, std::uint64_t>& close_reasons() const { return closes_; }
    bool ring_reads() const { return pool_.ring_reads(); }

  private:
    struct User {
        std::string path;
        std::size_t host = 0;
        bool snapshot = false;
        bool connecting = false;
        bool idle = false;  // what this slot's heartbeats say
        std::uint32_t gen = 0;
    };
    struct Beat {
        std::uint64_t due;
        std::size_t slot;
        std::uint32_t gen;
    };
    void on_open(std::size_t slot);
    void on_text(std::size_t slot, std::string_view text);
    void on_close(std::size_t slot, std::string_view why);
    void send_due_heartbeats(std::uint64_t now);

    Env& env_;
    std::vector<User> users_;
    WsClientPool pool_;
    OnFrame on_frame_;
    std::uint64_t beat_ns_;
    std::deque<Beat> beats_;
    std::size_t sources_ = 1;
    std::size_t pending_ = 0;  // connects started, neither snapshot nor close yet
    std::uint64_t heartbeats_ = 0, acks_ = 0, unexpected_closes_ = 0, connect_failures_ = 0;
    std::map<std::string, std::uint64_t> errors_, closes_;
};

// "u123" -> 123 (the load tool's user names); -1 when not one.
long user_index(std::string_view name);

}  // namespace presence::bench::scaleout
