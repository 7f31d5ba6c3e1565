// A core wired to a RecordingSink and a virtual clock, with helpers that read like the SPEC.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/presence_core.hpp"
#include "recording_sink.hpp"

// Last: CppUTest redefines `new` for leak detection, which breaks standard headers after it.
#include <CppUTest/TestHarness.h>

namespace presence::core::test {

// Status and optional checks with readable failure messages.
#define CHECK_STATUS(expected, actual) \
    STRCMP_EQUAL(::presence::core::to_string(expected), ::presence::core::to_string(actual))
#define CHECK_ERROR(expected, actual) \
    STRCMP_EQUAL(::presence::core::error_code(expected), ::presence::core::error_code(actual))
#define CHECK_NULL_OPT(opt) CHECK_FALSE((opt).has_value())
#define CHECK_MILLIS(expected, opt)          \
    do {                                     \
        CHECK((opt).has_value());            \
        LONGLONGS_EQUAL((expected), *(opt)); \
    } while (0)

struct CoreHarness {
    CoreConfig cfg;
    RecordingSink sink;
    std::unique_ptr<PresenceCore> core;
    Millis now = 1'000'000;
    ConnId next_conn = 100;

    // (Re)creates the core with the current cfg.
    void start() { core = std::make_unique<PresenceCore>(cfg, sink); }
    // The common fixture: users a and b loaded and friends, nothing recorded yet.
    void start_with_friends_a_b() {
        start();
        load("a");
        load("b");
        befriend("a", "b");
        sink.clear();
    }

    void load(const std::string& id, Status chosen = Status::Online,
              std::optional<std::string> message = std::nullopt,
              std::vector<std::string> visibility = {});
    void load_record(const UserRecord& r) { core->load_user(r, now); }
    // Loads the friend lists of every named user so that the listed pairs are friends.
    void friends(const std::string& user, const std::vector<std::string>& list);
    // Makes a and b friends in both loaded lists (no events: this is loading, not a change).
    void befriend(const std::string& a, const std::string& b);

    ConnId connect(const std::string& user);  // checks success
    void advance(Millis ms) {
        now += ms;
        core->tick(now);
    }
    CoreError update(const std::string& user, Status s, ConnId via = 0);
    CoreError update_msg(const std::string& user, Status s, std::optional<std::string> msg,
                         ConnId via = 0);
    CoreError update_until(const std::string& user, Status s, Millis until, ConnId via = 0);
    SeenPresence view(const std::string& viewer, const std::string& subject) const {
        return copy_of(core->view(viewer, subject));
    }
    std::vector<UserRecord> drain();
};

}  // namespace presence::core::test
