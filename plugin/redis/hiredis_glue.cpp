#include "redis/hiredis_glue.hpp"

#include <new>

namespace presence::redis {
namespace {

// 16 M elements: far above any reply presence reads.
constexpr int kMaxArrayElements = 1 << 24;

// Where the reader's next object goes: a new root, or its slot in the parent array (sized by
// create_array before any child comes, so the slot's address stays put).
Reply* place(const redisReadTask* task) {
    if (task->parent == nullptr) {
        // Owned by hiredis' reader (free_object) until take_reply() takes it.
        return std::make_unique<Reply>().release();
    }
    auto* parent = static_cast<Reply*>(task->parent->obj);
    if (parent == nullptr || task->idx < 0 ||
        static_cast<std::size_t>(task->idx) >= parent->elements.size()) {
        return nullptr;
    }
    return &parent->elements[static_cast<std::size_t>(task->idx)];
}

// The callbacks run inside hiredis (C): nothing may throw through it. A null return makes the
// reader fail ("Out of memory") and free the root it holds.
template <typename Fill>
void* build(const redisReadTask* task, Fill fill) noexcept {
    try {
        Reply* r = place(task);
        if (r != nullptr) fill(*r);
        return r;
    } catch (const std::bad_alloc&) {
        return nullptr;
    }
}

void* create_string(const redisReadTask* task, char* str, size_t len) {
    return build(task, [&](Reply& r) {
        r.type = task->type == REDIS_REPLY_ERROR    ? Reply::Type::Error
                 : task->type == REDIS_REPLY_STATUS ? Reply::Type::Status
                                                    : Reply::Type::String;
        r.str.assign(str, len);
    });
}

void* create_array(const redisReadTask* task, int elements) {
    // Debian's 0.14.1 (CVE-2021-32765 fix) rejects counts beyond INT_MAX, but still asks for
    // any count up to it (16 GB for *2147483647). Unpatched 0.14.1 hands a count past INT_MAX
    // on as a negative int.
    if (elements < 0 || elements > kMaxArrayElements) return nullptr;
    return build(task, [&](Reply& r) {
        r.type = Reply::Type::Array;
        r.elements.resize(static_cast<std::size_t>(elements));
    });
}

void* create_integer(const redisReadTask* task, long long value) {
    return build(task, [&](Reply& r) {
        r.type = Reply::Type::Integer;
        r.integer = value;
    });
}

void* create_nil(const redisReadTask* task) {
    return build(task, [](Reply& r) { r.type = Reply::Type::Nil; });
}

// hiredis frees only roots (a reply it gives up on, or the reader itself).
void free_object(void* root) {
    std::unique_ptr<Reply> owned(static_cast<Reply*>(root));
}

redisReplyObjectFunctions g_builder = {create_string, create_array, create_integer, create_nil,
                                       free_object};

}  // namespace

void use_reply_builder(redisContext* context) {
    if (context == nullptr || context->reader == nullptr) return;
    context->reader->fn = &g_builder;
}

redisReader* new_reply_reader() {
    return redisReaderCreateWithFunctions(&g_builder);
}

std::unique_ptr<Reply> take_reply(void* raw) {
    return std::unique_ptr<Reply>(static_cast<Reply*>(raw));
}

}  // namespace presence::redis
