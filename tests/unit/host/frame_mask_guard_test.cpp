// FrameHeaderTracker: frame boundaries followed across reads (headers split anywhere, 7/16/64-bit
// lengths, control frames between fragments), the first unmasked header found at its offset.
// FrameMaskGuard: only watched sockets are screened; a refused one passes nothing more.
#include "frame_mask_guard.hpp"

#include <CppUTest/TestHarness.h>

#include <cstdint>
#include <vector>

using presence_host::FrameHeaderTracker;
using presence_host::FrameMaskGuard;

namespace {

using Bytes = std::vector<uint8_t>;

// One client frame: opcode (with FIN when `fin`), `length` payload bytes, masked or not.
Bytes frame(uint8_t opcode, uint64_t length, bool masked = true, bool fin = true) {
    Bytes out{static_cast<uint8_t>((fin ? 0x80 : 0x00) | opcode)};
    const uint8_t mask_bit = masked ? 0x80 : 0x00;
    if (length < 126) {
        out.push_back(static_cast<uint8_t>(mask_bit | length));
    } else if (length <= 0xffff) {
        out.push_back(mask_bit | 126);
        out.push_back(static_cast<uint8_t>(length >> 8));
        out.push_back(static_cast<uint8_t>(length));
    } else {
        out.push_back(mask_bit | 127);
        for (int shift = 56; shift >= 0; shift -= 8)
            out.push_back(static_cast<uint8_t>(length >> shift));
    }
    if (masked) out.insert(out.end(), {0x11, 0x22, 0x33, 0x44});
    // Payload bytes that would look like unmasked headers if they were read as headers.
    out.insert(out.end(), static_cast<size_t>(length), uint8_t{0x01});
    return out;
}

Bytes join(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

// Feeds `stream` in pieces of `piece` bytes; returns the stream offset of the first unmasked
// frame, or SIZE_MAX.
size_t offset_in_pieces(const Bytes& stream, size_t piece) {
    FrameHeaderTracker tracker;
    for (size_t at = 0; at < stream.size(); at += piece) {
        const size_t n = std::min(piece, stream.size() - at);
        const size_t bad = tracker.feed(stream.data() + at, n);
        if (bad != FrameHeaderTracker::kAllMasked) return at + bad;
    }
    return SIZE_MAX;
}

// The unmasked frame starting at `start` is found there, or at the start of the read holding its
// second byte when its first byte ended the read before (that byte already went to lws).
void check_found(const Bytes& stream, size_t piece, size_t start) {
    const size_t found = offset_in_pieces(stream, piece);
    CHECK_TRUE(found == start || (found == start + 1 && found % piece == 0));
}

}  // namespace

TEST_GROUP(FrameHeaderTracker){};

TEST(FrameHeaderTracker, MaskedFramesPassInAnySplit) {
    const Bytes stream =
        join({frame(0x1, 5), frame(0x9, 0), frame(0x2, 300), frame(0x1, 70000), frame(0xA, 125)});
    for (size_t piece : {1u, 2u, 3u, 7u, 13u, 4096u, 100000u}) {
        LONGS_EQUAL(SIZE_MAX, offset_in_pieces(stream, piece));
    }
}

TEST(FrameHeaderTracker, UnmaskedTextFrameFoundAtItsStart) {
    const Bytes stream = frame(0x1, 10, false);
    LONGS_EQUAL(0, offset_in_pieces(stream, stream.size()));
}

TEST(FrameHeaderTracker, UnmaskedFrameAfterMaskedOnesInAnySplit) {
    const Bytes good = join({frame(0x1, 20), frame(0x2, 200), frame(0x1, 66000)});
    const Bytes stream = join({good, frame(0x1, 4, false), frame(0x1, 4)});
    for (size_t piece : {1u, 2u, 5u, 126u, 1000u, 200000u}) {
        check_found(stream, piece, good.size());
    }
}

TEST(FrameHeaderTracker, HeaderSplitAfterFirstByteReportsZero) {
    // The first byte went to lws in an earlier read; the unmasked second byte starts this one.
    const Bytes stream = join({frame(0x1, 3), frame(0x9, 2, false)});
    FrameHeaderTracker tracker;
    const size_t first = frame(0x1, 3).size() + 1;
    LONGS_EQUAL(FrameHeaderTracker::kAllMasked, tracker.feed(stream.data(), first));
    LONGS_EQUAL(0, tracker.feed(stream.data() + first, stream.size() - first));
    CHECK_TRUE(tracker.failed());
    LONGS_EQUAL(0, tracker.feed(stream.data(), 1));  // stays failed
}

TEST(FrameHeaderTracker, UnmaskedControlFrameBetweenFragments) {
    const Bytes head = join({frame(0x1, 100, true, false), frame(0x9, 4)});  // masked ping ok
    const Bytes stream = join({head, frame(0xA, 0, false), frame(0x0, 10, true, true)});
    check_found(stream, 3, head.size());
}

TEST(FrameHeaderTracker, SixtyFourBitLengthSkipsWholePayload) {
    // 2^32 + 1 payload bytes announced: everything fed after the header is payload.
    Bytes header{0x82, 0x80 | 127, 0, 0, 0, 1, 0, 0, 0, 1, 1, 2, 3, 4};
    FrameHeaderTracker tracker;
    LONGS_EQUAL(FrameHeaderTracker::kAllMasked, tracker.feed(header.data(), header.size()));
    const Bytes zeros(65536, 0);  // unmasked-looking bytes, but inside the payload
    for (int i = 0; i < 100; ++i) {
        LONGS_EQUAL(FrameHeaderTracker::kAllMasked, tracker.feed(zeros.data(), zeros.size()));
    }
    CHECK_FALSE(tracker.failed());
}

TEST(FrameHeaderTracker, SixteenBitLengthBoundary) {
    // 126 and 65535: the first and last 16-bit lengths, then an unmasked frame right after.
    const Bytes good = join({frame(0x2, 126), frame(0x2, 65535)});
    const Bytes stream = join({good, frame(0x1, 1, false)});
    check_found(stream, 4, good.size());
}

TEST_GROUP(FrameMaskGuard){};

namespace {
int g_refused = 0;
void* g_owner = nullptr;
void note_refused(void*, void* owner) {
    ++g_refused;
    g_owner = owner;
}
}  // namespace

TEST(FrameMaskGuard, OnlyWatchedSocketsAreScreened) {
    g_refused = 0;
    FrameMaskGuard guard(64, note_refused);
    const Bytes bad = frame(0x1, 3, false);
    const auto n = static_cast<ssize_t>(bad.size());
    LONGS_EQUAL(n, guard.screen(5, bad.data(), n));  // unknown socket: untouched
    CHECK_TRUE(guard.hand_over(5));
    CHECK_TRUE(guard.handed_over(5));
    LONGS_EQUAL(n, guard.screen(5, bad.data(), n));    // not a WebSocket yet
    LONGS_EQUAL(n, guard.screen(500, bad.data(), n));  // past the table
    CHECK_FALSE(guard.hand_over(500));
    LONGS_EQUAL(0, g_refused);
}

TEST(FrameMaskGuard, RefusedSocketPassesNothingMore) {
    g_refused = 0;
    FrameMaskGuard guard(64, note_refused);
    int owner = 0;
    guard.hand_over(7);
    guard.watch(7, &owner);
    CHECK_TRUE(guard.watched(7));
    const Bytes good = frame(0x1, 10);
    const Bytes stream = join({good, frame(0x1, 10, false)});
    const auto n = static_cast<ssize_t>(stream.size());
    LONGS_EQUAL(static_cast<ssize_t>(good.size()), guard.screen(7, stream.data(), n));
    LONGS_EQUAL(1, g_refused);
    POINTERS_EQUAL(&owner, g_owner);
    LONGS_EQUAL(-1, guard.screen(7, good.data(), static_cast<ssize_t>(good.size())));
    LONGS_EQUAL(1, g_refused);
    guard.forget(7);  // closed; the descriptor's next user is not screened
    LONGS_EQUAL(n, guard.screen(7, stream.data(), n));
}

TEST(FrameMaskGuard, UnmaskedFirstFramePassesNoByte) {
    g_refused = 0;
    FrameMaskGuard guard(64, note_refused);
    guard.hand_over(3);
    guard.watch(3, nullptr);
    const Bytes bad = frame(0x9, 0, false);  // an unmasked ping
    LONGS_EQUAL(-1, guard.screen(3, bad.data(), static_cast<ssize_t>(bad.size())));
    LONGS_EQUAL(1, g_refused);
}
