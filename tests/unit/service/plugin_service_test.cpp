// Drives the real libpresence.so through its C table, in-process, with a fake host that
// records what the plugin sends: the service-level behaviour a host relies on.
#include <dlfcn.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "presence_plugin.h"

// CppUTest last: its memory-leak macros must not rewrite standard headers.
// clang-format off
#include <CppUTest/TestHarness.h>
// clang-format on

namespace {

struct Response {
    int status = 0;
    std::string content_type;
    std::string body;
};

struct FakeHost {
    int64_t now = 1'700'000'000'000;
    std::vector<std::pair<uint64_t, std::string>> sent;
    std::vector<std::pair<uint64_t, uint16_t>> closed;
    std::map<uint64_t, Response> responses;
    std::vector<std::string> changes;  // "user:status:chosen"
    std::size_t send_many_calls = 0;
    int wakes = 0;

    std::vector<std::string> frames_for(uint64_t conn) const {
        std::vector<std::string> out;
        for (const auto& [c, f] : sent) {
            if (c == conn) out.push_back(f);
        }
        return out;
    }
    std::string last_for(uint64_t conn) const {
        auto f = frames_for(conn);
        return f.empty() ? "" : f.back();
    }
    bool any_for(uint64_t conn, const std::string& needle) const {
        for (const auto& f : frames_for(conn)) {
            if (f.find(needle) != std::string::npos) return true;
        }
        return false;
    }
};

int host_send(void* ctx, uint64_t conn, const char* data, size_t len) {
    static_cast<FakeHost*>(ctx)->sent.emplace_back(conn, std::string(data, len));
    return 0;
}
size_t host_send_many(void* ctx, const uint64_t* conns, size_t n, const char* data, size_t len) {
    auto* h = static_cast<FakeHost*>(ctx);
    ++h->send_many_calls;
    for (size_t i = 0; i < n; ++i) h->sent.emplace_back(conns[i], std::string(data, len));
    return n;
}
void host_close(void* ctx, uint64_t conn, uint16_t code, const char*) {
    static_cast<FakeHost*>(ctx)->closed.emplace_back(conn, code);
}
void host_respond(void* ctx, uint64_t id, int status, const char* ct, const char* body,
                  size_t len) {
    auto& r = static_cast<FakeHost*>(ctx)->responses[id];
    CHECK_EQUAL(0, r.status);  // exactly once per request
    r.status = status;
    r.content_type = ct;
    r.body.assign(body, len);
}
int64_t host_now(void* ctx) {
    return static_cast<FakeHost*>(ctx)->now;
}
void host_wake(void* ctx) {
    ++static_cast<FakeHost*>(ctx)->wakes;
}
void host_change(void* ctx, const presence_change* c) {
    static_cast<FakeHost*>(ctx)->changes.push_back(std::string(c->user_id) + ":" +
                                                   std::to_string(c->status) + ":" +
                                                   std::to_string(c->chosen_status));
}

const presence_plugin_api* load_api(void*& so) {
    so = dlopen(PRESENCE_PLUGIN_PATH, RTLD_NOW | RTLD_LOCAL);
    if (!so) FAIL(dlerror());
    auto entry = reinterpret_cast<presence_entry_fn>(dlsym(so, PRESENCE_ENTRY_SYMBOL));
    CHECK(entry != nullptr);
    char why[256];
    const presence_plugin_api* api = entry(PRESENCE_ABI_VERSION, why, sizeof why);
    CHECK_TEXT(api != nullptr, why);
    return api;
}

presence_host_api make_host_table(FakeHost& h, bool with_send_many) {
    presence_host_api t{};
    t.struct_size = sizeof t;
    t.host_ctx = &h;
    t.send = host_send;
    t.close = host_close;
    t.respond = host_respond;
    t.now_ms = host_now;
    t.wake = host_wake;
    t.on_presence_change = host_change;
    t.send_many = host_send_many;
    if (!with_send_many) {
        // An older host whose table ends before send_many.
        t.struct_size = offsetof(presence_host_api, send_many);
    }
    return t;
}

}  // namespace

TEST_GROUP(PluginEntry) {
    void* so = nullptr;
    const presence_plugin_api* api = nullptr;
    FakeHost host;
    void setup() override {
        api = load_api(so);
    }
    void teardown() override {
        dlclose(so);
    }

    std::string create_error(std::vector<presence_setting> settings) {
        presence_host_api t = make_host_table(host, true);
        char err[256] = "";
        presence_plugin* p = api->create(&t, settings.data(), settings.size(), err, sizeof err);
        if (p) api->destroy(p);
        return p ? "" : err;
    }
};

TEST(PluginEntry, RefusesUnknownAbiVersionWithReason) {
    auto entry = reinterpret_cast<presence_entry_fn>(dlsym(so, PRESENCE_ENTRY_SYMBOL));
    char why[128] = "";
    POINTERS_EQUAL(nullptr, entry(2, why, sizeof why));
    CHECK(std::strstr(why, "version") != nullptr);
    STRCMP_EQUAL("presence", api->name);
    LONGS_EQUAL(PRESENCE_ABI_VERSION, api->abi_version);
}

TEST(PluginEntry, CreateNamesUnknownKey) {
    const std::string err = create_error({{"presence.nope", "1"}, {"host.listen", "x"}});
    CHECK_TEXT(err.find("presence.nope") != std::string::npos, err.c_str());
}

TEST(PluginEntry, CreateNamesMalformedValue) {
    const std::string err = create_error({{"presence.offline_grace_s", "-1"}});
    CHECK_TEXT(err.find("presence.offline_grace_s") != std::string::npos, err.c_str());
}

TEST(PluginEntry, CreateNamesMalformedRedisUrl) {
    for (const char* url :
         {"http://x:1", "redis://h:0", "redis+cluster://h:1/2", "redis://h:1/x"}) {
        const std::string err = create_error({{"presence.redis_url", url}});
        CHECK_TEXT(err.rfind("presence.redis_url: ", 0) == 0, err.c_str());
    }
}

TEST(PluginEntry, CreateNamesBadFriendsFileLine) {
    char path[] = "/tmp/presence-ff-XXXXXX";
    const int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    {
        std::ofstream f(path);
        f << "a b\n# fine\nx y z\n";
    }
    const std::string err = create_error({{"presence.friends_file", path}});
    std::remove(path);
    CHECK_TEXT(err.find("presence.friends_file") != std::string::npos, err.c_str());
    CHECK_TEXT(err.find("line 3") != std::string::npos, err.c_str());
}

TEST(PluginEntry, CreateRefusesHostTableWithoutRequiredCallbacks) {
    presence_host_api t = make_host_table(host, true);
    t.send = nullptr;
    char err[256] = "";
    CHECK(api->create(&t, nullptr, 0, err, sizeof err) == nullptr);
    CHECK(std::strlen(err) > 0);
}

// ---------------------------------------------------------------------------------------

TEST_GROUP(PluginService) {
    void* so = nullptr;
    const presence_plugin_api* api = nullptr;
    FakeHost host;
    presence_plugin* p = nullptr;
    uint64_t next_request = 1;

    void start(bool with_send_many, std::vector<presence_setting> settings = {}) {
        presence_host_api t = make_host_table(host, with_send_many);
        char err[256] = "";
        p = api->create(&t, settings.data(), settings.size(), err, sizeof err);
        CHECK_TEXT(p != nullptr, err);
    }
    void setup() override {
        api = load_api(so);
    }
    void teardown() override {
        if (p) api->destroy(p);
        dlclose(so);
    }
    void befriend(const char* a, const char* b) {
        char err[128] = "";
        LONGS_EQUAL(0, api->friendship(p, PRESENCE_FRIENDSHIP_ADD, a, std::strlen(a), b,
                                       std::strlen(b), err, sizeof err));
    }
    void connect(uint64_t conn, const char* user) {
        LONGS_EQUAL(0, api->on_connect(p, conn, user, std::strlen(user)));
    }
    void message(uint64_t conn, const std::string& text) {
        api->on_message(p, conn, text.data(), text.size());
    }
    Response http(const char* method, const char* path, const char* user,
                  const std::string& body = "", int* handled = nullptr, uint32_t flags = 0) {
        presence_http_request r{};
        r.struct_size = sizeof r;
        r.request_id = next_request++;
        r.method = method;
        r.path = path;
        r.user_id = user;
        r.body = body.data();
        r.body_len = body.size();
        r.flags = flags;
        const int h = api->on_http(p, &r);
        if (handled) *handled = h;
        return host.responses[r.request_id];
    }
};

TEST(PluginService, SnapshotOnOpenAndFriendSeesOnline) {
    start(true);
    befriend("alice", "bob");
    connect(1, "alice");
    STRCMP_EQUAL(
        R"({"type":"presence_snapshot","self":{"user_id":"alice","status":"online","message":null,"until":null,"visibility":[],"connections":1},"friends":[{"user_id":"bob","status":"offline","message":null,"last_seen":null}]})",
        host.last_for(1).c_str());
    connect(2, "bob");
    CHECK(host.any_for(2, R"("friends":[{"user_id":"alice","status":"online")"));
    STRCMP_EQUAL(
        R"({"type":"presence","user_id":"bob","status":"online","message":null,"last_seen":null})",
        host.last_for(1).c_str());
}

TEST(PluginService, InvisibleUpdateEchoesRefAndShowsOfflineToFriend) {
    start(true);
    befriend("alice", "bob");
    connect(1, "alice");
    connect(2, "bob");
    host.sent.clear();
    message(2, R"({"type":"presence_update","status":"invisible","message":"shh","ref":"u1"})");
    const std::string self = host.last_for(2);
    CHECK_TEXT(
        self.find(
            R"("type":"presence_self","user_id":"bob","status":"invisible","message":"shh")") !=
            std::string::npos,
        self.c_str());
    CHECK_TEXT(self.find(R"("ref":"u1"})") != std::string::npos, self.c_str());
    const std::string seen = host.last_for(1);
    CHECK_TEXT(
        seen.find(
            R"({"type":"presence","user_id":"bob","status":"offline","message":null,"last_seen":)") ==
            0,
        seen.c_str());
    CHECK(seen.find("shh") == std::string::npos);  // the message of a hidden user never leaks
    CHECK(!host.changes.empty());
    STRCMP_EQUAL("bob:0:4", host.changes.back().c_str());
}

TEST(PluginService, HeartbeatIsAcknowledgedWithServerTimeAndRef) {
    start(true);
    connect(1, "alice");
    message(1, R"({"type":"presence_heartbeat","idle":false,"ref":9})");
    STRCMP_EQUAL(R"({"type":"presence_heartbeat_ack","server_time":1700000000000,"ref":9})",
                 host.last_for(1).c_str());
}

TEST(PluginService, QueryAnswersInOrderWithoutDuplicatesAndHidesNonFriends) {
    start(true);
    befriend("alice", "bob");
    connect(1, "alice");
    connect(2, "bob");
    connect(3, "eve");  // online, but not alice's friend
    message(1, R"({"type":"presence_query","user_ids":["eve","bob","eve"],"ref":"q"})");
    STRCMP_EQUAL(
        R"({"type":"presence_result","users":[{"user_id":"eve","status":"offline","message":null,"last_seen":null},{"user_id":"bob","status":"online","message":null,"last_seen":null}],"ref":"q"})",
        host.last_for(1).c_str());
}

TEST(PluginService, BadFramesGetErrorCodesWithRef) {
    start(true);
    connect(1, "alice");
    message(1, "not json");
    CHECK(host.last_for(1).find(R"("code":"bad_json")") != std::string::npos);
    message(1, R"({"type":"presence_jump","ref":"j"})");
    CHECK(host.last_for(1).find(R"("code":"unknown_type")") != std::string::npos);
    CHECK(host.last_for(1).find(R"("ref":"j"})") != std::string::npos);
    message(1, R"({"type":"presence_update","status":"offline"})");
    CHECK(host.last_for(1).find(R"("code":"invalid_status")") != std::string::npos);
    CHECK(host.closed.empty());  // the connection stays open
}

TEST(PluginService, RepeatedAbuseClosesWith1008) {
    start(true);
    connect(1, "alice");
    for (int i = 0; i < 40 && host.closed.empty(); ++i) {
        host.now += 50;  // slow enough for the frame limit: only the error count trips
        message(1, "garbage");
    }
    LONGS_EQUAL(1, host.closed.size());
    LONGS_EQUAL(1008, host.closed[0].second);
}

TEST(PluginService, FrameFloodIsRateLimited) {
    start(true);
    connect(1, "alice");
    for (int i = 0; i < 101; ++i) message(1, R"({"type":"presence_heartbeat"})");
    CHECK(host.last_for(1).find(R"("code":"rate_limited")") != std::string::npos);
}

TEST(PluginService, FanOutUsesSendManyWhenOffered) {
    start(true);
    befriend("alice", "bob");
    connect(1, "alice");
    connect(2, "alice");
    connect(3, "bob");
    host.sent.clear();
    host.send_many_calls = 0;
    message(3, R"({"type":"presence_update","status":"away"})");
    CHECK(host.send_many_calls >= 1);
    CHECK(host.any_for(1, R"("user_id":"bob","status":"away")"));
    CHECK(host.any_for(2, R"("user_id":"bob","status":"away")"));
}

TEST(PluginService, FanOutFallsBackToSendOnOlderHosts) {
    start(false);
    befriend("alice", "bob");
    connect(1, "alice");
    connect(2, "alice");
    connect(3, "bob");
    host.sent.clear();
    message(3, R"({"type":"presence_update","status":"dnd"})");
    LONGS_EQUAL(0, host.send_many_calls);
    CHECK(host.any_for(1, R"("user_id":"bob","status":"dnd")"));
    CHECK(host.any_for(2, R"("user_id":"bob","status":"dnd")"));
}

TEST(PluginService, LastDisconnectGoesOfflineAfterGrace) {
    start(true);
    befriend("alice", "bob");
    connect(1, "alice");
    connect(2, "bob");
    api->on_disconnect(p, 2);
    host.sent.clear();
    host.now += 1000;
    api->tick(p);
    CHECK_FALSE(host.any_for(1, R"("user_id":"bob","status":"offline")"));  // still in grace
    host.now += 2500;
    api->tick(p);
    CHECK(host.any_for(1, R"("user_id":"bob","status":"offline")"));
}

TEST(PluginService, SilentConnectionIsClosedAfterHeartbeatTimeout) {
    start(true, {{"presence.heartbeat_timeout_s", "5"}});
    connect(1, "alice");
    host.now += 6000;
    api->tick(p);
    CHECK(!host.closed.empty());
    LONGS_EQUAL(1, host.closed[0].first);
}

TEST(PluginService, RestAuthRoutingAndErrors) {
    start(true, {{"presence.max_message_bytes", "1024"}, {"presence.max_batch", "2"}});
    int handled = -1;
    http("GET", "/elsewhere", "alice", "", &handled);
    LONGS_EQUAL(PRESENCE_HTTP_NOT_MINE, handled);
    LONGS_EQUAL(401, http("GET", "/api/presence/me", nullptr).status);
    LONGS_EQUAL(404, http("GET", "/api/presence/nope", "alice").status);
    LONGS_EQUAL(405, http("POST", "/api/presence/me", "alice").status);
    LONGS_EQUAL(413, http("PUT", "/api/presence/status", "alice", std::string(2000, ' ')).status);
    LONGS_EQUAL(400, http("PUT", "/api/presence/status", "alice", "{").status);
    Response r = http("PUT", "/api/presence/status", "alice", R"({"status":"bogus"})");
    LONGS_EQUAL(422, r.status);
    CHECK(r.body.find(R"("code":"invalid_status")") != std::string::npos);
    r = http("POST", "/api/presence/query", "alice", R"({"user_ids":["a","b","c"]})");
    LONGS_EQUAL(422, r.status);
    CHECK(r.body.find(R"("code":"too_many")") != std::string::npos);
}

TEST(PluginService, RestMeStatusAndVisibility) {
    start(true);
    befriend("alice", "bob");
    Response r = http("GET", "/api/presence/me", "alice");
    LONGS_EQUAL(200, r.status);
    STRCMP_EQUAL("application/json", r.content_type.c_str());
    STRCMP_EQUAL(
        R"({"user_id":"alice","status":"online","message":null,"until":null,"visibility":[],"connections":0})",
        r.body.c_str());
    r = http("PUT", "/api/presence/status", "alice", R"({"status":"away","message":"tea"})");
    LONGS_EQUAL(200, r.status);
    CHECK(r.body.find(R"("status":"away","message":"tea")") != std::string::npos);
    r = http("PUT", "/api/presence/visibility", "alice", R"({"user_ids":["bob","zed","yan"]})");
    LONGS_EQUAL(422, r.status);
    CHECK_TEXT(r.body.find(R"("code":"not_friend")") != std::string::npos, r.body.c_str());
    CHECK_TEXT(r.body.find(R"("user_ids":["yan","zed"])") != std::string::npos, r.body.c_str());
    r = http("PUT", "/api/presence/visibility/bob", "alice");
    LONGS_EQUAL(200, r.status);
    STRCMP_EQUAL(R"({"user_ids":["bob"]})", r.body.c_str());
    r = http("GET", "/api/presence/visibility", "alice");
    STRCMP_EQUAL(R"({"user_ids":["bob"]})", r.body.c_str());
    r = http("DELETE", "/api/presence/visibility/bob", "alice");
    STRCMP_EQUAL(R"({"user_ids":[]})", r.body.c_str());
}

TEST(PluginService, RestSeesFriendsOnlyAndHealthMetricsNeedNoAuth) {
    start(true, {{"presence.instance_id", "test-1"}});
    befriend("alice", "bob");
    connect(2, "bob");
    Response r = http("GET", "/api/presence/users/bob", "alice");
    LONGS_EQUAL(200, r.status);
    STRCMP_EQUAL(R"({"user_id":"bob","status":"online","message":null,"last_seen":null})",
                 r.body.c_str());
    r = http("GET", "/api/presence/users/alice", "eve");  // not a friend
    STRCMP_EQUAL(R"({"user_id":"alice","status":"offline","message":null,"last_seen":null})",
                 r.body.c_str());
    r = http("GET", "/api/presence/friends", "alice");
    STRCMP_EQUAL(
        R"({"users":[{"user_id":"bob","status":"online","message":null,"last_seen":null}]})",
        r.body.c_str());
    r = http("GET", "/api/presence/health", nullptr);
    LONGS_EQUAL(200, r.status);
    STRCMP_EQUAL(
        R"({"status":"ok","db":"memory","redis":"disabled","instance":"test-1","connections":1})",
        r.body.c_str());
    r = http("GET", "/api/presence/metrics", nullptr);
    LONGS_EQUAL(401, r.status);
    r = http("GET", "/api/presence/metrics", "alice");  // a user is not the operator
    LONGS_EQUAL(401, r.status);
    r = http("GET", "/api/presence/metrics", nullptr, "", nullptr, PRESENCE_HTTP_OPERATOR);
    LONGS_EQUAL(200, r.status);
    STRCMP_EQUAL("text/plain; version=0.0.4", r.content_type.c_str());
    CHECK(r.body.find("presence_connections 1\n") != std::string::npos);
}

TEST(PluginService, FriendshipRemovalSendsOffline) {
    start(true);
    befriend("alice", "bob");
    connect(1, "alice");
    connect(2, "bob");
    host.sent.clear();
    char err[128] = "";
    LONGS_EQUAL(
        0, api->friendship(p, PRESENCE_FRIENDSHIP_REMOVE, "alice", 5, "bob", 3, err, sizeof err));
    CHECK(host.any_for(1, R"("user_id":"bob","status":"offline")"));
    CHECK(host.any_for(2, R"("user_id":"alice","status":"offline")"));
    LONGS_EQUAL(-1, api->friendship(p, 9, "alice", 5, "bob", 3, err, sizeof err));
    LONGS_EQUAL(
        -1, api->friendship(p, PRESENCE_FRIENDSHIP_ADD, "alice", 5, "alice", 5, err, sizeof err));
    LONGS_EQUAL(-1, api->friendship(p, PRESENCE_FRIENDSHIP_ADD, "a b", 3, "c", 1, err, sizeof err));
}

TEST(PluginService, ConnectionOverTheUserLimitIsRefused) {
    start(true, {{"presence.max_connections_per_user", "1"}});
    connect(1, "alice");
    LONGS_EQUAL(1008, api->on_connect(p, 2, "alice", 5));
    CHECK(host.any_for(2, R"("code":"too_many")"));
    CHECK(host.closed.empty());  // refused by the return value, not by close()
    api->on_disconnect(p, 1);
    LONGS_EQUAL(0, api->on_connect(p, 3, "alice", 5));
}

TEST(PluginService, InvalidUserIdIsRefused) {
    start(true);
    CHECK(api->on_connect(p, 1, "bad id", 6) != 0);
}
