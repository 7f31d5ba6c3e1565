#include "redis/packed_hash.hpp"

#include <cstdint>

namespace presence::redis {

namespace {

// Reads big-endian counts and string views from the packed bytes, never past the end.
class Cursor {
  public:
    explicit Cursor(std::string_view b) : b_(b) {}
    bool done() const { return at_ == b_.size(); }
    bool byte(std::uint8_t& v) {
        if (at_ >= b_.size()) return false;
        v = static_cast<std::uint8_t>(b_[at_++]);
        return true;
    }
    bool number(int bytes, std::uint64_t& v) {
        v = 0;
        for (int i = 0; i < bytes; ++i) {
            std::uint8_t x = 0;
            if (!byte(x)) return false;
            v = v << 8 | x;
        }
        return true;
    }
    bool bytes(std::uint64_t n, std::string_view& out) {
        if (n > b_.size() - at_) return false;
        out = b_.substr(at_, n);
        at_ += n;
        return true;
    }

  private:
    std::string_view b_;
    std::size_t at_ = 0;
};

bool read_string(Cursor& c, std::string_view& out) {
    std::uint8_t tag = 0;
    if (!c.byte(tag)) return false;
    std::uint64_t n = 0;
    if ((tag & 0xe0) == 0xa0) {
        n = tag & 0x1f;  // fixstr
    } else if (tag == 0xd9 || tag == 0xc4) {
        if (!c.number(1, n)) return false;
    } else if (tag == 0xda || tag == 0xc5) {
        if (!c.number(2, n)) return false;
    } else if (tag == 0xdb || tag == 0xc6) {
        if (!c.number(4, n)) return false;
    } else {
        return false;
    }
    return c.bytes(n, out);
}

}  // namespace

bool unpack_pairs(std::string_view packed,
                  const std::function<void(std::string_view, std::string_view)>& pair) {
    Cursor c(packed);
    std::uint8_t tag = 0;
    if (!c.byte(tag)) return false;
    std::uint64_t n = 0;
    if ((tag & 0xf0) == 0x90) {
        n = tag & 0x0f;
    } else if (tag == 0x80) {
        n = 0;  // an empty Lua table may pack as an empty map
    } else if (tag == 0xdc) {
        if (!c.number(2, n)) return false;
    } else if (tag == 0xdd) {
        if (!c.number(4, n)) return false;
    } else {
        return false;
    }
    if (n % 2 != 0) return false;  // a field without its value
    std::string_view field, value;
    for (std::uint64_t i = 0; i < n; i += 2) {
        // Each string takes at least a byte, so a count beyond the bytes left fails here.
        if (!read_string(c, field) || !read_string(c, value)) return false;
        pair(field, value);
    }
    return c.done();
}

bool unpack_user_hash(std::string_view packed, UserHash& out) {
    UserHash h;
    const bool ok = unpack_pairs(
        packed, [&h](std::string_view f, std::string_view v) { add_user_field(h, f, v); });
    out = ok ? std::move(h) : UserHash{};
    return ok;
}

}  // namespace presence::redis
