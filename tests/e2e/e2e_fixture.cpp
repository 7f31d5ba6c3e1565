#include "e2e_fixture.hpp"

namespace presence::e2e {

HostOptions small_timings() {
    HostOptions o;
    o.set("presence.offline_grace_s", "1");
    o.set("presence.heartbeat_timeout_s", "5");
    return o;
}

std::unique_ptr<HostProcess> start_host(HostOptions options) {
    auto host = std::make_unique<HostProcess>(std::move(options));
    CHECK_TEXT(host->start(), host->error().c_str());
    return host;
}

void stop_cleanly(std::unique_ptr<HostProcess>& host) {
    if (!host) return;
    const int rc = host->stop();
    std::string out = host->output();
    host.reset();
    if (out.size() > 4000) out = "..." + out.substr(out.size() - 4000);
    CHECK_TEXT(
        rc == 0,
        ("presence-host did not stop cleanly (exit " + std::to_string(rc) + "):\n" + out).c_str());
}

Json connect_user(HostProcess& host, WsClient& ws, const std::string& user) {
    const std::string token = host.mint_token(user);
    CHECK_TEXT(!token.empty(), host.error().c_str());
    CHECK_TEXT(ws.connect(host.port(), "/ws?token=" + url_encode(token)), ws.error().c_str());
    Json snapshot = ws.read_json();
    CHECK_TEXT(snapshot["type"].str() == "presence_snapshot",
               ("expected a snapshot first, got " + snapshot.dump()).c_str());
    sync(ws);
    return snapshot;
}

std::vector<Json> sync(WsClient& ws) {
    std::vector<Json> before;
    CHECK_TEXT(ws.send_text(R"({"type":"presence_heartbeat","idle":false})"), ws.error().c_str());
    for (;;) {
        Json j = ws.read_json(milliseconds{4000});
        CHECK_TEXT(j.valid(), "no heartbeat ack (connection dead or silent)");
        if (j["type"].str() == "presence_heartbeat_ack") return before;
        before.push_back(j);
    }
}

Json next_presence_about(WsClient& ws, const std::string& subject, milliseconds timeout) {
    for (;;) {
        Json j = ws.read_json(timeout);
        CHECK_TEXT(j.valid(), ("no presence event about " + subject).c_str());
        if (j["type"].str() != "presence") continue;
        CHECK_TEXT(j["user_id"].str() == subject,
                   ("unexpected presence event " + j.dump()).c_str());
        return j;
    }
}

void expect_no_frame(WsClient& ws, milliseconds quiet) {
    std::string got;
    // Evaluated first: CHECK_TEXT's arguments (condition and message) have no set order.
    const bool silent = ws.expect_silence(quiet, &got);
    CHECK_TEXT(silent, ("expected silence, got " + got).c_str());
    CHECK_TEXT(!ws.closed(), "connection closed while expecting silence");
    got.clear();
    const bool acked = ws.heartbeat_roundtrip(false, milliseconds{3000}, &got);
    CHECK_TEXT(acked, ("expected only a heartbeat ack, got " + got).c_str());
}

bool send_update(WsClient& ws, const std::string& fields) {
    return ws.send_text(R"({"type":"presence_update",)" + fields + "}");
}

HttpResponse admin_friendship(HostProcess& host, const std::string& op, const std::string& a,
                              const std::string& b) {
    const std::string body = R"({"op":)" + json_quote(op) + R"(,"a":)" + json_quote(a) +
                             R"(,"b":)" + json_quote(b) + "}";
    return http_send(host.port(), "POST", "/admin/friendships", body, host.admin_token());
}

std::string upgrade_request(HostProcess& host, const std::string& user,
                            const std::string& extra_headers, const std::string& version) {
    return "GET " + host.ws_path(user) +
           " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
           extra_headers +
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: " + version +
           "\r\n\r\n";
}

HttpResponse rest_get(HostProcess& host, const std::string& user, const std::string& route) {
    return http_get(host.port(), host.http_prefix() + route, host.mint_token(user));
}

HttpResponse rest_send(HostProcess& host, const std::string& user, const std::string& method,
                       const std::string& route, const std::string& body) {
    return http_send(host.port(), method, host.http_prefix() + route, body, host.mint_token(user));
}

std::string status_of(const Json& presence) {
    return presence["status"].str();
}

}  // namespace presence::e2e
