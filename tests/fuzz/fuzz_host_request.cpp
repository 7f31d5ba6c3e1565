// Fuzz target over what presence-host reads from a client: the peek decision of its acceptor
// over the whole input (decide_peek, with a bad %-escape check), the query string (query_param),
// the Authorization header (bearer_token), the POST /admin/friendships body
// (read_admin_friendships), and host.listen. No crash, and: a bearer token has no surrounding
// blanks; an admin body is refused with a JSON error or gives at most kMaxAdminOps add/remove
// ops, and never with a wrong admin token. The input: line 1 is the query, the Authorization
// value and host.listen, the rest the admin body.
#include <cstdint>
#include <string>
#include <string_view>

#include "admin_routes.hpp"
#include "fake_host.hpp"
#include "listen_address.hpp"
#include "request_fields.hpp"
#include "request_peek.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace presence_host;
    using presence_fuzz::require;
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto nl = input.find('\n');
    const std::string_view first = input.substr(0, nl);
    const std::string_view body = nl == std::string_view::npos ? "" : input.substr(nl + 1);

    // The acceptor's peek, at the input's size and at a smaller buffer: what it reads is
    // what it saw, a whole GET is its first header block, and waiting only while one can come.
    for (const std::size_t capacity : {input.size(), input.size() + 1, std::size_t{64}}) {
        const std::string_view head = input.substr(0, capacity);
        const PeekDecision d = decide_peek(head, capacity);
        require(d.request_bytes <= head.size(), "peek reads more than it saw");
        const bool ended = head.find("\r\n\r\n") != std::string_view::npos;
        switch (d.verdict) {
            case PeekVerdict::Wait:
                require(!ended && head.size() < capacity &&
                            (head.empty() || (head[0] >= 'A' && head[0] <= 'Z')),
                        "waiting on a finished or full peek, or on what is not HTTP");
                break;
            case PeekVerdict::BadEscape:
                require(has_bad_percent_escape(head.substr(0, head.find("\r\n"))),
                        "a bad escape that is not in the request line");
                break;
            case PeekVerdict::WholeGet:
                require(head.starts_with("GET ") && d.request_bytes >= 4 &&
                            head.find("\r\n\r\n") == d.request_bytes - 4,
                        "a whole GET that is not its first header block");
                break;
            case PeekVerdict::Bare:
                require(d.request_bytes == 0, "bare adoption with bytes read");
                break;
        }
    }

    ListenAddress address;
    std::string listen_error;
    if (parse_listen_address(first, address, listen_error)) {
        require(address.port >= 0 && address.port <= 65535, "listen port out of range");
    } else {
        require(!listen_error.empty(), "host.listen refused without a reason");
    }

    for (const char* name : {"token", "user", "", "a"}) {
        const std::string value = query_param(first, name);
        require(value.size() <= first.size(), "a query value longer than the query");
    }
    const std::string token = bearer_token(first);
    require(token.empty() || (token.front() != ' ' && token.back() != ' '),
            "a bearer token with surrounding blanks");

    const AdminRequest request = read_admin_friendships("POST", "admin", "admin", body);
    if (!request.ok()) {
        require(presence_fuzz::is_valid_json(request.refusal.body), "admin refusal is not JSON");
        require(request.refusal.status >= 400 && request.refusal.status < 600,
                "admin refusal is not an error status");
    } else {
        require(request.ops.size() <= kMaxAdminOps, "more admin ops than allowed");
        for (const auto& op : request.ops) {
            require(op.op == PRESENCE_FRIENDSHIP_ADD || op.op == PRESENCE_FRIENDSHIP_REMOVE,
                    "an admin op that is neither add nor remove");
        }
    }
    const AdminRequest unauthorized = read_admin_friendships("POST", "admin", "nope", body);
    require(!unauthorized.ok(), "admin body accepted with a wrong token");
    return 0;
}
