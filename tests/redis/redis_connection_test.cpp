// RedisConnection against a real redis-server and against peers that are not Redis: handshake
// outcomes (Ok / Refused quoting the answer / Unreachable), pipelines, binary safety, error
// replies, timeouts, and garbage that must never crash.
#include "redis/redis_connection.hpp"

#include <chrono>

#include "redis_env.hpp"

// CppUTest last: its leak-detecting new macros must not meet standard headers.
#include <CppUTest/TestHarness.h>

using presence::redis::Argv;
using presence::redis::ConnectOptions;
using presence::redis::ConnectResult;
using presence::redis::RedisConnection;
using presence::redis::Reply;
using presence::test::elapsed_ms;
using presence::test::FakeServer;
using presence::test::free_port;
using presence::test::RedisServer;
using Clock = std::chrono::steady_clock;

namespace {

ConnectOptions options_for(std::uint16_t port, std::string password = {}, int db = 0) {
    ConnectOptions o;
    o.host = "127.0.0.1";
    o.port = port;
    o.password = std::move(password);
    o.db = db;
    o.connect_timeout_ms = 500;
    o.command_timeout_ms = 500;
    return o;
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

TEST_GROUP(Connection) {
    RedisServer server;
    RedisConnection conn;
    std::string why;

    void setup() override {
        std::string err;
        CHECK_TRUE_TEXT(server.start(&err), err.c_str());
    }
    void connect() {
        CHECK_TRUE_TEXT(conn.connect(options_for(server.port()), why) == ConnectResult::Ok,
                        why.c_str());
        CHECK_TRUE(conn.connected());
    }
};

TEST(Connection, PipelineRepliesInOrder) {
    connect();
    std::vector<Argv> cmds;
    for (int i = 0; i < 200; ++i) cmds.push_back({"INCR", "counter"});
    cmds.push_back({"GET", "counter"});
    cmds.push_back({"GET", "missing"});
    std::vector<Reply> out;
    CHECK_TRUE_TEXT(conn.pipeline(cmds, out), conn.last_error().c_str());
    LONGS_EQUAL(202, out.size());
    for (int i = 0; i < 200; ++i) {
        CHECK_TRUE(out[i].type == Reply::Type::Integer);
        LONGS_EQUAL(i + 1, out[i].integer);
    }
    CHECK_TRUE(out[200].type == Reply::Type::String);
    STRCMP_EQUAL("200", out[200].str.c_str());
    CHECK_TRUE(out[201].is_nil());
}

TEST(Connection, BinarySafeArguments) {
    connect();
    const std::string key("k\0\r\n ey", 7);
    std::string value;
    for (int c = 0; c < 256; ++c) value += static_cast<char>(c);
    value += std::string("\r\n$3\r\n*1\r\n", 11);
    Reply r;
    CHECK_TRUE(conn.command({"SET", key, value}, r));
    STRCMP_EQUAL("OK", r.str.c_str());
    CHECK_TRUE(conn.command({"GET", key}, r));
    CHECK_TRUE(r.type == Reply::Type::String);
    LONGS_EQUAL(value.size(), r.str.size());
    CHECK_TRUE(r.str == value);
    CHECK_TRUE(conn.command({"STRLEN", key}, r));
    LONGS_EQUAL(value.size(), r.integer);
    // Another client sees the same bytes.
    CHECK_TRUE(server.cli({"GET", key}) == value);
}

TEST(Connection, ErrorRepliesAreReplies) {
    connect();
    std::vector<Argv> cmds = {{"SET", "s", "text"}, {"INCR", "s"}, {"NOSUCHCOMMAND"}, {}, {"PING"}};
    std::vector<Reply> out;
    CHECK_TRUE(conn.pipeline(cmds, out));
    LONGS_EQUAL(5, out.size());
    CHECK_TRUE(out[1].is_error());
    CHECK_TRUE(out[1].is_error_with("ERR value is not an integer"));
    CHECK_TRUE(out[2].is_error_with("ERR unknown command"));
    CHECK_TRUE(out[3].is_error_with("ERR empty command"));
    CHECK_TRUE(out[4].type == Reply::Type::Status);
    STRCMP_EQUAL("PONG", out[4].str.c_str());
    CHECK_TRUE(conn.connected());
}

TEST(Connection, NestedArraysAndIntegers) {
    connect();
    Reply r;
    CHECK_TRUE(
        conn.command({"EVAL", "return {1, {2, 'x', {}}, redis.status_reply('ok')}", "0"}, r));
    CHECK_TRUE(r.is_array());
    LONGS_EQUAL(3, r.elements.size());
    LONGS_EQUAL(1, r.elements[0].integer);
    CHECK_TRUE(r.elements[1].is_array());
    LONGS_EQUAL(2, r.elements[1].elements[0].integer);
    STRCMP_EQUAL("x", r.elements[1].elements[1].str.c_str());
    CHECK_TRUE(r.elements[1].elements[2].is_array());
    LONGS_EQUAL(0, r.elements[1].elements[2].elements.size());
    CHECK_TRUE(r.elements[2].type == Reply::Type::Status);
}

TEST(Connection, SendThenReceiveAcrossCalls) {
    connect();
    CHECK_TRUE(conn.append(Argv{"SET", "a", "1"}));
    CHECK_TRUE(conn.append(Argv{"GET", "a"}));
    CHECK_FALSE(conn.append(Argv{}));  // refused, nothing queued
    CHECK_TRUE(conn.connected());
    CHECK_TRUE(conn.flush());
    std::vector<Reply> out;
    CHECK_TRUE(conn.receive(2, out));
    LONGS_EQUAL(2, out.size());
    STRCMP_EQUAL("1", out[1].str.c_str());
}

TEST(Connection, SelectsTheDatabase) {
    CHECK_TRUE_TEXT(conn.connect(options_for(server.port(), "", 3), why) == ConnectResult::Ok,
                    why.c_str());
    Reply r;
    CHECK_TRUE(conn.command({"SET", "in3", "yes"}, r));
    STRCMP_EQUAL("(nil)", server.cli({"GET", "in3"}).c_str());  // db 0
    CHECK_TRUE(conn.command({"GET", "in3"}, r));
    STRCMP_EQUAL("yes", r.str.c_str());
}

TEST(Connection, SelectOutOfRangeIsRefused) {
    CHECK_TRUE(conn.connect(options_for(server.port(), "", 5000), why) == ConnectResult::Refused);
    CHECK_TRUE_TEXT(contains(why, "SELECT 5000") && contains(why, "DB index is out of range"),
                    why.c_str());
    CHECK_FALSE(conn.connected());
}

TEST(Connection, PasswordWhereNoneIsSetIsRefused) {
    CHECK_TRUE(conn.connect(options_for(server.port(), "secret"), why) == ConnectResult::Refused);
    CHECK_TRUE_TEXT(contains(why, "AUTH refused") && contains(why, "without any password"),
                    why.c_str());
}

TEST(Connection, ReadTimeoutClosesTheConnection) {
    connect();
    server.pause();
    const auto start = Clock::now();
    Reply r;
    CHECK_FALSE(conn.command({"PING"}, r));
    const long long ms = elapsed_ms(start);
    server.resume();
    CHECK_TRUE(r.is_error_with("IOERR"));
    CHECK_TRUE_TEXT(contains(conn.last_error(), "no answer within 500 ms"),
                    conn.last_error().c_str());
    CHECK_TRUE_TEXT(ms >= 450 && ms < 1500, std::to_string(ms).c_str());
    CHECK_FALSE(conn.connected());
    CHECK_FALSE(conn.command({"PING"}, r));  // closed until connected again
    connect();
    CHECK_TRUE(conn.command({"PING"}, r));
}

TEST(Connection, LongerCommandTimeoutForBlockingReads) {
    connect();
    Reply r;
    CHECK_FALSE(conn.command({"BLPOP", "nothing", "1"}, r));  // 1 s > 500 ms
    connect();
    conn.set_command_timeout(3000);
    const auto start = Clock::now();
    CHECK_TRUE(conn.command({"BLPOP", "nothing", "0.3"}, r));
    CHECK_TRUE(r.is_nil());
    CHECK_TRUE(elapsed_ms(start) >= 250);
}

TEST(Connection, ServerClosedIdleConnectionIsNoticed) {
    connect();
    CHECK_TRUE(conn.alive());
    Reply r;
    CHECK_TRUE(conn.command({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "no"}, r) ||
               !conn.connected());
    // Killed by its own command: the answer may or may not have arrived first.
    if (conn.connected()) {
        for (int i = 0; i < 100 && conn.alive(); ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    }
    CHECK_FALSE(conn.alive());
    CHECK_FALSE(conn.connected());
}

TEST(Connection, KilledServerFailsTheCall) {
    connect();
    server.kill_hard();
    Reply r;
    CHECK_FALSE(conn.command({"PING"}, r));
    CHECK_TRUE(r.is_error_with("IOERR"));
    CHECK_FALSE(conn.connected());
    CHECK_TRUE(conn.connect(options_for(server.port()), why) == ConnectResult::Unreachable);
    std::string err;
    CHECK_TRUE_TEXT(server.restart(&err), err.c_str());
    connect();
}

// Writing to a peer that has gone fails the write; it must not raise SIGPIPE (this test
// process does not ignore it, so it would die here).
TEST(Connection, WriteToAGoneServerDoesNotRaiseSigpipe) {
    connect();
    server.kill_hard();
    bool ok = true;
    for (int i = 0; i < 20 && ok; ++i) {
        ok = conn.append(Argv{"PING"}) && conn.flush();
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK_FALSE(ok);
    CHECK_FALSE(conn.connected());
    CHECK_TRUE_TEXT(
        contains(conn.last_error(), "Broken pipe") || contains(conn.last_error(), "reset"),
        conn.last_error().c_str());
}

TEST_GROUP(ConnectionAuth) {
    RedisServer server;
    RedisConnection conn;
    std::string why;
    const std::string password = "p@ss:w/rd%+ 1";

    void setup() override {
        std::string err;
        RedisServer::Options o;
        o.password = password;
        CHECK_TRUE_TEXT(server.start(&err, o), err.c_str());
    }
};

TEST(ConnectionAuth, RightPassword) {
    CHECK_TRUE_TEXT(conn.connect(options_for(server.port(), password), why) == ConnectResult::Ok,
                    why.c_str());
    Reply r;
    CHECK_TRUE(conn.command({"PING"}, r));
    STRCMP_EQUAL("PONG", r.str.c_str());
}

TEST(ConnectionAuth, WrongPasswordIsRefusedQuotingRedis) {
    CHECK_TRUE(conn.connect(options_for(server.port(), "nope"), why) == ConnectResult::Refused);
    CHECK_TRUE_TEXT(contains(why, "WRONGPASS"), why.c_str());
    CHECK_TRUE_TEXT(contains(why, std::to_string(server.port())), why.c_str());
    CHECK_FALSE(conn.connected());
}

TEST(ConnectionAuth, MissingPasswordIsRefused) {
    CHECK_TRUE(conn.connect(options_for(server.port()), why) == ConnectResult::Refused);
    CHECK_TRUE_TEXT(contains(why, "NOAUTH"), why.c_str());
}

TEST_GROUP(ConnectionPeers) {
    RedisConnection conn;
    std::string why;
};

TEST(ConnectionPeers, NothingListeningIsUnreachable) {
    const auto start = Clock::now();
    CHECK_TRUE(conn.connect(options_for(free_port()), why) == ConnectResult::Unreachable);
    CHECK_TRUE_TEXT(contains(why, "Connection refused"), why.c_str());
    CHECK_TRUE(elapsed_ms(start) < 400);
    CHECK_FALSE(conn.connected());
}

TEST(ConnectionPeers, UnknownHostIsUnreachable) {
    ConnectOptions o = options_for(6379);
    o.host = "no-such-host.invalid";
    CHECK_TRUE(conn.connect(o, why) == ConnectResult::Unreachable);
    CHECK_TRUE_TEXT(contains(why, "no-such-host.invalid"), why.c_str());
}

TEST(ConnectionPeers, HttpServerIsRefusedQuotingIt) {
    FakeServer http({"", {"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"}, true});
    CHECK_TRUE(conn.connect(options_for(http.port()), why) == ConnectResult::Refused);
    CHECK_TRUE_TEXT(contains(why, "not a Redis server"), why.c_str());
    CHECK_TRUE_TEXT(contains(why, "HTTP/1.1 400 Bad Request"), why.c_str());
    CHECK_FALSE(conn.connected());
}

TEST(ConnectionPeers, MariaDbGreetingIsRefused) {
    // A MariaDB handshake starts with a 3-byte length, sequence 0, protocol version 10.
    const std::string greeting(
        "\x5b\x00\x00\x00\x0a"
        "5.5.5-10.11.6-MariaDB\x00",
        27);
    FakeServer mariadb({greeting, {}, false});
    CHECK_TRUE(conn.connect(options_for(mariadb.port()), why) == ConnectResult::Refused);
    CHECK_TRUE_TEXT(contains(why, "not a Redis server") && contains(why, "MariaDB"), why.c_str());
}

TEST(ConnectionPeers, SilentPeerIsUnreachableAfterTheTimeout) {
    FakeServer silent({"", {}, false});
    const auto start = Clock::now();
    CHECK_TRUE(conn.connect(options_for(silent.port()), why) == ConnectResult::Unreachable);
    const long long ms = elapsed_ms(start);
    CHECK_TRUE_TEXT(ms >= 450 && ms < 1500, std::to_string(ms).c_str());
}

TEST(ConnectionPeers, PeerThatHangsUpIsUnreachable) {
    FakeServer hangup({"", {}, true});
    CHECK_TRUE(conn.connect(options_for(hangup.port()), why) == ConnectResult::Unreachable);
    CHECK_TRUE_TEXT(contains(why, "closed"), why.c_str());
}

TEST(ConnectionPeers, WrongAnswerToPingIsRefused) {
    FakeServer odd({"", {":42\r\n"}, false});
    CHECK_TRUE(conn.connect(options_for(odd.port()), why) == ConnectResult::Refused);
    CHECK_TRUE_TEXT(contains(why, "PING answered"), why.c_str());
}

TEST(ConnectionPeers, BusyRedisIsUnreachable) {
    FakeServer loading({"", {"-LOADING Redis is loading the dataset in memory\r\n"}, false});
    CHECK_TRUE(conn.connect(options_for(loading.port()), why) == ConnectResult::Unreachable);
    CHECK_TRUE_TEXT(contains(why, "LOADING"), why.c_str());
}

// After a good handshake, every kind of garbage fails the call (closing the connection) or is a
// reply; nothing crashes or hangs past the timeout.
TEST(ConnectionPeers, GarbageRepliesNeverCrash) {
    const std::vector<std::string> garbage = {
        "HTTP/1.1 200 OK\r\n\r\n",
        "*3000000000\r\n:1\r\n:2\r\n",  // count past INT_MAX
        "*4294967297\r\n:1\r\n:2\r\n",  // 2^32 + 1
        "*-5\r\n:1\r\n",                // negative count
        "*99999999\r\n",                // above the guard, never followed by elements
        "$-7\r\n",                      // negative length
        "$99999999999999999999\r\n",    // length overflow
        ":notanumber\r\n",              // integer that is not one
        "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n",  // too deep
        std::string("+\0\0\0\r\n", 6),
        "+OK",  // never terminated
        std::string(70000, 'x'),
    };
    for (const std::string& g : garbage) {
        FakeServer peer({"", {"+PONG\r\n", g}, false});
        ConnectOptions o = options_for(peer.port());
        o.command_timeout_ms = 200;
        CHECK_TRUE_TEXT(conn.connect(o, why) == ConnectResult::Ok, why.c_str());
        Reply r;
        const auto start = Clock::now();
        const bool ok = conn.command({"GET", "x"}, r);
        CHECK_TRUE(elapsed_ms(start) < 1000);
        if (!ok) {
            CHECK_FALSE(conn.connected());
            CHECK_TRUE(r.is_error_with("IOERR"));
        }
        conn.close();
    }
}

// hiredis would calloc the announced count (16 GB here) and wait for the elements until the
// timeout; the guarded reader fails at once.
TEST(ConnectionPeers, GiantArrayCountFailsAtOnce) {
    FakeServer peer({"", {"+PONG\r\n", "*2147483647\r\n"}, false});
    ConnectOptions o = options_for(peer.port());
    o.command_timeout_ms = 2000;
    CHECK_TRUE_TEXT(conn.connect(o, why) == ConnectResult::Ok, why.c_str());
    Reply r;
    const auto start = Clock::now();
    CHECK_FALSE(conn.command({"GET", "x"}, r));
    CHECK_TRUE(elapsed_ms(start) < 500);
    CHECK_TRUE_TEXT(contains(conn.last_error(), "Out of memory"), conn.last_error().c_str());
}
