// The model-based privacy test (issue 12): random sequences of connects, disconnects, status
// updates, heartbeats (idle or not), visibility and friendship changes, queries, REST reads and
// clock steps go through the real libpresence.so and a reference model of SPEC 3-4 side by
// side; every frame each connection receives is checked against the model. A failing sequence
// is shrunk and printed. CI runs fixed seeds; `model_privacy_tests --long SECONDS` runs random
// seeds for that long (tests/bench/RESULTS.md, "Model-based privacy test").
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>

#include "model_runner.hpp"
#include "reference_model.hpp"

// CppUTest last: its memory-leak macros must not rewrite standard headers.
// clang-format off
#include <CppUTest/CommandLineTestRunner.h>
#include <CppUTest/MemoryLeakWarningPlugin.h>
#include <CppUTest/TestHarness.h>
// clang-format on

using namespace presence::model;

namespace {

constexpr int kSequences = 200;
constexpr int kOpsPerSequence = 200;

// Shrinks a failing sequence and renders it: seed, the failure, and the minimal op list with
// the model's time line.
std::string report(std::uint64_t seed, const std::vector<Op>& ops, const RunOptions& opt) {
    const std::vector<Op> small = shrink(ops, opt);
    std::string trace;
    const RunResult r = run_sequence(small, opt, &trace);
    std::string out = "seed " + std::to_string(seed) + ": shrunk from " +
                      std::to_string(ops.size()) + " to " + std::to_string(small.size()) +
                      " ops\n" + trace + "FAILED at op " + std::to_string(r.failed_op) + ": " +
                      r.why + "\n";
    return out;
}

}  // namespace

TEST_GROUP(ReferenceModel){};

// The model itself, on the SPEC's own examples (so its mistakes are not the plugin's).
TEST(ReferenceModel, InvisibleIsOfflineExceptToTheList) {
    ReferenceModel m(3, 3000, 10000);
    m.friendship_add(0, 1, 0);
    m.friendship_add(0, 2, 0);
    m.connect(0, 1, 100);
    m.set_status(0, "invisible", MessageChange{false, "shh"}, std::nullopt, 200);
    CHECK(m.visibility_add(0, 1, 300));
    CHECK_FALSE(m.visibility_add(0, 0, 300));  // not your own friend
    CHECK(m.view(1, 0) == (View{"online", "shh", std::nullopt, std::nullopt}));
    CHECK(m.view(2, 0) ==
          (View{"offline", std::nullopt, 200, std::nullopt}));  // frozen when hidden
    m.disconnect(1, 1000);
    m.apply_due(4000);
    CHECK(m.view(1, 0) == (View{"offline", std::nullopt, 1000, std::nullopt}));
    CHECK(m.view(2, 0) == (View{"offline", std::nullopt, 200, std::nullopt}));
}

TEST(ReferenceModel, GraceAutoAwayUntilAndFriendshipEnd) {
    ReferenceModel m(3, 3000, 10000);
    m.friendship_add(0, 1, 0);
    m.connect(0, 1, 0);
    m.connect(0, 2, 0);
    m.heartbeat(1, true, 500);
    CHECK(m.view(1, 0).status == "online");  // one device still active
    m.heartbeat(2, true, 600);
    CHECK(m.view(1, 0).status == "away");
    m.set_status(0, "dnd", MessageChange{}, 5050, 700);
    CHECK(m.view(1, 0).status == "dnd");
    m.apply_due(5050);
    CHECK(m.self(0).status == "online");
    CHECK(!m.self(0).until);
    m.disconnect(1, 5100);
    m.disconnect(2, 5200);
    m.apply_due(8199);
    CHECK(m.view(1, 0).status == "away");  // in grace, as when the last one closed
    m.apply_due(8200);
    CHECK(m.view(1, 0) == (View{"offline", std::nullopt, 5200, std::nullopt}));
    m.friendship_remove(0, 1, 9000);
    CHECK(m.view(1, 0) == View{});
    CHECK(m.view(0, 2) == View{});  // never a friend: as an unknown id
}

TEST_GROUP(ModelPrivacy){};

// A planted disagreement (the plugin's grace is 1 s, the model's 3 s) must be caught and
// shrunk to a few ops: the checker and the shrinker can fail.
TEST(ModelPrivacy, CatchesAndShrinksAPlantedDisagreement) {
    RunOptions planted;
    planted.plugin_grace_s = "1";
    std::uint64_t seed = 1;
    std::vector<Op> ops;
    RunResult r;
    for (; seed <= 50; ++seed) {
        ops = generate_ops(seed, kUsers, kOpsPerSequence);
        r = run_sequence(ops, planted);
        if (!r.ok) break;
    }
    CHECK_TEXT(!r.ok, "a 1 s grace against a 3 s model went unnoticed");
    const std::vector<Op> small = shrink(ops, planted);
    CHECK_FALSE(run_sequence(small, planted).ok);
    CHECK_TEXT(small.size() <= 8, report(seed, ops, planted).c_str());
}

// Regression (found by this test): replacing the visibility list with the list it already
// holds sent presence_self to every device although nothing changed.
TEST(ModelPrivacy, SameVisibilityListAgainSendsNoSelf) {
    std::vector<Op> ops(5);
    ops[0] = Op{OpKind::FriendAdd, 0, 1};
    ops[1] = Op{OpKind::Connect, 0};
    ops[2] = Op{OpKind::VisAdd, 0, 1};
    ops[3] = Op{OpKind::VisReplace, 0};
    ops[3].mask = 1u << 1;  // [u1], the list it holds
    ops[4] = Op{OpKind::VisAdd, 0, 1};
    const RunResult r = run_sequence(ops);
    CHECK_TEXT(r.ok, r.why.c_str());
}

TEST(ModelPrivacy, FixedSeedsAgreeWithTheModel) {
    RunStats total;
    for (std::uint64_t seed = 1; seed <= kSequences; ++seed) {
        const std::vector<Op> ops = generate_ops(seed, kUsers, kOpsPerSequence);
        const RunResult r = run_sequence(ops);
        if (!r.ok) FAIL(report(seed, ops, {}).c_str());
        total.add(r.stats);
    }
    std::printf(
        "\nmodel: %d sequences, %llu ops applied (%llu skipped), %llu frames checked, %llu "
        "presence events, %llu silent (viewer, friend) checks, %llu snapshots, %llu REST "
        "answers, %llu heartbeat timeouts, %llu host change callbacks\n",
        kSequences, static_cast<unsigned long long>(total.ops_applied),
        static_cast<unsigned long long>(total.ops_skipped),
        static_cast<unsigned long long>(total.frames),
        static_cast<unsigned long long>(total.presence_frames),
        static_cast<unsigned long long>(total.silent_views),
        static_cast<unsigned long long>(total.snapshots),
        static_cast<unsigned long long>(total.rest_answers),
        static_cast<unsigned long long>(total.timeouts),
        static_cast<unsigned long long>(total.host_changes));
    // Not vacuous: the fixed seeds exercise every kind of check many times.
    CHECK(total.presence_frames > 1000);
    CHECK(total.snapshots > 1000);
    CHECK(total.timeouts > 100);
    CHECK(total.rest_answers > 1000);
    CHECK(total.host_changes > 1000);
}

namespace {

// --long SECONDS: random seeds until the time is up; prints one line per failure (shrunk) and
// a summary. Exit 1 if any sequence failed.
int long_run(double seconds, std::uint64_t base) {
    const auto start = std::chrono::steady_clock::now();
    std::uint64_t sequences = 0, ops = 0, failures = 0;
    std::mt19937_64 seeds(base);
    while (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() <
           seconds) {
        const std::uint64_t seed = seeds();
        const std::vector<Op> seq = generate_ops(seed, kUsers, kOpsPerSequence);
        const RunResult r = run_sequence(seq);
        ++sequences;
        ops += seq.size();
        if (!r.ok) {
            ++failures;
            std::printf("%s\n", report(seed, seq, {}).c_str());
            std::fflush(stdout);
        }
    }
    const double took =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("long run: %llu sequences, %llu ops, %llu failures, %.0f s (seed base %llu)\n",
                static_cast<unsigned long long>(sequences), static_cast<unsigned long long>(ops),
                static_cast<unsigned long long>(failures), took,
                static_cast<unsigned long long>(base));
    return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc >= 3 && std::strcmp(argv[1], "--long") == 0) {
        const std::uint64_t base = argc >= 5 && std::strcmp(argv[3], "--seed") == 0
                                       ? std::strtoull(argv[4], nullptr, 10)
                                       : std::random_device{}();
        return long_run(std::atof(argv[2]), base);
    }
    // Function-local statics (the plugin table, cJSON hooks) look like leaks to CppUTest's
    // per-test accounting; leaks are ASan's job in the sanitizer build.
    MemoryLeakWarningPlugin::turnOffNewDeleteOverloads();
    return CommandLineTestRunner::RunAllTests(argc, argv);
}
