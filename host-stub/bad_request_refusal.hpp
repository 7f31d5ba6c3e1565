// The acceptor's answer to a request line lws would refuse with its own HTML page (a bad
// %-escape): ours, in the REST error shape (acceptor.cpp).
#pragma once

#include <cstddef>
#include <string>

namespace presence_host {

// Reads the `request_bytes` of the request from the fresh socket `fd`, writes a 400 with the
// JSON `body` (its send buffer is empty, so the few hundred bytes fit), half-closes and closes
// it. The request is read first so closing does not reset the answer away.
void refuse_bad_request(int fd, size_t request_bytes, const std::string& body);

}  // namespace presence_host
