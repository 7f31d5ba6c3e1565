#include "protocol/utf8.hpp"

namespace presence::protocol {

bool is_valid_utf8(std::string_view s) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const auto* end = p + s.size();
    while (p < end) {
        const unsigned char c = *p;
        if (c < 0x80) {
            ++p;
            continue;
        }
        int extra = 0;
        unsigned min_next = 0x80, max_next = 0xBF;  // range of the first continuation byte
        if (c >= 0xC2 && c <= 0xDF) {
            extra = 1;
        } else if (c == 0xE0) {
            extra = 2, min_next = 0xA0;  // no overlong 3-byte forms
        } else if (c >= 0xE1 && c <= 0xEC) {
            extra = 2;
        } else if (c == 0xED) {
            extra = 2, max_next = 0x9F;  // no UTF-16 surrogates
        } else if (c >= 0xEE && c <= 0xEF) {
            extra = 2;
        } else if (c == 0xF0) {
            extra = 3, min_next = 0x90;  // no overlong 4-byte forms
        } else if (c >= 0xF1 && c <= 0xF3) {
            extra = 3;
        } else if (c == 0xF4) {
            extra = 3, max_next = 0x8F;  // nothing above U+10FFFF
        } else {
            return false;  // continuation byte first, C0/C1 overlongs, F5..FF
        }
        if (end - p <= extra) return false;
        if (p[1] < min_next || p[1] > max_next) return false;
        for (int i = 2; i <= extra; ++i) {
            if ((p[i] & 0xC0) != 0x80) return false;
        }
        p += extra + 1;
    }
    return true;
}

std::string_view utf8_prefix(std::string_view s, std::size_t max_bytes) {
    if (s.size() <= max_bytes) return s;
    std::size_t n = max_bytes;
    // Step back over continuation bytes so the cut lands on a code point boundary.
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    return s.substr(0, n);
}

}  // namespace presence::protocol
