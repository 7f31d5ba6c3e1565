// Server-to-client frames (SPEC 5) and REST bodies (SPEC 6), written by hand into a caller's
// buffer. Each `build_*` clears `out` first, so a caller reuses one buffer for every frame and
// the fan-out path allocates nothing once the buffer has grown.
//
// `ref_json` is the client's `ref` as JSON text (already validated), or empty for none; it is
// appended last as "ref":<ref_json>.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "core/types.hpp"

namespace presence::protocol {

// Field lists, without braces, so the same text serves inline frames and nested objects.
void append_presence_fields(std::string& out, const core::PresenceView& v);
void append_self_fields(std::string& out, const core::SelfView& s);

// {"user_id":..,"status":..,"message":..,"last_seen":..}
void append_presence_object(std::string& out, const core::PresenceView& v);
// {"user_id":..,"status":..,"message":..,"until":..,"visibility":[..],"connections":N}
void append_self_object(std::string& out, const core::SelfView& s);

// ---- WebSocket frames ----
void build_presence_frame(std::string& out, const core::PresenceView& v);
void build_self_frame(std::string& out, const core::SelfView& s, std::string_view ref_json = {});
void build_snapshot_frame(std::string& out, const core::SelfView& s,
                          std::span<const core::PresenceView> friends);
void build_result_frame(std::string& out, std::span<const core::PresenceView> users,
                        std::string_view ref_json = {});
void build_heartbeat_ack_frame(std::string& out, core::Millis server_time,
                               std::string_view ref_json = {});
// {"type":"error","code":..,"message":..[,"user_ids":[..]][,"ref":..]}
void build_error_frame(std::string& out, std::string_view code, std::string_view message,
                       std::string_view ref_json = {}, std::span<const std::string> user_ids = {});

// ---- REST bodies ----
// {"error":{"code":..,"message":..[,"user_ids":[..]]}}
void build_rest_error(std::string& out, std::string_view code, std::string_view message,
                      std::span<const std::string> user_ids = {});
void build_users_body(std::string& out,
                      std::span<const core::PresenceView> users);  // {"users":[..]}
void build_user_ids_body(std::string& out,
                         std::span<const std::string_view> ids);  // {"user_ids":[..]}

}  // namespace presence::protocol
