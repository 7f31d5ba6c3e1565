#include "owned_ev_loop.hpp"

#include <ev.h>

namespace presence_host {

struct OwnedEvLoop::Impl {
    struct ev_loop* loop = nullptr;
    void* loops[1] = {nullptr};
    ev_prepare turn_end{};
    Callback fn = nullptr;
    void* context = nullptr;
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

void OwnedEvLoop::run() {
    ev_run(impl_->loop, 0);
}

void OwnedEvLoop::stop() {
    ev_break(impl_->loop, EVBREAK_ALL);
}

}  // namespace presence_host
