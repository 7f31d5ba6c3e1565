// The libev loop lws runs on, created and run by the host (lws calls it a "foreign loop").
//
// Why own it: lws has no "end of loop turn" hook, and the host needs one. Frames the plugin
// sends during a turn are queued per connection and written at the end of the turn, one write
// per connection carrying everything it was owed (see HostServer::flush_pending_writes). An
// ev_prepare watcher runs exactly there: after every callback of the turn, before the loop
// blocks again. Without it each frame cost a POLLOUT round trip (two epoll_ctl calls and an
// extra wake-up) before its send().
//
// ev.h stays out of this header: its macros collide with names elsewhere in the host.
#pragma once

#include <memory>

namespace presence_host {

class OwnedEvLoop {
  public:
    using Callback = void (*)(void* context);

    OwnedEvLoop();
    ~OwnedEvLoop();
    OwnedEvLoop(const OwnedEvLoop&) = delete;
    OwnedEvLoop& operator=(const OwnedEvLoop&) = delete;

    // False when libev could not create an epoll (or any) loop.
    bool ok() const;
    // For lws_context_creation_info::foreign_loops: an array of one struct ev_loop*.
    void** foreign_loops();
    // `fn(context)` runs at the end of every loop turn, on the loop thread.
    void on_turn_end(Callback fn, void* context);
    // `fn(context)` runs in every turn in which `fd` is readable (one descriptor; the host's
    // listening socket), before the turn's other callbacks.
    void watch_readable(int fd, Callback fn, void* context);
    void pause_reading();  // for good (stopping)
    // No callback for `seconds` (out of descriptors), then reading resumes.
    void pause_reading_for(double seconds);
    // From inside a long turn (a callback of another watcher): the reader's callback runs right
    // after the current callback returns instead of after the rest of the turn (libev
    // restarts the pending list at the highest priority). The caller decides whether there is
    // anything for it to do. Nothing while reading is paused.
    void run_reader_next();
    // Makes sure a loop turn ends (and so the turn-end callback runs) within `seconds`, even if
    // nothing else happens; an earlier pending wake-up that is due sooner is kept.
    void wake_within(double seconds);
    // Runs the loop until stop(). Loop thread.
    void run();
    // Makes run() return after the current turn. Loop thread (a callback) only.
    void stop();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace presence_host
