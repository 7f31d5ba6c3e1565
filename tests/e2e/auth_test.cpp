// Tokens over WebSocket and HTTP: missing, tampered, signed with another secret, expired, and
// a token for one user never acting as another.
#include <cstdint>
#include <ctime>

#include "e2e_fixture.hpp"
#include "token.hpp"  // presence-host's own token minting (presence_host_lib)

using namespace presence::e2e;

namespace {

// Flips one character well inside the token (past any header, inside the signature or payload).
std::string tamper(std::string token) {
    CHECK(token.size() > 12);
    char& c = token[token.size() - 10];
    c = (c == 'A') ? 'B' : 'A';
    return token;
}

// The expiry (epoch seconds) in a token's payload "<expiry>:<user>" (host-stub/token.hpp).
int64_t expiry_of(const std::string& token) {
    std::string payload;
    CHECK_TEXT(presence_host::base64url_decode(token.substr(0, token.find('.')), payload),
               token.c_str());
    return std::stoll(payload.substr(0, payload.find(':')));
}

void check_ws_refused(HostProcess& host, const std::string& path) {
    WsClient ws;
    CHECK_FALSE_TEXT(ws.connect(host.port(), path), ("upgrade accepted for " + path).c_str());
    CHECK_TEXT(ws.handshake_status() == 401 || ws.handshake_status() == 403,
               ("status " + std::to_string(ws.handshake_status())).c_str());
}

}  // namespace

TEST_GROUP(Auth) {
    std::unique_ptr<HostProcess> host;
    void setup() override {
        host = start_host(small_timings().friends({{"alice", "bob"}}));
    }
    void teardown() override {
        stop_cleanly(host);
    }
    std::string me() {
        return host->http_prefix() + "/me";
    }
};

TEST(Auth, MissingTokenIsRefused) {
    check_ws_refused(*host, "/ws");
    check_ws_refused(*host, "/ws?token=");
    LONGS_EQUAL(401, http_get(host->port(), me()).status);
}

TEST(Auth, TamperedTokenIsRefused) {
    const std::string bad = tamper(host->mint_token("alice"));
    check_ws_refused(*host, "/ws?token=" + url_encode(bad));
    LONGS_EQUAL(401, http_get(host->port(), me(), bad).status);
    LONGS_EQUAL(401, http_get(host->port(), me(), "garbage").status);
}

TEST(Auth, TokenSignedWithAnotherSecretIsRefused) {
    HostOptions other;
    other.set("host.auth_secret", "a-completely-different-secret-xyz");
    HostProcess minter(other);  // never started: it only mints
    const std::string foreign = minter.mint_token("alice");
    CHECK_TEXT(!foreign.empty(), minter.error().c_str());
    check_ws_refused(*host, "/ws?token=" + url_encode(foreign));
    LONGS_EQUAL(401, http_get(host->port(), me(), foreign).status);
}

TEST(Auth, ExpiredTokenIsRefused) {
    // `presence-host token --ttl 1` writes an expiry one second from now...
    const std::string token = host->mint_token("alice", 1);
    CHECK_TEXT(!token.empty(), host->error().c_str());
    const int64_t now_s = static_cast<int64_t>(std::time(nullptr));
    const int64_t expiry = expiry_of(token);
    CHECK_TEXT(expiry >= now_s && expiry <= now_s + 2, token.c_str());
    // ...so rather than wait for it to pass, a token minted already expired (the host's own
    // minting, the host's secret) is refused, and the same token with a future expiry is not.
    const std::string secret = HostProcess::kDefaultSecret;
    const std::string expired = presence_host::mint_token(secret, "alice", now_s - 1);
    check_ws_refused(*host, "/ws?token=" + url_encode(expired));
    LONGS_EQUAL(401, http_get(host->port(), me(), expired).status);
    const std::string fresh = presence_host::mint_token(secret, "alice", now_s + 60);
    LONGS_EQUAL(200, http_get(host->port(), me(), fresh).status);
}

TEST(Auth, ValidTokenWorksOnBothTransports) {
    const std::string token = host->mint_token("alice");
    WsClient ws;
    CHECK_TEXT(ws.connect(host->port(), "/ws?token=" + url_encode(token)), ws.error().c_str());
    STRCMP_EQUAL("alice", ws.read_until_type("presence_snapshot")["self"]["user_id"].str().c_str());
    HttpResponse r = http_get(host->port(), me(), token);
    LONGS_EQUAL(200, r.status);
    STRCMP_EQUAL("alice", r.json()["user_id"].str().c_str());
}

TEST(Auth, TokenForAliceCannotActAsBob) {
    const std::string alice = host->mint_token("alice");
    // Outside --demo the ?user= parameter means nothing: the token decides who you are.
    WsClient ws;
    CHECK_TEXT(ws.connect(host->port(), "/ws?token=" + url_encode(alice) + "&user=bob"),
               ws.error().c_str());
    STRCMP_EQUAL("alice", ws.read_until_type("presence_snapshot")["self"]["user_id"].str().c_str());
    WsClient no_token;
    CHECK_FALSE(no_token.connect(host->port(), "/ws?user=bob"));

    HttpResponse r = http_send(host->port(), "PUT", host->http_prefix() + "/status",
                               R"({"status":"dnd"})", alice);
    LONGS_EQUAL(200, r.status);
    STRCMP_EQUAL("alice", r.json()["user_id"].str().c_str());
    r = rest_get(*host, "bob", "/me");
    STRCMP_EQUAL("bob", r.json()["user_id"].str().c_str());
    STRCMP_EQUAL("online", r.json()["status"].str().c_str());
}
