#include "frame_batch.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

// CppUTest last: its leak-detecting operator new macros break STL headers after it.
#include <CppUTest/TestHarness.h>

using namespace presence_host;

namespace {

struct Parsed {
    int fin = 0, opcode = 0, masked = 0;
    std::string payload;
};

// A reader written from RFC 6455 5.2, independent of the writer: splits a byte stream into
// frames, false on any truncation.
bool parse_frames(const unsigned char* data, size_t size, std::vector<Parsed>& out) {
    size_t at = 0;
    while (at < size) {
        if (size - at < 2) return false;
        Parsed frame;
        frame.fin = data[at] >> 7;
        frame.opcode = data[at] & 0x0f;
        frame.masked = data[at + 1] >> 7;
        uint64_t len = data[at + 1] & 0x7f;
        at += 2;
        const size_t extra = len == 126 ? 2 : len == 127 ? 8 : 0;
        if (size - at < extra) return false;
        if (extra) {
            len = 0;
            for (size_t i = 0; i < extra; ++i) len = (len << 8) | data[at + i];
            at += extra;
        }
        if (size - at < len) return false;
        frame.payload.assign(reinterpret_cast<const char*>(data + at), len);
        at += len;
        out.push_back(frame);
    }
    return true;
}

const unsigned char* bytes(const std::string& s) {
    return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

TEST_GROUP(FrameBatch){};

TEST(FrameBatch, HeaderUsesTheShortestLengthForm) {
    unsigned char header[10];
    LONGS_EQUAL(2, write_text_frame_header(header, 125));
    BYTES_EQUAL(0x81, header[0]);
    BYTES_EQUAL(125, header[1]);
    LONGS_EQUAL(4, write_text_frame_header(header, 126));
    BYTES_EQUAL(126, header[1]);
    BYTES_EQUAL(0, header[2]);
    BYTES_EQUAL(126, header[3]);
    LONGS_EQUAL(4, write_text_frame_header(header, 65535));
    BYTES_EQUAL(0xff, header[2]);
    BYTES_EQUAL(0xff, header[3]);
    LONGS_EQUAL(10, write_text_frame_header(header, 65536));
    BYTES_EQUAL(127, header[1]);
    const unsigned char expected[8] = {0, 0, 0, 0, 0, 1, 0, 0};
    MEMCMP_EQUAL(expected, header + 2, 8);
}

TEST(FrameBatch, FramesLieBackToBackAndParseBackInOrder) {
    FrameBatch batch;
    const std::string small = "{\"type\":\"presence\"}";
    const std::string medium(300, 'm');
    const std::string empty;
    CHECK_TRUE(batch.add(bytes(small), small.size()));
    CHECK_TRUE(batch.add(bytes(medium), medium.size()));
    CHECK_TRUE(batch.add(bytes(empty), 0));
    LONGS_EQUAL(3, batch.frames());
    LONGS_EQUAL(2 + small.size() + 4 + medium.size() + 2, batch.size());
    std::vector<Parsed> frames;
    CHECK_TRUE(parse_frames(batch.data(), batch.size(), frames));
    LONGS_EQUAL(3, frames.size());
    const std::string* payloads[] = {&small, &medium, &empty};
    for (size_t i = 0; i < 3; ++i) {
        LONGS_EQUAL(1, frames[i].fin);
        LONGS_EQUAL(1, frames[i].opcode);
        LONGS_EQUAL(0, frames[i].masked);
        STRCMP_EQUAL(payloads[i]->c_str(), frames[i].payload.c_str());
    }
}

TEST(FrameBatch, StopsAtTheFrameBound) {
    FrameBatch batch;
    const std::string frame = "x";
    for (size_t i = 0; i < FrameBatch::kMaxFrames; ++i) CHECK_TRUE(batch.add(bytes(frame), 1));
    CHECK_FALSE(batch.add(bytes(frame), 1));
    LONGS_EQUAL(FrameBatch::kMaxFrames, batch.frames());
}

TEST(FrameBatch, StopsAtTheByteBoundButAlwaysTakesTheFirstFrame) {
    FrameBatch batch;
    const std::string big(FrameBatch::kMaxBytes + 10, 'b');
    CHECK_TRUE(batch.add(bytes(big), big.size()));  // alone it still goes out
    CHECK_FALSE(batch.add(bytes(big), 1));
    std::vector<Parsed> frames;
    CHECK_TRUE(parse_frames(batch.data(), batch.size(), frames));
    LONGS_EQUAL(1, frames.size());
    LONGS_EQUAL(big.size(), frames[0].payload.size());

    batch.clear();
    const std::string half(FrameBatch::kMaxBytes / 2, 'h');
    CHECK_TRUE(batch.add(bytes(half), half.size()));
    CHECK_FALSE(batch.add(bytes(half), half.size()));  // headers push it past the bound
    LONGS_EQUAL(1, batch.frames());
}

TEST(FrameBatch, ReusesItsBufferAndKeepsTheHeadroom) {
    FrameBatch batch;
    const std::string frame(100, 'r');
    CHECK_TRUE(batch.add(bytes(frame), frame.size()));
    unsigned char* first = batch.data();
    // lws writes into the headroom; it must be ours.
    for (size_t i = 1; i <= FrameBatch::kHeadroom; ++i) first[-static_cast<long>(i)] = 0;
    for (int round = 0; round < 5; ++round) {
        batch.clear();
        LONGS_EQUAL(0, batch.size());
        for (int i = 0; i < 60; ++i) CHECK_TRUE(batch.add(bytes(frame), frame.size()));
        POINTERS_EQUAL(first, batch.data());  // no reallocation below the bound
    }
}

// A frame too large for a batch leaves in pieces: the header (for the whole length) with the
// first piece, the rest as raw payload. Joined, they are the one frame.
TEST(FrameBatch, PiecesOfALargeFrameJoinIntoOneFrame) {
    std::string big(3 * FrameBatch::kMaxBytes + 123, 'x');
    for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
    FrameBatch batch;
    std::string wire;
    for (size_t offset = 0; offset < big.size();) {
        const size_t len = std::min(FrameBatch::kMaxBytes, big.size() - offset);
        batch.start_piece(bytes(big), big.size(), offset, len);
        CHECK_TRUE(batch.size() <= FrameBatch::kMaxBytes + kMaxFrameHeader);
        wire.append(reinterpret_cast<const char*>(batch.data()), batch.size());
        offset += len;
    }
    std::vector<Parsed> frames;
    CHECK_TRUE(
        parse_frames(reinterpret_cast<const unsigned char*>(wire.data()), wire.size(), frames));
    LONGS_EQUAL(1, frames.size());
    CHECK_TRUE(frames[0].payload == big);
}

// The close frame the host writes itself (lws_writes.cpp): code in network order, the reason
// after it, cut at kMaxCloseReason so the payload stays within a control frame's 125 bytes.
TEST(FrameBatch, CloseFrameCarriesCodeAndReasonCutToFit) {
    unsigned char out[kMaxCloseFrame];
    const size_t n = write_close_frame(out, 1008, "slow reader");
    CHECK_EQUAL(4u + 11u, n);
    CHECK_EQUAL(0x88, out[0]);
    CHECK_EQUAL(2 + 11, out[1]);
    CHECK_EQUAL(0x03, out[2]);  // 1008 = 0x03F0
    CHECK_EQUAL(0xF0, out[3]);
    STRCMP_EQUAL("slow reader", std::string(reinterpret_cast<char*>(out + 4), 11).c_str());
    const std::string long_reason(300, 'x');
    CHECK_EQUAL(kMaxCloseFrame, write_close_frame(out, 1000, long_reason));
    CHECK_EQUAL(2 + kMaxCloseReason, static_cast<size_t>(out[1]));
    CHECK_EQUAL(4u, write_close_frame(out, 1000, ""));
    CHECK_EQUAL(2, out[1]);
}
