// The HTTP half of the protocol callback. Host routes (the demo page, /admin/friendships) are
// answered here; everything else goes to the plugin's on_http with a request id. The plugin
// may answer later (respond() from any later hook), so an exchange waits in `exchanges_`
// until its answer is written or its client goes away.
//
// Authentication choice: a request with no token, or with a token that is present but
// invalid or expired, reaches the plugin with user_id NULL. The plugin then answers 401 for
// routes that need a user, and routes without auth (GET /health) still work. A demo host
// also accepts ?user=NAME from loopback peers.
#include <strings.h>

#include <algorithm>
#include <cstring>

#include "admin_routes.hpp"
#include "demo_page.hpp"
#include "host_server.hpp"
#include "request_fields.hpp"

namespace presence_host {
namespace {

constexpr size_t kMaxHttpBody = 8u * 1024u * 1024u;  // 10,000 admin ops fit easily
constexpr size_t kWriteChunk = 16u * 1024u;

struct MethodToken {
    lws_token_indexes token;
    const char* name;
};

constexpr MethodToken kMethods[] = {
    {WSI_TOKEN_GET_URI, "GET"},     {WSI_TOKEN_POST_URI, "POST"},
    {WSI_TOKEN_PUT_URI, "PUT"},     {WSI_TOKEN_DELETE_URI, "DELETE"},
    {WSI_TOKEN_PATCH_URI, "PATCH"}, {WSI_TOKEN_OPTIONS_URI, "OPTIONS"},
    {WSI_TOKEN_HEAD_URI, "HEAD"},
};

const char* method_of(lws* wsi) {
    for (const auto& method : kMethods) {
        if (lws_hdr_total_length(wsi, method.token) > 0) return method.name;
    }
    return nullptr;
}

}  // namespace

int HostServer::on_http_request(lws* wsi, SessionSlot* slot, const char* uri) {
    if (!slot) return -1;
    if (slot->http) on_http_closed(slot);  // a keep-alive client moved on to its next request
    auto exchange = std::make_unique<HttpExchange>();
    exchange->wsi = wsi;
    exchange->request_id = next_request_id_++;
    const char* method = method_of(wsi);
    exchange->method = method ? method : "";
    exchange->path = uri ? uri : "/";
    exchange->query = query_string(wsi);
    exchange->authorization = header_value(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
    exchange->if_none_match = header_value(wsi, WSI_TOKEN_HTTP_IF_NONE_MATCH);
    exchange->user_id = authenticate(wsi, bearer_token(exchange->authorization), exchange->query);
    exchange->has_user = !exchange->user_id.empty();
    HttpExchange& ref = *exchange;
    slot->http = exchange.get();
    slot->connection = nullptr;
    exchanges_.emplace(ref.request_id, std::move(exchange));

    if (!method) {
        answer(ref, 405, "application/json", json_error("method_not_allowed", "unknown method"));
        return 0;
    }
    // A body follows when the client announced one; lws then calls HTTP_BODY and
    // HTTP_BODY_COMPLETION, and the request is dispatched there.
    const int content_length = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH);
    if (content_length > 0) {
        const std::string announced = header_value(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH);
        if (announced != "0") return 0;
    }
    return dispatch_http(ref);
}

int HostServer::on_http_body(SessionSlot* slot, const char* data, size_t len) {
    if (!slot || !slot->http) return -1;
    HttpExchange& exchange = *slot->http;
    if (exchange.body.size() + len > kMaxHttpBody) {
        exchange.body_too_large = true;
        std::string().swap(exchange.body);
        return 0;
    }
    if (!exchange.body_too_large) exchange.body.append(data, len);
    return 0;
}

int HostServer::dispatch_http(HttpExchange& exchange) {
    if (exchange.responded) return 0;
    if (exchange.body_too_large) {
        answer(exchange, 413, "application/json", json_error("too_large", "body too large"));
        return 0;
    }
    if (options_.demo && exchange.path == "/" && exchange.method == "GET") {
        answer(exchange, 200, "text/html; charset=utf-8", demo_page_html());
        return 0;
    }
    if (exchange.path == "/admin/friendships") {
        AdminRequest request =
            read_admin_friendships(exchange.method, options_.admin_token,
                                   bearer_token(exchange.authorization), exchange.body);
        if (!request.ok()) {
            answer(exchange, request.refusal.status, "application/json",
                   std::move(request.refusal.body));
        } else if (friendship_table_) {
            // The host application writes its own table first; the plugin is told once the
            // rows are in (finish_friendship_writes), so a restart finds them.
            const uint64_t ticket = friendship_table_->submit(std::move(request.ops));
            friendship_writes_.emplace(ticket, exchange.request_id);
        } else {
            AdminAnswer result = apply_admin_ops(
                request.ops,
                [this](const std::vector<AdminOp>& ops) { return apply_friendships(ops); });
            answer(exchange, result.status, "application/json", std::move(result.body));
        }
        return 0;
    }
    if (exchange.path == metrics_path_) {
        // SPEC 6: metrics are for operators (the admin token), never a user's token. The
        // plugin answers them for whoever the host names, so the host names its operator.
        if (!is_admin_bearer(options_.admin_token, bearer_token(exchange.authorization))) {
            answer(exchange, 401, "application/json",
                   json_error("unauthorized", "metrics need the admin token"));
            return 0;
        }
        exchange.operator_request = true;
    }
    if (!plugin_) {
        answer(exchange, 503, "application/json", json_error("unavailable", "stopping"));
        return 0;
    }
    presence_http_request request{};
    request.struct_size = sizeof request;
    request.request_id = exchange.request_id;
    request.method = exchange.method.c_str();
    request.path = exchange.path.c_str();
    request.query = exchange.query.empty() ? nullptr : exchange.query.c_str();
    request.user_id = exchange.has_user ? exchange.user_id.c_str() : nullptr;
    request.body = exchange.body.empty() ? nullptr : exchange.body.data();
    request.body_len = exchange.body.size();
    request.flags = exchange.operator_request ? PRESENCE_HTTP_OPERATOR : 0u;
    // The one request header the plugin reads (see presence_http_request.headers).
    static constexpr char kIfNoneMatch[] = "If-None-Match";
    const presence_http_header if_none_match{kIfNoneMatch, sizeof kIfNoneMatch - 1,
                                             exchange.if_none_match.data(),
                                             exchange.if_none_match.size()};
    if (!exchange.if_none_match.empty()) {
        request.headers = &if_none_match;
        request.n_headers = 1;
    }
    const uint64_t id = exchange.request_id;
    if (api_->on_http(plugin_, &request) == PRESENCE_HTTP_NOT_MINE) {
        // respond() may have erased nothing here: NOT_MINE means the plugin did not answer.
        const auto it = exchanges_.find(id);
        if (it != exchanges_.end() && !it->second->responded) {
            answer(*it->second, 404, "application/json", json_error("not_found", "no such route"));
        }
    }
    return 0;
}

std::string HostServer::apply_friendships(const std::vector<AdminOp>& ops) {
    if (!plugin_) return "plugin not running";
    char why[256] = "";
    if (PRESENCE_HAS_FIELD(api_, presence_plugin_api, friendships)) {
        std::vector<presence_friendship> list;
        list.reserve(ops.size());
        for (const AdminOp& op : ops) {
            list.push_back({op.op, op.a.data(), op.a.size(), op.b.data(), op.b.size()});
        }
        if (api_->friendships(plugin_, list.data(), list.size(), why, sizeof why) != 0) {
            return why[0] ? why : "refused";
        }
        return {};
    }
    for (const AdminOp& op : ops) {  // a plugin older than the bulk call
        if (api_->friendship(plugin_, op.op, op.a.data(), op.a.size(), op.b.data(), op.b.size(),
                             why, sizeof why) != 0) {
            return why[0] ? why : "refused";
        }
    }
    return {};
}

// Loop thread, after a wake: the admin batches whose rows are written (or failed) are
// applied to the plugin and answered. The plugin learns of a written batch even when its
// client has gone; a failed one is not applied (503), so table and plugin agree.
void HostServer::finish_friendship_writes() {
    if (!friendship_table_) return;
    for (FriendshipTable::Written& done : friendship_table_->take_finished()) {
        const auto pending = friendship_writes_.find(done.ticket);
        const uint64_t request_id = pending == friendship_writes_.end() ? 0 : pending->second;
        if (pending != friendship_writes_.end()) friendship_writes_.erase(pending);
        AdminAnswer result;
        if (!done.ok) {
            log(PRESENCE_LOG_WARN, ("friendships table: " + done.error).c_str());
            result = {503, json_error("unavailable", "friendships table: " + done.error)};
        } else {
            result = apply_admin_ops(done.ops, [this](const std::vector<AdminOp>& ops) {
                return apply_friendships(ops);
            });
        }
        const auto exchange = exchanges_.find(request_id);
        if (exchange != exchanges_.end() && !exchange->second->responded) {
            answer(*exchange->second, result.status, "application/json", std::move(result.body));
        }
    }
}

void HostServer::respond(uint64_t request_id, int status, const char* content_type,
                         const char* body, size_t len, const presence_http_header* headers,
                         size_t n_headers) {
    const auto it = exchanges_.find(request_id);
    if (it == exchanges_.end()) return;  // the client went away; the answer has nowhere to go
    if (it->second->responded) {
        log(PRESENCE_LOG_WARN, "plugin answered an HTTP request twice; second answer dropped");
        return;
    }
    answer(*it->second, status, content_type ? content_type : "application/json",
           std::string(body ? body : "", body ? len : 0), headers, n_headers);
}

void HostServer::answer(HttpExchange& exchange, int status, const char* content_type,
                        std::string body, const presence_http_header* headers, size_t n_headers) {
    exchange.responded = true;
    exchange.status = status;
    exchange.content_type = content_type;
    exchange.response_headers.clear();
    for (size_t i = 0; headers && i < n_headers; ++i) {
        if (!headers[i].name || !headers[i].value) continue;
        exchange.response_headers.emplace_back(std::string(headers[i].name, headers[i].name_len),
                                               std::string(headers[i].value, headers[i].value_len));
    }
    // LWS_PRE spare bytes before the body: lws_write needs headroom before what it sends.
    exchange.response.assign(LWS_PRE, '\0');
    exchange.response += body;
    exchange.sent = 0;
    std::string().swap(exchange.body);
    lws_callback_on_writable(exchange.wsi);
}

int HostServer::on_http_writeable(lws* wsi, SessionSlot* slot) {
    if (!slot || !slot->http) return 0;
    HttpExchange& exchange = *slot->http;
    if (!exchange.responded) return 0;  // the plugin has not answered yet
    const size_t body_len = exchange.response.size() - LWS_PRE;
    if (!exchange.headers_sent) {
        unsigned char buffer[LWS_PRE + 1024];
        unsigned char* start = buffer + LWS_PRE;
        unsigned char* p = start;
        unsigned char* end = buffer + sizeof buffer - 1;
        if (lws_add_http_common_headers(wsi, static_cast<unsigned int>(exchange.status),
                                        exchange.content_type.c_str(), body_len, &p, end)) {
            return -1;
        }
        // The plugin's headers (ETag, Retry-After, Allow, ...); lws wants "Name:" with the colon.
        bool cache_control = false;
        for (const auto& [name, value] : exchange.response_headers) {
            if (strcasecmp(name.c_str(), "Cache-Control") == 0) cache_control = true;
            const std::string with_colon = name + ":";
            if (lws_add_http_header_by_name(
                    wsi, reinterpret_cast<const unsigned char*>(with_colon.c_str()),
                    reinterpret_cast<const unsigned char*>(value.data()),
                    static_cast<int>(value.size()), &p, end)) {
                return -1;
            }
        }
        // Presence answers change from one moment to the next: no cache keeps them, unless the
        // plugin said otherwise (an ETag answer is "no-cache": kept, but asked again each time).
        if ((!cache_control &&
             lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
                                          reinterpret_cast<const unsigned char*>("no-store"), 8, &p,
                                          end)) ||
            lws_finalize_write_http_header(wsi, start, &p, end)) {
            return -1;
        }
        exchange.headers_sent = true;
        if (body_len > 0 && exchange.method != "HEAD") {
            lws_callback_on_writable(wsi);
            return 0;
        }
    } else {
        // One chunk per writable; the bytes before the chunk (already sent) serve as headroom.
        const size_t chunk = std::min(kWriteChunk, body_len - exchange.sent);
        const bool last = exchange.sent + chunk == body_len;
        auto* data =
            reinterpret_cast<unsigned char*>(exchange.response.data()) + LWS_PRE + exchange.sent;
        if (lws_write(wsi, data, chunk, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) !=
            static_cast<int>(chunk)) {
            return -1;
        }
        exchange.sent += chunk;
        if (!last) {
            lws_callback_on_writable(wsi);
            return 0;
        }
    }
    // Done: forget the exchange, keep the connection for the next request if it can.
    slot->http = nullptr;
    exchanges_.erase(exchange.request_id);
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

void HostServer::on_http_closed(SessionSlot* slot) {
    if (!slot || !slot->http) return;
    // A late respond() for this id will find nothing and be dropped.
    exchanges_.erase(slot->http->request_id);
    slot->http = nullptr;
}

}  // namespace presence_host
