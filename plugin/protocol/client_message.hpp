// Parsing of client input: WebSocket frames (SPEC 5) and REST request bodies (SPEC 6), with
// cJSON. Every rejection is a value naming a SPEC error code, never an exception.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/types.hpp"

namespace presence::protocol {

struct ParseLimits {
    std::size_t max_message_bytes = 65536;  // frames/bodies above this are too_large
    std::size_t max_batch = 500;            // user_ids above this are too_many
};

// The outcome of a parse: ok, or a SPEC error code with a human-readable message.
struct ParseError {
    const char* code = nullptr;  // nullptr: ok; else "bad_json", "invalid_field", ...
    std::string message;
    std::vector<std::string> user_ids;  // offenders, where the error names ids
    explicit operator bool() const { return code != nullptr; }
};

enum class ClientType { Heartbeat, Update, Query };

struct ClientMessage {
    ClientType type = ClientType::Heartbeat;
    std::string ref_json;               // the ref as JSON text; empty when absent or invalid
    bool idle = false;                  // presence_heartbeat
    core::StatusUpdate update;          // presence_update
    std::vector<std::string> user_ids;  // presence_query, duplicates kept (the caller dedups)
};

// Parses one client WebSocket frame. On error, `msg.ref_json` still holds the ref when it was
// valid, so the error can echo it.
ParseError parse_client_frame(std::string_view data, const ParseLimits& limits, ClientMessage& msg);

// PUT /status body: {"status":..,"message":..,"until":..}.
ParseError parse_status_body(std::string_view body, const ParseLimits& limits,
                             core::StatusUpdate& update);
// POST /query and PUT /visibility body: {"user_ids":[..]} (at most `max_ids` entries).
ParseError parse_user_ids_body(std::string_view body, const ParseLimits& limits,
                               std::size_t max_ids, std::vector<std::string>& ids);

// Removes repeated ids, keeping the first occurrence (queries answer in the order asked).
void remove_duplicate_ids(std::vector<std::string>& ids);

}  // namespace presence::protocol
