// presence.redis_url at start (SPEC 7, 9): a malformed URL, a wrong password and a peer that is
// not a Redis stop create() naming the key and quoting the answer; an unreachable Redis starts
// degraded and the link comes up when Redis does.
#include <chrono>
#include <thread>

#include "instances.hpp"

using namespace presence::scaleout;

namespace {

void expect_refused(const std::string& url, const std::string& quoted) {
    RunResult r = HostProcess::run_with_config({{"presence.redis_url", url}});
    CHECK_TEXT(r.exit_code != 0, r.output.c_str());
    CHECK_TEXT(r.output.find("presence.redis_url") != std::string::npos, r.output.c_str());
    CHECK_TEXT(r.output.find(quoted) != std::string::npos, (quoted + " in: " + r.output).c_str());
}

}  // namespace

TEST_GROUP(RedisSettings){};

TEST(RedisSettings, MalformedUrlsAreRefusedNamingTheKey) {
    for (const char* url : {"http://127.0.0.1:6379", "redis://", "redis://127.0.0.1:99999",
                            "redis://127.0.0.1:6379/x", "redis+cluster://", "redis:/host"}) {
        RunResult r = HostProcess::run_with_config({{"presence.redis_url", url}});
        CHECK_TEXT(r.exit_code != 0, url);
        CHECK_TEXT(r.output.find("presence.redis_url") != std::string::npos, r.output.c_str());
    }
}

TEST(RedisSettings, WrongPasswordIsRefusedQuotingRedis) {
    if (cluster_mode()) return;
    RedisServer redis;
    std::string err;
    RedisServerOptions o;
    o.password = "right-password";
    CHECK_TEXT(redis.start(&err, o), err.c_str());
    expect_refused("redis://:wrong@127.0.0.1:" + std::to_string(redis.port()), "WRONGPASS");
    // And no password at all against one that wants it.
    expect_refused("redis://127.0.0.1:" + std::to_string(redis.port()), "NOAUTH");
}

TEST(RedisSettings, APeerThatIsNotRedisIsRefused) {
    if (cluster_mode()) return;
    // Another presence-host speaks HTTP, not RESP.
    HostProcess web;
    CHECK_TEXT(web.start(), web.error().c_str());
    RunResult r = HostProcess::run_with_config(
        {{"presence.redis_url", "redis://127.0.0.1:" + std::to_string(web.port())}});
    CHECK_TEXT(r.exit_code != 0, r.output.c_str());
    CHECK_TEXT(r.output.find("presence.redis_url") != std::string::npos, r.output.c_str());
    CHECK_TEXT(r.output.find("HTTP") != std::string::npos, r.output.c_str());
}

TEST(RedisSettings, UnreachableAtStartServesDegradedThenConnects) {
    if (cluster_mode()) return;
    RedisServer redis;
    std::string err;
    CHECK_TEXT(redis.start(&err), err.c_str());
    const std::string url = redis.url();
    redis.stop();  // the port is known and nobody listens on it

    HostOptions o = small_timings();
    o.friends({{"alice", "bob"}});
    o.set("presence.redis_url", url);
    o.set("presence.instance_id", "lonely");
    auto host = start_host(o);
    CHECK_TEXT(host->output().find("unreachable") != std::string::npos, host->output().c_str());
    Json h = Json::parse(http_get(host->port(), "/api/presence/health").body);
    STRCMP_EQUAL("degraded", h["status"].str().c_str());
    STRCMP_EQUAL("down", h["redis"].str().c_str());
    // It serves its own users meanwhile.
    WsClient alice, bob;
    connect_user(*host, alice, "alice");
    connect_user(*host, bob, "bob");
    STRCMP_EQUAL("online", status_of(next_presence_about(alice, "bob")).c_str());

    CHECK_TEXT(redis.restart(&err), err.c_str());
    const bool up = eventually(
        [&] {
            return Json::parse(http_get(host->port(), "/api/presence/health").body)["redis"]
                       .str() == "ok";
        },
        milliseconds{6000});
    CHECK_TEXT(up, host->output().c_str());
    // Its users are registered: Redis knows both devices.
    const bool registered = eventually(
        [&] {
            return redis.cli({"HKEYS", "presence:{bob}"}).find("d|lonely|") != std::string::npos;
        },
        milliseconds{3000});
    CHECK_TEXT(registered, redis.cli({"HGETALL", "presence:{bob}"}).c_str());
    stop_cleanly(host);
}
