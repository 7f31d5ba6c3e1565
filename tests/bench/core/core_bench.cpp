// Google Benchmark suite for the presence core's hot paths: view computation, fan-out planning
// of one status change to 100 / 5,000 online friends (with and without frame building), the
// snapshot a connection gets, heartbeats, and tick() with many idle connections.
// items_per_second is deliveries (or views) per second of one core.
#include <benchmark/benchmark.h>

#include <string>

#include "bench_world.hpp"
#ifdef PRESENCE_BENCH_HAVE_FRAMES
#include "protocol/frames.hpp"
#endif

namespace pb = presence::bench;
using presence::core::Status;
using presence::core::StatusUpdate;

namespace {

// Cycles away -> dnd -> online: every update changes what friends see.
StatusUpdate next_update(std::uint64_t k) {
    static const Status kCycle[] = {Status::Away, Status::Dnd, Status::Online};
    StatusUpdate up;
    up.status = kCycle[k % 3];
    return up;
}

void BM_ViewOfFriend(benchmark::State& state) {
    pb::World w = pb::make_uniform_world(2000, 100);
    auto friends = w.core->friends_of(w.names[0]);
    std::size_t k = 0;
    for (auto _ : state) {
        auto v = w.core->view(w.names[0], friends[k++ % friends.size()]);
        benchmark::DoNotOptimize(v);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_ViewOfFriend);

void BM_ViewOfStranger(benchmark::State& state) {
    pb::World w = pb::make_uniform_world(2000, 100);
    std::size_t k = 0;
    for (auto _ : state) {
        // Mostly non-friends: the privacy check must answer "offline" fast too.
        auto v = w.core->view(w.names[0], w.names[1 + (k++ * 37) % 1999]);
        benchmark::DoNotOptimize(v);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_ViewOfStranger);

// Fan-out planning: one status change of a user with N online friends, up to the sink call
// (one call per distinct view). items = deliveries.
void BM_FanOutPlan(benchmark::State& state) {
    auto n = static_cast<std::uint32_t>(state.range(0));
    pb::World w = pb::make_star_world(n);
    w.sink->deliveries = 0;
    std::uint64_t k = 0;
    for (auto _ : state) {
        w.now += 1;
        w.core->update_status(w.names[0], next_update(k++), 1, w.now);
    }
    if (w.sink->deliveries != static_cast<std::uint64_t>(state.iterations()) * n)
        state.SkipWithError("fan-out delivered a different number of frames than friends");
    state.SetItemsProcessed(static_cast<std::int64_t>(w.sink->deliveries));
    state.counters["deliveries_per_change"] =
        static_cast<double>(w.sink->deliveries) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_FanOutPlan)->Arg(100)->Arg(5000);

// A uniform graph: every user has 100 online friends, changes spread over users (cache misses
// as in production, unlike the single hot hub above).
void BM_FanOutPlanUniform(benchmark::State& state) {
    pb::World w = pb::make_uniform_world(10000, 100);
    std::vector<std::uint8_t> cycle(10000, 0);
    w.sink->deliveries = 0;
    std::uint64_t k = 0;
    for (auto _ : state) {
        auto u = static_cast<std::uint32_t>((k++ * 7919) % 10000);
        w.now += 1;
        w.core->update_status(w.names[u], next_update(cycle[u]++), u + 1, w.now);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(w.sink->deliveries));
}
BENCHMARK(BM_FanOutPlanUniform);

void BM_SnapshotView(benchmark::State& state) {
    pb::World w = pb::make_uniform_world(2000, static_cast<std::uint32_t>(state.range(0)));
    std::size_t k = 0;
    for (auto _ : state) {
        auto views = w.core->friends_view(w.names[k++ % 2000]);
        benchmark::DoNotOptimize(views.data());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * state.range(0)));
}
BENCHMARK(BM_SnapshotView)->Arg(100);

void BM_Heartbeat(benchmark::State& state) {
    pb::World w = pb::make_uniform_world(10000, 10);
    std::uint64_t k = 0;
    for (auto _ : state) {
        w.now += 1;
        w.core->heartbeat(1 + (k++ * 7919) % 10000, false, w.now);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_Heartbeat);

// tick() with N connected, idle, not-yet-due connections: should not grow with N.
void BM_TickIdle(benchmark::State& state) {
    pb::World w = pb::make_uniform_world(static_cast<std::uint32_t>(state.range(0)), 10);
    for (auto _ : state) {
        w.now += 1;
        w.core->tick(w.now);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_TickIdle)->Arg(1000)->Arg(20000);

#ifdef PRESENCE_BENCH_HAVE_FRAMES
void frame_presence(std::string& out, const presence::core::PresenceView& v) {
    presence::protocol::build_presence_frame(out, v);
}

// Fan-out planned AND framed (the frame built once per distinct view, as the service does).
void BM_FanOutFramed(benchmark::State& state) {
    auto n = static_cast<std::uint32_t>(state.range(0));
    pb::World w = pb::make_star_world(n, &frame_presence);
    w.sink->deliveries = 0;
    std::uint64_t k = 0;
    for (auto _ : state) {
        w.now += 1;
        w.core->update_status(w.names[0], next_update(k++), 1, w.now);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(w.sink->deliveries));
}
BENCHMARK(BM_FanOutFramed)->Arg(100)->Arg(5000);

void BM_BuildPresenceFrame(benchmark::State& state) {
    std::string out;
    presence::core::PresenceView v;
    v.user_id = "some.user@example";
    v.status = Status::Away;
    v.message = std::string_view("lunch, back at 2");
    for (auto _ : state) {
        presence::protocol::build_presence_frame(out, v);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * out.size()));
}
BENCHMARK(BM_BuildPresenceFrame);

void BM_BuildSnapshotFrame(benchmark::State& state) {
    pb::World w = pb::make_uniform_world(2000, 100);
    auto views = w.core->friends_view(w.names[0]);
    auto self = w.core->self(w.names[0]);
    std::string out;
    for (auto _ : state) {
        presence::protocol::build_snapshot_frame(out, self, views);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * out.size()));
}
BENCHMARK(BM_BuildSnapshotFrame);
#endif

}  // namespace

BENCHMARK_MAIN();
