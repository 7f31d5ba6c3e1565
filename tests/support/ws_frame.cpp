#include "ws_frame.hpp"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <cctype>
#include <cstdlib>

namespace presence::test {

namespace {

std::string base64(const unsigned char* data, std::size_t len) {
    std::string out(4 * ((len + 2) / 3) + 1, '\0');
    int n =
        EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(len));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

bool same_name(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    }
    return true;
}

std::string_view trim(std::string_view s) {
    const auto first = s.find_first_not_of(" \t");
    if (first == std::string_view::npos) return {};
    const auto last = s.find_last_not_of(" \t");
    return s.substr(first, last - first + 1);
}

}  // namespace

void append_ws_frame(std::string& out, WsOpcode opcode, std::string_view payload, bool fin,
                     const unsigned char* mask) {
    unsigned char head[14];
    std::size_t n = 0;
    head[n++] = static_cast<unsigned char>((fin ? 0x80 : 0x00) | static_cast<std::uint8_t>(opcode));
    const unsigned char mask_bit = mask ? 0x80 : 0x00;
    const std::uint64_t len = payload.size();
    if (len < 126) {
        head[n++] = static_cast<unsigned char>(mask_bit | len);
    } else if (len <= 0xFFFF) {
        head[n++] = mask_bit | 126;
        head[n++] = static_cast<unsigned char>(len >> 8);
        head[n++] = static_cast<unsigned char>(len);
    } else {
        head[n++] = mask_bit | 127;
        for (int shift = 56; shift >= 0; shift -= 8)
            head[n++] = static_cast<unsigned char>(len >> shift);
    }
    if (mask) {
        for (int i = 0; i < 4; ++i) head[n++] = mask[i];
    }
    out.append(reinterpret_cast<const char*>(head), n);
    const std::size_t start = out.size();
    out.append(payload);
    if (mask) apply_ws_mask(out.data() + start, payload.size(), mask);
}

std::optional<WsFrameHead> parse_ws_frame_head(std::string_view bytes) {
    if (bytes.size() < 2) return std::nullopt;
    const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
    WsFrameHead h;
    h.fin = (b[0] & 0x80) != 0;
    h.opcode = static_cast<WsOpcode>(b[0] & 0x0F);
    h.masked = (b[1] & 0x80) != 0;
    h.payload_len = b[1] & 0x7F;
    std::size_t pos = 2;
    if (h.payload_len == 126) {
        if (bytes.size() < 4) return std::nullopt;
        h.payload_len = (std::uint64_t{b[2]} << 8) | b[3];
        pos = 4;
    } else if (h.payload_len == 127) {
        if (bytes.size() < 10) return std::nullopt;
        h.payload_len = 0;
        for (int i = 0; i < 8; ++i) h.payload_len = (h.payload_len << 8) | b[2 + i];
        pos = 10;
    }
    if (h.masked) {
        if (bytes.size() < pos + 4) return std::nullopt;
        for (int i = 0; i < 4; ++i) h.mask[i] = b[pos + i];
        pos += 4;
    }
    h.head_len = pos;
    return h;
}

void apply_ws_mask(char* data, std::size_t len, const unsigned char mask[4]) {
    for (std::size_t i = 0; i < len; ++i) data[i] ^= static_cast<char>(mask[i & 3]);
}

std::uint16_t ws_close_code(std::string_view close_payload) {
    if (close_payload.size() < 2) return 0;
    return static_cast<std::uint16_t>((static_cast<unsigned char>(close_payload[0]) << 8) |
                                      static_cast<unsigned char>(close_payload[1]));
}

std::string ws_key(const unsigned char raw[16]) {
    return base64(raw, 16);
}

std::string ws_accept_for(std::string_view key) {
    // RFC 6455 4.2.2: SHA-1 of the key and this fixed GUID, base64-encoded. Checking it proves
    // the answer comes from a WebSocket server, not from something that happens to say 101.
    std::string joined(key);
    joined += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(joined.data()), joined.size(), digest);
    return base64(digest, sizeof digest);
}

std::string ws_upgrade_request(std::string_view path, std::string_view host_header,
                               std::string_view key) {
    std::string req;
    req.reserve(160 + path.size());
    req.append("GET ").append(path).append(" HTTP/1.1\r\nHost: ").append(host_header);
    req.append("\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ");
    req.append(key).append("\r\nSec-WebSocket-Version: 13\r\n\r\n");
    return req;
}

int http_status_of(std::string_view head) {
    // "HTTP/1.1 101 Switching Protocols"
    if (head.substr(0, 5) != "HTTP/") return 0;
    const auto sp = head.find(' ');
    if (sp == std::string_view::npos) return 0;
    return std::atoi(std::string(head.substr(sp + 1, 3)).c_str());
}

std::optional<std::string_view> http_header_of(std::string_view head, std::string_view name) {
    std::size_t pos = head.find("\r\n");
    while (pos != std::string_view::npos) {
        const std::size_t start = pos + 2;
        const std::size_t next = head.find("\r\n", start);
        const std::string_view line = head.substr(
            start, next == std::string_view::npos ? std::string_view::npos : next - start);
        const auto colon = line.find(':');
        if (colon != std::string_view::npos && same_name(line.substr(0, colon), name))
            return trim(line.substr(colon + 1));
        pos = next;
    }
    return std::nullopt;
}

}  // namespace presence::test
