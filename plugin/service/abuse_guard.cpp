#include "service/abuse_guard.hpp"

#include <algorithm>

namespace presence::service {

bool TokenBucket::take(core::Millis now) {
    if (last_ >= 0 && now > last_) {
        tokens_ = std::min(burst_, tokens_ + static_cast<double>(now - last_) * per_ms_);
    }
    if (last_ < 0 || now > last_) last_ = now;  // a clock stepping back refills nothing
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
}

bool AbuseGuard::record_error(core::Millis now) {
    if (window_errors_ == 0 || now - window_start_ >= kErrorWindowMs || now < window_start_) {
        window_start_ = now;
        window_errors_ = 0;
    }
    ++window_errors_;
    return window_errors_ > kMaxErrors;
}

}  // namespace presence::service
