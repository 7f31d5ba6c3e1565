// The scope every hook runs in (service internals, shared by service.cpp and
// rest_handlers.cpp).
#pragma once

#include <algorithm>
#include <chrono>

#include "service/service.hpp"

namespace presence::service {

// Every hook runs inside one: it starts the fan-out clock and, on the way out, writes dirty
// users behind and runs finished store loads, then records the fan-out latency when the hook
// handed presence frames to the host.
struct Service::HookScope {
    explicit HookScope(Service& s) : s_(s) {
        s_.hook_start_ = std::chrono::steady_clock::now();
        s_.fanout_frames_ = 0;
    }
    ~HookScope() {
        s_.sync_store();
        if (s_.fanout_frames_ > 0) {
            const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                                std::chrono::steady_clock::now() - s_.hook_start_)
                                .count();
            s_.metrics_.observe_fanout_us(static_cast<std::uint64_t>(std::max<long long>(0, us)));
        }
    }
    Service& s_;
};

}  // namespace presence::service
