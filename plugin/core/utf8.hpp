// Strict UTF-8 decoding, used to count a custom message's length in code points (SPEC 3).
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace presence::core {

// Number of code points in `s`, or nullopt when `s` is not well-formed UTF-8 (overlong forms,
// surrogates, values above U+10FFFF and truncated sequences are all rejected).
std::optional<std::size_t> utf8_code_points(std::string_view s);

}  // namespace presence::core
