// What the host's own acceptor does with the first bytes a client sent (peeked, not yet read),
// as a pure function so it is unit-tested and fuzzed (tests/fuzz/fuzz_host_request.cpp) apart
// from the sockets: wait for more, answer a malformed request itself, hand lws the whole
// request with the socket, or hand lws the bare socket.
#pragma once

#include <cstddef>
#include <string_view>

namespace presence_host {

enum class PeekVerdict {
    Wait,       // no end of the header block yet, the peek buffer is not full, and what came
                // can start a request line
    BadEscape,  // the request line holds a bad %-escape: the host answers 400 itself
    WholeGet,   // a GET header block without a body: read just it and adopt with it
    Bare,       // anything else (a body, a long head): adopt the bare socket
};

struct PeekDecision {
    PeekVerdict verdict = PeekVerdict::Wait;
    // BadEscape: the bytes to read and drop before answering (the header block, or all that
    // was seen when it did not end); WholeGet: the header block's length. 0 otherwise.
    std::size_t request_bytes = 0;
};

// `head`: the bytes peeked, at most `capacity` (the peek buffer's size).
PeekDecision decide_peek(std::string_view head, std::size_t capacity);

}  // namespace presence_host
