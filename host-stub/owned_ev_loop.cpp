#include "owned_ev_loop.hpp"

#include <ev.h>
#include <poll.h>

namespace presence_host {

struct OwnedEvLoop::Impl {
    struct ev_loop* loop = nullptr;
    void* loops[1] = {nullptr};
    ev_prepare turn_end{};
    Callback fn = nullptr;
    void* context = nullptr;
    ev_io reader{};
    Callback reader_fn = nullptr;
    void* reader_context = nullptr;
    ev_timer later{};
    ev_timer wake{};
    Callback later_fn = nullptr;
    void* later_context = nullptr;
};

OwnedEvLoop::OwnedEvLoop() : impl_(std::make_unique<Impl>()) {
    // epoll by name: not handing the kernel every descriptor each turn is why an evlib at all.
    impl_->loop = ev_loop_new(EVBACKEND_EPOLL);
    if (!impl_->loop) impl_->loop = ev_loop_new(EVFLAG_AUTO);
    impl_->loops[0] = impl_->loop;
}

OwnedEvLoop::~OwnedEvLoop() {
    if (!impl_->loop) return;
    if (ev_is_active(&impl_->turn_end)) {
        ev_ref(impl_->loop);  // pairs with the ev_unref in on_turn_end (libev's rule)
        ev_prepare_stop(impl_->loop, &impl_->turn_end);
    }
    if (ev_is_active(&impl_->reader)) ev_io_stop(impl_->loop, &impl_->reader);
    if (ev_is_active(&impl_->later)) ev_timer_stop(impl_->loop, &impl_->later);
    if (ev_is_active(&impl_->wake)) ev_timer_stop(impl_->loop, &impl_->wake);
    ev_loop_destroy(impl_->loop);
}

bool OwnedEvLoop::ok() const {
    return impl_->loop != nullptr;
}

void** OwnedEvLoop::foreign_loops() {
    return impl_->loops;
}

void OwnedEvLoop::on_turn_end(Callback fn, void* context) {
    impl_->fn = fn;
    impl_->context = context;
    if (ev_is_active(&impl_->turn_end)) return;
    ev_prepare_init(&impl_->turn_end, [](struct ev_loop*, ev_prepare* watcher, int) {
        const Impl& impl = *static_cast<const Impl*>(watcher->data);
        if (impl.fn) impl.fn(impl.context);
    });
    impl_->turn_end.data = impl_.get();
    ev_prepare_start(impl_->loop, &impl_->turn_end);
    // The watcher alone must not keep ev_run alive once lws has stopped its own watchers.
    ev_unref(impl_->loop);
}

void OwnedEvLoop::watch_readable(int fd, Callback fn, void* context) {
    if (ev_is_active(&impl_->reader)) ev_io_stop(impl_->loop, &impl_->reader);
    impl_->reader_fn = fn;
    impl_->reader_context = context;
    ev_io_init(
        &impl_->reader,
        [](struct ev_loop*, ev_io* watcher, int) {
            const Impl& impl = *static_cast<const Impl*>(watcher->data);
            if (impl.reader_fn) impl.reader_fn(impl.reader_context);
        },
        fd, EV_READ);
    impl_->reader.data = impl_.get();
    // Above lws' watchers (priority 0): new connections are taken before the turn's other work.
    ev_set_priority(&impl_->reader, EV_MAXPRI);
    ev_io_start(impl_->loop, &impl_->reader);
}

void OwnedEvLoop::pause_reading() {
    if (ev_is_active(&impl_->reader)) ev_io_stop(impl_->loop, &impl_->reader);
}

void OwnedEvLoop::resume_reading() {
    if (impl_->reader_fn && !ev_is_active(&impl_->reader)) ev_io_start(impl_->loop, &impl_->reader);
}

void OwnedEvLoop::run_reader_next_if_ready() {
    if (!ev_is_active(&impl_->reader) || ev_is_pending(&impl_->reader)) return;
    pollfd ready{impl_->reader.fd, POLLIN, 0};
    if (poll(&ready, 1, 0) == 1) ev_feed_event(impl_->loop, &impl_->reader, EV_READ);
}

void OwnedEvLoop::call_later(double seconds, Callback fn, void* context) {
    if (ev_is_active(&impl_->later)) ev_timer_stop(impl_->loop, &impl_->later);
    impl_->later_fn = fn;
    impl_->later_context = context;
    ev_timer_init(
        &impl_->later,
        [](struct ev_loop*, ev_timer* watcher, int) {
            const Impl& impl = *static_cast<const Impl*>(watcher->data);
            if (impl.later_fn) impl.later_fn(impl.later_context);
        },
        seconds, 0.);
    impl_->later.data = impl_.get();
    ev_timer_start(impl_->loop, &impl_->later);
}

void OwnedEvLoop::wake_after(double seconds) {
    if (ev_is_active(&impl_->wake)) ev_timer_stop(impl_->loop, &impl_->wake);
    ev_timer_init(
        &impl_->wake, [](struct ev_loop*, ev_timer*, int) {}, seconds, 0.);
    ev_timer_start(impl_->loop, &impl_->wake);
}

void OwnedEvLoop::run() {
    ev_run(impl_->loop, 0);
}

void OwnedEvLoop::stop() {
    ev_break(impl_->loop, EVBREAK_ALL);
}

}  // namespace presence_host
