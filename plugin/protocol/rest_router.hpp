// Maps an HTTP method and path to a presence route (SPEC 6). Pure: no state, no I/O, so the
// 404/405 rules are tested without a plugin.
#pragma once

#include <string>
#include <string_view>

namespace presence::protocol {

enum class RouteId {
    Me,                // GET /me
    PutStatus,         // PUT /status
    GetUser,           // GET /users/{id}
    Query,             // POST /query
    Friends,           // GET /friends
    GetVisibility,     // GET /visibility
    PutVisibility,     // PUT /visibility
    AddVisibility,     // PUT /visibility/{id}
    RemoveVisibility,  // DELETE /visibility/{id}
    Health,            // GET /health (no auth)
    Metrics,           // GET /metrics (no auth)
};

struct RouteMatch {
    enum class Kind {
        NotMine,           // outside the prefix: the host answers
        Found,             // `route` (+ `param`, percent-decoded) is set
        NotFound,          // under the prefix, no such resource: 404
        MethodNotAllowed,  // the resource exists, not with this method: 405 (`allow` lists)
    };
    Kind kind = Kind::NotMine;
    RouteId route = RouteId::Me;
    std::string param;  // the {id} of /users/{id} and /visibility/{id}
    std::string allow;  // e.g. "GET, PUT"
};

// `prefix` has no trailing slash (e.g. "/api/presence"); `path` excludes the query string.
RouteMatch match_route(std::string_view prefix, std::string_view method, std::string_view path);

// Whether a route needs an authenticated user (all but health).
bool route_needs_user(RouteId route);

}  // namespace presence::protocol
