#include "clients.hpp"

#include <cerrno>
#include <cstring>

#include "frame_scan.hpp"
#include "proc_stats.hpp"

namespace presence::bench::scaleout {

long user_index(std::string_view name) {
    if (name.size() < 2 || name[0] != 'u') return -1;
    long v = 0;
    for (char c : name.substr(1)) {
        if (c < '0' || c > '9') return -1;
        v = v * 10 + (c - '0');
    }
    return v;
}

Clients::Clients(Env& env, std::size_t slots, double heartbeat_s, OnFrame on_frame)
    : env_(env),
      users_(slots),
      pool_(slots, WsClientPool::Handlers{
                       [this](std::size_t s) { on_open(s); },
                       [this](std::size_t s, std::string_view t) { on_text(s, t); },
                       [this](std::size_t s, std::string_view why) { on_close(s, why); }}),
      on_frame_(std::move(on_frame)),
      beat_ns_(static_cast<std::uint64_t>(heartbeat_s * 1e9)) {
    sources_ = slots / 10000 + 1;
}

void Clients::assign(std::size_t slot, const std::string& user, std::size_t host_slot) {
    users_[slot].path = "/ws?token=" + env_.token(user);
    users_[slot].host = host_slot;
}

bool Clients::live(std::size_t slot) const {
    return users_[slot].snapshot && pool_.state(slot) == WsClientPool::State::Open;
}

std::size_t Clients::connect(const std::vector<std::size_t>& slots, std::size_t window,
                             double timeout_s) {
    const std::uint64_t deadline = monotonic_ns() + static_cast<std::uint64_t>(timeout_s * 1e9);
    std::size_t next = 0;
    while (monotonic_ns() < deadline && (next < slots.size() || pending_ > 0)) {
        while (next < slots.size() && pending_ < window) {
            const std::size_t s = slots[next++];
            User& u = users_[s];
            u.snapshot = false;
            const std::uint16_t port = env_.host_port(u.host);
            const std::uint32_t src = (127u << 24) | static_cast<std::uint32_t>(2 + s % sources_);
            char host_header[32];
            std::snprintf(host_header, sizeof host_header, "127.0.0.1:%u", port);
            if (!pool_.connect(s, src, (127u << 24) | 1, port, host_header, u.path)) {
                ++connect_failures_;
                ++closes_[std::string("socket: ") + std::strerror(errno)];
                continue;
            }
            u.connecting = true;
            u.idle = false;
            ++pending_;
        }
        poll(1);
    }
    std::size_t got = 0;
    for (auto s : slots) got += users_[s].snapshot ? 1 : 0;
    return got;
}

void Clients::poll(int timeout_ms) {
    pool_.poll(timeout_ms);
    send_due_heartbeats(monotonic_ns());
}

bool Clients::wait_until(const std::function<bool()>& done, double timeout_s) {
    const std::uint64_t deadline = monotonic_ns() + static_cast<std::uint64_t>(timeout_s * 1e9);
    while (!done()) {
        if (monotonic_ns() >= deadline) return false;
        poll(2);
    }
    return true;
}

void Clients::run_for(double seconds) {
    const std::uint64_t end = monotonic_ns() + static_cast<std::uint64_t>(seconds * 1e9);
    while (monotonic_ns() < end) poll(2);
}

void Clients::drop(std::size_t slot) {
    User& u = users_[slot];
    if (u.connecting) --pending_;
    u.connecting = false;
    u.snapshot = false;
    pool_.drop(slot);
}

void Clients::heartbeat_now(std::size_t slot, bool idle) {
    users_[slot].idle = idle;
    pool_.send_text(slot, idle ? R"({"type":"presence_heartbeat","idle":true})"
                               : R"({"type":"presence_heartbeat","idle":false})");
    ++heartbeats_;
}

void Clients::on_open(std::size_t slot) {
    beats_.push_back(Beat{monotonic_ns() + beat_ns_, slot, ++users_[slot].gen});
}

void Clients::on_text(std::size_t slot, std::string_view text) {
    const std::uint64_t now = monotonic_ns();
    auto type = json_string_field(text, "type");
    const std::string_view t = type ? *type : std::string_view();
    if (t == "presence_snapshot") {
        User& u = users_[slot];
        if (!u.snapshot) {
            u.snapshot = true;
            if (u.connecting) --pending_;
            u.connecting = false;
        }
    } else if (t == "presence_heartbeat_ack") {
        ++acks_;
        return;
    } else if (t == "error") {
        auto code = json_string_field(text, "code");
        ++errors_[std::string(code ? *code : "?")];
    }
    if (on_frame_) on_frame_(slot, t, text, now);
}

void Clients::on_close(std::size_t slot, std::string_view why) {
    User& u = users_[slot];
    if (u.connecting) {
        --pending_;
        ++connect_failures_;
    } else if (u.snapshot) {
        ++unexpected_closes_;
    }
    u.connecting = false;
    u.snapshot = false;
    ++closes_[std::string(why)];
}

void Clients::send_due_heartbeats(std::uint64_t now) {
    while (!beats_.empty() && beats_.front().due <= now) {
        Beat b = beats_.front();
        beats_.pop_front();
        if (b.gen != users_[b.slot].gen || pool_.state(b.slot) != WsClientPool::State::Open)
            continue;
        pool_.send_text(b.slot, users_[b.slot].idle
                                    ? R"({"type":"presence_heartbeat","idle":true})"
                                    : R"({"type":"presence_heartbeat","idle":false})");
        ++heartbeats_;
        b.due += beat_ns_;
        beats_.push_back(b);
    }
}

}  // namespace presence::bench::scaleout
