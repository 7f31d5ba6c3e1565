#include "request_peek.hpp"

#include "request_fields.hpp"

namespace presence_host {

PeekDecision decide_peek(std::string_view head, std::size_t capacity) {
    const std::size_t end = head.find("\r\n\r\n");
    if (end == std::string_view::npos && head.size() < capacity) return {};
    if (has_bad_percent_escape(head.substr(0, head.find("\r\n")))) {
        return {PeekVerdict::BadEscape, end == std::string_view::npos ? head.size() : end + 4};
    }
    // Only a GET whose header block is all that arrived: lws 4.1 answers 400 when a request
    // handed over with the socket has more behind it.
    if (head.starts_with("GET ") && end != std::string_view::npos && end + 4 == head.size()) {
        return {PeekVerdict::WholeGet, end + 4};
    }
    return {PeekVerdict::Bare, 0};
}

}  // namespace presence_host
