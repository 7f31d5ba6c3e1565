// The service's loading rules with a store that answers only when the test says so: a
// connection is pending until its user, friend list and friends' records are loaded; its
// messages wait (up to 32) and are answered after the snapshot; a store failure closes it with
// 1013; concurrent requests share one load; REST answers later through respond().
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "service/service.hpp"
#include "store/store.hpp"

// CppUTest last: its memory-leak macros must not rewrite standard headers.
// clang-format off
#include <CppUTest/TestHarness.h>
// clang-format on

using namespace presence;

namespace {

struct Recorder {
    std::int64_t now = 1'000'000;
    std::vector<std::pair<std::uint64_t, std::string>> sent;
    std::vector<std::pair<std::uint64_t, std::uint16_t>> closed;
    std::map<std::uint64_t, std::pair<int, std::string>> responses;

    std::vector<std::string> frames_for(std::uint64_t conn) const {
        std::vector<std::string> out;
        for (const auto& [c, f] : sent) {
            if (c == conn) out.push_back(f);
        }
        return out;
    }
};

int rec_send(void* ctx, std::uint64_t conn, const char* data, std::size_t len) {
    static_cast<Recorder*>(ctx)->sent.emplace_back(conn, std::string(data, len));
    return 0;
}
void rec_close(void* ctx, std::uint64_t conn, std::uint16_t code, const char*) {
    static_cast<Recorder*>(ctx)->closed.emplace_back(conn, code);
}
void rec_respond(void* ctx, std::uint64_t id, int status, const char*, const char* body,
                 std::size_t len) {
    static_cast<Recorder*>(ctx)->responses[id] = {status, std::string(body, len)};
}
std::int64_t rec_now(void* ctx) {
    return static_cast<Recorder*>(ctx)->now;
}
void rec_wake(void*) {}

// Loads wait in `held` until release(); pump() runs released ones only.
class ManualStore final : public store::Store {
  public:
    bool ok = true;
    bool hold_acks = false;  // true: acknowledgements wait in `held` like loads
    int user_loads = 0;
    int friend_loads = 0;
    std::map<std::string, std::vector<std::string>> friends;

    void load_users(std::vector<std::string> ids, UsersDone done) override {
        ++user_loads;
        held_.push_back([this, ids = std::move(ids), done = std::move(done)] {
            std::vector<core::UserRecord> records;
            for (const auto& id : ids) {
                core::UserRecord r;
                r.user_id = id;
                records.push_back(r);
            }
            done(ok, ok ? records : std::vector<core::UserRecord>{});
        });
    }
    void load_friends(std::string id, FriendsDone done) override {
        ++friend_loads;
        held_.push_back(
            [this, id = std::move(id), done = std::move(done)] { done(ok, friends[id]); });
    }
    void save_user(const core::UserRecord&) override {}
    void friendship_changed(bool, const std::string&, const std::string&) override {}
    bool holds_acks() const override { return hold_acks; }
    void when_durable(std::function<void()> done) override {
        if (hold_acks) {
            held_.push_back(std::move(done));
        } else {
            ready_.push_back(std::move(done));
        }
    }
    void pump() override {
        while (!ready_.empty()) {
            auto task = std::move(ready_.front());
            ready_.pop_front();
            task();
        }
    }
    bool flush(long) override { return true; }
    store::StoreHealth health() const override {
        store::StoreHealth h;
        h.backend = "manual";
        h.ok = ok;
        return h;
    }

    bool has_held() const { return !held_.empty(); }
    void release() {
        for (auto& t : held_) ready_.push_back(std::move(t));
        held_.clear();
    }

  private:
    std::vector<std::function<void()>> held_;
    std::deque<std::function<void()>> ready_;
};

}  // namespace

TEST_GROUP(ServiceLoading) {
    Recorder rec;
    ManualStore* store = nullptr;
    std::unique_ptr<service::Service> svc;

    void setup() override {
        presence_host_api host{};
        host.struct_size = sizeof host;
        host.host_ctx = &rec;
        host.send = rec_send;
        host.close = rec_close;
        host.respond = rec_respond;
        host.now_ms = rec_now;
        host.wake = rec_wake;
        auto s = std::make_unique<ManualStore>();
        store = s.get();
        store->friends["alice"] = {"bob"};
        store->friends["bob"] = {"alice"};
        std::string err;
        auto config = service::parse_settings({}, "test", err);
        svc = std::make_unique<service::Service>(host, *config, std::move(s));
    }
    void teardown() override {
        svc.reset();
    }

    // Lets the store answer until nothing is waiting (a connect loads in two stages).
    void settle() {
        for (int i = 0; i < 10 && store->has_held(); ++i) {
            store->release();
            svc->on_wake();
        }
    }
    int http_get(std::uint64_t id, const char* path, const char* user) {
        presence_http_request r{};
        r.struct_size = sizeof r;
        r.request_id = id;
        r.method = "GET";
        r.path = path;
        r.user_id = user;
        return svc->on_http(r);
    }
};

TEST(ServiceLoading, PendingConnectionAnswersBufferedMessagesAfterSnapshot) {
    LONGS_EQUAL(0, svc->on_connect(1, "alice"));
    svc->on_message(1, R"({"type":"presence_heartbeat","ref":"h1"})");
    CHECK(rec.frames_for(1).empty());  // nothing before the snapshot
    settle();
    const auto frames = rec.frames_for(1);
    LONGS_EQUAL(2, frames.size());
    CHECK(frames[0].find(R"({"type":"presence_snapshot")") == 0);
    CHECK(frames[0].find(R"("friends":[{"user_id":"bob","status":"offline")") != std::string::npos);
    CHECK(frames[1].find(R"("type":"presence_heartbeat_ack")") != std::string::npos);
    CHECK(frames[1].find(R"("ref":"h1")") != std::string::npos);
}

TEST(ServiceLoading, ConcurrentConnectsOfOneUserShareOneLoad) {
    svc->on_connect(1, "alice");
    svc->on_connect(2, "alice");
    LONGS_EQUAL(1, store->user_loads);
    LONGS_EQUAL(1, store->friend_loads);
    settle();
    LONGS_EQUAL(2, store->user_loads);  // alice, then her friend bob once
    CHECK(rec.frames_for(1)[0].find("presence_snapshot") != std::string::npos);
    CHECK(rec.frames_for(2)[0].find("presence_snapshot") != std::string::npos);
}

TEST(ServiceLoading, StoreFailureSendsErrorAndClosesWith1013) {
    store->ok = false;
    svc->on_connect(1, "alice");
    settle();
    LONGS_EQUAL(1, rec.closed.size());
    LONGS_EQUAL(1013, rec.closed[0].second);
    const auto frames = rec.frames_for(1);
    LONGS_EQUAL(1, frames.size());
    CHECK(frames[0].find(R"("type":"error")") != std::string::npos);
    CHECK(frames[0].find("presence_snapshot") == std::string::npos);
}

TEST(ServiceLoading, DisconnectWhilePendingDropsTheConnection) {
    svc->on_connect(1, "alice");
    svc->on_message(1, R"({"type":"presence_heartbeat"})");
    svc->on_disconnect(1);
    settle();
    CHECK(rec.sent.empty());
    CHECK(rec.closed.empty());
}

TEST(ServiceLoading, MoreThan32MessagesWhilePendingAreRateLimited) {
    svc->on_connect(1, "alice");
    for (int i = 0; i < 33; ++i) svc->on_message(1, R"({"type":"presence_heartbeat"})");
    const auto early = rec.frames_for(1);
    LONGS_EQUAL(1, early.size());
    CHECK(early[0].find(R"("code":"rate_limited")") != std::string::npos);
    settle();
    std::size_t acks = 0;
    for (const auto& f : rec.frames_for(1)) {
        if (f.find("presence_heartbeat_ack") != std::string::npos) ++acks;
    }
    LONGS_EQUAL(32, acks);
}

TEST(ServiceLoading, RestAnswersAfterTheLoad) {
    LONGS_EQUAL(PRESENCE_HTTP_HANDLED, http_get(7, "/api/presence/me", "alice"));
    CHECK(rec.responses.empty());
    settle();
    LONGS_EQUAL(200, rec.responses[7].first);
    CHECK(rec.responses[7].second.find(R"("user_id":"alice")") != std::string::npos);
}

TEST(ServiceLoading, RestStoreFailureIs503) {
    store->ok = false;
    http_get(8, "/api/presence/friends", "alice");
    settle();
    LONGS_EQUAL(503, rec.responses[8].first);
}

TEST(ServiceLoading, ShutdownAnswersOutstandingRequests) {
    http_get(9, "/api/presence/me", "alice");
    svc->shutdown();
    LONGS_EQUAL(503, rec.responses[9].first);
}

// A store that holds acknowledgements (MariaDB: the journal): the sender's presence_self and a
// REST 200 of a change wait for when_durable, while a viewer sees the change at once.
TEST(ServiceLoading, AnswersToAChoiceWaitForTheStoreToMakeItDurable) {
    store->hold_acks = true;
    svc->on_connect(1, "alice");
    svc->on_connect(2, "bob");
    settle();
    rec.sent.clear();
    svc->on_message(1, R"({"type":"presence_update","status":"dnd","message":"x","ref":"u1"})");
    CHECK_TRUE(rec.frames_for(1).empty());  // not durable yet: no answer
    const auto seen = rec.frames_for(2);
    LONGS_EQUAL(1, seen.size());  // the viewer is not held back
    CHECK(seen[0].find(R"("status":"dnd")") != std::string::npos);
    presence_http_request r{};
    r.struct_size = sizeof r;
    r.request_id = 7;
    r.method = "DELETE";
    r.path = "/api/presence/visibility/bob";
    r.user_id = "alice";
    svc->on_http(r);
    CHECK_TRUE(rec.responses.find(7) == rec.responses.end());
    store->release();
    svc->on_wake();
    const auto answered = rec.frames_for(1);
    LONGS_EQUAL(1, answered.size());
    CHECK(answered[0].find(R"("type":"presence_self")") != std::string::npos);
    CHECK(answered[0].find(R"("ref":"u1")") != std::string::npos);
    LONGS_EQUAL(200, rec.responses[7].first);
}
