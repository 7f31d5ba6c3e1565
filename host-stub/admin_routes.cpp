#include "admin_routes.hpp"

#include <cjson/cJSON.h>
#include <openssl/crypto.h>

#include <memory>
#include <vector>

#include "abi/presence_plugin.h"
#include "token.hpp"

namespace presence_host {
namespace {

struct JsonDeleter {
    void operator()(cJSON* json) const { cJSON_Delete(json); }
};
using JsonPtr = std::unique_ptr<cJSON, JsonDeleter>;

struct Op {
    int op;
    std::string a, b;
};

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
std::string read_op(const cJSON* item, Op& op, int& status) {
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

std::string json_error(std::string_view code, std::string_view message) {
    return "{\"error\":{\"code\":" + json_string(code) + ",\"message\":" + json_string(message) +
           "}}";
}

AdminAnswer handle_admin_friendships(std::string_view method, std::string_view admin_token,
                                     std::string_view bearer, std::string_view body,
                                     const FriendshipApplier& apply) {
    if (admin_token.empty()) return {404, json_error("not_found", "no such route")};
    if (bearer.empty() || !same_secret(bearer, admin_token)) {
        return {401, json_error("unauthorized", "admin token required")};
    }
    if (method != "POST") return {405, json_error("method_not_allowed", "use POST")};

    JsonPtr root(cJSON_ParseWithLength(body.data(), body.size()));
    if (!root || !cJSON_IsObject(root.get())) {
        return {400, json_error("bad_json", "body must be a JSON object")};
    }
    std::vector<Op> ops;
    const cJSON* list = cJSON_GetObjectItemCaseSensitive(root.get(), "ops");
    std::vector<const cJSON*> items;
    if (list) {
        if (!cJSON_IsArray(list)) return {400, json_error("invalid_field", "ops must be an array")};
        const int count = cJSON_GetArraySize(list);
        if (count > static_cast<int>(kMaxAdminOps)) {
            return {413, json_error("too_many", "at most 10000 ops per request")};
        }
        for (const cJSON* item = list->child; item; item = item->next) items.push_back(item);
    } else {
        items.push_back(root.get());
    }
    ops.resize(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
        int status = 400;
        const std::string problem = read_op(items[i], ops[i], status);
        if (!problem.empty()) {
            return {status, json_error(status == 400 ? "invalid_field" : "invalid_user",
                                       "op " + std::to_string(i) + ": " + problem)};
        }
    }
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
