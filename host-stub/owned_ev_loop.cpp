#include "owned_ev_loop.hpp"

#include <ev.h>

namespace presence_host {

namespace {

// A callback and its argument, reached from a watcher through its `data` pointer.
struct Hook {
    OwnedEvLoop::Callback fn = nullptr;
    void* context = nullptr;
};

template <class Watcher>
void call_hook(struct ev_loop*, Watcher* watcher, int) {
    const Hook& hook = *static_cast<const Hook*>(watcher->data);
    if (hook.fn) hook.fn(hook.context);
}

}  // namespace

struct OwnedEvLoop::Impl {
    struct ev_loop* loop = nullptr;
    void* loops[1] = {nullptr};
    ev_prepare turn_end{};
    Hook turn_end_hook;
    ev_io reader{};
    Hook reader_hook;
    ev_timer resume{};  // ends a pause_reading_for()
    ev_timer wake{};    // wake_within()
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
    if (ev_is_active(&impl_->resume)) ev_timer_stop(impl_->loop, &impl_->resume);
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
    impl_->turn_end_hook = {fn, context};
    if (ev_is_active(&impl_->turn_end)) return;
    ev_prepare_init(&impl_->turn_end, call_hook<ev_prepare>);
    impl_->turn_end.data = &impl_->turn_end_hook;
    ev_prepare_start(impl_->loop, &impl_->turn_end);
    // The watcher alone must not keep ev_run alive once lws has stopped its own watchers.
    ev_unref(impl_->loop);
}

void OwnedEvLoop::watch_readable(int fd, Callback fn, void* context) {
    if (ev_is_active(&impl_->reader)) ev_io_stop(impl_->loop, &impl_->reader);
    impl_->reader_hook = {fn, context};
    ev_io_init(&impl_->reader, call_hook<ev_io>, fd, EV_READ);
    impl_->reader.data = &impl_->reader_hook;
    // Above lws' watchers (priority 0): new connections are taken before the turn's other work.
    ev_set_priority(&impl_->reader, EV_MAXPRI);
    ev_io_start(impl_->loop, &impl_->reader);
}

void OwnedEvLoop::pause_reading() {
    if (ev_is_active(&impl_->reader)) ev_io_stop(impl_->loop, &impl_->reader);
}

void OwnedEvLoop::pause_reading_for(double seconds) {
    pause_reading();
    if (ev_is_active(&impl_->resume)) ev_timer_stop(impl_->loop, &impl_->resume);
    ev_timer_init(
        &impl_->resume,
        [](struct ev_loop* loop, ev_timer* timer, int) {
            auto* reader = static_cast<ev_io*>(timer->data);
            if (!ev_is_active(reader)) ev_io_start(loop, reader);
        },
        seconds, 0.);
    impl_->resume.data = &impl_->reader;
    ev_timer_start(impl_->loop, &impl_->resume);
}

void OwnedEvLoop::run_reader_next() {
    if (!ev_is_active(&impl_->reader) || ev_is_pending(&impl_->reader)) return;
    ev_feed_event(impl_->loop, &impl_->reader, EV_READ);
}

void OwnedEvLoop::wake_within(double seconds) {
    if (ev_is_active(&impl_->wake)) {
        if (ev_timer_remaining(impl_->loop, &impl_->wake) <= seconds) return;
        ev_timer_stop(impl_->loop, &impl_->wake);
    }
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
