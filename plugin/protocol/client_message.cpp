#include "protocol/client_message.hpp"

#include <cjson/cJSON.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_set>

#include "protocol/utf8.hpp"

namespace presence::protocol {
namespace {

constexpr std::size_t kMaxRefBytes = 64;
// until is epoch milliseconds: an integer a double holds exactly (2^53).
constexpr double kMaxExactInteger = 9007199254740992.0;

struct JsonDeleter {
    void operator()(cJSON* j) const { cJSON_Delete(j); }
};
using JsonPtr = std::unique_ptr<cJSON, JsonDeleter>;

ParseError fail(const char* code, std::string message) {
    ParseError e;
    e.code = code;
    e.message = std::move(message);
    return e;
}

std::string quoted(std::string_view s) {
    // Client values quoted in messages are cut short so an error never echoes a whole frame.
    std::string q = "\"";
    q += utf8_prefix(s, 64);
    if (q.size() - 1 < s.size()) q += "...";
    q += '"';
    return q;
}

// Checks size and UTF-8, then parses; the root must be an object.
ParseError parse_object(std::string_view data, const ParseLimits& limits, JsonPtr& root) {
    if (data.size() > limits.max_message_bytes) {
        return fail("too_large", "frame is " + std::to_string(data.size()) +
                                     " bytes, the limit is " +
                                     std::to_string(limits.max_message_bytes));
    }
    if (!is_valid_utf8(data)) return fail("bad_json", "frame is not valid UTF-8");
    const char* end = nullptr;
    root.reset(cJSON_ParseWithLengthOpts(data.data(), data.size(), &end, false));
    if (!root) return fail("bad_json", "frame is not valid JSON");
    // cJSON stops after the first value: anything but white space after it is malformed.
    const char* stop = data.data() + data.size();
    for (; end && end < stop; ++end) {
        if (*end != ' ' && *end != '\t' && *end != '\n' && *end != '\r') {
            return fail("bad_json", "unexpected text after the JSON value");
        }
    }
    if (!cJSON_IsObject(root.get())) return fail("bad_json", "frame must be a JSON object");
    return {};
}

bool is_integer(double d) {
    return std::isfinite(d) && std::floor(d) == d;
}

ParseError read_status_fields(const cJSON* root, core::StatusUpdate& update) {
    const cJSON* status = cJSON_GetObjectItemCaseSensitive(root, "status");
    if (!status) return fail("invalid_field", "status is required");
    if (!cJSON_IsString(status)) return fail("invalid_field", "status must be a string");
    const auto chosen = core::parse_chosen_status(status->valuestring);
    if (!chosen) {
        return fail("invalid_status", "unknown status " + quoted(status->valuestring) +
                                          " (online, away, dnd or invisible)");
    }
    update.status = *chosen;

    update.has_message = false;
    update.message.reset();
    if (const cJSON* message = cJSON_GetObjectItemCaseSensitive(root, "message")) {
        if (cJSON_IsNull(message)) {
            update.has_message = true;  // null clears the message
        } else if (cJSON_IsString(message)) {
            update.has_message = true;
            update.message = std::string(message->valuestring);  // length: checked by the core
        } else {
            return fail("invalid_field", "message must be a string or null");
        }
    }

    update.until.reset();
    if (const cJSON* until = cJSON_GetObjectItemCaseSensitive(root, "until")) {
        if (cJSON_IsNumber(until)) {
            const double v = until->valuedouble;
            if (!is_integer(v) || v < 0 || v > kMaxExactInteger) {
                return fail("invalid_field", "until must be epoch milliseconds (an integer)");
            }
            if (update.status == core::Status::Online) {
                return fail("invalid_field", "until is only allowed with away, dnd or invisible");
            }
            update.until = static_cast<core::Millis>(v);
        } else if (!cJSON_IsNull(until)) {
            return fail("invalid_field", "until must be a number or null");
        }
    }
    return {};
}

ParseError read_user_ids(const cJSON* root, std::size_t max_ids, std::vector<std::string>& ids) {
    const cJSON* arr = cJSON_GetObjectItemCaseSensitive(root, "user_ids");
    if (!arr) return fail("invalid_field", "user_ids is required");
    if (!cJSON_IsArray(arr)) return fail("invalid_field", "user_ids must be an array of strings");
    const auto n = static_cast<std::size_t>(cJSON_GetArraySize(arr));
    if (n > max_ids) {
        return fail("too_many", "user_ids has " + std::to_string(n) + " entries, the limit is " +
                                    std::to_string(max_ids));
    }
    ids.clear();
    ids.reserve(n);
    std::size_t index = 0;
    for (const cJSON* item = arr->child; item; item = item->next, ++index) {
        if (!cJSON_IsString(item)) {
            return fail("invalid_field",
                        "user_ids[" + std::to_string(index) + "] must be a string");
        }
        std::string_view id = item->valuestring;
        if (!core::is_valid_user_id(id)) {
            auto e = fail("invalid_field", "invalid user id " + quoted(id));
            e.user_ids.emplace_back(utf8_prefix(id, 64));
            return e;
        }
        ids.emplace_back(id);
    }
    return {};
}

// Reads the optional ref into `ref_json` (empty when absent).
ParseError read_ref(const cJSON* root, std::string& ref_json) {
    ref_json.clear();
    const cJSON* ref = cJSON_GetObjectItemCaseSensitive(root, "ref");
    if (!ref) return {};
    if (!cJSON_IsString(ref) && !cJSON_IsNumber(ref)) {
        return fail("invalid_field", "ref must be a string or a number");
    }
    // A string ref counts its own bytes (what the client wrote), a number its JSON text.
    if (cJSON_IsString(ref) && std::strlen(ref->valuestring) > kMaxRefBytes) {
        return fail("invalid_field", "ref is longer than 64 bytes");
    }
    char* text = cJSON_PrintUnformatted(ref);
    if (!text) return fail("invalid_field", "ref cannot be echoed");
    std::string printed(text);
    cJSON_free(text);
    if (cJSON_IsNumber(ref) && printed.size() > kMaxRefBytes) {
        return fail("invalid_field", "ref is longer than 64 bytes");
    }
    ref_json = std::move(printed);
    return {};
}

}  // namespace

ParseError parse_client_frame(std::string_view data, const ParseLimits& limits,
                              ClientMessage& msg) {
    msg = ClientMessage{};
    JsonPtr root;
    if (auto e = parse_object(data, limits, root)) return e;
    if (auto e = read_ref(root.get(), msg.ref_json)) return e;

    const cJSON* type = cJSON_GetObjectItemCaseSensitive(root.get(), "type");
    if (!type || !cJSON_IsString(type)) return fail("invalid_field", "type must be a string");
    const std::string_view t = type->valuestring;
    if (t == "presence_heartbeat") {
        msg.type = ClientType::Heartbeat;
        if (const cJSON* idle = cJSON_GetObjectItemCaseSensitive(root.get(), "idle")) {
            if (!cJSON_IsBool(idle)) return fail("invalid_field", "idle must be true or false");
            msg.idle = cJSON_IsTrue(idle);
        }
        return {};
    }
    if (t == "presence_update") {
        msg.type = ClientType::Update;
        return read_status_fields(root.get(), msg.update);
    }
    if (t == "presence_query") {
        msg.type = ClientType::Query;
        return read_user_ids(root.get(), limits.max_batch, msg.user_ids);
    }
    return fail("unknown_type", "unknown type " + quoted(t));
}

ParseError parse_status_body(std::string_view body, const ParseLimits& limits,
                             core::StatusUpdate& update) {
    JsonPtr root;
    if (auto e = parse_object(body, limits, root)) return e;
    return read_status_fields(root.get(), update);
}

ParseError parse_user_ids_body(std::string_view body, const ParseLimits& limits,
                               std::size_t max_ids, std::vector<std::string>& ids) {
    JsonPtr root;
    if (auto e = parse_object(body, limits, root)) return e;
    return read_user_ids(root.get(), max_ids, ids);
}

void remove_duplicate_ids(std::vector<std::string>& ids) {
    if (ids.size() < 2) return;
    std::unordered_set<std::string_view> seen;
    seen.reserve(ids.size());
    std::vector<std::string> unique;
    unique.reserve(ids.size());
    for (auto& id : ids) {
        if (seen.contains(id)) continue;
        unique.push_back(std::move(id));
        // A view of the kept copy: `unique` was reserved, so it never reallocates.
        seen.insert(unique.back());
    }
    ids = std::move(unique);
}

}  // namespace presence::protocol
