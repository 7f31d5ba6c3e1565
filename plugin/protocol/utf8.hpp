// UTF-8 checks for client input. Frames are checked whole before JSON parsing, so nothing
// invalid ever reaches the core or is echoed back to another client.
#pragma once

#include <cstddef>
#include <string_view>

namespace presence::protocol {

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
bool is_valid_utf8(std::string_view s);

// The longest prefix of valid UTF-8 `s` with at most `max_bytes` bytes that does not split a
// code point (for quoting client values in error messages).
std::string_view utf8_prefix(std::string_view s, std::size_t max_bytes);

}  // namespace presence::protocol
