// What plugin/redis needs from hiredis beyond its headers: copying a reply tree into `Reply`,
// and a reader that refuses absurd array sizes (hiredis 0.14.1 would calloc whatever count a
// broken or hostile peer announces).
#pragma once

#include <hiredis/hiredis.h>

#include "redis/redis_reply.hpp"

namespace presence::redis {

// Deep copy of a hiredis reply (nullptr gives a Nil reply).
Reply copy_reply(const redisReply* reply);

// Makes the context's reader fail with "Out of memory" on arrays over a sane size instead of
// allocating them.
void guard_reader(redisContext* context);

}  // namespace presence::redis
