// SPEC 5: frames are exactly the JSON text the protocol shows, escaped per RFC 8259.
#include "protocol/frames.hpp"

#include <string>
#include <vector>

#include "protocol/json_writer.hpp"

// CppUTest last: its memory-leak macros must not rewrite standard headers.
// clang-format off
#include <CppUTest/TestHarness.h>
// clang-format on

using namespace presence;

TEST_GROUP(Frames){};

TEST(Frames, EscapesQuotesBackslashesAndControls) {
    std::string out;
    protocol::append_json_string(out, std::string("a\"b\\c\n\t\x01/\xC3\xA9", 11));
    STRCMP_EQUAL("\"a\\\"b\\\\c\\n\\t\\u0001/\xC3\xA9\"", out.c_str());
}

TEST(Frames, PresenceFrameInline) {
    core::PresenceView v;
    v.user_id = "b";
    v.status = core::Status::Online;
    v.message = "hi";
    std::string out;
    protocol::build_presence_frame(out, v);
    STRCMP_EQUAL(
        R"({"type":"presence","user_id":"b","status":"online","message":"hi","last_seen":null})",
        out.c_str());
    v.status = core::Status::Offline;
    v.message.reset();
    v.last_seen = 1700000000123;
    protocol::build_presence_frame(out, v);
    STRCMP_EQUAL(
        R"({"type":"presence","user_id":"b","status":"offline","message":null,"last_seen":1700000000123})",
        out.c_str());
}

TEST(Frames, SelfFrameWithRef) {
    core::SelfView s;
    s.user_id = "a";
    s.chosen = core::Status::Invisible;
    s.until = 99;
    s.visibility = {"b", "c"};
    s.connections = 2;
    std::string out;
    protocol::build_self_frame(out, s, "\"r\"");
    STRCMP_EQUAL(
        R"({"type":"presence_self","user_id":"a","status":"invisible","message":null,"until":99,"visibility":["b","c"],"connections":2,"ref":"r"})",
        out.c_str());
}

TEST(Frames, SnapshotAndResult) {
    core::SelfView s;
    s.user_id = "a";
    s.connections = 1;
    std::vector<core::PresenceView> friends(1);
    friends[0].user_id = "b";
    friends[0].status = core::Status::Away;
    std::string out;
    protocol::build_snapshot_frame(out, s, friends);
    STRCMP_EQUAL(
        R"({"type":"presence_snapshot","self":{"user_id":"a","status":"online","message":null,"until":null,"visibility":[],"connections":1},"friends":[{"user_id":"b","status":"away","message":null,"last_seen":null}]})",
        out.c_str());
    protocol::build_result_frame(out, friends, "7");
    STRCMP_EQUAL(
        R"({"type":"presence_result","users":[{"user_id":"b","status":"away","message":null,"last_seen":null}],"ref":7})",
        out.c_str());
}

TEST(Frames, HeartbeatAckAndError) {
    std::string out;
    protocol::build_heartbeat_ack_frame(out, 1234, {});
    STRCMP_EQUAL(R"({"type":"presence_heartbeat_ack","server_time":1234})", out.c_str());
    protocol::build_error_frame(out, "bad_json", "frame is \"bad\"", "\"q\"");
    STRCMP_EQUAL(R"({"type":"error","code":"bad_json","message":"frame is \"bad\"","ref":"q"})",
                 out.c_str());
}

TEST(Frames, RestErrorNamesOffenders) {
    std::string out;
    const std::vector<std::string> ids{"x", "y"};
    protocol::build_rest_error(out, "not_friend", "not a friend: x y", ids);
    STRCMP_EQUAL(
        R"({"error":{"code":"not_friend","message":"not a friend: x y","user_ids":["x","y"]}})",
        out.c_str());
}

TEST(Frames, BufferIsReusedWithoutGrowing) {
    core::PresenceView v;
    v.user_id = "someone";
    std::string out;
    protocol::build_presence_frame(out, v);
    const auto cap = out.capacity();
    const auto* data = out.data();
    for (int i = 0; i < 100; ++i) protocol::build_presence_frame(out, v);
    LONGS_EQUAL(cap, out.capacity());
    POINTERS_EQUAL(data, out.data());
}
