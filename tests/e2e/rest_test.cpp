// SPEC 6 over HTTP: every route, its answers and its error codes; health and metrics.
#include "e2e_fixture.hpp"

using namespace presence::e2e;

namespace {

// Error answers carry the SPEC envelope {"error":{"code":..,"message":..}}.
void check_error(const HttpResponse& r, int status, const char* code) {
    LONGS_EQUAL_TEXT(status, r.status, r.body.c_str());
    CHECK_TEXT(r.json()["error"]["message"].is_string(), r.body.c_str());
    if (code) STRCMP_EQUAL(code, r.error_code().c_str());
}

}  // namespace

TEST_GROUP(Rest) {
    std::unique_ptr<HostProcess> host;
    void setup() override {
        HostOptions o = small_timings();
        o.set("presence.max_batch", "5");
        o.set("presence.max_message_bytes", "4096");
        o.friends({{"alice", "bob"}, {"alice", "carol"}});
        host = start_host(o);
    }
    void teardown() override {
        stop_cleanly(host);
    }
    std::string prefix() {
        return host->http_prefix();
    }
};

TEST(Rest, GetMeAnswersSelf) {
    HttpResponse r = rest_get(*host, "alice", "/me");
    LONGS_EQUAL_TEXT(200, r.status, r.body.c_str());
    Json self = r.json();
    STRCMP_EQUAL("alice", self["user_id"].str().c_str());
    STRCMP_EQUAL("online", self["status"].str().c_str());
    CHECK(self["visibility"].is_array());
    LONGS_EQUAL(0, self["connections"].i64());
    CHECK(r.headers["content-type"].find("application/json") != std::string::npos);
}

TEST(Rest, EveryUserRouteWithoutTokenIs401) {
    const char* routes[][2] = {
        {"GET", "/me"},         {"PUT", "/status"},         {"GET", "/users/bob"},
        {"POST", "/query"},     {"GET", "/friends"},        {"GET", "/visibility"},
        {"PUT", "/visibility"}, {"PUT", "/visibility/bob"}, {"DELETE", "/visibility/bob"}};
    for (auto& route : routes) {
        HttpResponse r = http_send(host->port(), route[0], prefix() + route[1], "{}");
        LONGS_EQUAL_TEXT(401, r.status, (std::string(route[0]) + " " + route[1]).c_str());
        CHECK_TEXT(r.json()["error"]["code"].is_string(), r.body.c_str());
    }
}

TEST(Rest, PutStatusAnswersSelfAndFriendsSeeIt) {
    WsClient bob;
    connect_user(*host, bob, "bob");
    HttpResponse r = rest_send(*host, "alice", "PUT", "/status",
                               R"({"status":"dnd","message":"meeting","until":null})");
    LONGS_EQUAL_TEXT(200, r.status, r.body.c_str());
    STRCMP_EQUAL("dnd", r.json()["status"].str().c_str());
    STRCMP_EQUAL("meeting", r.json()["message"].str().c_str());
    // alice has no connection: she is offline to bob whatever she chose.
    expect_no_frame(bob);
    r = rest_get(*host, "bob", "/users/alice");
    LONGS_EQUAL(200, r.status);
    STRCMP_EQUAL("offline", status_of(r.json()).c_str());
    WsClient alice;
    connect_user(*host, alice, "alice");
    Json seen = next_presence_about(bob, "alice");
    STRCMP_EQUAL("dnd", status_of(seen).c_str());
    STRCMP_EQUAL("meeting", seen["message"].str().c_str());
}

TEST(Rest, PutStatusRejectsBadValues) {
    HttpResponse r = rest_send(*host, "alice", "PUT", "/status", R"({"status":"offline"})");
    CHECK_EQUAL("invalid_status", r.error_code());
    CHECK(r.status == 400 || r.status == 422);
    r = rest_send(*host, "alice", "PUT", "/status", R"({"status":"online","message":42})");
    CHECK_EQUAL("invalid_field", r.error_code());
    r = rest_send(*host, "alice", "PUT", "/status", R"({"status":)");
    check_error(r, 400, "bad_json");
}

TEST(Rest, UsersQueryAndFriends) {
    WsClient bob;
    connect_user(*host, bob, "bob");
    HttpResponse r = rest_get(*host, "alice", "/users/bob");
    LONGS_EQUAL_TEXT(200, r.status, r.body.c_str());
    STRCMP_EQUAL("bob", r.json()["user_id"].str().c_str());
    STRCMP_EQUAL("online", status_of(r.json()).c_str());

    r = rest_send(*host, "alice", "POST", "/query",
                  R"({"user_ids":["carol","bob","carol","zed"]})");
    LONGS_EQUAL_TEXT(200, r.status, r.body.c_str());
    auto ids = r.json()["users"].strings_of("user_id");
    LONGS_EQUAL(3, ids.size());
    STRCMP_EQUAL("carol", ids[0].c_str());
    STRCMP_EQUAL("bob", ids[1].c_str());
    STRCMP_EQUAL("zed", ids[2].c_str());

    r = rest_get(*host, "alice", "/friends");
    LONGS_EQUAL_TEXT(200, r.status, r.body.c_str());
    auto friends = r.json()["users"].strings_of("user_id");
    LONGS_EQUAL(2, friends.size());
    CHECK(r.json()["users"].find_by("user_id", "bob").valid());
    CHECK(r.json()["users"].find_by("user_id", "carol").valid());
}

TEST(Rest, QueryOverMaxBatchIsTooMany) {
    HttpResponse r =
        rest_send(*host, "alice", "POST", "/query", R"({"user_ids":["a","b","c","d","e","f"]})");
    CHECK_EQUAL("too_many", r.error_code());
    CHECK(r.status >= 400 && r.status < 500);
}

TEST(Rest, VisibilityRoutes) {
    HttpResponse r = rest_get(*host, "alice", "/visibility");
    LONGS_EQUAL_TEXT(200, r.status, r.body.c_str());
    LONGS_EQUAL(0, r.json()["user_ids"].size());

    r = rest_send(*host, "alice", "PUT", "/visibility", R"({"user_ids":["bob","carol"]})");
    LONGS_EQUAL_TEXT(200, r.status, r.body.c_str());
    r = rest_get(*host, "alice", "/visibility");
    LONGS_EQUAL(2, r.json()["user_ids"].size());

    // All or nothing: one stranger and the list stays as it was; the offenders are named.
    r = rest_send(*host, "alice", "PUT", "/visibility", R"({"user_ids":["bob","mallory","eve"]})");
    check_error(r, 422, "not_friend");
    CHECK_TEXT(r.body.find("mallory") != std::string::npos, r.body.c_str());
    CHECK_TEXT(r.body.find("eve") != std::string::npos, r.body.c_str());
    r = rest_get(*host, "alice", "/visibility");
    LONGS_EQUAL(2, r.json()["user_ids"].size());

    r = rest_send(*host, "alice", "DELETE", "/visibility/carol", "");
    LONGS_EQUAL_TEXT(200, r.status, r.body.c_str());
    r = rest_get(*host, "alice", "/visibility");
    auto ids = r.json()["user_ids"].strings();
    LONGS_EQUAL(1, ids.size());
    STRCMP_EQUAL("bob", ids[0].c_str());

    r = rest_send(*host, "alice", "PUT", "/visibility/carol", "");
    LONGS_EQUAL_TEXT(200, r.status, r.body.c_str());
    LONGS_EQUAL(2, rest_get(*host, "alice", "/visibility").json()["user_ids"].size());
}

TEST(Rest, UnknownRouteIs404AndWrongMethodIs405) {
    check_error(rest_get(*host, "alice", "/no-such-route"), 404, nullptr);
    check_error(rest_send(*host, "alice", "DELETE", "/me", ""), 405, nullptr);
    check_error(rest_send(*host, "alice", "POST", "/friends", "{}"), 405, nullptr);
}

TEST(Rest, BodyOverTheLimitIs413) {
    std::string big = R"({"status":"online","message":")" + std::string(100000, 'x') + "\"}";
    HttpResponse r = rest_send(*host, "alice", "PUT", "/status", big);
    LONGS_EQUAL_TEXT(413, r.status, r.body.substr(0, 200).c_str());
}

TEST(Rest, BadJsonIs400) {
    check_error(rest_send(*host, "alice", "POST", "/query", "not json"), 400, "bad_json");
    check_error(rest_send(*host, "alice", "PUT", "/visibility", "[1"), 400, "bad_json");
}

TEST(Rest, HealthNeedsNoTokenAndCountsConnections) {
    WsClient bob;
    connect_user(*host, bob, "bob");
    HttpResponse r = http_get(host->port(), prefix() + "/health");
    LONGS_EQUAL_TEXT(200, r.status, r.body.c_str());
    Json h = r.json();
    STRCMP_EQUAL("ok", h["status"].str().c_str());
    LONGS_EQUAL(1, h["connections"].i64());
    CHECK(h.has("db"));
    CHECK(h.has("redis"));
    CHECK(h.has("instance"));
}

TEST(Rest, MetricsArePrometheusText) {
    WsClient bob;
    connect_user(*host, bob, "bob");
    const std::string path = host->http_prefix() + "/metrics";
    HttpResponse r = http_get(host->port(), path, host->admin_token());
    LONGS_EQUAL_TEXT(200, r.status, r.body.c_str());
    CHECK(r.headers["content-type"].find("text/plain") != std::string::npos);
    CHECK_TEXT(r.body.find("# TYPE") != std::string::npos, r.body.c_str());
    CHECK_TEXT(r.body.find("connections") != std::string::npos, r.body.c_str());
    CHECK_TEXT(r.body.find("_bucket") != std::string::npos, r.body.c_str());
}

// SPEC 6: operators only (host.admin_token), never an ordinary user's token.
TEST(Rest, MetricsNeedTheAdminToken) {
    const std::string path = host->http_prefix() + "/metrics";
    HttpResponse r = http_get(host->port(), path);
    LONGS_EQUAL_TEXT(401, r.status, r.body.c_str());
    CHECK_TEXT(r.body.find("\"unauthorized\"") != std::string::npos, r.body.c_str());
    r = rest_get(*host, "bob", "/metrics");  // a valid user token
    LONGS_EQUAL_TEXT(401, r.status, r.body.c_str());
    CHECK_TEXT(r.body.find("# TYPE") == std::string::npos, r.body.c_str());
    r = rest_get(*host, "host.admin", "/metrics");  // no user name makes an operator
    LONGS_EQUAL_TEXT(401, r.status, r.body.c_str());
    r = http_get(host->port(), path, "wrong-admin-token");
    LONGS_EQUAL_TEXT(401, r.status, r.body.c_str());
    r = http_get(host->port(), path, host->admin_token());
    LONGS_EQUAL_TEXT(200, r.status, r.body.c_str());
}

TEST(Rest, AdminRouteNeedsTheAdminToken) {
    const std::string body = R"({"op":"add","a":"bob","b":"carol"})";
    HttpResponse r = http_send(host->port(), "POST", "/admin/friendships", body);
    LONGS_EQUAL_TEXT(401, r.status, r.body.c_str());
    r = http_send(host->port(), "POST", "/admin/friendships", body, "wrong-admin-token");
    LONGS_EQUAL_TEXT(401, r.status, r.body.c_str());
    r = http_send(host->port(), "POST", "/admin/friendships", body, host->mint_token("bob"));
    LONGS_EQUAL_TEXT(401, r.status, r.body.c_str());
    // Still not friends.
    CHECK_FALSE(
        rest_get(*host, "bob", "/friends").json()["users"].find_by("user_id", "carol").valid());
}

TEST(Rest, AdminBatchOfFriendshipOps) {
    const std::string body =
        R"({"ops":[{"op":"add","a":"bob","b":"carol"},{"op":"add","a":"bob","b":"dave"},{"op":"remove","a":"alice","b":"carol"}]})";
    HttpResponse r =
        http_send(host->port(), "POST", "/admin/friendships", body, host->admin_token());
    LONGS_EQUAL_TEXT(200, r.status, r.body.c_str());
    auto bob_friends = rest_get(*host, "bob", "/friends").json()["users"].strings_of("user_id");
    LONGS_EQUAL(3, bob_friends.size());
    auto carol_friends = rest_get(*host, "carol", "/friends").json()["users"].strings_of("user_id");
    LONGS_EQUAL(1, carol_friends.size());
    STRCMP_EQUAL("bob", carol_friends[0].c_str());
}

TEST(Rest, ResponseHeadersAndConditionalGetsReachTheClient) {
    HttpResponse r = rest_get(*host, "alice", "/me");
    LONGS_EQUAL_TEXT(200, r.status, r.body.c_str());
    const std::string etag = r.headers["etag"];
    CHECK_TEXT(etag.size() == 18 && etag.front() == '"' && etag.back() == '"', etag.c_str());
    STRCMP_EQUAL("no-cache", r.headers["cache-control"].c_str());
    const HttpHeaders conditional = {{"Authorization", "Bearer " + host->mint_token("alice")},
                                     {"If-None-Match", etag}};
    HttpResponse same = http_request(host->port(), "GET", prefix() + "/me", conditional);
    LONGS_EQUAL_TEXT(304, same.status, same.body.c_str());
    CHECK(same.body.empty());
    STRCMP_EQUAL(etag.c_str(), same.headers["etag"].c_str());

    HttpResponse anon = http_get(host->port(), prefix() + "/me");
    LONGS_EQUAL(401, anon.status);
    CHECK_TEXT(anon.headers["www-authenticate"].rfind("Bearer ", 0) == 0,
               anon.headers["www-authenticate"].c_str());
    STRCMP_EQUAL("no-store", anon.headers["cache-control"].c_str());
    STRCMP_EQUAL("GET", rest_send(*host, "alice", "DELETE", "/me", "").headers["allow"].c_str());

    // updates_per_s 5, burst 10: the 11th update within a second is 429 with Retry-After.
    // One token for the burst: minting runs presence-host, too slow under TSan for a second.
    const std::string token = host->mint_token("alice");
    HttpResponse limited;
    for (int i = 0; i < 15 && limited.status != 429; ++i) {
        limited = http_send(host->port(), "PUT", prefix() + "/status",
                            i % 2 ? R"({"status":"away"})" : R"({"status":"dnd"})", token);
    }
    LONGS_EQUAL_TEXT(429, limited.status, limited.body.c_str());
    STRCMP_EQUAL("1", limited.headers["retry-after"].c_str());
}
