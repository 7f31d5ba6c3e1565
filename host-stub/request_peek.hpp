// What presence-host does with a new connection, from the bytes it has sent so far (peeked
// with MSG_PEEK, not yet read): a whole GET header block with nothing after it is read and
// handed to lws with the socket (served at once); nothing yet, or the start of a GET, waits
// (unless this is its last chance); anything else (a body, more than the peek buffer) goes to
// lws bare, which reads the socket itself (with a body in the handed-over bytes lws 4.1
// answered 400). Pure, so it is fuzzed alone (tests/fuzz/fuzz_host_request.cpp).
#pragma once

#include <cstddef>
#include <string_view>

namespace presence_host {

enum class PeekVerdict { HandOver, Wait, Bare };

struct PeekDecision {
    PeekVerdict verdict = PeekVerdict::Bare;
    std::size_t request_bytes = 0;  // HandOver: how many bytes to read and hand over
};

// `head`: what was peeked; `buffer_size`: the size of the peek buffer.
PeekDecision decide_peeked(std::string_view head, std::size_t buffer_size, bool last_chance);

}  // namespace presence_host
