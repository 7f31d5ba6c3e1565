// A user's live connections: almost always one or two, so they are kept inside the UserState
// (no heap block). Fan-out reads them for every online viewer, and with a std::vector that
// read was a second cache miss per viewer after the UserState itself. More than kInline
// connections move to the heap. Order is insertion order, minus erased entries.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "core/types.hpp"

namespace presence::core {

class ConnList {
  public:
    static constexpr std::uint32_t kInline = 2;

    const ConnId* data() const { return n_ <= kInline ? inline_.data() : spill_.data(); }
    std::size_t size() const { return n_; }
    bool empty() const { return n_ == 0; }
    const ConnId* begin() const { return data(); }
    const ConnId* end() const { return data() + n_; }
    operator std::span<const ConnId>() const { return {data(), n_}; }

    void push_back(ConnId c) {
        if (n_ < kInline) {
            inline_[n_++] = c;
            return;
        }
        if (n_ == kInline) spill_.assign(inline_.begin(), inline_.end());
        spill_.push_back(c);
        ++n_;
    }

    // Removes one occurrence of c (if any).
    void erase(ConnId c) {
        if (n_ <= kInline) {
            auto* last = inline_.data() + n_;
            auto* it = std::find(inline_.data(), last, c);
            if (it == last) return;
            std::copy(it + 1, last, it);
            --n_;
            return;
        }
        auto it = std::find(spill_.begin(), spill_.end(), c);
        if (it == spill_.end()) return;
        spill_.erase(it);
        --n_;
        if (n_ == kInline) {
            // Back inline: the heap block is freed (multi-device users are rare).
            std::copy(spill_.begin(), spill_.end(), inline_.begin());
            spill_.clear();
            spill_.shrink_to_fit();
        }
    }

  private:
    std::array<ConnId, kInline> inline_{};
    std::uint32_t n_ = 0;
    std::vector<ConnId> spill_;  // all entries while n_ > kInline
};

}  // namespace presence::core
