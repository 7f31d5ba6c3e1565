// The in-memory store: friends file parsing and answers from pump() only.
#include "store/memory_store.hpp"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

// CppUTest last: its memory-leak macros must not rewrite standard headers.
// clang-format off
#include <CppUTest/TestHarness.h>
// clang-format on

using namespace presence;
using store::FriendGraph;

TEST_GROUP(FriendsFile){};

TEST(FriendsFile, BothDirectionsCommentsAndBlankLines) {
    FriendGraph g;
    std::string err;
    CHECK_TEXT(
        store::parse_friends_text("# demo\n\nalice bob\n  alice\tcarol  \r\nbob alice\n", g, err),
        err.c_str());
    LONGS_EQUAL(2, g["alice"].size());
    LONGS_EQUAL(1, g["bob"].size());  // the repeated line does not duplicate
    STRCMP_EQUAL("alice", g["carol"][0].c_str());
}

TEST(FriendsFile, BadIdNamesTheLine) {
    FriendGraph g;
    std::string err;
    CHECK_FALSE(store::parse_friends_text("a b\nc d\nbad!id e\n", g, err));
    CHECK_TEXT(err.find("line 3") != std::string::npos, err.c_str());
}

TEST(FriendsFile, WrongWordCountNamesTheLine) {
    FriendGraph g;
    std::string err;
    CHECK_FALSE(store::parse_friends_text("a b c\n", g, err));
    CHECK(err.find("line 1") != std::string::npos);
    CHECK_FALSE(store::parse_friends_text("a b\nsolo\n", g, err));
    CHECK(err.find("line 2") != std::string::npos);
}

TEST(FriendsFile, SelfFriendshipIsRejected) {
    FriendGraph g;
    std::string err;
    CHECK_FALSE(store::parse_friends_text("a a\n", g, err));
}

TEST_GROUP(MemoryStore){};

TEST(MemoryStore, MissingFileNamesIt) {
    store::MemoryStoreOptions o;
    o.friends_file = "/nonexistent/friends.txt";
    std::string err;
    CHECK(store::make_memory_store(o, &err) == nullptr);
    CHECK(err.find("/nonexistent/friends.txt") != std::string::npos);
}

TEST(MemoryStore, LoadsAnswerFromPumpOnly) {
    char path[] = "/tmp/presence-friends-XXXXXX";
    const int fd = mkstemp(path);
    CHECK(fd >= 0);
    {
        std::ofstream f(path);
        f << "a b\na c\n";
    }
    store::MemoryStoreOptions o;
    o.friends_file = path;
    std::string err;
    auto s = store::make_memory_store(o, &err);
    std::remove(path);
    close(fd);
    CHECK_TEXT(s != nullptr, err.c_str());

    bool answered = false;
    std::vector<std::string> friends;
    s->load_friends("a", [&](bool ok, std::vector<std::string> f) {
        CHECK_TRUE(ok);
        answered = true;
        friends = std::move(f);
    });
    CHECK_FALSE(answered);  // never inside the asking call
    s->pump();
    CHECK_TRUE(answered);
    LONGS_EQUAL(2, friends.size());

    core::UserRecord r;
    r.user_id = "a";
    r.chosen = core::Status::Dnd;
    r.message = "busy";
    s->save_user(r);
    std::vector<core::UserRecord> got;
    s->load_users({"a", "zz"}, [&](bool ok, std::vector<core::UserRecord> recs) {
        CHECK_TRUE(ok);
        got = std::move(recs);
    });
    s->pump();
    LONGS_EQUAL(2, got.size());
    CHECK(got[0].chosen == core::Status::Dnd);
    STRCMP_EQUAL("busy", got[0].message->c_str());
    CHECK(got[1].chosen == core::Status::Online);  // never stored: defaults

    s->friendship_changed(false, "a", "b");
    s->load_friends("b", [&](bool, std::vector<std::string> f) { friends = std::move(f); });
    s->pump();
    LONGS_EQUAL(0, friends.size());
}
