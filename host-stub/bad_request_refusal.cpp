#include "bad_request_refusal.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

namespace presence_host {

void refuse_bad_request(int fd, size_t request_bytes, const std::string& body) {
    char sink[2048];
    while (request_bytes > 0) {
        const ssize_t got = recv(fd, sink, std::min(request_bytes, sizeof sink), 0);
        if (got <= 0) break;
        request_bytes -= static_cast<size_t>(got);
    }
    const std::string response =
        "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n" +
        body;
    (void)::send(fd, response.data(), response.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    shutdown(fd, SHUT_WR);
    ::close(fd);
}

}  // namespace presence_host
