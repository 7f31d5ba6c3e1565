#include "protocol/utf8.hpp"

#include "core/utf8.hpp"

namespace presence::protocol {

// One strict decoder for the whole plugin: the core's (it also counts a message's code points).
bool is_valid_utf8(std::string_view s) {
    return core::utf8_code_points(s).has_value();
}

std::string_view utf8_prefix(std::string_view s, std::size_t max_bytes) {
    if (s.size() <= max_bytes) return s;
    std::size_t n = max_bytes;
    // Step back over continuation bytes so the cut lands on a code point boundary.
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    return s.substr(0, n);
}

}  // namespace presence::protocol
