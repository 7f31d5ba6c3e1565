#include "protocol/frames.hpp"

#include "protocol/json_writer.hpp"

namespace presence::protocol {
namespace {

void append_ref(std::string& out, std::string_view ref_json) {
    if (ref_json.empty()) return;
    out += ",\"ref\":";
    out += ref_json;
}

template <typename Ids>
void append_id_array(std::string& out, const Ids& ids) {
    out.push_back('[');
    bool first = true;
    for (const auto& id : ids) {
        if (!first) out.push_back(',');
        first = false;
        append_json_string(out, id);
    }
    out.push_back(']');
}

void append_presence_array(std::string& out, std::span<const core::PresenceView> users) {
    out.push_back('[');
    for (std::size_t i = 0; i < users.size(); ++i) {
        if (i) out.push_back(',');
        append_presence_object(out, users[i]);
    }
    out.push_back(']');
}

// The three fields <presence> and <self> open with.
void append_identity(std::string& out, std::string_view user_id, core::Status status,
                     const std::optional<std::string_view>& message) {
    out += "\"user_id\":";
    append_json_string(out, user_id);
    out += ",\"status\":\"";
    out += core::to_string(status);
    out += "\",\"message\":";
    append_json_optional_string(out, message);
}

}  // namespace

void append_presence_fields(std::string& out, const core::PresenceView& v) {
    append_identity(out, v.user_id, v.status, v.message);
    out += ",\"last_seen\":";
    append_json_optional_int(out, v.last_seen);
}

void append_self_fields(std::string& out, const core::SelfView& s) {
    append_identity(out, s.user_id, s.chosen, s.message);
    out += ",\"until\":";
    append_json_optional_int(out, s.until);
    out += ",\"visibility\":";
    append_id_array(out, s.visibility);
    out += ",\"connections\":";
    append_json_int(out, s.connections);
}

void append_presence_object(std::string& out, const core::PresenceView& v) {
    out.push_back('{');
    append_presence_fields(out, v);
    out.push_back('}');
}

void append_self_object(std::string& out, const core::SelfView& s) {
    out.push_back('{');
    append_self_fields(out, s);
    out.push_back('}');
}

void build_presence_frame(std::string& out, const core::PresenceView& v) {
    out.clear();
    out += "{\"type\":\"presence\",";
    append_presence_fields(out, v);
    out.push_back('}');
}

void build_self_frame(std::string& out, const core::SelfView& s, std::string_view ref_json) {
    out.clear();
    out += "{\"type\":\"presence_self\",";
    append_self_fields(out, s);
    append_ref(out, ref_json);
    out.push_back('}');
}

void build_snapshot_frame(std::string& out, const core::SelfView& s,
                          std::span<const core::PresenceView> friends) {
    out.clear();
    out += "{\"type\":\"presence_snapshot\",\"self\":";
    append_self_object(out, s);
    out += ",\"friends\":";
    append_presence_array(out, friends);
    out.push_back('}');
}

void build_result_frame(std::string& out, std::span<const core::PresenceView> users,
                        std::string_view ref_json) {
    out.clear();
    out += "{\"type\":\"presence_result\",\"users\":";
    append_presence_array(out, users);
    append_ref(out, ref_json);
    out.push_back('}');
}

void build_heartbeat_ack_frame(std::string& out, core::Millis server_time,
                               std::string_view ref_json) {
    out.clear();
    out += "{\"type\":\"presence_heartbeat_ack\",\"server_time\":";
    append_json_int(out, server_time);
    append_ref(out, ref_json);
    out.push_back('}');
}

void build_error_frame(std::string& out, std::string_view code, std::string_view message,
                       std::string_view ref_json, std::span<const std::string> user_ids) {
    out.clear();
    out += "{\"type\":\"error\",\"code\":";
    append_json_string(out, code);
    out += ",\"message\":";
    append_json_string(out, message);
    if (!user_ids.empty()) {
        out += ",\"user_ids\":";
        append_id_array(out, user_ids);
    }
    append_ref(out, ref_json);
    out.push_back('}');
}

void build_rest_error(std::string& out, std::string_view code, std::string_view message,
                      std::span<const std::string> user_ids) {
    out.clear();
    out += "{\"error\":{\"code\":";
    append_json_string(out, code);
    out += ",\"message\":";
    append_json_string(out, message);
    if (!user_ids.empty()) {
        out += ",\"user_ids\":";
        append_id_array(out, user_ids);
    }
    out += "}}";
}

void build_users_body(std::string& out, std::span<const core::PresenceView> users) {
    out.clear();
    out += "{\"users\":";
    append_presence_array(out, users);
    out.push_back('}');
}

void build_user_ids_body(std::string& out, std::span<const std::string_view> ids) {
    out.clear();
    out += "{\"user_ids\":";
    append_id_array(out, ids);
    out.push_back('}');
}

}  // namespace presence::protocol
