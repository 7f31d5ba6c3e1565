#include "request_peek.hpp"

#include <string>

// CppUTest last: its leak-detecting operator new macros break STL headers after it.
#include <CppUTest/TestHarness.h>

using namespace presence_host;

TEST_GROUP(RequestPeek){};

TEST(RequestPeek, WaitsForTheEndOfTheHeaderBlock) {
    CHECK(decide_peek("", 2048).verdict == PeekVerdict::Wait);
    CHECK(decide_peek("GET /ws HTTP/1.1\r\nHost: a\r\n", 2048).verdict == PeekVerdict::Wait);
}

TEST(RequestPeek, WhatCannotBeHttpIsNotWaitedFor) {
    CHECK(decide_peek("*1\r\n$4\r\nPING\r\n", 2048).verdict == PeekVerdict::Bare);  // RESP
    CHECK(decide_peek("\x16\x03\x01", 2048).verdict == PeekVerdict::Bare);          // a TLS hello
}

TEST(RequestPeek, AWholeGetIsHandedOverWithItsBytes) {
    const std::string get = "GET /ws?token=t HTTP/1.1\r\nHost: a\r\n\r\n";
    const PeekDecision d = decide_peek(get, 2048);
    CHECK(d.verdict == PeekVerdict::WholeGet);
    LONGS_EQUAL(get.size(), d.request_bytes);
}

TEST(RequestPeek, ABodyGoesBare) {
    CHECK(decide_peek("PUT /s HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}", 2048).verdict ==
          PeekVerdict::Bare);
    CHECK(decide_peek("GET /s HTTP/1.1\r\ncontent-length: 2\r\n\r\n{}", 2048).verdict ==
          PeekVerdict::Bare);
    CHECK(decide_peek("POST /q HTTP/1.1\r\n\r\n", 2048).verdict == PeekVerdict::Bare);
}

TEST(RequestPeek, WhatFollowsABodilessGetStaysInTheSocket) {
    const std::string get = "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n";
    PeekDecision d = decide_peek(get +
                                     "\x81\x85"
                                     "frame",
                                 2048);  // first frame in the same write
    CHECK(d.verdict == PeekVerdict::WholeGet);
    LONGS_EQUAL(get.size(), d.request_bytes);
    d = decide_peek(get + "GET /b HTTP/1.1\r\n\r\n", 2048);  // a pipelined request
    CHECK(d.verdict == PeekVerdict::WholeGet);
    LONGS_EQUAL(get.size(), d.request_bytes);
}

TEST(RequestPeek, AFullBufferWithoutAnEndGoesBare) {
    const std::string head = "GET /ws HTTP/1.1\r\nX: " + std::string(100, 'a');
    CHECK(decide_peek(head, head.size()).verdict == PeekVerdict::Bare);
}

TEST(RequestPeek, ABadEscapeIsAnsweredByTheHost) {
    const std::string get = "GET /api/presence/users/bob% HTTP/1.1\r\nHost: a\r\n\r\n";
    PeekDecision d = decide_peek(get, 2048);
    CHECK(d.verdict == PeekVerdict::BadEscape);
    LONGS_EQUAL(get.size(), d.request_bytes);
    // Seen before the header block ended (the buffer is full): all of it is dropped.
    const std::string cut = "GET /a%zz HTTP/1.1\r\nX: yyyy";
    d = decide_peek(cut, cut.size());
    CHECK(d.verdict == PeekVerdict::BadEscape);
    LONGS_EQUAL(cut.size(), d.request_bytes);
    // A bad escape on a later line is not the request line's.
    CHECK(decide_peek("GET /a HTTP/1.1\r\nX: %zz\r\n\r\n", 2048).verdict == PeekVerdict::WholeGet);
}
