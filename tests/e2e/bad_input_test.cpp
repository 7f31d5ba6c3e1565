// Malformed client frames over the wire: each is answered with the SPEC error code (and the
// frame's ref when it had a usable one) and the connection stays usable afterwards.
#include "e2e_fixture.hpp"

using namespace presence::e2e;

namespace {

bool code_matches(const std::string& got, const std::string& allowed) {
    return ("|" + allowed + "|").find("|" + got + "|") != std::string::npos;
}

// Sends `frame`, expects an error with `code` as the next message, then a heartbeat ack.
// `code` may list alternatives ("a|b") where the SPEC allows either reading.
Json expect_error(WsClient& ws, const std::string& frame, const char* code) {
    CHECK_TEXT(ws.send_text(frame), ws.error().c_str());
    Json err = ws.read_json();
    CHECK_TEXT(err["type"].str() == "error",
               ("for " + frame.substr(0, 120) + " expected an error, got " + err.dump()).c_str());
    CHECK_TEXT(
        code_matches(err["code"].str(), code),
        ("for " + frame.substr(0, 120) + " expected " + code + ", got " + err.dump()).c_str());
    CHECK(err["message"].is_string());
    std::string got;
    CHECK_TEXT(ws.heartbeat_roundtrip(false, milliseconds{3000}, &got),
               ("connection unusable after " + frame.substr(0, 120) + ": " + got).c_str());
    return err;
}

std::string repeat(const std::string& s, int n) {
    std::string out;
    for (int i = 0; i < n; ++i) out += s;
    return out;
}

}  // namespace

TEST_GROUP(BadInput) {
    std::unique_ptr<HostProcess> host;
    WsClient ws;
    void setup() override {
        HostOptions o = small_timings();
        o.set("presence.max_batch", "5");
        o.set("presence.max_message_bytes", "4096");
        o.friends({{"alice", "bob"}});
        host = start_host(o);
        connect_user(*host, ws, "alice");
    }
    void teardown() override {
        ws.drop();
        stop_cleanly(host);
    }
};

TEST(BadInput, InvalidJson) {
    expect_error(ws, "{", "bad_json");
    expect_error(ws, "", "bad_json");
    expect_error(ws, R"({"type":"presence_heartbeat",})", "bad_json");
}

TEST(BadInput, JsonThatIsNotAnObject) {
    expect_error(ws, R"(["presence_heartbeat"])", "bad_json");
    expect_error(ws, "42", "bad_json");
    expect_error(ws, R"("presence_heartbeat")", "bad_json");
}

TEST(BadInput, UnknownOrMissingType) {
    expect_error(ws, R"({"type":"presence_teleport"})", "unknown_type");
    // Without a string type the frame is not a known message; either code says so.
    expect_error(ws, R"({"ref":"r"})", "unknown_type|invalid_field");
    expect_error(ws, R"({"type":7})", "unknown_type|invalid_field");
}

TEST(BadInput, WrongFieldTypes) {
    expect_error(ws, R"({"type":"presence_heartbeat","idle":"yes"})", "invalid_field");
    expect_error(ws, R"({"type":"presence_update","status":"away","message":7})", "invalid_field");
    expect_error(ws, R"({"type":"presence_update","status":"away","until":"soon"})",
                 "invalid_field");
    expect_error(ws, R"({"type":"presence_query","user_ids":"bob"})", "invalid_field");
    expect_error(ws, R"({"type":"presence_query","user_ids":[1,2]})", "invalid_field");
}

TEST(BadInput, BadStatus) {
    expect_error(ws, R"({"type":"presence_update","status":"offline"})", "invalid_status");
    expect_error(ws, R"({"type":"presence_update","status":"sleeping"})", "invalid_status");
    expect_error(ws, R"({"type":"presence_update","status":"ONLINE"})", "invalid_status");
}

TEST(BadInput, MessageLimitIs128CodePoints) {
    // 128 two-byte characters are fine; 129 are not.
    CHECK(ws.send_text(R"({"type":"presence_update","status":"online","message":")" +
                       repeat("\xC3\xA9", 128) + "\"}"));
    Json self = ws.read_json();
    STRCMP_EQUAL_TEXT("presence_self", self["type"].str().c_str(), self.dump().c_str());
    expect_error(ws,
                 R"({"type":"presence_update","status":"online","message":")" +
                     repeat("\xC3\xA9", 129) + "\"}",
                 "invalid_field");
}

TEST(BadInput, InvalidUtf8) {
    // A text frame that is not UTF-8 is not JSON text (RFC 8259 8.1): bad_json is fair too.
    expect_error(ws,
                 "{\"type\":\"presence_update\",\"status\":\"online\",\"message\":\"a\xFF\xFE\"}",
                 "invalid_field|bad_json");
    expect_error(ws, "{\"type\":\"presence_query\",\"user_ids\":[\"\xC3\"]}",
                 "invalid_field|bad_json");
}

TEST(BadInput, BadUserIdsInQuery) {
    expect_error(ws, R"({"type":"presence_query","user_ids":[")" + std::string(65, 'a') + "\"]}",
                 "invalid_field");
    expect_error(ws, R"({"type":"presence_query","user_ids":["bob!"]})", "invalid_field");
    expect_error(ws, R"({"type":"presence_query","user_ids":[""]})", "invalid_field");
    // 64 bytes is still a valid id.
    CHECK(
        ws.send_text(R"({"type":"presence_query","user_ids":[")" + std::string(64, 'a') + "\"]}"));
    STRCMP_EQUAL("presence_result", ws.read_json()["type"].str().c_str());
}

TEST(BadInput, FrameOverMaxMessageBytes) {
    const std::string big = R"({"type":"presence_update","status":"online","message":")" +
                            std::string(5000, 'x') + "\"}";
    expect_error(ws, big, "too_large");
}

TEST(BadInput, QueryOverMaxBatch) {
    expect_error(ws, R"({"type":"presence_query","user_ids":["a","b","c","d","e","f"]})",
                 "too_many");
}

TEST(BadInput, RefOver64BytesIsRejected) {
    expect_error(ws, R"({"type":"presence_heartbeat","ref":")" + std::string(65, 'r') + "\"}",
                 "invalid_field");
    expect_error(ws, R"({"type":"presence_heartbeat","ref":{"a":1}})", "invalid_field");
}

TEST(BadInput, RefIsEchoedOnAnswersAndErrors) {
    CHECK(ws.send_text(R"({"type":"presence_heartbeat","idle":false,"ref":"hb-1"})"));
    Json ack = ws.read_json();
    STRCMP_EQUAL("presence_heartbeat_ack", ack["type"].str().c_str());
    STRCMP_EQUAL("hb-1", ack["ref"].str().c_str());
    CHECK(ack["server_time"].is_number());

    CHECK(ws.send_text(R"({"type":"presence_heartbeat","ref":42})"));
    ack = ws.read_json();
    LONGS_EQUAL(42, ack["ref"].i64());

    Json err = expect_error(ws, R"({"type":"presence_update","status":"gone","ref":"u-7"})",
                            "invalid_status");
    STRCMP_EQUAL("u-7", err["ref"].str().c_str());
    err = expect_error(ws, R"({"type":"nope","ref":9})", "unknown_type");
    LONGS_EQUAL(9, err["ref"].i64());

    // SPEC 5: a ref of at most 64 bytes is fine (the bytes of the string, not of its JSON).
    const std::string ref64(64, 'k');
    CHECK(ws.send_text(R"({"type":"presence_heartbeat","ref":")" + ref64 + "\"}"));
    ack = ws.read_json();
    STRCMP_EQUAL_TEXT("presence_heartbeat_ack", ack["type"].str().c_str(), ack.dump().c_str());
    STRCMP_EQUAL(ref64.c_str(), ack["ref"].str().c_str());
}

TEST(BadInput, FragmentedFrameIsReassembled) {
    CHECK(ws.send_fragmented_text(R"({"type":"presence_heartbeat","idle":false,"ref":"frag"})", 4));
    Json ack = ws.read_json();
    STRCMP_EQUAL("presence_heartbeat_ack", ack["type"].str().c_str());
    STRCMP_EQUAL("frag", ack["ref"].str().c_str());
}

TEST(BadInput, WebSocketPingGetsPong) {
    CHECK(ws.send_ping("are-you-there"));
    auto frame = ws.read_frame();
    CHECK(frame.has_value());
    CHECK(frame->opcode == WsOpcode::Pong);
    STRCMP_EQUAL("are-you-there", frame->payload.c_str());
    CHECK(ws.heartbeat_roundtrip());
}

TEST(BadInput, RepeatedAbuseClosesWith1008) {
    // One bad frame is forgiven (every test above); a flood of them is abuse. Each answer is
    // read before the next frame goes out: writing into a socket the server already closed
    // would draw a TCP reset that can discard its close frame before we read it.
    for (int i = 0; i < 200 && !ws.closed(); ++i) {
        if (!ws.send_text("{")) break;
        Json answer = ws.read_json(milliseconds{3000});
        if (!answer.valid()) break;  // closed (or silent: the check below says which)
        STRCMP_EQUAL("bad_json", answer["code"].str().c_str());
        ws.read_text(milliseconds{20});  // a close frame right behind the error, if any
    }
    CHECK_TEXT(ws.wait_closed(milliseconds{5000}), "200 invalid frames did not close the socket");
    LONGS_EQUAL(1008, ws.close_code());
}

TEST(BadInput, UntilMustBeAFutureTimeOnANonOnlineStatus) {
    expect_error(ws, R"({"type":"presence_update","status":"dnd","until":1})", "invalid_field");
    expect_error(ws, R"({"type":"presence_update","status":"dnd","until":1.5})", "invalid_field");
    expect_error(ws, R"({"type":"presence_update","status":"online","until":99999999999999})",
                 "invalid_field");
}
