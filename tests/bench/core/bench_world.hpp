// A presence core loaded with a known friend graph, every user connected: the fixture shared
// by the core benchmarks and the memory-per-edge probe. Users are "u0".."u<N-1>", user i holds
// connection i+1; in the star layout user 0 is friends with users 1..N-1 (the hub whose change
// fans out), the others also get `ring` neighbours so they are not trivially small.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/core_sink.hpp"
#include "core/presence_core.hpp"

namespace presence::bench {

// Counts deliveries; keeps nothing. `frame` (when set) builds each distinct view once, the
// way the service adapter does, so a benchmark can include framing.
class CountingSink : public core::CoreSink {
  public:
    using FrameFn = void (*)(std::string& out, const core::PresenceView& v);
    explicit CountingSink(FrameFn frame = nullptr) : frame_(frame) {}

    void send_presence(const core::PresenceView& view,
                       std::span<const core::ConnId> conns) override {
        deliveries += conns.size();
        ++views;
        if (frame_) {
            frame_(buffer, view);
            bytes += buffer.size() * conns.size();
        }
    }
    void send_self(const core::SelfView&, std::span<const core::ConnId> conns) override {
        self_frames += conns.size();
    }
    void send_snapshot(core::ConnId, const core::SelfView&,
                       std::span<const core::PresenceView> friends) override {
        ++snapshots;
        snapshot_entries += friends.size();
    }
    void close_connection(core::ConnId, std::uint16_t, std::string_view) override { ++closes; }
    void presence_changed(const core::PresenceChange&) override { ++changes; }

    std::uint64_t deliveries = 0, views = 0, self_frames = 0, snapshots = 0, snapshot_entries = 0,
                  closes = 0, changes = 0, bytes = 0;
    std::string buffer;

  private:
    FrameFn frame_;
};

struct World {
    std::unique_ptr<CountingSink> sink;
    std::unique_ptr<core::PresenceCore> core;
    std::vector<std::string> names;
    core::Millis now = 1'700'000'000'000;
};

// Rate limits lifted: the benchmarks apply many updates per user per (virtual) millisecond.
core::CoreConfig bench_config();

// Every user has `friends` friends (circulant graph, random offsets); all connected.
World make_uniform_world(std::uint32_t users, std::uint32_t friends,
                         CountingSink::FrameFn frame = nullptr, bool connect = true);
// User 0 has `hub_friends` friends (users 1..hub_friends), everyone connected.
World make_star_world(std::uint32_t hub_friends, CountingSink::FrameFn frame = nullptr);

}  // namespace presence::bench
