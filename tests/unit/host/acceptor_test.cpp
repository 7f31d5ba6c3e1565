#include "acceptor.hpp"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

// CppUTest last: its leak-detecting operator new macros break STL headers after it.
#include <CppUTest/TestHarness.h>

using namespace presence_host;

namespace {

// Stands in for lws: records what the acceptor hands over, and reads what is left in a socket
// handed over with its request.
struct RecordingSink : AcceptorSink {
    std::vector<std::string> with_request;  // the request bytes handed over
    std::vector<std::string> left_in_socket;
    int bare = 0;
    int pauses = 0;
    mutable std::vector<std::string> lines;
    void adopt_with_request(int fd, const char* request, size_t len) override {
        with_request.emplace_back(request, len);
        char rest[256];
        const ssize_t n = recv(fd, rest, sizeof rest, MSG_DONTWAIT);
        left_in_socket.emplace_back(rest, n > 0 ? static_cast<size_t>(n) : 0);
        close(fd);
    }
    void adopt_bare(int fd) override {
        ++bare;
        close(fd);
    }
    void pause_accepting(double) override { ++pauses; }
    void log(int, const char* line) const override { lines.emplace_back(line); }
};

int connect_to(int port) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    CHECK_EQUAL(0, connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a));
    return fd;
}

void send_text(int fd, const std::string& text) {
    CHECK_EQUAL(static_cast<ssize_t>(text.size()), send(fd, text.data(), text.size(), 0));
}

// Waits (at most a second) until the acceptor's descriptor reports work.
void wait_ready(const Acceptor& acceptor) {
    pollfd p{acceptor.ready_fd(), POLLIN, 0};
    CHECK_EQUAL(1, poll(&p, 1, 1000));
}

std::string read_all(int fd) {
    std::string got;
    char buffer[1024];
    pollfd p{fd, POLLIN, 0};
    while (poll(&p, 1, 1000) == 1) {
        const ssize_t n = recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0) break;
        got.append(buffer, static_cast<size_t>(n));
    }
    return got;
}

// True when the host's end was closed within a second: EOF, or a reset when it closed with our
// bytes unread (not a timeout).
bool reads_closed(int fd) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 1000) != 1) return false;
    char byte;
    const ssize_t n = recv(fd, &byte, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
}

const char kUpgrade[] = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n";

}  // namespace

TEST_GROUP(Acceptor) {
    RecordingSink sink;
    std::vector<int> clients;
    std::unique_ptr<Acceptor> acceptor;
    void start(PendingLimits limits = {}) {
        acceptor = std::make_unique<Acceptor>(limits, sink);
        std::string error;
        CHECK_TRUE_TEXT(acceptor->listen({"127.0.0.1", 0, false}, false, error), error.c_str());
        CHECK_TRUE_TEXT(acceptor->watch(error), error.c_str());
    }
    int client() {
        clients.push_back(connect_to(acceptor->port()));
        return clients.back();
    }
    void teardown() override {
        acceptor.reset();
        for (int fd : clients) close(fd);
    }
};

// An upgrade whose request is whole goes on with exactly its header block; what the client sent
// behind it (its first frames) stays in the socket for lws to read.
TEST(Acceptor, WholeRequestIsHandedOverWithItsBytesAndTheRestStaysInTheSocket) {
    start();
    send_text(client(), std::string(kUpgrade) + "FRAME");
    wait_ready(*acceptor);
    acceptor->accept_ready();
    CHECK_EQUAL(1u, sink.with_request.size());
    STRCMP_EQUAL(kUpgrade, sink.with_request[0].c_str());
    STRCMP_EQUAL("FRAME", sink.left_in_socket[0].c_str());
    CHECK_EQUAL(0u, acceptor->pending().size());
}

// Half a request: held by the acceptor (never handed on), then handed on whole once the rest
// has arrived.
TEST(Acceptor, PartialRequestIsHeldUntilWhole) {
    start();
    const int fd = client();
    const std::string request(kUpgrade);
    send_text(fd, request.substr(0, 20));
    wait_ready(*acceptor);
    acceptor->accept_ready();
    CHECK_EQUAL(0u, sink.with_request.size());
    CHECK_EQUAL(1u, acceptor->pending().size());
    send_text(fd, request.substr(20));
    wait_ready(*acceptor);
    acceptor->serve_pending();
    CHECK_EQUAL(1u, sink.with_request.size());
    STRCMP_EQUAL(kUpgrade, sink.with_request[0].c_str());
    CHECK_EQUAL(0u, acceptor->pending().size());
}

// A request line lws would answer with its HTML page is answered here, in the REST error shape.
TEST(Acceptor, BadPercentEscapeIsAnsweredWithJson400) {
    start();
    const int fd = client();
    send_text(fd, "GET /api/presence/users/a%zz HTTP/1.1\r\nHost: x\r\n\r\n");
    wait_ready(*acceptor);
    acceptor->accept_ready();
    CHECK_EQUAL(0u, sink.with_request.size());
    CHECK_EQUAL(0, sink.bare);
    const std::string answer = read_all(fd);
    STRCMP_CONTAINS("HTTP/1.1 400 Bad Request", answer.c_str());
    STRCMP_CONTAINS("application/json", answer.c_str());
    STRCMP_CONTAINS("bad_request", answer.c_str());
}

// A request with a body goes on bare: lws reads it from the socket itself.
TEST(Acceptor, RequestWithABodyIsHandedOverBare) {
    start();
    send_text(client(), "POST /admin/friendships HTTP/1.1\r\nContent-Length: 2\r\n\r\n[]");
    wait_ready(*acceptor);
    acceptor->accept_ready();
    CHECK_EQUAL(1, sink.bare);
    CHECK_EQUAL(0u, sink.with_request.size());
}

// A peer gone before it said anything is closed, not handed on or held.
TEST(Acceptor, PeerGoneBeforeItsRequestIsClosed) {
    start();
    close(connect_to(acceptor->port()));
    wait_ready(*acceptor);
    acceptor->accept_ready();
    CHECK_EQUAL(0u, sink.with_request.size());
    CHECK_EQUAL(0, sink.bare);
    CHECK_EQUAL(0u, acceptor->pending().size());
}

// Past host.max_pending_per_address a silent socket from the same source is closed at once,
// and that is logged (at most once a second).
TEST(Acceptor, SilentSocketsPastTheAddressCapAreRefusedAndLogged) {
    start({8, 1, 5'000'000});
    const int first = client();
    const int second = client();
    wait_ready(*acceptor);
    acceptor->accept_ready();
    CHECK_EQUAL(1u, acceptor->pending().size());
    CHECK_EQUAL(1u, acceptor->pending().refused());
    CHECK_EQUAL(1u, sink.lines.size());
    STRCMP_CONTAINS("1 refused at host.max_pending_per_address (1)", sink.lines[0].c_str());
    // The refused one (the second accepted) reads EOF; the held one is still open.
    CHECK_TRUE(reads_closed(second));
    pollfd p{first, POLLIN, 0};
    CHECK_EQUAL(0, poll(&p, 1, 0));
}

// A held socket whose request is not whole by its deadline is closed.
TEST(Acceptor, HeldSocketPastItsDeadlineIsClosed) {
    start({8, 8, 1000});  // 1 ms
    const int fd = client();
    send_text(fd, "GET /ws HT");
    wait_ready(*acceptor);
    acceptor->accept_ready();
    CHECK_EQUAL(1u, acceptor->pending().size());
    CHECK_TRUE(acceptor->next_deadline_us() != 0);
    usleep(20 * 1000);
    acceptor->serve_pending();
    CHECK_EQUAL(0u, acceptor->pending().size());
    CHECK_EQUAL(1u, acceptor->pending().expired());
    CHECK_TRUE(reads_closed(fd));
}

// During a burst of closes the loop asks every kClosesPerCheck closes, and is told to run the
// acceptor only when a connection waits.
TEST(Acceptor, EveryFewClosesTheLoopLearnsWhetherConnectionsWait) {
    start();
    for (int i = 1; i < Acceptor::kClosesPerCheck; ++i) CHECK_FALSE(acceptor->note_close());
    CHECK_FALSE(acceptor->note_close());  // nothing waits
    client();
    wait_ready(*acceptor);
    for (int i = 1; i < Acceptor::kClosesPerCheck; ++i) CHECK_FALSE(acceptor->note_close());
    CHECK_TRUE(acceptor->note_close());
}

// The next descriptor number this process will be given (the lowest free one).
static int next_fd_number() {
    const int probe = dup(0);
    close(probe);
    return probe;
}

// A socket whose descriptor lws could not take (at or past the ceiling: lws' table size) is
// closed by the acceptor, never handed on, and accepting pauses so queued closes free
// descriptors first; the log says so.
TEST(Acceptor, SocketAtTheDescriptorCeilingIsClosedNotHandedOn) {
    start();
    const int c = client();
    send_text(c, kUpgrade);
    wait_ready(*acceptor);
    acceptor->set_fd_ceiling(next_fd_number());
    acceptor->accept_ready();
    CHECK_EQUAL(0u, sink.with_request.size());
    CHECK_EQUAL(0, sink.bare);
    CHECK_EQUAL(1, sink.pauses);
    CHECK_TRUE(reads_closed(c));
    CHECK_EQUAL(1u, sink.lines.size());
    STRCMP_CONTAINS("descriptors at lws' limit", sink.lines[0].c_str());
}

// Within Acceptor::kFdHeadroom of the ceiling a connection is still handed on, but it is the
// last of the turn: accepting pauses and the next one waits in the listen queue.
TEST(Acceptor, NearTheCeilingOneConnectionIsTakenThenAcceptingPauses) {
    start();
    send_text(client(), kUpgrade);
    send_text(client(), kUpgrade);
    wait_ready(*acceptor);
    acceptor->set_fd_ceiling(next_fd_number() + Acceptor::kFdHeadroom / 2);
    acceptor->accept_ready();
    CHECK_EQUAL(1u, sink.with_request.size());
    CHECK_EQUAL(1, sink.pauses);
    acceptor->set_fd_ceiling(1 << 30);
    acceptor->accept_ready();
    CHECK_EQUAL(2u, sink.with_request.size());
    CHECK_EQUAL(1, sink.pauses);
}
