// RedisClient on a real 3-master Redis Cluster (redis+cluster://): slot discovery, routing by key
// slot, pipelines spanning nodes, MOVED after a slot migration, ASK during one, a master killed
// (IOERR for its slots only, within the deadline) and back, and a stale map healed by a reload.
#include <chrono>
#include <memory>

#include "redis_env.hpp"

// CppUTest last: its leak-detecting new macros must not meet standard headers.
#include <CppUTest/TestHarness.h>

using presence::redis::ClientOptions;
using presence::redis::Command;
using presence::redis::ConnectResult;
using presence::redis::key_slot;
using presence::redis::RedisClient;
using presence::redis::Reply;
using presence::redis::Script;
using presence::test::cmd;
using presence::test::elapsed_ms;
using presence::test::free_port;
using presence::test::must_parse;
using presence::test::RedisCluster;
using presence::test::shared_cluster;
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

// A key (tagged, so related keys can share its slot) whose slot node `i` owns.
std::string tag_on_node(RedisCluster& cluster, int i, const std::string& prefix) {
    return cluster.key_on_node(i, prefix);
}

}  // namespace

TEST_GROUP(ClusterClient) {
    RedisCluster* cluster = nullptr;
    std::string why;

    void setup() override {
        cluster = shared_cluster();
        CHECK_TRUE_TEXT(cluster != nullptr, "no cluster");
    }
    void teardown() override {
        // A test that failed half-way must not leave a master down for the next ones.
        if (cluster == nullptr) return;
        for (int i = 0; i < cluster->size(); ++i) {
            if (cluster->node(i).paused()) cluster->node(i).resume();
            if (!cluster->node(i).running()) {
                std::string err;
                cluster->node(i).restart_keep_config(&err);
            }
        }
    }
    std::unique_ptr<RedisClient> connected_client(ClientOptions o = fast_options()) {
        auto client = std::make_unique<RedisClient>(must_parse(cluster->url()), o);
        CHECK_TRUE_TEXT(client->connect(why) == ConnectResult::Ok, why.c_str());
        return client;
    }
};

TEST(ClusterClient, DiscoversTheSlots) {
    RedisClient client(must_parse(cluster->url()), fast_options());
    CHECK_TRUE(client.is_cluster());
    CHECK_FALSE(client.connected());
    CHECK_TRUE_TEXT(client.connect(why) == ConnectResult::Ok, why.c_str());
    CHECK_TRUE(client.connected());
    LONGS_EQUAL(1, client.slot_map_loads());
    LONGS_EQUAL(0, client.redirects_followed());
    client.close();
    CHECK_FALSE(client.connected());
}

TEST(ClusterClient, AnyLiveSeedWillDo) {
    const std::string url = "redis+cluster://127.0.0.1:" + std::to_string(free_port()) +
                            ",127.0.0.1:" + std::to_string(cluster->node(1).port());
    RedisClient client(must_parse(url), fast_options());
    CHECK_TRUE_TEXT(client.connect(why) == ConnectResult::Ok, why.c_str());
}

TEST(ClusterClient, NoLiveSeedIsUnreachable) {
    RedisClient client(must_parse("redis+cluster://127.0.0.1:" + std::to_string(free_port())),
                       fast_options());
    CHECK_TRUE(client.connect(why) == ConnectResult::Unreachable);
    CHECK_TRUE_TEXT(contains(why, "Connection refused"), why.c_str());
    Reply r;
    CHECK_FALSE(client.run_one(cmd({"GET", "a"}, "a"), r));
    CHECK_TRUE(r.is_error_with("IOERR"));
}

TEST(ClusterClient, WrongPasswordIsRefused) {
    RedisClient client(
        must_parse("redis+cluster://:pw@127.0.0.1:" + std::to_string(cluster->node(0).port())),
        fast_options());
    CHECK_TRUE(client.connect(why) == ConnectResult::Refused);
    CHECK_TRUE_TEXT(contains(why, "AUTH"), why.c_str());
}

TEST(ClusterClient, KeySlotAgreesWithRedis) {
    for (int i = 0; i < 200; ++i) {
        std::string key = "user:" + std::to_string(i * 7919);
        if (i % 4 == 1) key = "{u" + std::to_string(i) + "}.conns";
        if (i % 4 == 2) key = "x{}{" + std::to_string(i) + "}";
        if (i % 4 == 3) key = "{{" + std::to_string(i) + "}}";
        LONGS_EQUAL_TEXT(cluster->key_slot(key), key_slot(key), key.c_str());
    }
}

TEST(ClusterClient, KeysOnEveryMaster) {
    auto client_ptr = connected_client();
    RedisClient& client = *client_ptr;
    for (int i = 0; i < cluster->size(); ++i) {
        const std::string key = tag_on_node(*cluster, i, "every");
        CHECK_FALSE(key.empty());
        Reply r;
        CHECK_TRUE(client.run_one(cmd({"SET", key, "on" + std::to_string(i)}, key), r));
        STRCMP_EQUAL("OK", r.str.c_str());
        // It landed on the owner, with no redirection.
        STRCMP_EQUAL(("on" + std::to_string(i)).c_str(),
                     cluster->node(i).cli({"GET", key}).c_str());
    }
    LONGS_EQUAL(0, client.redirects_followed());
}

TEST(ClusterClient, PipelineSpanningNodesKeepsOrder) {
    auto client_ptr = connected_client();
    RedisClient& client = *client_ptr;
    std::vector<Command> cmds;
    for (int i = 0; i < 90; ++i) {
        const std::string key = "span:" + std::to_string(i);
        cmds.push_back(cmd({"SET", key, std::to_string(i * i)}, key));
        if (i % 10 == 0) cmds.push_back(cmd({"PING"}));
    }
    for (int i = 0; i < 90; ++i) {
        const std::string key = "span:" + std::to_string(i);
        cmds.push_back(cmd({"GET", key}, key));
    }
    cmds.push_back(cmd({"MGET", "span:1", "span:2"}, "span:1"));  // two slots: CROSSSLOT
    std::vector<Reply> out;
    CHECK_TRUE(client.run(cmds, out));
    LONGS_EQUAL(cmds.size(), out.size());
    std::size_t at = 0;
    for (int i = 0; i < 90; ++i) {
        STRCMP_EQUAL("OK", out[at++].str.c_str());
        if (i % 10 == 0) STRCMP_EQUAL("PONG", out[at++].str.c_str());
    }
    for (int i = 0; i < 90; ++i) STRCMP_EQUAL(std::to_string(i * i).c_str(), out[at++].str.c_str());
    CHECK_TRUE_TEXT(out[at].is_error_with("CROSSSLOT"), out[at].str.c_str());
    LONGS_EQUAL(0, client.redirects_followed());
}

TEST(ClusterClient, MovedUpdatesTheSlotMap) {
    auto client_ptr = connected_client();
    RedisClient& client = *client_ptr;
    const std::string key = tag_on_node(*cluster, 0, "moved");
    const int slot = key_slot(key);
    Reply r;
    CHECK_TRUE(client.run_one(cmd({"SET", key, "here"}, key), r));
    std::string err;
    CHECK_TRUE_TEXT(cluster->migrate_slot(slot, 1, &err), err.c_str());
    LONGS_EQUAL(1, cluster->owner_of_slot(slot));

    CHECK_TRUE(client.run_one(cmd({"GET", key}, key), r));
    STRCMP_EQUAL("here", r.str.c_str());
    LONGS_EQUAL(1, client.redirects_followed());
    // The map now says node 1: no more redirections, no reload.
    CHECK_TRUE(client.run_one(cmd({"GET", key}, key), r));
    STRCMP_EQUAL("here", r.str.c_str());
    LONGS_EQUAL(1, client.redirects_followed());
    LONGS_EQUAL(1, client.slot_map_loads());
}

TEST(ClusterClient, AskDuringAMigration) {
    auto client_ptr = connected_client();
    RedisClient& client = *client_ptr;
    const std::string tag = tag_on_node(*cluster, 2, "ask");
    const std::string key = "{" + tag + "}.a";
    const std::string other = "{" + tag + "}.b";
    const int slot = key_slot(key);
    Reply r;
    CHECK_TRUE(client.run_one(cmd({"SET", key, "v1"}, key), r));
    std::string err;
    CHECK_TRUE_TEXT(cluster->begin_migration(slot, 0, &err), err.c_str());
    CHECK_TRUE_TEXT(cluster->move_keys(slot, &err), err.c_str());
    // Node 2 no longer has the key: it sends askers to node 0.
    const std::string asked = cluster->node(2).cli({"GET", key});
    CHECK_TRUE_TEXT(asked.rfind("ASK " + std::to_string(slot) + " ", 0) == 0, asked.c_str());

    std::vector<Command> cmds = {cmd({"GET", key}, key), cmd({"SET", other, "v2"}, other),
                                 cmd({"GET", key}, key)};
    std::vector<Reply> out;
    CHECK_TRUE(client.run(cmds, out));
    STRCMP_EQUAL("v1", out[0].str.c_str());
    STRCMP_EQUAL("OK", out[1].str.c_str());
    STRCMP_EQUAL("v1", out[2].str.c_str());
    LONGS_EQUAL(3, client.redirects_followed());  // one ASK each
    // ASK does not change the map: the next command asks node 2 first again.
    CHECK_TRUE(client.run_one(cmd({"GET", other}, other), r));
    STRCMP_EQUAL("v2", r.str.c_str());
    LONGS_EQUAL(4, client.redirects_followed());

    CHECK_TRUE_TEXT(cluster->finish_migration(slot, &err), err.c_str());
    CHECK_TRUE(client.run_one(cmd({"GET", other}, other), r));  // MOVED once
    STRCMP_EQUAL("v2", r.str.c_str());
    LONGS_EQUAL(5, client.redirects_followed());
    CHECK_TRUE(client.run_one(cmd({"GET", key}, key), r));
    STRCMP_EQUAL("v1", r.str.c_str());
    LONGS_EQUAL(5, client.redirects_followed());
}

TEST(ClusterClient, ScriptsFallBackPerNode) {
    auto client_ptr = connected_client();
    RedisClient& client = *client_ptr;
    const Script script("return redis.call('INCR', KEYS[1])");
    std::vector<Command> cmds;
    std::vector<std::string> keys;
    for (int i = 0; i < cluster->size(); ++i) keys.push_back(tag_on_node(*cluster, i, "script"));
    for (const auto& key : keys) {
        Command c;
        c.key = key;
        c.script = &script;
        c.argv = {"1", key};
        cmds.push_back(c);
    }
    std::vector<Reply> out;
    for (int i = 0; i < cluster->size(); ++i) cluster->node(i).cli({"DEL", keys[i]});
    CHECK_TRUE(client.run(cmds, out));
    for (const Reply& r : out) LONGS_EQUAL(1, r.integer);
    cluster->node(1).cli({"SCRIPT", "FLUSH"});
    CHECK_TRUE(client.run(cmds, out));
    for (const Reply& r : out) LONGS_EQUAL_TEXT(2, r.integer, r.str.c_str());
    STRCMP_EQUAL("1", cluster->node(1).cli({"SCRIPT", "EXISTS", script.sha1}).c_str());
}

TEST(ClusterClient, KilledMasterFailsOnlyItsSlotsThenComesBack) {
    ClientOptions o = fast_options();
    auto client_ptr = connected_client(o);
    RedisClient& client = *client_ptr;
    const int victim = 2;
    const std::string dead_key = tag_on_node(*cluster, victim, "dead");
    const std::string live_key = tag_on_node(*cluster, 0, "live");
    const std::string live_key2 = tag_on_node(*cluster, 1, "live");
    std::vector<Command> cmds = {cmd({"SET", live_key, "a"}, live_key),
                                 cmd({"SET", dead_key, "b"}, dead_key),
                                 cmd({"SET", live_key2, "c"}, live_key2)};
    std::vector<Reply> out;
    CHECK_TRUE(client.run(cmds, out));

    cluster->node(victim).kill_hard();
    for (int attempt = 0; attempt < 2; ++attempt) {
        const auto start = Clock::now();
        CHECK_FALSE(client.run(cmds, out));
        const long long ms = elapsed_ms(start);
        CHECK_TRUE_TEXT(ms < 2 * o.command_timeout_ms, std::to_string(ms).c_str());
        STRCMP_EQUAL("OK", out[0].str.c_str());
        CHECK_TRUE_TEXT(out[1].is_error_with("IOERR"), out[1].str.c_str());
        STRCMP_EQUAL("OK", out[2].str.c_str());
    }

    std::string err;
    CHECK_TRUE_TEXT(cluster->node(victim).restart_keep_config(&err), err.c_str());
    std::vector<Command> check = {
        cmd({"GET", dead_key}, dead_key), cmd({"SET", dead_key, "b2"}, dead_key),
        cmd({"GET", dead_key}, dead_key), cmd({"GET", live_key}, live_key)};
    CHECK_TRUE_TEXT(client.run(check, out), out[0].str.c_str());
    CHECK_TRUE(out[0].is_nil());  // it came back empty
    STRCMP_EQUAL("OK", out[1].str.c_str());
    STRCMP_EQUAL("b2", out[2].str.c_str());
    STRCMP_EQUAL("a", out[3].str.c_str());
}

TEST(ClusterClient, PausedMasterTimesOutWithinTheDeadline) {
    ClientOptions o = fast_options();
    o.command_timeout_ms = 300;
    auto client_ptr = connected_client(o);
    RedisClient& client = *client_ptr;
    const std::string slow_key = tag_on_node(*cluster, 1, "slow");
    const std::string fast_key = tag_on_node(*cluster, 2, "fast");
    std::vector<Command> cmds = {cmd({"SET", slow_key, "1"}, slow_key),
                                 cmd({"SET", fast_key, "2"}, fast_key)};
    std::vector<Reply> out;
    CHECK_TRUE(client.run(cmds, out));
    cluster->node(1).pause();
    const auto start = Clock::now();
    CHECK_FALSE(client.run(cmds, out));
    const long long ms = elapsed_ms(start);
    cluster->node(1).resume();
    CHECK_TRUE_TEXT(ms >= 250 && ms <= 2 * o.command_timeout_ms + 150, std::to_string(ms).c_str());
    CHECK_TRUE_TEXT(out[0].is_error_with("IOERR"), out[0].str.c_str());
    STRCMP_EQUAL("OK", out[1].str.c_str());
    CHECK_TRUE(client.run(cmds, out));
}

// The map says a dead node owns a slot that has in fact moved (as after a failover): the
// connection error makes the client reload the map and retry on the new owner.
TEST(ClusterClient, ConnectionErrorReloadsTheMap) {
    auto client_ptr = connected_client();
    RedisClient& client = *client_ptr;
    const int victim = 2;
    const std::string key = tag_on_node(*cluster, victim, "reload");
    const int slot = key_slot(key);
    Reply r;
    CHECK_TRUE(client.run_one(cmd({"SET", key, "kept"}, key), r));
    std::string err;
    CHECK_TRUE_TEXT(cluster->migrate_slot(slot, 0, &err), err.c_str());
    cluster->node(victim).kill_hard();

    const std::uint64_t loads = client.slot_map_loads();
    CHECK_TRUE_TEXT(client.run_one(cmd({"GET", key}, key), r), r.str.c_str());
    STRCMP_EQUAL("kept", r.str.c_str());
    LONGS_EQUAL(loads + 1, client.slot_map_loads());
    LONGS_EQUAL(0, client.redirects_followed());

    CHECK_TRUE_TEXT(cluster->node(victim).restart_keep_config(&err), err.c_str());
    LONGS_EQUAL(0, cluster->owner_of_slot(slot));  // it remembered losing the slot
}
