#include "core/token_bucket.hpp"

#include <algorithm>
#include <cmath>

namespace presence::core {

void TokenBucket::refill(double rate_per_s, std::uint32_t burst, Millis now) {
    if (now > last_) {
        tokens_ += static_cast<double>(now - last_) * rate_per_s / 1000.0;
        tokens_ = std::min(tokens_, static_cast<double>(burst));
        last_ = now;
    }
}

bool TokenBucket::take(double rate_per_s, std::uint32_t burst, Millis now) {
    if (rate_per_s <= 0.0) return true;
    refill(rate_per_s, burst, now);
    // A tiny epsilon so that float rounding of the refill never delays a token by a whole tick.
    if (tokens_ + 1e-9 >= 1.0) {
        tokens_ -= 1.0;
        return true;
    }
    return false;
}

Millis TokenBucket::ms_until_token(double rate_per_s) const {
    if (rate_per_s <= 0.0) return 1;
    const double missing = std::max(0.0, 1.0 - tokens_);
    const auto ms = static_cast<Millis>(std::ceil(missing * 1000.0 / rate_per_s));
    return std::max<Millis>(ms, 1);
}

bool TokenBucket::full(double rate_per_s, std::uint32_t burst, Millis now) const {
    if (rate_per_s <= 0.0) return true;
    const double elapsed = now > last_ ? static_cast<double>(now - last_) : 0.0;
    return tokens_ + elapsed * rate_per_s / 1000.0 + 1e-9 >= static_cast<double>(burst);
}

}  // namespace presence::core
