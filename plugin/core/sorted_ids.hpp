// Sorted, unique vectors of user indices (friend and visibility lists): insert and erase that
// keep the order. Linear in the list, which is small; membership is std::binary_search.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace presence::core {

inline void insert_sorted(std::vector<std::uint32_t>& v, std::uint32_t x) {
    auto it = std::lower_bound(v.begin(), v.end(), x);
    if (it == v.end() || *it != x) v.insert(it, x);
}

// True when x was there.
inline bool erase_sorted(std::vector<std::uint32_t>& v, std::uint32_t x) {
    auto it = std::lower_bound(v.begin(), v.end(), x);
    if (it == v.end() || *it != x) return false;
    v.erase(it);
    return true;
}

}  // namespace presence::core
