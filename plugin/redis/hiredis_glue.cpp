#include "redis/hiredis_glue.hpp"

namespace presence::redis {
namespace {

// 16 M elements (128 MB of pointers): far above any reply presence reads.
constexpr int kMaxArrayElements = 1 << 24;

// hiredis' own object functions, captured once, and the same set with a bounded createArray.
struct GuardedFunctions {
    redisReplyObjectFunctions original{};
    redisReplyObjectFunctions guarded{};
};

GuardedFunctions* functions_for(const redisReplyObjectFunctions* original);

void* create_array(const redisReadTask* task, int elements) {
    // Debian's 0.14.1 (CVE-2021-32765 fix) rejects counts beyond INT_MAX, but still callocs
    // any count up to it (16 GB for *2147483647). Unpatched 0.14.1 hands a count past INT_MAX
    // on as a negative int. Either way, returning null makes the reader fail ("Out of memory").
    if (elements < 0 || elements > kMaxArrayElements) return nullptr;
    return functions_for(nullptr)->original.createArray(task, elements);
}

// The first caller passes hiredis' defaults; thread-safe static initialisation.
GuardedFunctions* functions_for(const redisReplyObjectFunctions* original) {
    static GuardedFunctions fns = [original] {
        GuardedFunctions f;
        f.original = *original;
        f.guarded = *original;
        f.guarded.createArray = create_array;
        return f;
    }();
    return &fns;
}

}  // namespace

Reply copy_reply(const redisReply* reply) {
    Reply out;
    if (reply == nullptr) return out;
    switch (reply->type) {
        case REDIS_REPLY_STATUS:
            out.type = Reply::Type::Status;
            out.str.assign(reply->str, reply->len);
            break;
        case REDIS_REPLY_ERROR:
            out.type = Reply::Type::Error;
            out.str.assign(reply->str, reply->len);
            break;
        case REDIS_REPLY_STRING:
            out.type = Reply::Type::String;
            out.str.assign(reply->str, reply->len);
            break;
        case REDIS_REPLY_INTEGER:
            out.type = Reply::Type::Integer;
            out.integer = reply->integer;
            break;
        case REDIS_REPLY_ARRAY:
            out.type = Reply::Type::Array;
            out.elements.reserve(reply->elements);
            for (std::size_t i = 0; i < reply->elements; ++i) {
                out.elements.push_back(copy_reply(reply->element[i]));
            }
            break;
        default:  // REDIS_REPLY_NIL
            break;
    }
    return out;
}

void guard_reader(redisContext* context) {
    if (context == nullptr || context->reader == nullptr || context->reader->fn == nullptr) return;
    GuardedFunctions* fns = functions_for(context->reader->fn);
    // Only hiredis' default set is wrapped (it is the same for every context).
    if (context->reader->fn->createArray == fns->original.createArray) {
        context->reader->fn = &fns->guarded;
    }
}

}  // namespace presence::redis
