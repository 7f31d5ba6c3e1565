// A tiny blocking HTTP/1.1 client for tests: one request per connection (Connection: close),
// bounded in time, answers with status, headers (names lower-cased) and body.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "json.hpp"
#include "tcp_socket.hpp"

namespace presence::test {

struct HttpResponse {
    int status = 0;  // 0 when the request failed at the transport level (see error)
    std::map<std::string, std::string> headers;
    std::string body;
    std::string error;

    Json json() const { return Json::parse(body); }
    // The SPEC error envelope's code: {"error":{"code":".."}} -> "..", else "".
    std::string error_code() const { return json()["error"]["code"].str(); }
};

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

HttpResponse http_request(std::uint16_t port, const std::string& method, const std::string& path,
                          const HttpHeaders& headers = {}, const std::string& body = {},
                          milliseconds timeout = milliseconds{5000});

// Shorthands: Authorization: Bearer <token> when token is not empty; JSON content type when
// there is a body.
HttpResponse http_get(std::uint16_t port, const std::string& path, const std::string& token = {});
HttpResponse http_send(std::uint16_t port, const std::string& method, const std::string& path,
                       const std::string& body, const std::string& token = {},
                       milliseconds timeout = milliseconds{5000});

}  // namespace presence::test
