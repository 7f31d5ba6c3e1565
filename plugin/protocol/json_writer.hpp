// A tiny append-only JSON writer for OUTPUT frames. The fan-out path builds every frame into a
// reused buffer, so this writes straight into a std::string with no intermediate tree (cJSON is
// used for input only).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace presence::protocol {

// Appends `s` as a JSON string literal (with quotes), escaped per RFC 8259: quote, backslash
// and every control character below U+0020. `s` must already be valid UTF-8 (inputs are
// checked on the way in), so other bytes are copied unchanged.
void append_json_string(std::string& out, std::string_view s);

void append_json_int(std::string& out, std::int64_t v);

inline void append_json_optional_string(std::string& out, std::optional<std::string_view> s) {
    if (s) {
        append_json_string(out, *s);
    } else {
        out += "null";
    }
}

inline void append_json_optional_int(std::string& out, std::optional<std::int64_t> v) {
    if (v) {
        append_json_int(out, *v);
    } else {
        out += "null";
    }
}

}  // namespace presence::protocol
