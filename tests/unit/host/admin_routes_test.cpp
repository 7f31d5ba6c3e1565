#include "admin_routes.hpp"

#include <string>
#include <vector>

#include "presence_plugin.h"

// CppUTest last: its leak-detecting operator new macros break STL headers after it.
#include <CppUTest/TestHarness.h>

using namespace presence_host;

namespace {
struct Recorder {
    std::vector<std::string> calls;
    std::string fail_on;  // "a-b" to refuse
    FriendshipApplier applier() {
        return [this](int op, std::string_view a, std::string_view b) -> std::string {
            const std::string key = std::string(a) + "-" + std::string(b);
            if (key == fail_on) return "plugin says no";
            calls.push_back((op == PRESENCE_FRIENDSHIP_ADD ? "add " : "remove ") + key);
            return {};
        };
    }
};
}  // namespace

TEST_GROUP(AdminFriendships){};

TEST(AdminFriendships, NoAdminTokenConfiguredIs404) {
    Recorder r;
    LONGS_EQUAL(404, handle_admin_friendships("POST", "", "x", "{}", r.applier()).status);
}

TEST(AdminFriendships, MissingOrWrongTokenIs401) {
    Recorder r;
    LONGS_EQUAL(401, handle_admin_friendships("POST", "adm", "", "{}", r.applier()).status);
    LONGS_EQUAL(401, handle_admin_friendships("POST", "adm", "adm2", "{}", r.applier()).status);
    CHECK_TRUE(r.calls.empty());
}

TEST(AdminFriendships, SingleOpIsApplied) {
    Recorder r;
    auto answer = handle_admin_friendships("POST", "adm", "adm",
                                           R"({"op":"add","a":"alice","b":"bob"})", r.applier());
    LONGS_EQUAL(200, answer.status);
    STRCMP_EQUAL("{\"applied\":1}", answer.body.c_str());
    LONGS_EQUAL(1, r.calls.size());
    STRCMP_EQUAL("add alice-bob", r.calls[0].c_str());
}

TEST(AdminFriendships, BatchIsAppliedInOrder) {
    Recorder r;
    auto answer = handle_admin_friendships(
        "POST", "adm", "adm",
        R"({"ops":[{"op":"add","a":"a","b":"b"},{"op":"remove","a":"c","b":"d"}]})", r.applier());
    LONGS_EQUAL(200, answer.status);
    STRCMP_EQUAL("{\"applied\":2}", answer.body.c_str());
    STRCMP_EQUAL("remove c-d", r.calls[1].c_str());
}

TEST(AdminFriendships, MalformedOpIs400NamingItsIndexAndAppliesNothing) {
    Recorder r;
    auto answer = handle_admin_friendships(
        "POST", "adm", "adm",
        R"({"ops":[{"op":"add","a":"a","b":"b"},{"op":"hug","a":"a","b":"c"}]})", r.applier());
    LONGS_EQUAL(400, answer.status);
    STRCMP_CONTAINS("op 1", answer.body.c_str());
    CHECK_TRUE(r.calls.empty());
}

TEST(AdminFriendships, BadUserIdIs422NamingItsIndex) {
    Recorder r;
    auto answer = handle_admin_friendships(
        "POST", "adm", "adm", R"({"ops":[{"op":"add","a":"a","b":"a"}]})", r.applier());
    LONGS_EQUAL(422, answer.status);
    STRCMP_CONTAINS("op 0", answer.body.c_str());
    answer = handle_admin_friendships("POST", "adm", "adm", R"({"op":"add","a":"bad id","b":"a"})",
                                      r.applier());
    LONGS_EQUAL(422, answer.status);
}

TEST(AdminFriendships, PluginRefusalIs422) {
    Recorder r;
    r.fail_on = "c-d";
    auto answer = handle_admin_friendships(
        "POST", "adm", "adm",
        R"({"ops":[{"op":"add","a":"a","b":"b"},{"op":"add","a":"c","b":"d"}]})", r.applier());
    LONGS_EQUAL(422, answer.status);
    STRCMP_CONTAINS("op 1", answer.body.c_str());
    STRCMP_CONTAINS("plugin says no", answer.body.c_str());
}

TEST(AdminFriendships, BadJsonIs400) {
    Recorder r;
    LONGS_EQUAL(400, handle_admin_friendships("POST", "adm", "adm", "{", r.applier()).status);
    LONGS_EQUAL(400, handle_admin_friendships("POST", "adm", "adm", "[]", r.applier()).status);
    LONGS_EQUAL(405, handle_admin_friendships("GET", "adm", "adm", "", r.applier()).status);
}

TEST(AdminFriendships, MoreThanTenThousandOpsIsRefused) {
    Recorder r;
    std::string body = R"({"ops":[)";
    for (int i = 0; i < 10001; ++i)
        body += std::string(i ? "," : "") + R"({"op":"add","a":"a","b":"b"})";
    body += "]}";
    const int status = handle_admin_friendships("POST", "adm", "adm", body, r.applier()).status;
    CHECK_TRUE(status == 413);
    CHECK_TRUE(r.calls.empty());
}
