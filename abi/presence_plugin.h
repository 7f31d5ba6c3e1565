/*
 * presence_plugin.h - the whole contract between a host server and the presence plugin.
 *
 * C11 only. A host needs nothing but this header to load and drive libpresence.so.
 *
 * Loading
 *   void* so = dlopen("libpresence.so", RTLD_NOW | RTLD_LOCAL);
 *   presence_entry_fn entry = (presence_entry_fn)dlsym(so, PRESENCE_ENTRY_SYMBOL);
 *   char why[256];
 *   const presence_plugin_api* api = entry(PRESENCE_ABI_VERSION, why, sizeof why);
 *   if (!api) { fprintf(stderr, "plugin refused: %s\n", why); ... }
 *
 * Versioning (append-only, in the style of SQLite extensions and Redis modules)
 *   - The host passes the ABI version it speaks; the plugin returns its function table for
 *     that version or NULL plus a reason. Version 1 is the only version so far.
 *   - Every struct that crosses the boundary starts with `uint32_t struct_size`, set by the
 *     side that fills the struct to sizeof(its struct). Fields are only ever appended; a
 *     reader checks PRESENCE_HAS_FIELD(ptr, type, field) before reading a field added later.
 *   - Optional host callbacks may be NULL; the plugin checks before calling and degrades.
 *
 * Threads
 *   - The host calls every function of presence_plugin_api from ONE thread (its event-loop
 *     thread), never concurrently. The plugin calls host callbacks from that thread only,
 *     from inside a hook, EXCEPT `wake` and `log`, which it may call from any thread.
 *   - After `wake`, the host calls `api->on_wake(plugin)` soon, on its loop thread. That is
 *     how results of the plugin's worker threads (database, Redis) come back.
 *   - No hook blocks on the network or a database; blocking I/O runs on the plugin's own
 *     worker threads.
 *
 * Memory and ownership
 *   - Every pointer passed in a call is borrowed for the duration of that call only. The
 *     callee copies what it keeps. Nothing is ever free()d on the other side of the boundary.
 *   - Frames and bodies the plugin passes to `send`, `send_many` and `respond` are borrowed:
 *     the host copies (or queues a copy of) the bytes before the callback returns.
 *   - Error reasons are written into caller-owned buffers (`err`, `err_cap`), always
 *     NUL-terminated and truncated to fit.
 *   - No C++ exception ever leaves the plugin; every hook is noexcept.
 *
 * Strings are UTF-8, passed as pointer + length unless documented as NUL-terminated.
 */
#ifndef PRESENCE_PLUGIN_H
#define PRESENCE_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PRESENCE_ABI_VERSION 1u
#define PRESENCE_ENTRY_SYMBOL "presence_plugin_entry"

/* True when a struct filled by the other side is large enough to hold `field`. */
#define PRESENCE_HAS_FIELD(ptr, type, field) \
    ((ptr)->struct_size >= offsetof(type, field) + sizeof(((type*)0)->field))

/* Opaque plugin instance, made by create() and ended by destroy(). */
typedef struct presence_plugin presence_plugin;

/* Log levels for presence_host_api.log. */
#define PRESENCE_LOG_ERROR 0
#define PRESENCE_LOG_WARN 1
#define PRESENCE_LOG_INFO 2
#define PRESENCE_LOG_DEBUG 3

/* Effective statuses, as reported to the host's change callback. */
#define PRESENCE_STATUS_OFFLINE 0
#define PRESENCE_STATUS_ONLINE 1
#define PRESENCE_STATUS_AWAY 2
#define PRESENCE_STATUS_DND 3
#define PRESENCE_STATUS_INVISIBLE 4 /* only ever a chosen status, never an effective one */

/* One host setting. Both strings NUL-terminated, borrowed for the call. */
typedef struct presence_setting {
    const char* key;   /* e.g. "presence.offline_grace_s" */
    const char* value; /* e.g. "3" */
} presence_setting;

/*
 * A change of a user's effective presence, as friends outside the visibility list see it.
 * Passed to presence_host_api.on_presence_change. Borrowed for the call.
 */
typedef struct presence_change {
    uint32_t struct_size;
    const char* user_id; /* NUL-terminated */
    uint32_t user_id_len;
    int32_t status;        /* PRESENCE_STATUS_*: what friends (not on the list) now see */
    int32_t chosen_status; /* PRESENCE_STATUS_*: what the user chose (may be INVISIBLE) */
    int32_t connections;   /* live connections of the user, on every instance (SPEC 9) */
    const char* message;   /* NULL when none; NUL-terminated */
    int64_t last_seen_ms;  /* -1 when never seen */
    int64_t at_ms;         /* when the change happened (host clock) */
} presence_change;

/* One HTTP request handed to the plugin. Every pointer borrowed for the on_http call. */
typedef struct presence_http_request {
    uint32_t struct_size;
    uint64_t request_id; /* host-chosen, unique among outstanding requests */
    const char* method;  /* NUL-terminated, upper case: "GET", "PUT", ... */
    const char* path;    /* NUL-terminated, URL path without query; %-encoded or already
                          * decoded (libwebsockets decodes): the plugin accepts both, since no
                          * valid user id contains '%' */
    const char* query;   /* NUL-terminated query string without '?', or NULL */
    const char* user_id; /* NUL-terminated authenticated user, or NULL when unauthenticated */
    const char* body;    /* request body, may be NULL when body_len == 0 */
    size_t body_len;
} presence_http_request;

/*
 * What the host gives the plugin. Filled by the host, borrowed by create(): the plugin
 * copies the struct (not the host_ctx it points to), so the host may free it after create().
 */
typedef struct presence_host_api {
    uint32_t struct_size;
    void* host_ctx; /* passed back as the first argument of every callback */

    /* Queue one WebSocket text frame for a connection. The host copies `data` before
     * returning. Returns 0 when queued, -1 when the connection is unknown or being closed.
     * Loop thread only. */
    int (*send)(void* host_ctx, uint64_t conn_id, const char* data, size_t len);

    /* Close a connection with a WebSocket close code (1000, 1001, 1008, ...) and a short
     * reason (NUL-terminated, may be NULL). The host later calls on_disconnect for it, from
     * a later loop turn, never from inside this call. Loop thread only. */
    void (*close)(void* host_ctx, uint64_t conn_id, uint16_t code, const char* reason);

    /* Answer an HTTP request given to on_http, now (inside on_http) or later (from any later
     * hook). Exactly once per request the plugin accepted. `content_type` NUL-terminated;
     * `body` copied before return. Loop thread only. */
    void (*respond)(void* host_ctx, uint64_t request_id, int status, const char* content_type,
                    const char* body, size_t body_len);

    /* Read a host setting (any key, e.g. "host.listen"); returns a NUL-terminated string the
     * host owns and keeps valid until destroy(), or NULL. Loop thread only. May be NULL. */
    const char* (*get_setting)(void* host_ctx, const char* key);

    /* Log one line (NUL-terminated, no newline). ANY thread. May be NULL. */
    void (*log)(void* host_ctx, int level, const char* message);

    /* Current wall-clock time in epoch milliseconds. Tests pass a virtual clock here. The
     * plugin reads time only through this callback. Loop thread only. */
    int64_t (*now_ms)(void* host_ctx);

    /* Ask the host to call api->on_wake(plugin) soon on its loop thread. ANY thread;
     * must not block; several wakes may be merged into one on_wake. */
    void (*wake)(void* host_ctx);

    /* Optional (may be NULL): hears every change of a user's effective presence, for push
     * notifications, audit or analytics. Loop thread, called from inside a hook; must not
     * call back into the plugin. */
    void (*on_presence_change)(void* host_ctx, const presence_change* change);

    /* Optional (may be NULL): queue the same frame for many connections at once; the host
     * may share one copy among them. Same rules as `send`; unknown ids are skipped.
     * Returns how many connections got it. Loop thread only. */
    size_t (*send_many)(void* host_ctx, const uint64_t* conn_ids, size_t n_conns, const char* data,
                        size_t len);
} presence_host_api;

/* Friendship operations for presence_plugin_api.friendship. */
#define PRESENCE_FRIENDSHIP_ADD 1
#define PRESENCE_FRIENDSHIP_REMOVE 2

/* Return values of on_http. */
#define PRESENCE_HTTP_NOT_MINE 0 /* not a presence route: the host answers it (e.g. 404) */
#define PRESENCE_HTTP_HANDLED 1  /* respond() was called or will be called exactly once */

/*
 * What the plugin gives the host: a static table, valid until dlclose().
 * Every function is called on the host's loop thread only.
 */
typedef struct presence_plugin_api {
    uint32_t struct_size;
    uint32_t abi_version; /* the version this table serves */
    const char* name;     /* "presence" */
    const char* version;  /* plugin release, e.g. "0.1.0" */

    /* Make an instance. `host` and `settings` are borrowed for the call (copied). Every
     * "presence.*" key is validated; an unknown key or a malformed value makes create return
     * NULL with a reason naming the key in `err`. Starts the plugin's worker threads.
     * With presence.redis_url set it tries Redis once (bounded by a 1 s connect timeout):
     * a wrong password or a peer that is not Redis fails create; an unreachable Redis starts
     * degraded and is retried in the background. With several instances, on_presence_change
     * fires on the instance where the change happened only (once per change). */
    presence_plugin* (*create)(const presence_host_api* host, const presence_setting* settings,
                               size_t n_settings, char* err, size_t err_cap);

    /* Flush what must last (the store's write queue), stop worker threads, free everything.
     * No callbacks into the host after it returns. */
    void (*destroy)(presence_plugin* plugin);

    /* A WebSocket connection of an authenticated user opened. `conn_id` is host-chosen and
     * not reused while the connection lives. Returns 0 to accept. Any other value is a
     * WebSocket close code: the plugin refused the connection (it may have sent an error
     * frame first); the host closes it and does NOT call on_disconnect for it. */
    int (*on_connect)(presence_plugin* plugin, uint64_t conn_id, const char* user_id,
                      size_t user_id_len);

    /* A connection closed (either side). Called once for every accepted connection. */
    void (*on_disconnect)(presence_plugin* plugin, uint64_t conn_id);

    /* One complete text message received on an accepted connection. */
    void (*on_message)(presence_plugin* plugin, uint64_t conn_id, const char* data, size_t len);

    /* An HTTP request. Returns PRESENCE_HTTP_NOT_MINE or PRESENCE_HTTP_HANDLED. */
    int (*on_http)(presence_plugin* plugin, const presence_http_request* request);

    /* Periodic timer; the host calls it at least every `tick_interval_ms()` milliseconds.
     * Its work is proportional to what is due. */
    void (*tick)(presence_plugin* plugin);

    /* Called after the plugin called host->wake (from any thread). */
    void (*on_wake)(presence_plugin* plugin);

    /* The host application's friendships changed: op is PRESENCE_FRIENDSHIP_ADD or _REMOVE,
     * a and b are user ids (both directions implied). Returns 0, or -1 with a reason in err
     * (bad id, a == b, unknown op). */
    int (*friendship)(presence_plugin* plugin, int op, const char* a, size_t a_len, const char* b,
                      size_t b_len, char* err, size_t err_cap);

    /* How often tick wants to run, in milliseconds (constant for an instance). */
    uint32_t (*tick_interval_ms)(presence_plugin* plugin);
} presence_plugin_api;

/*
 * The one exported symbol. `host_abi_version` is the version the host speaks. Returns the
 * table, or NULL with a reason in `err` (caller-owned, `err_cap` bytes).
 */
typedef const presence_plugin_api* (*presence_entry_fn)(uint32_t host_abi_version, char* err,
                                                        size_t err_cap);

#if defined(__GNUC__)
__attribute__((visibility("default")))
#endif
const presence_plugin_api*
presence_plugin_entry(uint32_t host_abi_version, char* err, size_t err_cap);

#ifdef __cplusplus
}
#endif

#endif /* PRESENCE_PLUGIN_H */
