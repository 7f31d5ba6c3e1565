#include "ws_client.hpp"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <random>

namespace presence::test {

namespace {

using Clock = std::chrono::steady_clock;

std::mt19937& rng() {
    thread_local std::mt19937 gen{std::random_device{}()};
    return gen;
}

std::string base64(const unsigned char* data, std::size_t len) {
    std::string out(4 * ((len + 2) / 3) + 1, '\0');
    int n =
        EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(len));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::string expected_accept(const std::string& key) {
    // RFC 6455 4.2.2: SHA-1 of the key and this fixed GUID, base64-encoded.
    std::string joined = key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(joined.data()), joined.size(), digest);
    return base64(digest, sizeof digest);
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

milliseconds left_until(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    return left.count() < 0 ? milliseconds{0} : left;
}

std::string encode_frame(WsOpcode opcode, std::string_view payload, bool fin, bool masked) {
    std::string out;
    out += static_cast<char>((fin ? 0x80 : 0x00) | static_cast<std::uint8_t>(opcode));
    const std::uint8_t mask_bit = masked ? 0x80 : 0x00;
    const std::uint64_t len = payload.size();
    if (len < 126) {
        out += static_cast<char>(mask_bit | len);
    } else if (len <= 0xFFFF) {
        out += static_cast<char>(mask_bit | 126);
        out += static_cast<char>((len >> 8) & 0xFF);
        out += static_cast<char>(len & 0xFF);
    } else {
        out += static_cast<char>(mask_bit | 127);
        for (int shift = 56; shift >= 0; shift -= 8)
            out += static_cast<char>((len >> shift) & 0xFF);
    }
    if (!masked) {
        out.append(payload);
        return out;
    }
    unsigned char key[4];
    for (auto& k : key) k = static_cast<unsigned char>(rng()() & 0xFF);
    out.append(reinterpret_cast<const char*>(key), 4);
    const std::size_t start = out.size();
    out.append(payload);
    for (std::size_t i = 0; i < payload.size(); ++i)
        out[start + i] ^= static_cast<char>(key[i % 4]);
    return out;
}

}  // namespace

std::string url_encode(std::string_view s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 0xF];
        }
    }
    return out;
}

WsClient::~WsClient() {
    if (sock_.is_open() && !closed_ && !close_sent_) send_close(1000);
}

bool WsClient::connect(std::uint16_t port, const std::string& path_and_query,
                       milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    in_.clear();
    closed_ = close_sent_ = false;
    close_code_ = 0;
    handshake_status_ = 0;
    handshake_body_.clear();
    if (!sock_.connect("127.0.0.1", port, timeout)) {
        error_ = sock_.error();
        return false;
    }
    unsigned char raw_key[16];
    for (auto& b : raw_key) b = static_cast<unsigned char>(rng()() & 0xFF);
    const std::string key = base64(raw_key, sizeof raw_key);
    std::string req = "GET " + path_and_query + " HTTP/1.1\r\n" +
                      "Host: 127.0.0.1:" + std::to_string(port) +
                      "\r\n"
                      "Upgrade: websocket\r\n"
                      "Connection: Upgrade\r\n"
                      "Sec-WebSocket-Key: " +
                      key +
                      "\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n";
    if (!sock_.write_all(req, left_until(deadline))) {
        error_ = sock_.error();
        return false;
    }
    std::size_t header_end;
    while ((header_end = in_.find("\r\n\r\n")) == std::string::npos) {
        if (!fill(left_until(deadline))) {
            error_ = "handshake: no complete answer";
            sock_.close();
            return false;
        }
    }
    std::string head = in_.substr(0, header_end);
    in_.erase(0, header_end + 4);
    // "HTTP/1.1 101 Switching Protocols"
    auto sp = head.find(' ');
    if (sp != std::string::npos) handshake_status_ = std::atoi(head.c_str() + sp + 1);
    std::map<std::string, std::string> headers;
    std::size_t pos = head.find("\r\n");
    while (pos != std::string::npos) {
        std::size_t next = head.find("\r\n", pos + 2);
        std::string line =
            head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
        auto colon = line.find(':');
        if (colon != std::string::npos) {
            std::string value = line.substr(colon + 1);
            value.erase(0, value.find_first_not_of(" \t"));
            headers[lower(line.substr(0, colon))] = value;
        }
        pos = next;
    }
    if (handshake_status_ != 101) {
        // Keep whatever body arrives quickly (error details), then give up on the socket.
        std::size_t want = headers.count("content-length")
                               ? std::strtoul(headers["content-length"].c_str(), nullptr, 10)
                               : 0;
        while (in_.size() < want && fill(std::min(left_until(deadline), milliseconds{500}))) {
        }
        handshake_body_ = in_;
        in_.clear();
        error_ = "handshake: HTTP " + std::to_string(handshake_status_);
        sock_.close();
        return false;
    }
    if (headers["sec-websocket-accept"] != expected_accept(key)) {
        error_ = "handshake: wrong Sec-WebSocket-Accept";
        sock_.close();
        return false;
    }
    return true;
}

bool WsClient::fill(milliseconds timeout) {
    char buf[16384];
    long n = sock_.read_some(buf, sizeof buf, timeout);
    if (n > 0) {
        in_.append(buf, static_cast<std::size_t>(n));
        return true;
    }
    if (n == 0 || n == -2) mark_closed(close_code_);
    return false;
}

void WsClient::mark_closed(std::uint16_t code) {
    closed_ = true;
    close_code_ = code;
}

std::optional<WsFrame> WsClient::parse_frame() {
    if (in_.size() < 2) return std::nullopt;
    const auto* b = reinterpret_cast<const unsigned char*>(in_.data());
    WsFrame f;
    f.fin = (b[0] & 0x80) != 0;
    f.opcode = static_cast<WsOpcode>(b[0] & 0x0F);
    const bool masked = (b[1] & 0x80) != 0;
    std::uint64_t len = b[1] & 0x7F;
    std::size_t pos = 2;
    if (len == 126) {
        if (in_.size() < 4) return std::nullopt;
        len = (std::uint64_t{b[2]} << 8) | b[3];
        pos = 4;
    } else if (len == 127) {
        if (in_.size() < 10) return std::nullopt;
        len = 0;
        for (int i = 0; i < 8; ++i) len = (len << 8) | b[2 + i];
        pos = 10;
    }
    unsigned char key[4] = {0, 0, 0, 0};
    if (masked) {
        if (in_.size() < pos + 4) return std::nullopt;
        std::copy(b + pos, b + pos + 4, key);
        pos += 4;
    }
    if (in_.size() < pos + len) return std::nullopt;
    f.payload = in_.substr(pos, static_cast<std::size_t>(len));
    if (masked)
        for (std::size_t i = 0; i < f.payload.size(); ++i)
            f.payload[i] ^= static_cast<char>(key[i % 4]);
    in_.erase(0, pos + static_cast<std::size_t>(len));
    return f;
}

std::optional<WsFrame> WsClient::read_frame(milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        if (auto f = parse_frame()) {
            if (f->opcode == WsOpcode::Close) {
                std::uint16_t code = 0;
                if (f->payload.size() >= 2)
                    code = static_cast<std::uint16_t>(
                        (static_cast<unsigned char>(f->payload[0]) << 8) |
                        static_cast<unsigned char>(f->payload[1]));
                if (!close_sent_) send_close(code ? code : 1000);  // echo, as RFC 6455 asks
                mark_closed(code);
            }
            return f;
        }
        if (closed_ || !sock_.is_open()) return std::nullopt;
        if (!fill(left_until(deadline))) return std::nullopt;
    }
}

std::optional<std::string> WsClient::read_text(milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    std::string message;
    bool in_message = false;
    for (;;) {
        auto f = read_frame(left_until(deadline));
        if (!f) return std::nullopt;
        switch (f->opcode) {
            case WsOpcode::Ping:
                send_frame(WsOpcode::Pong, f->payload);
                continue;
            case WsOpcode::Pong:
                continue;
            case WsOpcode::Close:
                return std::nullopt;
            case WsOpcode::Text:
            case WsOpcode::Binary:
                message = f->payload;
                in_message = true;
                break;
            case WsOpcode::Continuation:
                if (!in_message) continue;
                message += f->payload;
                break;
        }
        if (f->fin) return message;
    }
}

Json WsClient::read_json(milliseconds timeout) {
    auto text = read_text(timeout);
    return text ? Json::parse(*text) : Json{};
}

Json WsClient::read_until_type(std::string_view type, milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        auto text = read_text(left_until(deadline));
        if (!text) return Json{};
        Json j = Json::parse(*text);
        if (j["type"].str() == type) return j;
    }
}

bool WsClient::expect_silence(milliseconds quiet, std::string* got) {
    auto text = read_text(quiet);
    if (text && got) *got = text->empty() ? std::string("<an empty message>") : *text;
    return !text.has_value();
}

bool WsClient::wait_closed(milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!closed_) {
        if (!read_frame(left_until(deadline)) && !closed_) return false;
    }
    return true;
}

bool WsClient::heartbeat_roundtrip(bool idle, milliseconds timeout, std::string* got) {
    if (!send_text(idle ? R"({"type":"presence_heartbeat","idle":true})"
                        : R"({"type":"presence_heartbeat","idle":false})"))
        return false;
    auto text = read_text(timeout);
    if (!text) return false;
    if (got) *got = *text;
    return Json::parse(*text)["type"].str() == "presence_heartbeat_ack";
}

bool WsClient::send_text(std::string_view text) {
    return send_frame(WsOpcode::Text, text);
}

bool WsClient::send_ping(std::string_view payload) {
    return send_frame(WsOpcode::Ping, payload);
}

bool WsClient::send_close(std::uint16_t code, std::string_view reason) {
    std::string payload;
    payload += static_cast<char>(code >> 8);
    payload += static_cast<char>(code & 0xFF);
    payload.append(reason);
    close_sent_ = true;
    return send_frame(WsOpcode::Close, payload);
}

bool WsClient::send_frame(WsOpcode opcode, std::string_view payload, bool fin, bool masked) {
    return send_raw(encode_frame(opcode, payload, fin, masked));
}

bool WsClient::send_fragmented_text(std::string_view text, std::size_t parts) {
    if (parts == 0) parts = 1;
    const std::size_t chunk = (text.size() + parts - 1) / parts;
    for (std::size_t i = 0; i < parts; ++i) {
        std::size_t start = std::min(text.size(), i * chunk);
        std::size_t len = std::min(chunk, text.size() - start);
        if (!send_frame(i == 0 ? WsOpcode::Text : WsOpcode::Continuation, text.substr(start, len),
                        i + 1 == parts))
            return false;
    }
    return true;
}

bool WsClient::send_raw(std::string_view bytes) {
    if (!sock_.is_open()) {
        error_ = "send on closed socket";
        return false;
    }
    if (!sock_.write_all(bytes, kDefaultTimeout)) {
        error_ = sock_.error();
        return false;
    }
    return true;
}

void WsClient::drop() {
    sock_.close();
    closed_ = true;
}

}  // namespace presence::test
