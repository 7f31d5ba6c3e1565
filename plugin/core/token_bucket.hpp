// Token bucket for presence updates (SPEC 7 `updates_per_s`): per connection, and per user for
// REST. Time comes in as a parameter so tests drive it with a virtual clock.
#pragma once

#include "core/types.hpp"

namespace presence::core {

class TokenBucket {
  public:
    TokenBucket() = default;
    // Starts full: a fresh connection may send `burst` updates at once.
    TokenBucket(std::uint32_t burst, Millis now)
        : tokens_(static_cast<double>(burst)), last_(now) {}

    // Takes one token if there is one. A rate <= 0 means "no limit" (always succeeds).
    bool take(double rate_per_s, std::uint32_t burst, Millis now);
    // Milliseconds until a token is available (>= 1); only meaningful after take() failed.
    Millis ms_until_token(double rate_per_s) const;
    // Whether the bucket would be full at `now` (forgetting it then loses nothing).
    bool full(double rate_per_s, std::uint32_t burst, Millis now) const;

  private:
    void refill(double rate_per_s, std::uint32_t burst, Millis now);

    double tokens_ = 0.0;
    Millis last_ = 0;
};

}  // namespace presence::core
