#include "bad_request_refusal.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

// CppUTest last: its leak-detecting operator new macros break STL headers after it.
#include <CppUTest/TestHarness.h>

using namespace presence_host;

TEST_GROUP(BadRequestRefusal){};

// The acceptor's answer to a bad %-escape: the request is read off the socket, a JSON 400 goes
// out whole, then the host's end is closed (the client reads the answer, then EOF).
TEST(BadRequestRefusal, ReadsTheRequestAnswersJson400AndCloses) {
    int pair[2];
    CHECK_EQUAL(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair));
    const std::string request = "GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n";
    CHECK_EQUAL(static_cast<ssize_t>(request.size()),
                write(pair[1], request.data(), request.size()));
    const std::string body = R"({"error":"bad_request"})";
    refuse_bad_request(pair[0], request.size(), body);
    CHECK_EQUAL(-1, fcntl(pair[0], F_GETFD));  // closed
    std::string got;
    char buffer[1024];
    ssize_t n;
    while ((n = read(pair[1], buffer, sizeof buffer)) > 0) got.append(buffer, n);
    CHECK_EQUAL(0, n);  // EOF after the answer, not a reset
    STRCMP_EQUAL(("HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
                  "Content-Length: " +
                  std::to_string(body.size()) +
                  "\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n" + body)
                     .c_str(),
                 got.c_str());
    close(pair[1]);
}
