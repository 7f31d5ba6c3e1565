// Writable callbacks with nothing to write, counted per connection in one-second windows: what
// a ping flood costs the host. Pings never reach the host: lws 4.1 answers them itself, with no
// callback. But each pong leaves POLLOUT on, and the next turn brings a writable callback with
// nothing queued: one per loop turn in which the connection's pings were read (a read, a pong,
// two epoll_ctl calls, a callback). More than kMaxPerSecond of those in one second is a flood,
// closed with 1008 like other repeated abuse (HostServer::note_idle_writable). The host's own
// writes leave at most one such callback each (lws draining a partial send), and a connection
// is written at most every host.write_interval_ms (10 ms: 100 a second), so honest traffic
// stays below.
#pragma once

#include <cstdint>

namespace presence_host {

struct IdleWritables {
    static constexpr uint32_t kMaxPerSecond = 200;

    uint32_t window_s = 0;  // the second being counted
    uint32_t count = 0;     // idle writable callbacks in it

    // One more idle writable callback at `now_s`; true when that makes the window a flood.
    bool note(uint32_t now_s) {
        if (now_s != window_s) {
            window_s = now_s;
            count = 0;
        }
        return ++count > kMaxPerSecond;
    }
};

}  // namespace presence_host
