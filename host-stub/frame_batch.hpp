// Several queued outgoing frames of one connection, framed by us as server WebSocket text
// frames (FIN + opcode 1, unmasked) back to back in one buffer, so they leave in ONE write
// instead of one lws_write (and one send()) per frame. The buffer starts with LWS_PRE spare
// bytes like any lws_write buffer and is reused from batch to batch: once it has grown to the
// bound, batching allocates nothing.
#pragma once

#include <libwebsockets.h>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace presence_host {

// Writes the header of an unmasked server text frame with FIN set for `payload_len` bytes
// (2, 4 or 10 bytes: 7, 16 or 64-bit length) to `out`; returns its size.
size_t write_text_frame_header(unsigned char* out, uint64_t payload_len);
// Header and payload of one such frame at `out`, which has room for len + kMaxFrameHeader
// bytes; returns the bytes written.
constexpr size_t kMaxFrameHeader = 10;
size_t write_text_frame(unsigned char* out, const unsigned char* payload, size_t len);
// An unmasked server close frame (FIN, opcode 8) with `code` and the first kMaxCloseReason
// bytes of `reason` (a close frame's payload holds 125) at `out`, which has room for
// kMaxCloseFrame bytes; returns the bytes written.
constexpr size_t kMaxCloseReason = 120;
constexpr size_t kMaxCloseFrame = 4 + kMaxCloseReason;
size_t write_close_frame(unsigned char* out, uint16_t code, std::string_view reason);

class FrameBatch {
  public:
    static constexpr size_t kHeadroom = LWS_PRE;
    // Bounds of one batch: a connection with a long backlog still yields the loop to the
    // others between batches, and the buffer stays small.
    static constexpr size_t kMaxFrames = 64;
    static constexpr size_t kMaxBytes = 64 * 1024;

    // Whether a batch holding `frames` frames in `used` bytes may take one more of `len`
    // payload bytes. The first frame is always taken whatever its size. Also the bound of a
    // connection's end-of-turn write through the ring (socket_ring.hpp).
    static bool accepts(size_t frames, size_t used, size_t len) {
        return frames == 0 || (frames < kMaxFrames && used + kMaxFrameHeader + len <= kMaxBytes);
    }

    // Starts an empty batch (keeps the buffer).
    void clear();
    // Appends one framed payload; false (and nothing added) when a bound would be passed.
    // The first frame is always taken whatever its size, so a batch is never empty.
    bool add(const unsigned char* payload, size_t len);
    // Starts a batch holding one piece of a frame too large to batch (more than kMaxBytes,
    // e.g. a snapshot of 100,000 friends): the frame's header first when `offset` is 0 (for
    // all `total` payload bytes), then payload[offset, offset + len). Such a frame goes out
    // one piece per write, so it never holds the loop for long nor lands whole in lws' buffer.
    void start_piece(const unsigned char* payload, size_t total, size_t offset, size_t len);

    size_t frames() const { return frames_; }
    // The framed bytes (without the headroom); kHeadroom writable bytes precede them.
    unsigned char* data() { return buffer_.data() + kHeadroom; }
    size_t size() const { return used_; }

  private:
    std::vector<unsigned char> buffer_;
    size_t used_ = 0;  // framed bytes after the headroom
    size_t frames_ = 0;
};

}  // namespace presence_host
