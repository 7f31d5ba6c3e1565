// Reading what a client sent from lws' parsed headers, the same way for HTTP and WebSocket
// upgrades.
#pragma once

#include <libwebsockets.h>

#include <string>
#include <string_view>

namespace presence_host {

// A header as a string ("" when absent).
std::string header_value(lws* wsi, lws_token_indexes token);
// The query string without '?', fragments joined by '&' ("" when none). lws has already
// %-decoded each fragment.
std::string query_string(lws* wsi);
// The value of `name` in a query string ("" when absent).
std::string query_param(std::string_view query, std::string_view name);
// True when the target of an HTTP request line ("GET /a%2Fb?x=1 HTTP/1.1") holds a '%' not
// followed by two hex digits (lws refuses those with its own HTML 403 before any callback, so
// the host answers them itself, in the REST error shape), or %00 (a NUL would cut the path
// short).
bool has_bad_percent_escape(std::string_view request_line);
// The token of an `Authorization: Bearer <token>` header ("" when absent or another scheme).
std::string bearer_token(std::string_view authorization);

}  // namespace presence_host
