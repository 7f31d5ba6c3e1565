// HTTP response headers the REST routes add (ETag, If-None-Match, Retry-After): pure helpers,
// no I/O, so the rules are unit-tested on their own.
#pragma once

#include <string>
#include <string_view>

namespace presence::protocol {

// A strong entity tag for a response body: a quoted 64-bit FNV-1a hash in hex, e.g.
// "\"af63bd4c8601b7df\"". Equal bodies give equal tags.
std::string etag_of(std::string_view body);

// True when an If-None-Match value names `etag` (a quoted tag as etag_of makes): "*", or a
// comma-separated list of tags, weak ("W/") or not, compared weakly as RFC 9110 asks.
bool if_none_match_matches(std::string_view if_none_match, std::string_view etag);

// Whole seconds (at least 1) until a bucket refilling `per_s` tokens a second has one again,
// for Retry-After on a 429.
std::string retry_after_seconds(double per_s);

// True when two header names are equal, ignoring ASCII case.
bool header_name_is(std::string_view name, std::string_view wanted);

}  // namespace presence::protocol
