// Bad settings stop presence-host before it listens, with a reason that names the key.
#include "e2e_fixture.hpp"

using namespace presence::e2e;

namespace {

void expect_refused(const std::string& key, const std::string& value) {
    RunResult r = HostProcess::run_with_config({{key, value}});
    const std::string what = key + " = " + value + " -> exit " + std::to_string(r.exit_code) +
                             (r.timed_out ? " (still running: it was accepted)" : "") + "\n" +
                             r.output;
    CHECK_TEXT(!r.timed_out, what.c_str());
    CHECK_TEXT(r.exit_code != 0 && r.exit_code != -1, what.c_str());
    CHECK_TEXT(r.output.find(key) != std::string::npos, what.c_str());
    CHECK_TEXT(r.output.find("listening on") == std::string::npos, what.c_str());
}

}  // namespace

TEST_GROUP(Settings){};

TEST(Settings, NegativeGraceIsRefused) {
    expect_refused("presence.offline_grace_s", "-1");
}

TEST(Settings, UnknownPresenceKeyIsRefused) {
    expect_refused("presence.foo", "1");
}

TEST(Settings, NonNumericValueIsRefused) {
    expect_refused("presence.heartbeat_timeout_s", "soon");
}

TEST(Settings, BadBooleanIsRefused) {
    expect_refused("presence.allow_invisible", "maybe");
}

TEST(Settings, ZeroBatchIsRefused) {
    expect_refused("presence.max_batch", "0");
}

TEST(Settings, MissingFriendsFileIsRefused) {
    expect_refused("presence.friends_file", "/nonexistent/presence-friends.txt");
}

TEST(Settings, GoodSettingsStart) {
    HostOptions o = small_timings();
    o.set("presence.max_batch", "100");
    o.set("presence.allow_invisible", "false");
    HostProcess host(o);
    CHECK_TEXT(host.start(), host.error().c_str());
    // allow_invisible = false makes invisible an invalid_status.
    HttpResponse r = http_send(host.port(), "PUT", host.http_prefix() + "/status",
                               R"({"status":"invisible"})", host.mint_token("alice"));
    STRCMP_EQUAL("invalid_status", r.error_code().c_str());
    LONGS_EQUAL(0, host.stop());
}
