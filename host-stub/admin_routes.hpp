// POST /admin/friendships: how the host application tells the plugin that friendships
// changed (SPEC section 6). Body `{"op":"add"|"remove","a":"..","b":".."}` or
// `{"ops":[...]}` with up to 10,000 ops, guarded by `Authorization: Bearer <host.admin_token>`.
//
// Every op is checked before any is applied, so a malformed batch changes nothing:
// JSON/shape errors are 400 and bad user ids (invalid, or a == b) are 422, each naming the
// op index. Answers `{"applied":N}`.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace presence_host {

struct AdminAnswer {
    int status = 200;
    std::string body;  // JSON
};

inline constexpr size_t kMaxAdminOps = 10000;

// One checked op: op is PRESENCE_FRIENDSHIP_ADD/_REMOVE, a and b valid and different ids.
struct AdminOp {
    int op = 0;
    std::string a, b;
};

// A request read and checked without applying anything: `ops` when refusal.status is 200,
// else the answer that refuses it (the same as handle_admin_friendships gives).
struct AdminRequest {
    AdminAnswer refusal;
    std::vector<AdminOp> ops;
    bool ok() const { return refusal.status == 200; }
};
AdminRequest read_admin_friendships(std::string_view method, std::string_view admin_token,
                                    std::string_view bearer, std::string_view body);

// Applies checked ops through the plugin at once (its bulk call): "" or the plugin's reason.
using FriendshipBatchApplier = std::function<std::string(const std::vector<AdminOp>& ops)>;
// {"applied":N}, or 422 "rejected" with the plugin's reason (nothing applied).
AdminAnswer apply_admin_ops(const std::vector<AdminOp>& ops, const FriendshipBatchApplier& apply);

// Applies one op through the plugin: op is PRESENCE_FRIENDSHIP_ADD/_REMOVE; returns "" or
// the plugin's reason.
using FriendshipApplier =
    std::function<std::string(int op, std::string_view a, std::string_view b)>;

// `admin_token` empty means the route does not exist (404).
AdminAnswer handle_admin_friendships(std::string_view method, std::string_view admin_token,
                                     std::string_view bearer, std::string_view body,
                                     const FriendshipApplier& apply);

// True when `bearer` is the host's admin token (compared in constant time); never when no
// admin token is set.
bool is_admin_bearer(std::string_view admin_token, std::string_view bearer);

// `{"error":{"code":..,"message":..}}`, the plugin's REST error shape.
std::string json_error(std::string_view code, std::string_view message);

}  // namespace presence_host
