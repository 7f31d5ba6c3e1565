// Per-connection protection against floods (SPEC 5: "rate_limited", and close 1008 after
// repeated abuse). Status updates have their own limit in the core; this guards everything.
#pragma once

#include <cstdint>

#include "core/types.hpp"

namespace presence::service {

// A classic token bucket on the host clock.
class TokenBucket {
  public:
    TokenBucket(double per_s, double burst)
        : per_ms_(per_s / 1000.0), burst_(burst), tokens_(burst) {}
    // Takes one token if available.
    bool take(core::Millis now);

  private:
    double per_ms_;
    double burst_;
    double tokens_;
    core::Millis last_ = -1;
};

class AbuseGuard {
  public:
    static constexpr double kFramesPerS = 50, kFrameBurst = 100;
    static constexpr double kQueriesPerS = 10, kQueryBurst = 20;
    static constexpr std::size_t kMaxErrors = 30;           // more than this ...
    static constexpr core::Millis kErrorWindowMs = 10'000;  // ... within this: close 1008

    bool allow_frame(core::Millis now) { return frames_.take(now); }
    bool allow_query(core::Millis now) { return queries_.take(now); }
    // Records an error sent to this connection; true when the connection must be closed.
    bool record_error(core::Millis now);

  private:
    TokenBucket frames_{kFramesPerS, kFrameBurst};
    TokenBucket queries_{kQueriesPerS, kQueryBurst};
    // Errors counted in fixed windows of kErrorWindowMs: two integers per connection instead
    // of a list of times, since a server holds many connections and abuse is rare.
    core::Millis window_start_ = 0;
    std::uint32_t window_errors_ = 0;
};

}  // namespace presence::service
