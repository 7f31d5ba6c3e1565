// SPEC 5: every malformed client frame gets the right error code.
#include "protocol/client_message.hpp"

#include <string>

// CppUTest last: its memory-leak macros must not rewrite standard headers.
// clang-format off
#include <CppUTest/TestHarness.h>
// clang-format on

using namespace presence;
using protocol::ClientMessage;
using protocol::ClientType;
using protocol::ParseLimits;

namespace {
std::string code_of(const std::string& frame, ClientMessage* out = nullptr,
                    ParseLimits limits = {}) {
    ClientMessage msg;
    auto e = protocol::parse_client_frame(frame, limits, msg);
    if (out) *out = msg;
    return e ? e.code : "ok";
}
}  // namespace

TEST_GROUP(ClientFrame){};

TEST(ClientFrame, HeartbeatWithIdleAndStringRef) {
    ClientMessage m;
    STRCMP_EQUAL("ok",
                 code_of(R"({"type":"presence_heartbeat","idle":true,"ref":"r1"})", &m).c_str());
    CHECK(m.type == ClientType::Heartbeat);
    CHECK_TRUE(m.idle);
    STRCMP_EQUAL("\"r1\"", m.ref_json.c_str());
}

TEST(ClientFrame, StringRefOf64BytesIsEchoed) {
    ClientMessage m;
    const std::string frame =
        R"({"type":"presence_heartbeat","ref":")" + std::string(64, 'k') + R"("})";
    STRCMP_EQUAL("ok", code_of(frame, &m).c_str());
    STRCMP_EQUAL(("\"" + std::string(64, 'k') + "\"").c_str(), m.ref_json.c_str());
}

TEST(ClientFrame, NumericRefIsEchoedAsNumber) {
    ClientMessage m;
    STRCMP_EQUAL("ok", code_of(R"({"type":"presence_heartbeat","ref":42})", &m).c_str());
    STRCMP_EQUAL("42", m.ref_json.c_str());
}

TEST(ClientFrame, RefOver64BytesIsInvalidFieldAndNotEchoed) {
    ClientMessage m;
    const std::string frame =
        R"({"type":"presence_heartbeat","ref":")" + std::string(65, 'x') + R"("})";
    STRCMP_EQUAL("invalid_field", code_of(frame, &m).c_str());
    CHECK_TRUE(m.ref_json.empty());
}

TEST(ClientFrame, RefOfWrongTypeIsInvalidField) {
    STRCMP_EQUAL("invalid_field", code_of(R"({"type":"presence_heartbeat","ref":[1]})").c_str());
}

TEST(ClientFrame, NotJsonIsBadJson) {
    STRCMP_EQUAL("bad_json", code_of("{nope").c_str());
}

TEST(ClientFrame, TrailingGarbageIsBadJson) {
    STRCMP_EQUAL("bad_json", code_of(R"({"type":"presence_heartbeat"} x)").c_str());
}

TEST(ClientFrame, InvalidUtf8AnywhereIsBadJson) {
    STRCMP_EQUAL("bad_json",
                 code_of("{\"type\":\"presence_heartbeat\",\"x\":\"\xC3\x28\"}").c_str());
    STRCMP_EQUAL("bad_json",
                 code_of("{\"type\":\"presence_heartbeat\",\"x\":\"\xED\xA0\x80\"}").c_str());
}

TEST(ClientFrame, ArrayOrNumberIsBadJson) {
    STRCMP_EQUAL("bad_json", code_of("[1,2]").c_str());
    STRCMP_EQUAL("bad_json", code_of("42").c_str());
}

TEST(ClientFrame, MissingTypeIsInvalidField) {
    STRCMP_EQUAL("invalid_field", code_of(R"({"idle":true})").c_str());
    STRCMP_EQUAL("invalid_field", code_of(R"({"type":7})").c_str());
}

TEST(ClientFrame, UnknownType) {
    STRCMP_EQUAL("unknown_type", code_of(R"({"type":"presence_dance"})").c_str());
}

TEST(ClientFrame, IdleMustBeBool) {
    STRCMP_EQUAL("invalid_field", code_of(R"({"type":"presence_heartbeat","idle":1})").c_str());
}

TEST(ClientFrame, UpdateParsesAllFields) {
    ClientMessage m;
    STRCMP_EQUAL(
        "ok",
        code_of(
            R"({"type":"presence_update","status":"dnd","message":"focus","until":1700000000000})",
            &m)
            .c_str());
    CHECK(m.type == ClientType::Update);
    CHECK(m.update.status == core::Status::Dnd);
    CHECK_TRUE(m.update.has_message);
    STRCMP_EQUAL("focus", m.update.message->c_str());
    CHECK(m.update.until == 1700000000000LL);
}

TEST(ClientFrame, UpdateAbsentMessageKeepsNullClears) {
    ClientMessage m;
    code_of(R"({"type":"presence_update","status":"away"})", &m);
    CHECK_FALSE(m.update.has_message);
    code_of(R"({"type":"presence_update","status":"away","message":null})", &m);
    CHECK_TRUE(m.update.has_message);
    CHECK_FALSE(m.update.message.has_value());
}

TEST(ClientFrame, UnknownOrOfflineStatusIsInvalidStatus) {
    STRCMP_EQUAL("invalid_status",
                 code_of(R"({"type":"presence_update","status":"offline"})").c_str());
    STRCMP_EQUAL("invalid_status",
                 code_of(R"({"type":"presence_update","status":"Online"})").c_str());
}

TEST(ClientFrame, UpdateFieldTypes) {
    STRCMP_EQUAL("invalid_field", code_of(R"({"type":"presence_update"})").c_str());
    STRCMP_EQUAL("invalid_field", code_of(R"({"type":"presence_update","status":1})").c_str());
    STRCMP_EQUAL("invalid_field",
                 code_of(R"({"type":"presence_update","status":"away","message":5})").c_str());
    STRCMP_EQUAL("invalid_field",
                 code_of(R"({"type":"presence_update","status":"away","until":"soon"})").c_str());
    STRCMP_EQUAL("invalid_field",
                 code_of(R"({"type":"presence_update","status":"away","until":1.5})").c_str());
    STRCMP_EQUAL("invalid_field",
                 code_of(R"({"type":"presence_update","status":"away","until":-1})").c_str());
}

TEST(ClientFrame, UntilOnlyWithStatusOtherThanOnline) {
    STRCMP_EQUAL("invalid_field",
                 code_of(R"({"type":"presence_update","status":"online","until":5})").c_str());
    STRCMP_EQUAL("ok",
                 code_of(R"({"type":"presence_update","status":"online","until":null})").c_str());
}

TEST(ClientFrame, QueryKeepsOrder) {
    ClientMessage m;
    STRCMP_EQUAL("ok",
                 code_of(R"({"type":"presence_query","user_ids":["c","a","c"]})", &m).c_str());
    protocol::remove_duplicate_ids(m.user_ids);
    LONGS_EQUAL(2, m.user_ids.size());
    STRCMP_EQUAL("c", m.user_ids[0].c_str());
    STRCMP_EQUAL("a", m.user_ids[1].c_str());
}

TEST(ClientFrame, QueryOverMaxBatchIsTooMany) {
    ParseLimits limits;
    limits.max_batch = 2;
    STRCMP_EQUAL(
        "too_many",
        code_of(R"({"type":"presence_query","user_ids":["a","b","c"]})", nullptr, limits).c_str());
}

TEST(ClientFrame, QueryBadIdIsInvalidFieldNamingIt) {
    ClientMessage msg;
    auto e = protocol::parse_client_frame(R"({"type":"presence_query","user_ids":["ok","bad id"]})",
                                          {}, msg);
    STRCMP_EQUAL("invalid_field", e.code);
    CHECK(e.message.find("\"bad id\"") != std::string::npos);
    STRCMP_EQUAL("invalid_field",
                 code_of(R"({"type":"presence_query","user_ids":["a",3]})").c_str());
    STRCMP_EQUAL("invalid_field", code_of(R"({"type":"presence_query","user_ids":"a"})").c_str());
    STRCMP_EQUAL("invalid_field", code_of(R"({"type":"presence_query","user_ids":[""]})").c_str());
}

TEST(ClientFrame, OverMaxMessageBytesIsTooLargeBeforeParsing) {
    ParseLimits limits;
    limits.max_message_bytes = 1024;
    std::string frame(1025, '{');  // not JSON either: size wins
    STRCMP_EQUAL("too_large", code_of(frame, nullptr, limits).c_str());
}

TEST(ClientFrame, ErrorKeepsValidRefForEcho) {
    ClientMessage m;
    STRCMP_EQUAL("unknown_type", code_of(R"({"type":"nope","ref":"x1"})", &m).c_str());
    STRCMP_EQUAL("\"x1\"", m.ref_json.c_str());
}

TEST_GROUP(RestBody){};

TEST(RestBody, StatusBody) {
    core::StatusUpdate u;
    auto e = protocol::parse_status_body(R"({"status":"invisible","message":null})", {}, u);
    CHECK_FALSE(e);
    CHECK(u.status == core::Status::Invisible);
    e = protocol::parse_status_body("[]", {}, u);
    STRCMP_EQUAL("bad_json", e.code);
}

TEST(RestBody, UserIdsBodyLimit) {
    std::vector<std::string> ids;
    auto e = protocol::parse_user_ids_body(R"({"user_ids":["a","b"]})", {}, 1, ids);
    STRCMP_EQUAL("too_many", e.code);
    e = protocol::parse_user_ids_body(R"({"user_ids":["a","b"]})", {}, 2, ids);
    CHECK_FALSE(e);
    LONGS_EQUAL(2, ids.size());
}
