// Fuzz target over everything that parses client input: WebSocket frames, REST bodies and
// REST paths. Besides "no crash", it checks the invariants the protocol promises: accepted
// ids are valid, and every frame we would send back (errors quote client text) is valid
// UTF-8 and valid JSON.
#include <cjson/cJSON.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/types.hpp"
#include "protocol/client_message.hpp"
#include "protocol/frames.hpp"
#include "protocol/rest_router.hpp"
#include "protocol/utf8.hpp"

namespace {

void require(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
        std::abort();
    }
}

void check_output(const std::string& frame) {
    require(presence::protocol::is_valid_utf8(frame), "output frame is not valid UTF-8");
    cJSON* j = cJSON_ParseWithLength(frame.data(), frame.size());
    require(j != nullptr, "output frame is not valid JSON");
    cJSON_Delete(j);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace presence;
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    protocol::ParseLimits limits;
    limits.max_message_bytes = 4096;
    limits.max_batch = 50;

    std::string out;
    protocol::ClientMessage msg;
    if (auto e = protocol::parse_client_frame(input, limits, msg)) {
        // 64 bytes of string, each escaped to at most 6 bytes, plus quotes.
        require(msg.ref_json.size() <= 6 * 64 + 2, "echoed ref over 64 bytes");
        protocol::build_error_frame(out, e.code, e.message, msg.ref_json, e.user_ids);
        check_output(out);
    } else {
        require(input.size() <= limits.max_message_bytes, "accepted a frame over the limit");
        if (msg.type == protocol::ClientType::Query) {
            require(msg.user_ids.size() <= limits.max_batch, "accepted too many ids");
            for (const auto& id : msg.user_ids) {
                require(core::is_valid_user_id(id), "accepted an invalid user id");
            }
            protocol::remove_duplicate_ids(msg.user_ids);
        }
        if (msg.type == protocol::ClientType::Update && msg.update.message) {
            require(protocol::is_valid_utf8(*msg.update.message), "message is not UTF-8");
            core::PresenceView v;
            v.user_id = "u";
            v.message = *msg.update.message;
            protocol::build_presence_frame(out, v);
            check_output(out);
        }
        protocol::build_heartbeat_ack_frame(out, 1, msg.ref_json);
        check_output(out);
    }

    core::StatusUpdate update;
    (void)protocol::parse_status_body(input, limits, update);
    std::vector<std::string> ids;
    (void)protocol::parse_user_ids_body(input, limits, 10, ids);

    const std::string path = "/api/presence" + std::string(input.substr(0, 256));
    for (const char* method : {"GET", "PUT", "DELETE", "POST"}) {
        (void)protocol::match_route("/api/presence", method, path);
    }
    return 0;
}
