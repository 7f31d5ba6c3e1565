// What plugin/redis needs from hiredis beyond its headers: a reader that builds our `Reply`
// tree directly (no hiredis reply tree to copy and free: one allocation per array and per long
// string instead of three), and refuses absurd array sizes (hiredis 0.14.1 would calloc
// whatever count a broken or hostile peer announces).
#pragma once

#include <hiredis/hiredis.h>

#include <memory>

#include "redis/redis_reply.hpp"

namespace presence::redis {

// Makes the context's reader build `Reply` objects: every reply redisGetReplyFromReader hands
// out afterwards is a Reply* to take with take_reply(). Arrays over a sane size make the reader
// fail with "Out of memory" instead of being allocated.
void use_reply_builder(redisContext* context);

// A reader on its own (no connection) with the same builder: what a connection reads, fed from
// bytes (the redis_reply fuzz target). Free with redisReaderFree.
redisReader* new_reply_reader();

// Ownership of a reply the builder made (nullptr gives nullptr).
std::unique_ptr<Reply> take_reply(void* raw);

}  // namespace presence::redis
