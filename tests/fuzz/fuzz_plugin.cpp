// Fuzz target over the whole plugin, driven through its C table by a fake host (fake_host.hpp
// lists the invariants it checks after every callback). The input is a script, one operation
// a line (text, so seeds are readable and the dictionary's words fit):
//   c CONN USER           connect            d CONN            disconnect
//   m CONN BYTES...       a message          x CONN LEN        a message over the limit
//   h METHOD PATH USER [BODY]   an HTTP request (PATH may carry ?query; USER - for none)
//   g METHOD PATH USER [BODY]   the same with If-None-Match: the last ETag seen
//   t MS                  advance the clock, tick
//   f +|- A B             friendship add / remove
//   F +A,B -C,D ...       friendships, a batch
//   w                     on_wake
// Unknown lines are skipped; at most 200 operations run.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fake_host.hpp"

namespace {

using presence_fuzz::FakeHost;

// The next space-separated word of `line` (removed from it).
std::string_view word(std::string_view& line) {
    const auto end = line.find(' ');
    const std::string_view w = line.substr(0, end);
    line = end == std::string_view::npos ? std::string_view() : line.substr(end + 1);
    return w;
}

std::uint64_t number(std::string_view text, std::uint64_t max) {
    std::uint64_t n = 0;
    for (char c : text) {
        if (c < '0' || c > '9') break;
        n = n * 10 + static_cast<std::uint64_t>(c - '0');
        if (n > max) return max;
    }
    return n;
}

void http(FakeHost& host, std::string_view args, bool conditional) {
    const std::string method(word(args));
    std::string path(word(args));
    const std::string user(word(args));
    std::optional<std::string> query;
    if (const auto q = path.find('?'); q != std::string::npos) {
        query = path.substr(q + 1);
        path.resize(q);
    }
    host.http(method, path, query, user == "-" ? std::string() : user, args,
              conditional ? host.last_etag() : std::string());
}

void batch(FakeHost& host, std::string_view args) {
    std::vector<presence_friendship> ops;
    while (!args.empty() && ops.size() < 64) {
        std::string_view op = word(args);
        if (op.size() < 2) continue;
        const int kind = op[0] == '+'   ? PRESENCE_FRIENDSHIP_ADD
                         : op[0] == '-' ? PRESENCE_FRIENDSHIP_REMOVE
                                        : static_cast<int>(static_cast<unsigned char>(op[0]));
        op.remove_prefix(1);
        const auto comma = op.find(',');
        const std::string_view a = op.substr(0, comma);
        const std::string_view b = comma == std::string_view::npos ? "" : op.substr(comma + 1);
        ops.push_back({kind, a.data(), a.size(), b.data(), b.size()});
    }
    host.friendships(ops);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FakeHost host(
        {
            {"presence.max_batch", "20"},
            {"presence.max_message_bytes", "2048"},
            {"presence.max_visibility", "4"},
            {"presence.max_connections_per_user", "3"},
            {"presence.offline_grace_s", "3"},
            {"presence.heartbeat_timeout_s", "60"},
            {"presence.instance_id", "fuzz"},
        },
        size % 2 == 0);  // half the inputs without respond_with_headers
    std::string_view script(reinterpret_cast<const char*>(data), size);
    for (int ops = 0; ops < 200 && !script.empty(); ++ops) {
        const auto end = script.find('\n');
        std::string_view line = script.substr(0, end);
        script = end == std::string_view::npos ? std::string_view() : script.substr(end + 1);
        const std::string_view op = word(line);
        if (op == "c") {
            const auto conn = number(word(line), 1'000'000);
            host.connect(conn, line);
        } else if (op == "d") {
            host.disconnect(number(word(line), 1'000'000));
        } else if (op == "m") {
            const auto conn = number(word(line), 1'000'000);
            host.message(conn, line);
        } else if (op == "x") {
            const auto conn = number(word(line), 1'000'000);
            host.too_large(conn, number(line, 1'000'000'000));
        } else if (op == "h" || op == "g") {
            http(host, line, op == "g");
        } else if (op == "t") {
            host.advance(static_cast<std::int64_t>(number(line, 10'000'000)));
        } else if (op == "f") {
            const std::string_view sign = word(line);
            const std::string_view a = word(line);
            const int kind = sign == "+"   ? PRESENCE_FRIENDSHIP_ADD
                             : sign == "-" ? PRESENCE_FRIENDSHIP_REMOVE
                                           : static_cast<int>(number(sign, 100));
            host.friendship(kind, a, line);
        } else if (op == "F") {
            batch(host, line);
        } else if (op == "w") {
            host.wake_now();
        }
    }
    return 0;
}
