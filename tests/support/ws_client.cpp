#include "ws_client.hpp"

#include <algorithm>
#include <cctype>
#include <random>
#include <thread>

namespace presence::test {

namespace {

using Clock = std::chrono::steady_clock;

std::mt19937& rng() {
    thread_local std::mt19937 gen{std::random_device{}()};
    return gen;
}

milliseconds left_until(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    return left.count() < 0 ? milliseconds{0} : left;
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

bool WsClient::connect(std::uint16_t port, const std::string& path_and_query, milliseconds timeout,
                       const WsConnectPacing& pacing) {
    const auto deadline = Clock::now() + timeout + pacing.silent + pacing.gap;
    in_.clear();
    in_off_ = 0;
    closed_ = close_sent_ = false;
    close_code_ = 0;
    handshake_status_ = 0;
    handshake_body_.clear();
    if (!sock_.connect("127.0.0.1", port, timeout, pacing.source_ip)) {
        error_ = sock_.error();
        return false;
    }
    unsigned char raw_key[16];
    for (auto& b : raw_key) b = static_cast<unsigned char>(rng()() & 0xFF);
    const std::string key = ws_key(raw_key);
    const std::string req =
        ws_upgrade_request(path_and_query, "127.0.0.1:" + std::to_string(port), key);
    // Pacing: a late or split request (the host holds a connection until its request is in).
    std::string_view rest = req;
    if (pacing.silent.count() > 0) std::this_thread::sleep_for(pacing.silent);
    if (pacing.first_bytes > 0 && pacing.first_bytes < rest.size()) {
        if (!sock_.write_all(rest.substr(0, pacing.first_bytes), left_until(deadline))) {
            error_ = sock_.error();
            return false;
        }
        rest.remove_prefix(pacing.first_bytes);
        std::this_thread::sleep_for(pacing.gap);
    }
    if (!sock_.write_all(rest, left_until(deadline))) {
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
    const std::string head = in_.substr(0, header_end);
    in_.erase(0, header_end + 4);
    handshake_status_ = http_status_of(head);
    if (handshake_status_ != 101) {
        // Keep whatever body arrives quickly (error details), then give up on the socket.
        const auto length = http_header_of(head, "content-length");
        const std::size_t want =
            length ? std::strtoul(std::string(*length).c_str(), nullptr, 10) : 0;
        while (in_.size() < want && fill(std::min(left_until(deadline), milliseconds{500}))) {
        }
        handshake_body_ = in_;
        in_.clear();
        error_ = "handshake: HTTP " + std::to_string(handshake_status_);
        sock_.close();
        return false;
    }
    if (http_header_of(head, "sec-websocket-accept") != ws_accept_for(key)) {
        error_ = "handshake: wrong Sec-WebSocket-Accept";
        sock_.close();
        return false;
    }
    return true;
}

bool WsClient::fill(milliseconds timeout) {
    if (in_off_ > 0) {  // parsed frames leave once per read, not once per frame
        in_.erase(0, in_off_);
        in_off_ = 0;
    }
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
    const std::string_view bytes = std::string_view(in_).substr(in_off_);
    const auto head = parse_ws_frame_head(bytes);
    if (!head || !head->complete(bytes.size())) return std::nullopt;
    WsFrame f;
    f.fin = head->fin;
    f.opcode = head->opcode;
    f.payload.assign(bytes.substr(head->head_len, static_cast<std::size_t>(head->payload_len)));
    if (head->masked) apply_ws_mask(f.payload.data(), f.payload.size(), head->mask);
    in_off_ += head->head_len + static_cast<std::size_t>(head->payload_len);
    return f;
}

std::optional<WsFrame> WsClient::read_frame(milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        if (auto f = parse_frame()) {
            if (f->opcode == WsOpcode::Close) {
                const std::uint16_t code = ws_close_code(f->payload);
                if (!close_sent_) send_close(code ? code : 1000);  // echo, as RFC 6455 asks
                mark_closed(code);
            }
            return f;
        }
        if (closed_ || !sock_.is_open()) return std::nullopt;
        if (!fill(left_until(deadline))) return std::nullopt;
    }
}

int WsClient::read_frame(std::string& payload, milliseconds timeout) {
    auto f = read_frame(timeout);
    if (!f) return -1;
    payload = std::move(f->payload);
    return static_cast<int>(f->opcode);
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

bool WsClient::wait_for(std::string_view needle, std::string* got, milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        auto text = read_text(left_until(deadline));
        if (!text) return false;
        if (text->find(needle) != std::string::npos) {
            if (got) *got = std::move(*text);
            return true;
        }
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
    unsigned char mask[4];
    for (auto& k : mask) k = static_cast<unsigned char>(rng()() & 0xFF);
    std::string frame;
    append_ws_frame(frame, opcode, payload, fin, masked ? mask : nullptr);
    return send_raw(frame);
}

bool WsClient::send_texts_in_one_write(const std::vector<std::string>& texts) {
    std::string bytes;
    for (const std::string& text : texts) {
        unsigned char mask[4];
        for (auto& k : mask) k = static_cast<unsigned char>(rng()() & 0xFF);
        append_ws_frame(bytes, WsOpcode::Text, text, true, mask);
    }
    return send_raw(bytes);
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
