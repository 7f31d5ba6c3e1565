// Log-linear latency histogram: constant memory, ~1.6% relative precision, so a 60 s run at
// 300,000 deliveries/s records every sample without storing them.
#pragma once

#include <array>
#include <cstdint>

namespace presence::bench {

class LatencyHistogram {
  public:
    // 64 sub-buckets per power of two, 0 ns .. 2^40 ns (~18 min).
    static constexpr int kSub = 64;
    static constexpr int kPowers = 41;

    void record(std::int64_t ns) {
        if (ns < 0) ns = 0;
        ++count_;
        if (static_cast<std::uint64_t>(ns) > max_) max_ = static_cast<std::uint64_t>(ns);
        ++buckets_[index(static_cast<std::uint64_t>(ns))];
    }
    void merge(const LatencyHistogram& o) {
        for (std::size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += o.buckets_[i];
        count_ += o.count_;
        if (o.max_ > max_) max_ = o.max_;
    }
    void reset() { *this = LatencyHistogram{}; }
    std::uint64_t count() const { return count_; }
    std::uint64_t max() const { return max_; }
    // Upper edge of the bucket holding quantile q (0..1), in ns; 0 when empty.
    std::uint64_t quantile(double q) const {
        if (count_ == 0) return 0;
        auto rank = static_cast<std::uint64_t>(q * static_cast<double>(count_ - 1)) + 1;
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < buckets_.size(); ++i) {
            seen += buckets_[i];
            if (seen >= rank) {
                std::uint64_t edge = upper_edge(i);
                return edge < max_ ? edge : max_;
            }
        }
        return max_;
    }

  private:
    static std::size_t index(std::uint64_t v) {
        if (v < kSub) return static_cast<std::size_t>(v);
        int p = 63 - __builtin_clzll(v);  // v in [2^p, 2^(p+1))
        if (p >= kPowers) return static_cast<std::size_t>(kPowers * kSub - 1);
        int shift = p - 6;  // keep 6 bits below the leading one
        auto sub = static_cast<std::size_t>((v >> shift) & (kSub - 1));
        return static_cast<std::size_t>((p - 5) * kSub) + sub;
    }
    static std::uint64_t upper_edge(std::size_t i) {
        if (i < static_cast<std::size_t>(kSub)) return i;
        std::size_t p = i / kSub + 5;
        std::uint64_t sub = i % kSub;
        std::size_t shift = p - 6;
        return ((std::uint64_t{kSub} + sub + 1) << shift) - 1;
    }

    std::array<std::uint64_t, kPowers * kSub> buckets_{};
    std::uint64_t count_ = 0;
    std::uint64_t max_ = 0;
};

}  // namespace presence::bench
