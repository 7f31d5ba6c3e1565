/*
 * presence_plugin.h - the whole contract between a host server and the presence plugin.
 *
 * C11 only. A host needs nothing but this header to load and drive libpresence.so.
 *
 * Loading (the installed soname; a path such as build/plugin/libpresence.so works too)
 *   void* so = dlopen("libpresence.so.1", RTLD_NOW | RTLD_LOCAL);
 *   presence_entry_fn entry = (presence_entry_fn)dlsym(so, PRESENCE_ENTRY_SYMBOL);
 *   char why[256];
 *   const presence_plugin_api* api = entry(PRESENCE_ABI_VERSION, why, sizeof why);
 *   if (!api) { fprintf(stderr, "plugin refused: %s\n", why); ... }
 *
 * Versioning (append-only, in the style of SQLite extensions and Redis modules)
 *   - The host passes the ABI version it speaks; the plugin returns its function table for
 *     that version or NULL plus a reason. Version 1 is the only version so far.
 *   - Every struct passed by pointer to one object starts with `uint32_t struct_size`, set by
 *     the side that fills the struct to sizeof(its struct). Fields are only ever appended; a
 *     reader checks PRESENCE_HAS_FIELD(ptr, type, field) before reading a field added later.
 *   - Structs passed as ARRAYS (presence_setting, presence_http_header, presence_friendship)
 *     are frozen instead: no struct_size, and their layout never changes, so an array has one
 *     stride on both sides. Anything richer would come as a new struct with a new call.
 *   - Optional host callbacks may be NULL; the plugin checks before calling and degrades.
 *   - Slots and fields marked "(plugin 0.2)" were appended after the first release of
 *     version 1: a host that may meet an older libpresence.so checks them with
 *     PRESENCE_HAS_FIELD(api, presence_plugin_api, slot) first (see "Version policy").
 *
 * Version policy
 *   - PRESENCE_ABI_VERSION changes only for what appending cannot express: a slot or field
 *     removed, retyped, moved or given another meaning. New hooks, callbacks, fields,
 *     constants, settings, close codes and REST routes are appended within the version.
 *   - A plugin serves every version it still supports and returns that version's table
 *     (abi_version says which); it refuses an unknown or retired version with a reason.
 *   - A newer host with an older plugin:
 *       same version: the plugin's table may end earlier than the host's struct. Check
 *       PRESENCE_HAS_FIELD before calling a later slot and fall back (e.g. without
 *       max_message_bytes, parse presence.max_message_bytes yourself, default 65536).
 *       older version: entry(newer) returns NULL with a reason. A host that also speaks the
 *       older version calls entry again with it and drives that version's table; a host
 *       that does not refuses to load the plugin with the plugin's reason.
 *   - A newer plugin with an older host: the host's structs are shorter (struct_size); the
 *     plugin reads only what they hold and treats missing optional callbacks as NULL.
 *   - The file name carries the version too: libpresence.so.<PRESENCE_ABI_VERSION> is the
 *     soname; dlopen that name, so a future incompatible build is never picked up by chance.
 *
 * Threads
 *   - The host calls every function of presence_plugin_api from ONE thread (its event-loop
 *     thread), never concurrently. The plugin calls host callbacks from that thread only,
 *     from inside a hook, EXCEPT `wake` and `log`, which it may call from any thread.
 *   - The loop thread of an instance is the thread of its first hook after create. create
 *     and destroy may run on another thread while no hook of the instance can run (before
 *     the loop starts, after it stopped); callbacks made inside destroy run on its thread.
 *   - After `wake`, the host calls `api->on_wake(plugin)` soon, on its loop thread. That is
 *     how results of the plugin's worker threads (database, Redis) come back.
 *   - Debug builds of the plugin (NDEBUG not defined) check every hook: one called on
 *     another thread than the loop thread, or while another hook of the same instance is
 *     running (re-entered from a callback), logs an error naming the hook and aborts.
 *     Release builds do not check (the check is two compares per hook).
 *
 * Blocking (which calls may take long, and how long)
 *   - create: yes. With presence.db_url it connects to MariaDB (3 s connect timeout), takes
 *     GET_LOCK('presence_schema', 60) and creates or migrates the plugin's tables, and
 *     checks presence.friends_query: usually well under a second; about 3 s when the
 *     database does not answer (create then fails); up to 60 s more only while another
 *     instance is migrating the same schema. With presence.redis_url see create.
 *   - destroy: yes. It flushes the MariaDB write queue (waits at most 5 s; what is still
 *     unwritten then is logged and lost), then lets a database call already running finish
 *     (normally milliseconds; against a database that stopped answering, until the
 *     connection's 30 s read timeout) and, with presence.redis_url, removes this instance's
 *     devices from Redis, bounded by the Redis client's timeouts (about 2-4 s). With the
 *     in-memory store and no Redis it returns at once.
 *   - Every other hook: no. No hook waits on the network or a database (that I/O runs on
 *     the plugin's worker threads); a hook's work is proportional to what it is given (a
 *     message, the timers due at a tick, the friends of a user whose presence changed).
 *
 * Re-entrancy (what may be called from inside what)
 *   - The host never calls a function of presence_plugin_api from inside a host callback
 *     (send, send_many, close, respond, respond_with_headers, now_ms, log,
 *     on_presence_change): the plugin is in the middle of a hook. Work a callback wants to
 *     start waits until the hook returned, e.g. a socket that fails inside `send`: return
 *     -1 and call on_disconnect from a later loop turn. (Hooks of ANOTHER instance may be
 *     called from a callback: instances share nothing.)
 *   - From inside any hook the plugin may call send, send_many, close and respond for any
 *     connection or request. In particular: inside on_connect it sends the snapshot to the
 *     new connection (so the host must accept sends to conn_id before calling on_connect);
 *     inside on_disconnect it sends to the user's OTHER devices (presence_self with the new
 *     connection count) and to friends, never to the connection being disconnected (a host
 *     may answer such a send with -1).
 *   - `close` never calls on_disconnect from inside itself; `respond` may come from inside
 *     on_http or any later hook.
 *
 * Connections and close codes
 *   on_connect returns 0 (accepted) or a close code (refused: the host closes the socket
 *   and never calls on_disconnect for it). An accepted connection can still be closed by
 *   the plugin later through `close`; the host still calls on_disconnect for it once the
 *   socket is closed. Frames sent before `close` (an error explaining it) go out first.
 *     1001 PRESENCE_CLOSE_GOING_AWAY  (close, from tick) nothing received for
 *                                     presence.heartbeat_timeout_s.
 *     1008 PRESENCE_CLOSE_POLICY      (refusal) an invalid user id, a NULL user, a conn_id
 *                                     already in use; (refusal, or close after the load)
 *                                     more than presence.max_connections_per_user, after a
 *                                     `too_many` error frame; (close) more than 30 error
 *                                     frames (bad input, rate limits, too large) in 10 s.
 *     1011 PRESENCE_CLOSE_INTERNAL    (refusal or close) an internal error (a bug; logged).
 *     1013 PRESENCE_CLOSE_TRY_AGAIN   (refusal or close after the load) the store could not
 *                                     load the user (database down for 3 s), after an
 *                                     `unavailable` error frame: the client retries later.
 *   A refusal decided while on_connect runs is its return value: always with the in-memory
 *   store, and whenever the user is already loaded. Otherwise (MariaDB, a user not in
 *   memory) on_connect returns 0 and the decision comes after the load, through `close`.
 *
 * Message size
 *   The host enforces max_message_bytes(plugin) (presence.max_message_bytes) on WebSocket
 *   messages after reassembling fragments: a longer message is never passed to on_message;
 *   the host drops its bytes (it need not buffer past the limit) and calls
 *   on_message_too_large(plugin, conn_id, len) once the message ended, and the plugin sends
 *   the `too_large` error frame (the connection stays open). An HTTP body over the limit is
 *   answered 413 by on_http; a host may also answer 413 itself without reading it all.
 *   Binary frames: hand them to on_message like text (the plugin answers bytes that are not
 *   a UTF-8 JSON object with `bad_json`, as presence-host does), or close with 1003.
 *
 * Friendships (they belong to the host application)
 *   - friendship() and friendships() tell the plugin that edges changed. It applies each to
 *     what it holds in memory, in call order: at once when both users are loaded or neither
 *     is, otherwise after loading the missing side from the store (so the loaded user can be
 *     shown the other's presence); viewers get their `presence` frames when it is applied.
 *     Adding an existing edge or removing a missing one changes nothing.
 *   - The plugin never writes friendships anywhere durable:
 *       in-memory store (presence.db_url empty): the graph lives in the instance's memory,
 *       seeded once at create from presence.friends_file (never written back). After a
 *       restart the host calls friendships() with its whole graph, or keeps that file
 *       current.
 *       MariaDB store: friends are read from the HOST's table through
 *       presence.friends_query when a user is loaded, and cached only while loaded. The host
 *       writes its own table first, then calls friendship() so loaded users see the change
 *       at once. At start there is nothing to replay.
 *       With presence.redis_url: a call on any one instance applies on every instance.
 *
 * Settings
 *   create takes presence_setting {key, value} pairs, both NUL-terminated and borrowed. A
 *   NULL key skips the pair; a NULL value is read as "" (the default for db_url, redis_url
 *   and friends_file, malformed for numbers). Keys that do not start with "presence." are
 *   ignored, so a host may pass its whole configuration; within "presence.", an unknown
 *   key or a malformed value fails create naming the key. A key given twice: each value is
 *   checked, the last one is used. presence_host_api.get_setting is never called by the
 *   plugin (reserved; may be NULL).
 *
 * Hosts with several worker threads or processes
 *   An instance is single-threaded. Two ways to use several cores:
 *   a) One instance on one plugin thread, sockets on several workers: workers hand opens,
 *      messages and closes to the plugin thread (a queue), which calls the hooks; `send`
 *      and `close`, called on the plugin thread, copy the frame into the queue of the worker
 *      that owns the socket and wake it. Connection ids are unique across all workers (for
 *      example the worker's index in the high 16 bits).
 *   b) One instance per worker thread or process, each on its own loop, all with the same
 *      presence.redis_url (and presence.db_url) and distinct presence.instance_id values:
 *      they are one service; a user's devices may sit on any of them.
 *   Several instances in one process are fine: the plugin has no global state (each create
 *   makes an independent instance with its own worker threads; the table is read-only).
 *   Without presence.redis_url two instances share nothing, not even friendships.
 *
 * Integer types
 *   Lengths are size_t, except presence_change.user_id_len (uint32_t; a user id is at most
 *   64 bytes, and the field keeps its type so the layout never moves). on_connect returns
 *   int so that 0 can mean "accepted"; any other value is a close code from 1000 to 4999,
 *   which fits the uint16_t that `close` takes: convert it with (uint16_t)code.
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

/* WebSocket close codes the plugin uses (on_connect's refusals, `close`); see "Connections
 * and close codes" above for when each is used. */
#define PRESENCE_CLOSE_GOING_AWAY 1001
#define PRESENCE_CLOSE_POLICY 1008
#define PRESENCE_CLOSE_INTERNAL 1011
#define PRESENCE_CLOSE_TRY_AGAIN 1013

/* One host setting. Both strings NUL-terminated, borrowed for the call. Frozen (an array
 * element, see Versioning): no struct_size, and it never grows. */
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

/* One HTTP header: name and value as pointer + length (no NUL needed), borrowed for the call
 * that carries it. Names compare case-insensitively. Frozen (an array element). */
typedef struct presence_http_header {
    const char* name;
    size_t name_len;
    const char* value;
    size_t value_len;
} presence_http_header;

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
    /* (plugin 0.2) Request headers, NULL when n_headers == 0. The host passes all of them or
     * at least those the plugin reads: If-None-Match (answered 304 when an ETag matches). */
    const presence_http_header* headers;
    size_t n_headers;
    /* (plugin 0.2) PRESENCE_HTTP_* bits, 0 for none. */
    uint32_t flags;
} presence_http_request;

/* presence_http_request.flags: the host checked its operator's credential for this request
 * (presence-host: `Authorization: Bearer <host.admin_token>`). GET /metrics is answered only
 * with this bit (SPEC 6: operators only, never an ordinary user's token), whatever user_id
 * says; without it the plugin answers 401. No other route reads it. */
#define PRESENCE_HTTP_OPERATOR 1u

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

    /* Close a connection with a WebSocket close code (PRESENCE_CLOSE_*) and a short reason
     * (NUL-terminated, may be NULL; at most 120 bytes are meant to reach the client). Frames
     * queued before it are sent first. The host later calls on_disconnect for it, from a
     * later loop turn, never from inside this call. Loop thread only. */
    void (*close)(void* host_ctx, uint64_t conn_id, uint16_t code, const char* reason);

    /* Answer an HTTP request given to on_http, now (inside on_http) or later (from any later
     * hook). Exactly once per request the plugin accepted. `content_type` NUL-terminated;
     * `body` copied before return. Loop thread only. */
    void (*respond)(void* host_ctx, uint64_t request_id, int status, const char* content_type,
                    const char* body, size_t body_len);

    /* Reserved: the plugin never calls it (settings reach the plugin through create's
     * array). May be NULL. Kept so that the slots after it do not move. */
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

    /* Optional (may be NULL; plugin 0.2): `respond` with response headers. When set, the
     * plugin answers every request through it instead of `respond` (same rules: exactly
     * once, loop thread, everything borrowed for the call). The plugin sends:
     *   401: WWW-Authenticate: Bearer realm="presence"
     *   405: Allow: <methods of the route>
     *   429: Retry-After: <seconds until an update is allowed again>
     *   503: Retry-After: 1
     *   200 to a GET: ETag and Cache-Control: no-cache
     *   304 (empty body, with its ETag) to a GET whose If-None-Match holds the current ETag.
     * It never sends headers the host manages (Content-Type, Content-Length, Connection,
     * Date, Server). Without this callback the answers are the same, without headers. */
    void (*respond_with_headers)(void* host_ctx, uint64_t request_id, int status,
                                 const char* content_type, const presence_http_header* headers,
                                 size_t n_headers, const char* body, size_t body_len);
} presence_host_api;

/* Friendship operations for presence_plugin_api.friendship and .friendships. */
#define PRESENCE_FRIENDSHIP_ADD 1
#define PRESENCE_FRIENDSHIP_REMOVE 2

/* One friendship change for presence_plugin_api.friendships. Borrowed for the call. Frozen
 * (an array element, see Versioning). */
typedef struct presence_friendship {
    int32_t op;    /* PRESENCE_FRIENDSHIP_ADD or PRESENCE_FRIENDSHIP_REMOVE */
    const char* a; /* user id, a_len bytes (no NUL needed) */
    size_t a_len;
    const char* b; /* the other user id; both directions are implied */
    size_t b_len;
} presence_friendship;

/* Return values of on_http. */
#define PRESENCE_HTTP_NOT_MINE 0 /* not a presence route: the host answers it (e.g. 404) */
#define PRESENCE_HTTP_HANDLED 1  /* respond() was called or will be called exactly once */

/*
 * What the plugin gives the host: a static table, valid until dlclose(), shared by every
 * instance. Every function but entry, create, destroy, tick_interval_ms and
 * max_message_bytes (constants, any thread) is called on the instance's loop thread only
 * (see Threads).
 */
typedef struct presence_plugin_api {
    uint32_t struct_size;
    uint32_t abi_version; /* the version this table serves */
    const char* name;     /* "presence" */
    const char* version;  /* plugin release, e.g. "0.2.0" */

    /* Make an instance. `host` and `settings` are borrowed for the call (copied; host_ctx
     * must stay valid until destroy returns). Every "presence.*" key is validated (see
     * Settings); an unknown key or a malformed value makes create return NULL with a reason
     * naming the key in `err`. Starts the plugin's worker threads. BLOCKS with
     * presence.db_url (see Blocking). Makes no callback but `log`.
     * With presence.db_url it also opens the local journal (presence.journal_path: created,
     * locked against a second process, its records replayed): answers to a user's choice
     * (the sender's presence_self, the 200 of a REST change) are then sent only once the
     * change is durable, a few ms after the hook, from a later on_wake.
     * With presence.redis_url set it tries Redis once (bounded by a 1 s connect timeout):
     * a wrong password or a peer that is not Redis fails create; an unreachable Redis starts
     * degraded and is retried in the background. With several instances, on_presence_change
     * fires on the instance where the change happened only (once per change). */
    presence_plugin* (*create)(const presence_host_api* host, const presence_setting* settings,
                               size_t n_settings, char* err, size_t err_cap);

    /* Flush what must last (the store's write queue), stop worker threads, free everything.
     * BLOCKS (see Blocking). Connections still open need no on_disconnect first: destroy
     * drops them all on the plugin's side without a frame or a `close` (the host closes its
     * sockets afterwards, e.g. with 1001, and calls no hook for them); nobody is told they
     * went offline, except that with presence.redis_url the other instances see this one's
     * devices leave. During destroy the plugin calls only `respond` (or
     * respond_with_headers: 503 `unavailable` for every request still unanswered), `log`,
     * and `wake` from worker threads that are stopping (do not call on_wake for it): never
     * send, send_many, close or on_presence_change. No callbacks after it returns. */
    void (*destroy)(presence_plugin* plugin);

    /* A WebSocket connection of an authenticated user opened. `conn_id` is host-chosen and
     * not reused while the connection lives. The plugin sends the snapshot from inside this
     * call (or after the user's load), so `send` must already work for conn_id. Returns 0 to
     * accept. Any other value is a WebSocket close code (1000-4999, see "Connections and
     * close codes"): the plugin refused the connection (it may have sent an error frame
     * first, which the host sends before closing); the host closes it and does NOT call
     * on_disconnect for it. An accepted connection may still be closed later by `close`. */
    int (*on_connect)(presence_plugin* plugin, uint64_t conn_id, const char* user_id,
                      size_t user_id_len);

    /* A connection closed (either side). Called once for every accepted connection, also
     * for one the plugin closed with `close`; never for a refused one. Inside it the plugin
     * may send to other connections (see Re-entrancy). */
    void (*on_disconnect)(presence_plugin* plugin, uint64_t conn_id);

    /* One complete message (text, or binary handed over as text) received on an accepted
     * connection, at most max_message_bytes long (see Message size). */
    void (*on_message)(presence_plugin* plugin, uint64_t conn_id, const char* data, size_t len);

    /* An HTTP request. Returns PRESENCE_HTTP_NOT_MINE (not under presence.http_prefix: the
     * host answers it) or PRESENCE_HTTP_HANDLED (respond comes now or from a later hook). */
    int (*on_http)(presence_plugin* plugin, const presence_http_request* request);

    /* Periodic timer; the host calls it at least every `tick_interval_ms()` milliseconds.
     * Its work is proportional to what is due. */
    void (*tick)(presence_plugin* plugin);

    /* Called after the plugin called host->wake (from any thread). */
    void (*on_wake)(presence_plugin* plugin);

    /* The host application's friendships changed: op is PRESENCE_FRIENDSHIP_ADD or _REMOVE,
     * a and b are user ids (both directions implied). Returns 0, or -1 with a reason in err
     * (bad id, a == b, unknown op). Not persisted by the plugin: see Friendships. */
    int (*friendship)(presence_plugin* plugin, int op, const char* a, size_t a_len, const char* b,
                      size_t b_len, char* err, size_t err_cap);

    /* How often tick wants to run, in milliseconds (constant for an instance). */
    uint32_t (*tick_interval_ms)(presence_plugin* plugin);

    /* (plugin 0.2) The largest WebSocket message (and HTTP body) the plugin takes, in bytes:
     * presence.max_message_bytes (constant for an instance). See Message size. */
    uint32_t (*max_message_bytes)(presence_plugin* plugin);

    /* (plugin 0.2) A message longer than max_message_bytes arrived on an accepted connection
     * and was dropped by the host; `len` is how many bytes it had (at least, if the host
     * stopped counting). The plugin sends the `too_large` error frame; the connection stays
     * open (such errors count toward the 1008 flood limit). */
    void (*on_message_too_large)(presence_plugin* plugin, uint64_t conn_id, size_t len);

    /* (plugin 0.2) Many friendship changes at once (a start-up replay, a bulk import): every
     * op is checked first and none is applied if one is bad (-1, the reason names the index
     * of the first bad op); otherwise all are applied in order, as n_ops calls of friendship
     * would be, and it returns 0. n_ops == 0 is a no-op. */
    int (*friendships)(presence_plugin* plugin, const presence_friendship* ops, size_t n_ops,
                       char* err, size_t err_cap);
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
