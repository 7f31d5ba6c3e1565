#include "admin_routes.hpp"

#include <cjson/cJSON.h>
#include <openssl/crypto.h>

#include <memory>
#include <vector>

#include "presence_plugin.h"
#include "token.hpp"

namespace presence_host {
namespace {

struct JsonDeleter {
    void operator()(cJSON* json) const { cJSON_Delete(json); }
};
using JsonPtr = std::unique_ptr<cJSON, JsonDeleter>;

std::string json_string(std::string_view text) {
    JsonPtr json(cJSON_CreateString(std::string(text).c_str()));
    char* printed = cJSON_PrintUnformatted(json.get());
    std::string out = printed ? printed : "\"\"";
    cJSON_free(printed);
    return out;
}

bool same_secret(std::string_view given, std::string_view expected) {
    // Constant time over the expected length, so the token cannot be guessed byte by byte.
    return given.size() == expected.size() &&
           CRYPTO_memcmp(given.data(), expected.data(), expected.size()) == 0;
}

// Reads one op object; "" or what is wrong with it (status in `status`).
std::string read_op(const cJSON* item, AdminOp& op, int& status) {
    status = 400;
    if (!cJSON_IsObject(item)) return "must be an object";
    const cJSON* kind = cJSON_GetObjectItemCaseSensitive(item, "op");
    const cJSON* a = cJSON_GetObjectItemCaseSensitive(item, "a");
    const cJSON* b = cJSON_GetObjectItemCaseSensitive(item, "b");
    if (!cJSON_IsString(kind)) return "needs \"op\": \"add\" or \"remove\"";
    const std::string_view name = kind->valuestring;
    if (name == "add")
        op.op = PRESENCE_FRIENDSHIP_ADD;
    else if (name == "remove")
        op.op = PRESENCE_FRIENDSHIP_REMOVE;
    else
        return "op must be \"add\" or \"remove\"";
    if (!cJSON_IsString(a) || !cJSON_IsString(b)) return "needs string fields \"a\" and \"b\"";
    op.a = a->valuestring;
    op.b = b->valuestring;
    status = 422;
    if (!is_valid_user_id(op.a)) return "a is not a valid user id";
    if (!is_valid_user_id(op.b)) return "b is not a valid user id";
    if (op.a == op.b) return "a and b are the same user";
    status = 200;
    return {};
}

}  // namespace

bool is_admin_bearer(std::string_view admin_token, std::string_view bearer) {
    return !admin_token.empty() && !bearer.empty() && same_secret(bearer, admin_token);
}

std::string json_error(std::string_view code, std::string_view message) {
    return "{\"error\":{\"code\":" + json_string(code) + ",\"message\":" + json_string(message) +
           "}}";
}

AdminRequest read_admin_friendships(std::string_view method, std::string_view admin_token,
                                    std::string_view bearer, std::string_view body) {
    auto refuse = [](int status, std::string body_json) {
        AdminRequest r;
        r.refusal = {status, std::move(body_json)};
        return r;
    };
    if (admin_token.empty()) return refuse(404, json_error("not_found", "no such route"));
    if (bearer.empty() || !same_secret(bearer, admin_token)) {
        return refuse(401, json_error("unauthorized", "admin token required"));
    }
    if (method != "POST") return refuse(405, json_error("method_not_allowed", "use POST"));

    JsonPtr root(cJSON_ParseWithLength(body.data(), body.size()));
    if (!root || !cJSON_IsObject(root.get())) {
        return refuse(400, json_error("bad_json", "body must be a JSON object"));
    }
    const cJSON* list = cJSON_GetObjectItemCaseSensitive(root.get(), "ops");
    std::vector<const cJSON*> items;
    if (list) {
        if (!cJSON_IsArray(list)) {
            return refuse(400, json_error("invalid_field", "ops must be an array"));
        }
        const int count = cJSON_GetArraySize(list);
        if (count > static_cast<int>(kMaxAdminOps)) {
            return refuse(413, json_error("too_many", "at most 10000 ops per request"));
        }
        for (const cJSON* item = list->child; item; item = item->next) items.push_back(item);
    } else {
        items.push_back(root.get());
    }
    AdminRequest request;
    request.ops.resize(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
        int status = 400;
        const std::string problem = read_op(items[i], request.ops[i], status);
        if (!problem.empty()) {
            return refuse(status, json_error(status == 400 ? "invalid_field" : "invalid_user",
                                             "op " + std::to_string(i) + ": " + problem));
        }
    }
    request.refusal = {200, {}};
    return request;
}

AdminAnswer apply_admin_ops(const std::vector<AdminOp>& ops, const FriendshipBatchApplier& apply) {
    const std::string problem = apply(ops);
    if (!problem.empty()) {
        return {422, json_error("rejected", problem + " (nothing was applied)")};
    }
    return {200, "{\"applied\":" + std::to_string(ops.size()) + "}"};
}

AdminAnswer handle_admin_friendships(std::string_view method, std::string_view admin_token,
                                     std::string_view bearer, std::string_view body,
                                     const FriendshipApplier& apply) {
    AdminRequest request = read_admin_friendships(method, admin_token, bearer, body);
    if (!request.ok()) return request.refusal;
    const std::vector<AdminOp>& ops = request.ops;
    size_t applied = 0;
    for (size_t i = 0; i < ops.size(); ++i) {
        const std::string problem = apply(ops[i].op, ops[i].a, ops[i].b);
        if (!problem.empty()) {
            return {422, json_error("rejected", "op " + std::to_string(i) + ": " + problem + " (" +
                                                    std::to_string(applied) +
                                                    " ops before it were applied)")};
        }
        ++applied;
    }
    return {200, "{\"applied\":" + std::to_string(applied) + "}"};
}

}  // namespace presence_host
