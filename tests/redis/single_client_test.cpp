// RedisClient on one Redis (redis://): pipelines in order, reconnecting on demand, IOERR when
// Redis is gone, EVALSHA with the EVAL fallback, and refusing a cluster node.
#include <chrono>
#include <future>

#include "redis_env.hpp"

// CppUTest last: its leak-detecting new macros must not meet standard headers.
#include <CppUTest/TestHarness.h>

using presence::redis::ClientOptions;
using presence::redis::Command;
using presence::redis::ConnectResult;
using presence::redis::RedisClient;
using presence::redis::Reply;
using presence::redis::Script;
using presence::test::cmd;
using presence::test::elapsed_ms;
using presence::test::FakeServer;
using presence::test::free_port;
using presence::test::must_parse;
using presence::test::RedisServer;
using Clock = std::chrono::steady_clock;

namespace {

ClientOptions fast_options() {
    ClientOptions o;
    o.connect_timeout_ms = 500;
    o.command_timeout_ms = 500;
    return o;
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// calls=N of one command in INFO commandstats ("" when it never ran).
std::string calls(RedisServer& server, const std::string& command) {
    const std::string stats = server.cli({"INFO", "commandstats"});
    const std::string tag = "cmdstat_" + command + ":calls=";
    const auto at = stats.find(tag);
    if (at == std::string::npos) return "0";
    const auto start = at + tag.size();
    return stats.substr(start, stats.find(',', start) - start);
}

}  // namespace

TEST_GROUP(SingleClient) {
    RedisServer server;
    std::string why;

    void setup() override {
        std::string err;
        CHECK_TRUE_TEXT(server.start(&err), err.c_str());
    }
};

TEST(SingleClient, ConnectAndRunInOrder) {
    RedisClient client(must_parse(server.url()), fast_options());
    CHECK_FALSE(client.is_cluster());
    CHECK_TRUE_TEXT(client.connect(why) == ConnectResult::Ok, why.c_str());
    CHECK_TRUE(client.connected());
    std::vector<Command> cmds;
    for (int i = 0; i < 50; ++i) cmds.push_back(cmd({"RPUSH", "list", std::to_string(i)}, "list"));
    cmds.push_back(cmd({"LRANGE", "list", "0", "-1"}, "list"));
    cmds.push_back(cmd({"INCR", "list"}, "list"));  // wrong type: an error reply, not a failure
    cmds.push_back(cmd({}));
    cmds.push_back(cmd({"PING"}));
    std::vector<Reply> out;
    CHECK_TRUE(client.run(cmds, out));
    LONGS_EQUAL(cmds.size(), out.size());
    for (int i = 0; i < 50; ++i) LONGS_EQUAL(i + 1, out[i].integer);
    LONGS_EQUAL(50, out[50].elements.size());
    STRCMP_EQUAL("49", out[50].elements[49].str.c_str());
    CHECK_TRUE(out[51].is_error_with("WRONGTYPE"));
    CHECK_TRUE(out[52].is_error_with("ERR empty command"));
    STRCMP_EQUAL("PONG", out[53].str.c_str());
    LONGS_EQUAL(0, client.redirects_followed());
}

TEST(SingleClient, RunConnectsOnDemand) {
    RedisClient client(must_parse(server.url() + "/2"), fast_options());
    CHECK_FALSE(client.connected());
    Reply r;
    CHECK_TRUE(client.run_one(cmd({"SET", "k", "v"}, "k"), r));
    STRCMP_EQUAL("OK", r.str.c_str());
    CHECK_TRUE(client.connected());
    STRCMP_EQUAL("(nil)", server.cli({"GET", "k"}).c_str());  // db 0; the client used db 2
    client.close();
    CHECK_FALSE(client.connected());
    CHECK_TRUE(client.run_one(cmd({"GET", "k"}, "k"), r));
    STRCMP_EQUAL("v", r.str.c_str());
}

TEST(SingleClient, UnreachableGivesIoerrFast) {
    RedisClient client(must_parse("redis://127.0.0.1:" + std::to_string(free_port())),
                       fast_options());
    CHECK_TRUE(client.connect(why) == ConnectResult::Unreachable);
    std::vector<Command> cmds = {cmd({"PING"}), cmd({"GET", "a"}, "a")};
    std::vector<Reply> out;
    const auto start = Clock::now();
    CHECK_FALSE(client.run(cmds, out));
    CHECK_TRUE(elapsed_ms(start) < 300);
    LONGS_EQUAL(2, out.size());
    for (const Reply& r : out) {
        CHECK_TRUE_TEXT(r.is_error_with("IOERR") && contains(r.str, "Connection refused"),
                        r.str.c_str());
    }
}

TEST(SingleClient, WrongPasswordRefused) {
    RedisServer guarded;
    std::string err;
    RedisServer::Options o;
    o.password = "right";
    CHECK_TRUE_TEXT(guarded.start(&err, o), err.c_str());
    RedisClient bad(must_parse("redis://:wrong@127.0.0.1:" + std::to_string(guarded.port())),
                    fast_options());
    CHECK_TRUE(bad.connect(why) == ConnectResult::Refused);
    CHECK_TRUE_TEXT(contains(why, "WRONGPASS"), why.c_str());
    RedisClient good(must_parse(guarded.url()), fast_options());
    CHECK_TRUE_TEXT(good.connect(why) == ConnectResult::Ok, why.c_str());
}

TEST(SingleClient, NotARedisRefused) {
    FakeServer http({"", {"HTTP/1.1 400 Bad Request\r\n\r\n"}, true});
    RedisClient client(must_parse("redis://127.0.0.1:" + std::to_string(http.port())),
                       fast_options());
    CHECK_TRUE(client.connect(why) == ConnectResult::Refused);
    CHECK_TRUE_TEXT(contains(why, "HTTP/1.1 400"), why.c_str());
}

TEST(SingleClient, KilledMidRunThenWorksAfterRestart) {
    RedisClient client(must_parse(server.url()), fast_options());
    CHECK_TRUE_TEXT(client.connect(why) == ConnectResult::Ok, why.c_str());
    Reply r;
    CHECK_TRUE(client.run_one(cmd({"SET", "before", "1"}, "before"), r));
    // BLPOP keeps the run waiting inside Redis while the server dies under it.
    auto pending = std::async(std::launch::async, [&client] {
        std::vector<Command> cmds = {cmd({"BLPOP", "never", "0.4"}, "never"),
                                     cmd({"GET", "before"}, "before")};
        std::vector<Reply> out;
        const bool ok = client.run(cmds, out);
        return std::make_pair(ok, out);
    });
    // Killed once Redis holds the BLPOP (a blocked client), not after a guessed delay.
    bool blocked = false;
    for (int i = 0; i < 400 && !blocked; ++i) {
        blocked = contains(server.cli({"INFO", "clients"}), "blocked_clients:1");
        if (!blocked) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    CHECK_TRUE_TEXT(blocked, server.cli({"INFO", "clients"}).c_str());
    server.kill_hard();
    auto [ok, out] = pending.get();
    CHECK_FALSE(ok);
    LONGS_EQUAL(2, out.size());
    CHECK_TRUE_TEXT(out[0].is_error_with("IOERR"), out[0].str.c_str());
    CHECK_TRUE_TEXT(out[1].is_error_with("IOERR"), out[1].str.c_str());
    CHECK_FALSE(client.run_one(cmd({"PING"}), r));  // still down
    CHECK_TRUE(r.is_error_with("IOERR"));

    std::string err;
    CHECK_TRUE_TEXT(server.restart(&err), err.c_str());
    CHECK_TRUE_TEXT(client.run_one(cmd({"GET", "before"}, "before"), r), r.str.c_str());
    CHECK_TRUE(r.is_nil());  // restarted empty
    CHECK_TRUE(client.run_one(cmd({"SET", "after", "2"}, "after"), r));
}

TEST(SingleClient, RestartBetweenRunsIsInvisible) {
    RedisClient client(must_parse(server.url()), fast_options());
    Reply r;
    CHECK_TRUE(client.run_one(cmd({"PING"}), r));
    std::string err;
    server.kill_hard();
    CHECK_TRUE_TEXT(server.restart(&err), err.c_str());
    // The old connection is dead; the client notices before sending and reconnects.
    CHECK_TRUE_TEXT(client.run_one(cmd({"PING"}), r), r.str.c_str());
    STRCMP_EQUAL("PONG", r.str.c_str());
}

TEST(SingleClient, PausedServerTimesOut) {
    RedisClient client(must_parse(server.url()), fast_options());
    CHECK_TRUE_TEXT(client.connect(why) == ConnectResult::Ok, why.c_str());
    server.pause();
    Reply r;
    const auto start = Clock::now();
    CHECK_FALSE(client.run_one(cmd({"PING"}), r));
    const long long ms = elapsed_ms(start);
    server.resume();
    CHECK_TRUE_TEXT(ms >= 450 && ms <= 1100, std::to_string(ms).c_str());
    CHECK_TRUE_TEXT(r.is_error_with("IOERR") && contains(r.str, "no answer"), r.str.c_str());
    CHECK_TRUE(client.run_one(cmd({"PING"}), r));
    STRCMP_EQUAL("PONG", r.str.c_str());
}

TEST(SingleClient, EvalshaFallsBackToEvalAfterScriptFlush) {
    RedisClient client(must_parse(server.url()), fast_options());
    const Script script("redis.call('SET', KEYS[1], ARGV[1]); return {KEYS[1], ARGV[1], 7}");
    Command c;
    c.key = "sk";
    c.script = &script;
    c.argv = {"1", "sk", "val\r\n\0x"};
    Reply r;
    CHECK_TRUE_TEXT(client.run_one(c, r), r.str.c_str());
    CHECK_TRUE(r.is_array());
    STRCMP_EQUAL("sk", r.elements[0].str.c_str());
    LONGS_EQUAL(7, r.elements[2].integer);
    STRCMP_EQUAL("1", server.cli({"SCRIPT", "EXISTS", script.sha1}).c_str());
    STRCMP_EQUAL("1", calls(server, "evalsha").c_str());  // NOSCRIPT
    STRCMP_EQUAL("1", calls(server, "eval").c_str());     // fallback, which caches it

    CHECK_TRUE(client.run_one(c, r));
    STRCMP_EQUAL("2", calls(server, "evalsha").c_str());
    STRCMP_EQUAL("1", calls(server, "eval").c_str());  // cached: no EVAL

    STRCMP_EQUAL("OK", server.cli({"SCRIPT", "FLUSH"}).c_str());
    std::vector<Command> cmds = {c, c, cmd({"GET", "sk"}, "sk")};
    std::vector<Reply> out;
    CHECK_TRUE(client.run(cmds, out));
    LONGS_EQUAL(7, out[0].elements[2].integer);
    LONGS_EQUAL(7, out[1].elements[2].integer);
    STRCMP_EQUAL("val\r\n", out[2].str.c_str());
    STRCMP_EQUAL("3", calls(server, "eval").c_str());  // both fell back once
}

TEST(SingleClient, ScriptErrorsAreReplies) {
    RedisClient client(must_parse(server.url()), fast_options());
    const Script bad("return redis.call('NOSUCH')");
    Command c;
    c.script = &bad;
    c.argv = {"0"};
    Reply r;
    CHECK_TRUE(client.run_one(c, r));
    CHECK_TRUE_TEXT(r.is_error() && !r.is_error_with("NOSCRIPT"), r.str.c_str());
}

TEST(SingleClient, ClusterNodeRefusedForRedisUrl) {
    RedisServer node;
    std::string err;
    RedisServer::Options o;
    o.cluster_enabled = true;
    CHECK_TRUE_TEXT(node.start(&err, o), err.c_str());
    RedisClient client(must_parse(node.url()), fast_options());
    CHECK_TRUE(client.connect(why) == ConnectResult::Refused);
    CHECK_TRUE_TEXT(contains(why, "redis+cluster://"), why.c_str());
}

TEST(SingleClient, ClusterUrlOnPlainRedisRefused) {
    RedisClient client(must_parse("redis+cluster://127.0.0.1:" + std::to_string(server.port())),
                       fast_options());
    CHECK_TRUE(client.is_cluster());
    CHECK_TRUE(client.connect(why) == ConnectResult::Refused);
    CHECK_TRUE_TEXT(contains(why, "ERR This instance has cluster support disabled"), why.c_str());
    CHECK_FALSE(client.connected());
}
