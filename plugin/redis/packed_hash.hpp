// A user hash packed as one MessagePack array of strings (field, value, ...): what the batched
// put script (presence_scripts.hpp) answers and writes into feed entries, so Redis formats one
// string per user instead of ~30, and a reader parses it without building a reply tree.
#pragma once

#include <functional>
#include <string_view>

#include "redis/user_hash.hpp"

namespace presence::redis {

// Reads `packed` into a user hash by parse_user_hash's rules. Only an even-length array of strings
// (MessagePack fixarray/array16/array32 of fixstr/str8/16/32 or bin8/16/32) is accepted: anything
// else, a truncated value or bytes after the array returns false and leaves `out` empty.
bool unpack_user_hash(std::string_view packed, UserHash& out);

// The field/value pairs of `packed`, by the same rules; false as above (`pair` may have seen
// the pairs before the fault).
bool unpack_pairs(std::string_view packed,
                  const std::function<void(std::string_view field, std::string_view value)>& pair);

}  // namespace presence::redis
