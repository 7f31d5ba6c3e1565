// The REST routes of SPEC 6. Routing is in protocol/rest_router; this file loads what a
// route needs and answers, now or (after a store load) later through host->respond.
#include <cstring>

#include "protocol/frames.hpp"
#include "protocol/http_headers.hpp"
#include "protocol/json_writer.hpp"
#include "protocol/rest_router.hpp"
#include "service/hook_scope.hpp"
#include "service/service.hpp"

namespace presence::service {

using protocol::RouteId;
using protocol::RouteMatch;

void Service::respond(std::uint64_t id, int status, const std::string& body,
                      const char* content_type) {
    // Exactly once per request: a request answered (or dropped at shutdown) is forgotten.
    const auto it = pending_http_.find(id);
    if (it == pending_http_.end()) return;
    const PendingHttp request = std::move(it->second);
    pending_http_.erase(it);
    if (!host_.respond_with_headers) {
        host_.respond(host_.host_ctx, id, status, content_type, body.data(), body.size());
        return;
    }
    // The headers each answer carries (the ABI header lists them, respond_with_headers).
    presence_http_header headers[2];
    std::size_t n = 0;
    auto add = [&](std::string_view name, std::string_view value) {
        headers[n++] = {name.data(), name.size(), value.data(), value.size()};
    };
    std::string value;
    std::string_view out = body;
    if (status == 401) {
        add("WWW-Authenticate", "Bearer realm=\"presence\"");
    } else if (status == 405) {
        add("Allow", request.allow);
    } else if (status == 429) {
        value = protocol::retry_after_seconds(config_.updates_per_s);
        add("Retry-After", value);
    } else if (status == 503) {
        add("Retry-After", "1");
    } else if (status == 200 && request.get) {
        value = protocol::etag_of(body);
        add("ETag", value);
        add("Cache-Control", "no-cache");
        if (!request.if_none_match.empty() &&
            protocol::if_none_match_matches(request.if_none_match, value)) {
            status = 304;  // the client's copy is current: no body
            out = {};
        }
    }
    host_.respond_with_headers(host_.host_ctx, id, status, content_type, headers, n, out.data(),
                               out.size());
}

void Service::respond_error(std::uint64_t id, int status, std::string_view code,
                            std::string_view message, std::span<const std::string> user_ids) {
    std::string body;
    protocol::build_rest_error(body, code, message, user_ids);
    if (status != 401 && status != 404 && status != 405) metrics_.error(std::string(code));
    respond(id, status, body);
}

void Service::respond_core_error(std::uint64_t id, core::CoreError e,
                                 std::span<const std::string> offenders) {
    switch (e) {
        case core::CoreError::RateLimited:
            respond_error(id, 429, "rate_limited",
                          "too many updates: the latest is applied as soon as the limit allows");
            return;
        case core::CoreError::UnknownUser:
            respond_error(id, 503, "unavailable", "user not available, retry later");
            return;
        case core::CoreError::NotFriend: {
            std::string msg = "not a friend:";
            for (const auto& o : offenders) msg += " " + o;
            respond_error(id, 422, "not_friend", msg, offenders);
            return;
        }
        case core::CoreError::InvalidStatus:
            respond_error(id, 422, "invalid_status", "status not allowed");
            return;
        case core::CoreError::InvalidField:
            respond_error(
                id, 422, "invalid_field",
                "invalid field (message over 128 characters, or until not in the future)");
            return;
        case core::CoreError::TooMany:
            respond_error(id, 422, "too_many", "too many entries");
            return;
        case core::CoreError::None:
            break;
    }
}

void Service::respond_self(std::uint64_t id, const std::string& user, bool ack) {
    std::string body;
    protocol::append_self_object(body, core_.self(user));
    if (ack) return ack_http(id, std::move(body));
    respond(id, 200, body);
}

void Service::respond_visibility(std::uint64_t id, const std::string& user, bool ack) {
    const core::SelfView self = core_.self(user);
    std::string body;
    protocol::build_user_ids_body(body, self.visibility);
    if (ack) return ack_http(id, std::move(body));
    respond(id, 200, body);
}

std::string Service::health_body() const {
    const store::StoreHealth h = store_->health();
    const bool redis_up = !shared_ || shared_->up();
    std::string body = "{\"status\":";
    body += h.ok && redis_up ? "\"ok\"" : "\"degraded\"";
    body += ",\"db\":";
    body += h.backend == "memory" ? "\"memory\"" : (h.ok ? "\"ok\"" : "\"down\"");
    body += ",\"redis\":";
    body += !shared_ ? "\"disabled\"" : (redis_up ? "\"ok\"" : "\"down\"");
    body += ",\"instance\":";
    protocol::append_json_string(body, config_.instance_id);
    body += ",\"connections\":";
    body += std::to_string(core_.connection_count());
    body += '}';
    return body;
}

MetricsSnapshot Service::metrics_snapshot() const {
    MetricsSnapshot g;
    g.connections = core_.connection_count();
    g.online_users = core_.online_user_count();
    g.loaded_users = core_.loaded_user_count();
    g.users_evicted = users_evicted_;
    g.user_slots = core_.interned_user_count();
    const auto h = store_->health();
    g.store_queue_depth = h.queue_depth;
    g.store_ok = h.ok;
    if (shared_) {
        const SharedStats s = shared_->stats();
        g.redis_enabled = true;
        g.redis_up = s.link.up;
        g.feed_lag_ms = s.link.feed_lag_ms;
        g.changes_published = s.link.published;
        g.changes_applied = s.applied;
        g.instances_reaped = s.link.instances_reaped;
        g.users_reaped = s.link.users_reaped;
        g.resyncs = s.resyncs;
    }
    return g;
}

int Service::on_http(const presence_http_request& req) {
    HookScope scope(*this);
    const std::string_view method = req.method ? req.method : "";
    const std::string_view path = req.path ? req.path : "";
    RouteMatch m = protocol::match_route(config_.http_prefix, method, path);
    if (m.kind == RouteMatch::Kind::NotMine) return PRESENCE_HTTP_NOT_MINE;

    const std::uint64_t id = req.request_id;
    PendingHttp pending;
    pending.get = method == "GET";
    pending.allow = m.allow;
    if (PRESENCE_HAS_FIELD(&req, presence_http_request, n_headers) && req.headers) {
        for (std::size_t i = 0; i < req.n_headers; ++i) {
            const presence_http_header& h = req.headers[i];
            if (h.name && h.value &&
                protocol::header_name_is({h.name, h.name_len}, "If-None-Match")) {
                pending.if_none_match.assign(h.value, h.value_len);
            }
        }
    }
    if (!pending_http_.emplace(id, std::move(pending)).second) {
        log(PRESENCE_LOG_WARN, "request id reused while outstanding: " + std::to_string(id));
    }
    if (m.kind == RouteMatch::Kind::NotFound) {
        respond_error(id, 404, "not_found", "no such presence route");
        return PRESENCE_HTTP_HANDLED;
    }
    if (m.kind == RouteMatch::Kind::MethodNotAllowed) {
        respond_error(id, 405, "method_not_allowed", "allowed: " + m.allow);
        return PRESENCE_HTTP_HANDLED;
    }
    if (m.route == RouteId::Metrics && !(PRESENCE_HAS_FIELD(&req, presence_http_request, flags) &&
                                         (req.flags & PRESENCE_HTTP_OPERATOR))) {
        respond_error(id, 401, "unauthorized", "metrics are for the host's operator");
        return PRESENCE_HTTP_HANDLED;
    }
    std::string user;
    if (protocol::route_needs_user(m.route)) {
        if (!req.user_id || !core::is_valid_user_id(req.user_id)) {
            respond_error(id, 401, "unauthorized", "authentication required");
            return PRESENCE_HTTP_HANDLED;
        }
        user = req.user_id;
    }
    const std::string_view body =
        req.body && req.body_len ? std::string_view(req.body, req.body_len) : std::string_view{};
    if (body.size() > config_.max_message_bytes) {
        respond_error(id, 413, "too_large",
                      "body over " + std::to_string(config_.max_message_bytes) + " bytes");
        return PRESENCE_HTTP_HANDLED;
    }
    handle_http(id, static_cast<int>(m.route), m.param, user, body);
    return PRESENCE_HTTP_HANDLED;
}

namespace {
int status_for_parse_error(const protocol::ParseError& e) {
    const std::string_view code = e.code;
    if (code == "bad_json") return 400;
    if (code == "too_large") return 413;
    return 422;
}
}  // namespace

// One REST route: the cheap ones answered at once, the rest through a handler per route
// (each loads what it needs, then asks the core).
void Service::handle_http(std::uint64_t id, int route_int, const std::string& param,
                          const std::string& user, std::string_view body) {
    const auto route = static_cast<RouteId>(route_int);
    switch (route) {
        case RouteId::Health:
            return respond(id, 200, health_body());
        case RouteId::Metrics:
            return respond(id, 200, metrics_.render(metrics_snapshot()),
                           "text/plain; version=0.0.4");
        case RouteId::Me:
        case RouteId::GetVisibility:
            return http_own_state(id, user, route == RouteId::Me);
        case RouteId::PutStatus:
            return http_put_status(id, user, body);
        case RouteId::GetUser:
            return http_get_user(id, user, param);
        case RouteId::Query:
            return http_query(id, user, body);
        case RouteId::Friends:
            return http_friends(id, user);
        case RouteId::PutVisibility:
            return http_put_visibility(id, user, body);
        case RouteId::AddVisibility:
        case RouteId::RemoveVisibility:
            return http_change_visibility(id, user, param, route == RouteId::AddVisibility);
    }
}

void Service::respond_unavailable(std::uint64_t id) {
    respond_error(id, 503, "unavailable", "presence store unavailable, retry later");
}

// GET /me (`whole`) or GET /visibility.
void Service::http_own_state(std::uint64_t id, const std::string& user, bool whole) {
    loader_.ensure({user}, {user}, [this, id, user, whole](bool ok) {
        if (!ok) return respond_unavailable(id);
        if (whole) {
            respond_self(id, user);
        } else {
            respond_visibility(id, user);
        }
    });
}

void Service::http_put_status(std::uint64_t id, const std::string& user, std::string_view body) {
    core::StatusUpdate update;
    if (auto e = protocol::parse_status_body(body, limits_, update)) {
        return respond_error(id, status_for_parse_error(e), e.code, e.message);
    }
    loader_.ensure({user}, {user}, [this, id, user, update](bool ok) {
        if (!ok) return respond_unavailable(id);
        const auto e = core_.update_status(user, update, 0, now());
        if (e != core::CoreError::None) return respond_core_error(id, e);
        respond_self(id, user, true);
    });
}

void Service::http_get_user(std::uint64_t id, const std::string& user, const std::string& param) {
    if (!core::is_valid_user_id(param)) {
        return respond_error(id, 422, "invalid_field", "invalid user id");
    }
    loader_.ensure_viewer(user, {param}, false, [this, id, user, param](bool ok) {
        if (!ok) return respond_unavailable(id);
        std::string out;
        protocol::append_presence_object(out, core_.view(user, param));
        respond(id, 200, out);
    });
}

void Service::http_query(std::uint64_t id, const std::string& user, std::string_view body) {
    std::vector<std::string> ids;
    if (auto e = protocol::parse_user_ids_body(body, limits_, config_.max_batch, ids)) {
        return respond_error(id, status_for_parse_error(e), e.code, e.message, e.user_ids);
    }
    protocol::remove_duplicate_ids(ids);
    loader_.ensure_viewer(user, ids, false, [this, id, user, ids](bool ok) {
        if (!ok) return respond_unavailable(id);
        views_.clear();
        for (const auto& s : ids) views_.push_back(core_.view(user, s));
        std::string out;
        protocol::build_users_body(out, views_);
        respond(id, 200, out);
    });
}

void Service::http_friends(std::uint64_t id, const std::string& user) {
    loader_.ensure_viewer(user, {}, true, [this, id, user](bool ok) {
        if (!ok) return respond_unavailable(id);
        const auto views = core_.friends_view(user);
        std::string out;
        protocol::build_users_body(out, views);
        respond(id, 200, out);
    });
}

void Service::http_put_visibility(std::uint64_t id, const std::string& user,
                                  std::string_view body) {
    std::vector<std::string> ids;
    if (auto e = protocol::parse_user_ids_body(body, limits_, config_.max_visibility, ids)) {
        return respond_error(id, status_for_parse_error(e), e.code, e.message, e.user_ids);
    }
    protocol::remove_duplicate_ids(ids);
    loader_.ensure({user}, {user}, [this, id, user, ids](bool ok) {
        if (!ok) return respond_unavailable(id);
        std::vector<std::string> offenders;
        const auto e = core_.set_visibility(user, ids, &offenders, now());
        if (e != core::CoreError::None) return respond_core_error(id, e, offenders);
        respond_visibility(id, user, true);
    });
}

// PUT (`add`) or DELETE /visibility/{id}.
void Service::http_change_visibility(std::uint64_t id, const std::string& user,
                                     const std::string& param, bool add) {
    if (!core::is_valid_user_id(param)) {
        return respond_error(id, 422, "invalid_field", "invalid user id");
    }
    loader_.ensure({user}, {user}, [this, id, user, param, add](bool ok) {
        if (!ok) return respond_unavailable(id);
        const auto e = add ? core_.add_visibility(user, param, now())
                           : core_.remove_visibility(user, param, now());
        if (e != core::CoreError::None) {
            const std::vector<std::string> offenders{param};
            return respond_core_error(id, e, offenders);
        }
        respond_visibility(id, user, true);
    });
}

}  // namespace presence::service
