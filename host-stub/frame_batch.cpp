#include "frame_batch.hpp"

#include <algorithm>
#include <cstring>

namespace presence_host {

size_t write_text_frame_header(unsigned char* out, uint64_t payload_len) {
    out[0] = 0x80 | 0x01;  // FIN, opcode 1 (text); the server never masks (RFC 6455 5.1)
    if (payload_len < 126) {
        out[1] = static_cast<unsigned char>(payload_len);
        return 2;
    }
    if (payload_len <= 0xffff) {
        out[1] = 126;
        out[2] = static_cast<unsigned char>(payload_len >> 8);
        out[3] = static_cast<unsigned char>(payload_len);
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; ++i) {
        out[2 + i] = static_cast<unsigned char>(payload_len >> (56 - 8 * i));
    }
    return 10;
}

size_t write_text_frame(unsigned char* out, const unsigned char* payload, size_t len) {
    const size_t header = write_text_frame_header(out, len);
    if (len) std::memcpy(out + header, payload, len);
    return header + len;
}

size_t write_close_frame(unsigned char* out, uint16_t code, std::string_view reason) {
    const size_t reason_len = std::min(reason.size(), kMaxCloseReason);
    out[0] = 0x88;  // FIN, opcode 8 (close); the server never masks
    out[1] = static_cast<unsigned char>(2 + reason_len);
    out[2] = static_cast<unsigned char>(code >> 8);
    out[3] = static_cast<unsigned char>(code);
    if (reason_len) std::memcpy(out + 4, reason.data(), reason_len);
    return 4 + reason_len;
}

void FrameBatch::clear() {
    used_ = 0;
    frames_ = 0;
}

bool FrameBatch::add(const unsigned char* payload, size_t len) {
    if (!accepts(frames_, used_, len)) return false;
    const size_t needed = kHeadroom + used_ + kMaxFrameHeader + len;
    if (buffer_.size() < needed) {
        // Grows to the bound once (or to one oversized frame) and then stays; resize, not
        // reserve, because the bytes are written through data().
        buffer_.resize(needed < kHeadroom + kMaxBytes ? kHeadroom + kMaxBytes : needed);
    }
    used_ += write_text_frame(buffer_.data() + kHeadroom + used_, payload, len);
    ++frames_;
    return true;
}

void FrameBatch::start_piece(const unsigned char* payload, size_t total, size_t offset,
                             size_t len) {
    clear();
    const size_t needed = kHeadroom + kMaxFrameHeader + len;
    if (buffer_.size() < needed) buffer_.resize(needed);
    if (offset == 0) used_ = write_text_frame_header(buffer_.data() + kHeadroom, total);
    if (len) std::memcpy(buffer_.data() + kHeadroom + used_, payload + offset, len);
    used_ += len;
    frames_ = 1;
}

}  // namespace presence_host
