#include "request_peek.hpp"

namespace presence_host {

PeekDecision decide_peeked(std::string_view head, std::size_t buffer_size, bool last_chance) {
    const std::size_t end = head.find("\r\n\r\n");
    if (head.starts_with("GET ") && end != std::string_view::npos && end + 4 == head.size()) {
        return {PeekVerdict::HandOver, end + 4};
    }
    const bool may_be_get = std::string_view("GET ").starts_with(head.substr(0, 4));
    if (!last_chance && may_be_get && end == std::string_view::npos && head.size() < buffer_size) {
        return {PeekVerdict::Wait, 0};
    }
    return {PeekVerdict::Bare, 0};
}

}  // namespace presence_host
