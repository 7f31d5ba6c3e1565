// Fuzz target over the REST router and handlers: one HTTP request to a plugin that holds a
// small world (alice friends with bob and carol; bob online with a message; carol invisible,
// visible to alice alone; dave nobody's friend), through on_http of the C table, with the
// fake host's checks (fake_host.hpp: answered exactly once, valid JSON, non-friends offline).
// The router alone (match_route) gets the same method and path under a second prefix.
// Input: line 1 "METHOD PATH[?QUERY]", line 2 the user (empty: none), line 3 If-None-Match,
// the rest the body.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/types.hpp"
#include "fake_host.hpp"
#include "protocol/rest_router.hpp"

namespace {

std::string_view take_line(std::string_view& input) {
    const auto end = input.find('\n');
    const std::string_view line = input.substr(0, end);
    input = end == std::string_view::npos ? std::string_view() : input.substr(end + 1);
    return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using presence_fuzz::FakeHost;
    using presence_fuzz::require;
    std::string_view input(reinterpret_cast<const char*>(data), size);
    std::string_view request_line = take_line(input);
    const std::string user(take_line(input));
    const std::string if_none_match(take_line(input));
    const auto space = request_line.find(' ');
    const std::string method(request_line.substr(0, space));
    std::string path(space == std::string_view::npos ? "" : request_line.substr(space + 1));
    std::optional<std::string> query;
    if (const auto q = path.find('?'); q != std::string::npos) {
        query = path.substr(q + 1);
        path.resize(q);
    }

    const auto match = presence::protocol::match_route("/p", method, path);
    if (match.kind == presence::protocol::RouteMatch::Kind::MethodNotAllowed) {
        require(!match.allow.empty(), "405 without an Allow list");
    }

    FakeHost host({{"presence.max_batch", "8"},
                   {"presence.max_message_bytes", "1024"},
                   {"presence.max_visibility", "3"}},
                  size % 2 == 0);
    host.friendship(PRESENCE_FRIENDSHIP_ADD, "alice", "bob");
    host.friendship(PRESENCE_FRIENDSHIP_ADD, "alice", "carol");
    host.friendship(PRESENCE_FRIENDSHIP_ADD, "bob", "carol");
    host.connect(1, "bob");
    host.message(1, R"({"type":"presence_update","status":"dnd","message":"busy"})");
    host.connect(2, "carol");
    host.http("PUT", "/api/presence/status", std::nullopt, "carol", R"({"status":"invisible"})",
              "");
    host.http("PUT", "/api/presence/visibility/alice", std::nullopt, "carol", "", "");
    host.connect(3, "dave");
    host.advance(1000);

    const auto answer = host.http(method, path, query, user, input, if_none_match);
    if (path.rfind("/api/presence/", 0) == 0) {
        require(answer.has_value(), "a path under the prefix was not taken");
    }
    // 401 means no (valid) user, except on /metrics: the fuzzer's host never sets
    // PRESENCE_HTTP_OPERATOR, and without it /metrics is 401 whoever the user is.
    const bool operator_route = path == "/api/presence/metrics";
    if (answer && answer->status == 401 && !operator_route) {
        require(!presence::core::is_valid_user_id(user.c_str()),
                "401 to a request with a valid user");
    }
    return 0;
}
