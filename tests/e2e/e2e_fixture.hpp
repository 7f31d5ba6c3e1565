// Shared steps of the end-to-end suites: a presence-host with small timings, users connecting
// over WebSocket, the admin friendship route, and "prove silence" checks.
#pragma once

#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "host_process.hpp"
#include "http_client.hpp"
#include "json.hpp"
#include "ws_client.hpp"

// Last: CppUTest's leak-detection macros redefine `new`, which breaks later standard headers.
// clang-format off
#include <CppUTest/TestHarness.h>
// clang-format on

namespace presence::e2e {

using namespace presence::test;
using std::chrono::milliseconds;

// Timings small enough for a fast suite: grace 1 s, heartbeat timeout 5 s (tests that wait
// in silence for a few seconds must not trip it, even under ASan).
HostOptions small_timings();

// Starts a host (fails the current test with the host's output when it does not start).
std::unique_ptr<HostProcess> start_host(HostOptions options);

// Stops the host with SIGTERM and checks it exits 0 (a clean stop that flushed the store;
// under ASan a leak or error in the host or plugin makes this fail).
void stop_cleanly(std::unique_ptr<HostProcess>& host);

// Connects `user` with a fresh token, checks the upgrade worked and returns the snapshot.
// The socket is synced (see sync()) so only later events remain to be read.
Json connect_user(HostProcess& host, WsClient& ws, const std::string& user);

// Sends a heartbeat and reads until its ack; returns every message that arrived before it.
// Fails the test when no ack comes.
std::vector<Json> sync(WsClient& ws);

// Waits for the next "presence" event about `subject` (other frames are skipped, but a
// presence event about someone else fails the test).
Json next_presence_about(WsClient& ws, const std::string& subject,
                         milliseconds timeout = milliseconds{4000});

// Proves that nothing reaches `ws` for `quiet`, then that the socket is alive (heartbeat ack
// next), so the silence means "no event" and not "dead connection".
void expect_no_frame(WsClient& ws, milliseconds quiet = milliseconds{600});

// Sends a presence_update frame built from raw JSON fields, e.g. R"("status":"away")".
bool send_update(WsClient& ws, const std::string& fields);

// POST /admin/friendships {"op":op,"a":a,"b":b} with the admin token.
HttpResponse admin_friendship(HostProcess& host, const std::string& op, const std::string& a,
                              const std::string& b);

// REST shorthands on the host's prefix, as `user` (fresh token).
HttpResponse rest_get(HostProcess& host, const std::string& user, const std::string& route);
HttpResponse rest_send(HostProcess& host, const std::string& user, const std::string& method,
                       const std::string& route, const std::string& body);

// A raw WebSocket upgrade request for `user` (the RFC 6455 sample key), for tests that write
// it themselves: `extra_headers` (each ending in "\r\n") go before the key, `version` is the
// Sec-WebSocket-Version it announces.
std::string upgrade_request(HostProcess& host, const std::string& user,
                            const std::string& extra_headers = "",
                            const std::string& version = "13");

// "status" / "message" / "last_seen" helpers on a presence object.
std::string status_of(const Json& presence);

}  // namespace presence::e2e
