// SPEC 6: routes under the prefix, 404 for unknown ones, 405 for wrong methods.
#include "protocol/rest_router.hpp"

// CppUTest last: its memory-leak macros must not rewrite standard headers.
// clang-format off
#include <CppUTest/TestHarness.h>
// clang-format on

using namespace presence::protocol;
using Kind = RouteMatch::Kind;

namespace {
const char* kPrefix = "/api/presence";
}

TEST_GROUP(RestRouter){};

TEST(RestRouter, OutsideThePrefixIsNotMine) {
    CHECK(match_route(kPrefix, "GET", "/").kind == Kind::NotMine);
    CHECK(match_route(kPrefix, "GET", "/api/presencex/me").kind == Kind::NotMine);
    CHECK(match_route(kPrefix, "GET", "/api").kind == Kind::NotMine);
}

TEST(RestRouter, EveryRouteOfTheSpec) {
    CHECK(match_route(kPrefix, "GET", "/api/presence/me").route == RouteId::Me);
    CHECK(match_route(kPrefix, "PUT", "/api/presence/status").route == RouteId::PutStatus);
    CHECK(match_route(kPrefix, "POST", "/api/presence/query").route == RouteId::Query);
    CHECK(match_route(kPrefix, "GET", "/api/presence/friends").route == RouteId::Friends);
    CHECK(match_route(kPrefix, "GET", "/api/presence/visibility").route == RouteId::GetVisibility);
    CHECK(match_route(kPrefix, "PUT", "/api/presence/visibility").route == RouteId::PutVisibility);
    CHECK(match_route(kPrefix, "GET", "/api/presence/health").route == RouteId::Health);
    CHECK(match_route(kPrefix, "GET", "/api/presence/metrics").route == RouteId::Metrics);
    auto m = match_route(kPrefix, "GET", "/api/presence/users/bob%40x");
    CHECK(m.kind == Kind::Found && m.route == RouteId::GetUser);
    STRCMP_EQUAL("bob@x", m.param.c_str());
    m = match_route(kPrefix, "PUT", "/api/presence/visibility/carol");
    CHECK(m.kind == Kind::Found && m.route == RouteId::AddVisibility);
    STRCMP_EQUAL("carol", m.param.c_str());
    m = match_route(kPrefix, "DELETE", "/api/presence/visibility/carol");
    CHECK(m.kind == Kind::Found && m.route == RouteId::RemoveVisibility);
}

TEST(RestRouter, UnknownRouteUnderPrefixIs404) {
    CHECK(match_route(kPrefix, "GET", "/api/presence").kind == Kind::NotFound);
    CHECK(match_route(kPrefix, "GET", "/api/presence/").kind == Kind::NotFound);
    CHECK(match_route(kPrefix, "GET", "/api/presence/nope").kind == Kind::NotFound);
    CHECK(match_route(kPrefix, "GET", "/api/presence/users/").kind == Kind::NotFound);
    CHECK(match_route(kPrefix, "GET", "/api/presence/users/a/b").kind == Kind::NotFound);
    CHECK(match_route(kPrefix, "GET", "/api/presence/users/%zz").kind == Kind::NotFound);
}

TEST(RestRouter, WrongMethodIs405) {
    auto m = match_route(kPrefix, "POST", "/api/presence/me");
    CHECK(m.kind == Kind::MethodNotAllowed);
    STRCMP_EQUAL("GET", m.allow.c_str());
    m = match_route(kPrefix, "DELETE", "/api/presence/visibility");
    CHECK(m.kind == Kind::MethodNotAllowed);
    STRCMP_EQUAL("GET, PUT", m.allow.c_str());
    CHECK(match_route(kPrefix, "GET", "/api/presence/status").kind == Kind::MethodNotAllowed);
    CHECK(match_route(kPrefix, "GET", "/api/presence/visibility/x").kind == Kind::MethodNotAllowed);
}

TEST(RestRouter, OnlyHealthNeedsNoUser) {
    CHECK_FALSE(route_needs_user(RouteId::Health));
    CHECK_FALSE(route_needs_user(RouteId::Metrics));  // the operator flag instead
    CHECK_TRUE(route_needs_user(RouteId::Me));
}
