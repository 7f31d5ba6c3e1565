#include "request_peek.hpp"

#include <algorithm>
#include <cctype>

#include "request_fields.hpp"

namespace presence_host {
namespace {

// Whether a header block names a body (Content-Length or Transfer-Encoding), any case.
bool announces_body(std::string_view header) {
    auto has = [header](std::string_view name) {
        return std::search(header.begin(), header.end(), name.begin(), name.end(),
                           [](char a, char b) {
                               return std::tolower(static_cast<unsigned char>(a)) == b;
                           }) != header.end();
    };
    return has("\r\ncontent-length:") || has("\r\ntransfer-encoding:");
}

}  // namespace

PeekDecision decide_peek(std::string_view head, std::size_t capacity) {
    const std::size_t end = head.find("\r\n\r\n");
    // Bytes that cannot start a request line (a Redis client's RESP, TLS) are not waited for:
    // lws refuses them at once, so such a peer learns now, not after host.pending_timeout_ms.
    const bool may_be_http = head.empty() || (head[0] >= 'A' && head[0] <= 'Z');
    if (end == std::string_view::npos && head.size() < capacity && may_be_http) return {};
    if (has_bad_percent_escape(head.substr(0, head.find("\r\n")))) {
        return {PeekVerdict::BadEscape, end == std::string_view::npos ? head.size() : end + 4};
    }
    // A GET without a body: its header block alone is handed over, and what follows (a
    // client's first frames, or a pipelined request) stays in the socket for lws to read. A GET
    // with a body goes bare (lws 4.1 never answered one handed over with its header alone).
    if (head.starts_with("GET ") && end != std::string_view::npos &&
        (end + 4 == head.size() || !announces_body(head.substr(0, end + 2)))) {
        return {PeekVerdict::WholeGet, end + 4};
    }
    return {PeekVerdict::Bare, 0};
}

}  // namespace presence_host
