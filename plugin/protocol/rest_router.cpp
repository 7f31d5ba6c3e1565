#include "protocol/rest_router.hpp"

#include "util/percent_decode.hpp"

namespace presence::protocol {
namespace {

RouteMatch found(RouteId id, std::string param = {}) {
    RouteMatch m;
    m.kind = RouteMatch::Kind::Found;
    m.route = id;
    m.param = std::move(param);
    return m;
}

RouteMatch not_allowed(const char* allow) {
    RouteMatch m;
    m.kind = RouteMatch::Kind::MethodNotAllowed;
    m.allow = allow;
    return m;
}

RouteMatch not_found() {
    RouteMatch m;
    m.kind = RouteMatch::Kind::NotFound;
    return m;
}

// A resource with a single method.
RouteMatch single(std::string_view method, const char* want, RouteId id) {
    return method == want ? found(id) : not_allowed(want);
}

}  // namespace

// SPEC 6: only health is open (load balancers probe it). Metrics reveal live usage figures,
// so a scraper authenticates like any client.
bool route_needs_user(RouteId route) {
    // Metrics need the host's operator flag instead (presence_http_request.flags).
    return route != RouteId::Health && route != RouteId::Metrics;
}

RouteMatch match_route(std::string_view prefix, std::string_view method, std::string_view path) {
    if (path.substr(0, prefix.size()) != prefix) return {};
    std::string_view rest = path.substr(prefix.size());
    // "/api/presencex" is not ours; "/api/presence" and "/api/presence/..." are.
    if (!rest.empty() && rest.front() != '/') return {};

    if (rest == "/me") return single(method, "GET", RouteId::Me);
    if (rest == "/status") return single(method, "PUT", RouteId::PutStatus);
    if (rest == "/query") return single(method, "POST", RouteId::Query);
    if (rest == "/friends") return single(method, "GET", RouteId::Friends);
    if (rest == "/health") return single(method, "GET", RouteId::Health);
    if (rest == "/metrics") return single(method, "GET", RouteId::Metrics);
    if (rest == "/visibility") {
        if (method == "GET") return found(RouteId::GetVisibility);
        if (method == "PUT") return found(RouteId::PutVisibility);
        return not_allowed("GET, PUT");
    }

    // Routes with one {id} segment.
    auto param_of = [&](std::string_view base, std::string& param) {
        if (rest.substr(0, base.size()) != base) return false;
        const std::string_view raw = rest.substr(base.size());
        if (raw.empty() || raw.find('/') != std::string_view::npos) return false;
        auto decoded = util::percent_decode(raw);
        if (!decoded) return false;
        param = std::move(*decoded);
        return !param.empty();
    };
    std::string param;
    if (param_of("/users/", param)) {
        return method == "GET" ? found(RouteId::GetUser, std::move(param)) : not_allowed("GET");
    }
    if (param_of("/visibility/", param)) {
        if (method == "PUT") return found(RouteId::AddVisibility, std::move(param));
        if (method == "DELETE") return found(RouteId::RemoveVisibility, std::move(param));
        return not_allowed("PUT, DELETE");
    }
    return not_found();
}

}  // namespace presence::protocol
