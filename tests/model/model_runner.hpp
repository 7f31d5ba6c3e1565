// Runs one op sequence against a fresh plugin instance and the reference model side by side;
// after every hook call (op, tick, on_disconnect of a closed connection) every frame each
// connection received is checked against what the model says that viewer must see.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "ops.hpp"

namespace presence::model {

inline constexpr int kUsers = 5;  // u0..u4; "u5" is an id the plugin never hears of

// What a run checked, so that a suite can show it is not vacuous.
struct RunStats {
    std::uint64_t ops_applied = 0, ops_skipped = 0;
    std::uint64_t frames = 0;           // frames checked, of every type
    std::uint64_t presence_frames = 0;  // `presence` events matched to a change of a view
    std::uint64_t silent_views = 0;     // (viewer, friend) pairs checked to get no frame
    std::uint64_t snapshots = 0, rest_answers = 0, timeouts = 0;
    std::uint64_t host_changes = 0;  // on_presence_change calls checked
    void add(const RunStats& o);
};

struct RunResult {
    RunStats stats;
    bool ok = true;
    std::size_t failed_op = 0;  // index of the op that failed
    std::string why;
};

struct RunOptions {
    // presence.offline_grace_s handed to the plugin; the model always uses 3 s. Another value
    // is a planted disagreement, for the test that the checker and the shrinker catch one.
    std::string plugin_grace_s = "3";
};

// `trace`, when given, receives one line per op applied (skipped ops say so).
RunResult run_sequence(const std::vector<Op>& ops, const RunOptions& opt = {},
                       std::string* trace = nullptr);

// Delta debugging: drops chunks, then single ops, while the sequence still fails; bounded by
// `max_runs` replays.
std::vector<Op> shrink(std::vector<Op> ops, const RunOptions& opt = {}, int max_runs = 3000);

}  // namespace presence::model
