/*
 * A host written in plain C11, with nothing but abi/presence_plugin.h: it dlopens the real
 * libpresence.so and drives it through the function tables with a fake host (virtual clock,
 * recorded frames, closes and HTTP answers). This proves the header alone is enough to host
 * the plugin without libwebsockets, and pins the behaviour a host can see.
 *
 * Every promise the header makes to a host has a check here: close codes, friendships (one
 * and many), destroy with connections open, sends from inside on_disconnect, message size,
 * settings (NULL, foreign and repeated keys; get_setting never called), older host structs,
 * HTTP headers in and out, two instances in one process, and (debug builds of the plugin,
 * --debug-checks) the abort on a hook from another thread or from inside a callback.
 *
 * Usage: abi_host_test /path/to/libpresence.so [--debug-checks]
 * Prints "N passed, N failed".
 */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "presence_plugin.h"

#define MAX_CONNS 8
#define MAX_FRAMES 64
#define MAX_ANSWERS 16

static int g_passed, g_failed;

static void check(int ok, const char* what, ...) {
    va_list args;
    va_start(args, what);
    if (ok) {
        g_passed++;
    } else {
        g_failed++;
        fprintf(stderr, "FAILED: ");
        vfprintf(stderr, what, args);
        fputc('\n', stderr);
    }
    va_end(args);
}

/* ---- the fake host ---------------------------------------------------------------- */

typedef struct frame_log {
    char* frames[MAX_FRAMES];
    int count;
    int closed_code; /* 0 when the plugin never closed it */
} frame_log;

#define MAX_HEADERS 4

typedef struct http_answer {
    uint64_t request_id;
    int status;
    char* body;
    int with_headers; /* answered through respond_with_headers */
    int n_headers;
    char* header_names[MAX_HEADERS];
    char* header_values[MAX_HEADERS];
} http_answer;

typedef struct fake_host {
    int64_t now;
    frame_log conns[MAX_CONNS];
    http_answer answers[MAX_ANSWERS];
    int n_answers;
    int wakes;
    int changes;
    int sends;           /* every send / send_many call */
    int closes;          /* every close call */
    int setting_reads;   /* get_setting calls: the plugin promises none */
    uint64_t refused_id; /* send to this id answers -1 (a connection being disconnected) */
    int sends_to_refused;
    /* Set: the next send calls this hook from inside the callback (a host bug). */
    const presence_plugin_api* reenter_api;
    presence_plugin* reenter_plugin;
} fake_host;

static char* copy_bytes(const char* data, size_t len) {
    char* out = malloc(len + 1);
    if (!out) abort();
    memcpy(out, data, len);
    out[len] = '\0';
    return out;
}

static int host_send(void* ctx, uint64_t conn, const char* data, size_t len) {
    fake_host* host = ctx;
    host->sends++;
    if (host->reenter_api) {
        const presence_plugin_api* api = host->reenter_api;
        host->reenter_api = NULL;
        api->tick(host->reenter_plugin); /* forbidden: a hook from inside a callback */
    }
    if (host->refused_id && conn == host->refused_id) {
        host->sends_to_refused++;
        return -1;
    }
    if (conn == 0 || conn >= MAX_CONNS) return -1;
    frame_log* log = &host->conns[conn];
    if (log->count == MAX_FRAMES) return -1;
    log->frames[log->count++] = copy_bytes(data, len); /* borrowed: copy before returning */
    return 0;
}

static size_t host_send_many(void* ctx, const uint64_t* ids, size_t n, const char* data,
                             size_t len) {
    size_t sent = 0;
    for (size_t i = 0; i < n; i++) sent += host_send(ctx, ids[i], data, len) == 0;
    return sent;
}

static void host_close(void* ctx, uint64_t conn, uint16_t code, const char* reason) {
    fake_host* host = ctx;
    (void)reason;
    host->closes++;
    if (conn > 0 && conn < MAX_CONNS) host->conns[conn].closed_code = code;
}

static void host_respond(void* ctx, uint64_t request_id, int status, const char* content_type,
                         const char* body, size_t len) {
    fake_host* host = ctx;
    (void)content_type;
    if (host->n_answers == MAX_ANSWERS) return;
    http_answer* answer = &host->answers[host->n_answers++];
    answer->request_id = request_id;
    answer->status = status;
    answer->body = copy_bytes(body ? body : "", body ? len : 0);
}

static void host_respond_with_headers(void* ctx, uint64_t request_id, int status,
                                      const char* content_type, const presence_http_header* headers,
                                      size_t n_headers, const char* body, size_t len) {
    fake_host* host = ctx;
    host_respond(ctx, request_id, status, content_type, body, len);
    if (host->n_answers == 0) return;
    http_answer* answer = &host->answers[host->n_answers - 1];
    answer->with_headers = 1;
    for (size_t i = 0; i < n_headers && answer->n_headers < MAX_HEADERS; i++) {
        answer->header_names[answer->n_headers] = copy_bytes(headers[i].name, headers[i].name_len);
        answer->header_values[answer->n_headers] =
            copy_bytes(headers[i].value, headers[i].value_len);
        answer->n_headers++;
    }
}

static const char* host_get_setting(void* ctx, const char* key) {
    fake_host* host = ctx;
    host->setting_reads++;
    return strcmp(key, "host.listen") == 0 ? "127.0.0.1:0" : NULL;
}

static void host_log(void* ctx, int level, const char* message) {
    (void)ctx;
    if (level <= PRESENCE_LOG_WARN) fprintf(stderr, "[plugin %d] %s\n", level, message);
}

static int64_t host_now(void* ctx) {
    return ((fake_host*)ctx)->now;
}

static void host_wake(void* ctx) {
    /* Any thread may call this; the test only counts, the loop below polls on_wake. */
    __atomic_add_fetch(&((fake_host*)ctx)->wakes, 1, __ATOMIC_SEQ_CST);
}

static void host_on_change(void* ctx, const presence_change* change) {
    fake_host* host = ctx;
    if (change && change->user_id && change->user_id_len != strlen(change->user_id)) {
        check(0, "presence_change.user_id_len matches the NUL-terminated user_id");
    }
    if (change && PRESENCE_HAS_FIELD(change, presence_change, at_ms)) host->changes++;
}

static presence_host_api make_host_table(fake_host* host) {
    presence_host_api api;
    memset(&api, 0, sizeof api);
    api.struct_size = sizeof api;
    api.host_ctx = host;
    api.send = host_send;
    api.close = host_close;
    api.respond = host_respond;
    api.get_setting = host_get_setting;
    api.log = host_log;
    api.now_ms = host_now;
    api.wake = host_wake;
    api.on_presence_change = host_on_change;
    api.send_many = host_send_many;
    api.respond_with_headers = host_respond_with_headers;
    return api;
}

static void clear_frames(fake_host* host) {
    for (int c = 0; c < MAX_CONNS; c++) {
        for (int i = 0; i < host->conns[c].count; i++) free(host->conns[c].frames[i]);
        host->conns[c].count = 0;
    }
}

static void free_answers(fake_host* host) {
    for (int i = 0; i < host->n_answers; i++) {
        free(host->answers[i].body);
        for (int h = 0; h < host->answers[i].n_headers; h++) {
            free(host->answers[i].header_names[h]);
            free(host->answers[i].header_values[h]);
        }
    }
    memset(host->answers, 0, sizeof host->answers);
    host->n_answers = 0;
}

static void free_host(fake_host* host) {
    clear_frames(host);
    free_answers(host);
}

/* The last frame of a connection that contains every needle (NULL-terminated list). */
static const char* find_frame(const fake_host* host, uint64_t conn, ...) {
    const frame_log* log = &host->conns[conn];
    for (int i = log->count - 1; i >= 0; i--) {
        va_list args;
        va_start(args, conn);
        int all = 1;
        for (const char* needle = va_arg(args, const char*); needle;
             needle = va_arg(args, const char*)) {
            if (!strstr(log->frames[i], needle)) all = 0;
        }
        va_end(args);
        if (all) return log->frames[i];
    }
    return NULL;
}

/* Lets asynchronous work (a store answer) come back, as a host loop would. */
static void pump(const presence_plugin_api* api, presence_plugin* plugin, fake_host* host) {
    for (int round = 0; round < 3; round++) {
        if (__atomic_exchange_n(&host->wakes, 0, __ATOMIC_SEQ_CST)) api->on_wake(plugin);
        api->tick(plugin);
    }
}

static const http_answer* answer_for(const fake_host* host, uint64_t request_id) {
    for (int i = 0; i < host->n_answers; i++) {
        if (host->answers[i].request_id == request_id) return &host->answers[i];
    }
    return NULL;
}

static const http_answer* http_with(const presence_plugin_api* api, presence_plugin* plugin,
                                    fake_host* host, uint64_t id, const char* method,
                                    const char* path, const char* user, const char* body,
                                    const presence_http_header* headers, size_t n_headers) {
    presence_http_request request;
    memset(&request, 0, sizeof request);
    request.struct_size = sizeof request;
    request.request_id = id;
    request.method = method;
    request.path = path;
    request.user_id = user;
    request.body = body;
    request.body_len = body ? strlen(body) : 0;
    request.headers = headers;
    request.n_headers = n_headers;
    int handled = api->on_http(plugin, &request);
    check(handled == PRESENCE_HTTP_HANDLED, "%s %s is handled by the plugin", method, path);
    for (int i = 0; i < 50 && !answer_for(host, id); i++) pump(api, plugin, host);
    return answer_for(host, id);
}

static const http_answer* http(const presence_plugin_api* api, presence_plugin* plugin,
                               fake_host* host, uint64_t id, const char* method, const char* path,
                               const char* user, const char* body) {
    return http_with(api, plugin, host, id, method, path, user, body, NULL, 0);
}

/* The value of a response header (names compared without case), or NULL. */
static const char* header_of(const http_answer* answer, const char* name) {
    if (!answer) return NULL;
    for (int i = 0; i < answer->n_headers; i++) {
        const char* a = answer->header_names[i];
        const char* b = name;
        while (*a && *b && ((*a | 0x20) == (*b | 0x20))) a++, b++;
        if (!*a && !*b) return answer->header_values[i];
    }
    return NULL;
}

/* A fresh fake host and an instance created with `settings` (NULL on failure, reason in why). */
static presence_plugin* start(const presence_plugin_api* api, fake_host* host,
                              presence_host_api* table, const presence_setting* settings, size_t n,
                              char* why, size_t why_cap) {
    memset(host, 0, sizeof *host);
    host->now = 1800000000000LL;
    *table = make_host_table(host);
    why[0] = '\0';
    return api->create(table, settings, n, why, why_cap);
}

static int64_t monotonic_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the checks ------------------------------------------------------------------- */

static void test_version_handshake(presence_entry_fn entry) {
    char why[256] = "";
    check(entry(999, why, sizeof why) == NULL, "ABI version 999 is refused");
    check(why[0] != '\0', "refusing version 999 gives a reason");
    char tiny[4] = "xyz";
    entry(999, tiny, sizeof tiny);
    check(strlen(tiny) < sizeof tiny, "the reason is truncated to the caller's buffer");
    const presence_plugin_api* api = entry(PRESENCE_ABI_VERSION, why, sizeof why);
    check(api != NULL, "ABI version 1 is served");
    if (!api) return;
    check(api->abi_version == PRESENCE_ABI_VERSION, "table says it serves version 1");
    check(PRESENCE_HAS_FIELD(api, presence_plugin_api, tick_interval_ms),
          "table is at least as large as the v1 table");
    check(api->name && strcmp(api->name, "presence") == 0, "table is named presence");
}

static void test_bad_settings(const presence_plugin_api* api) {
    fake_host host;
    memset(&host, 0, sizeof host);
    host.now = 1800000000000LL;
    presence_host_api table = make_host_table(&host);
    char why[256] = "";

    presence_setting malformed[] = {{"presence.offline_grace_s", "soon"}};
    presence_plugin* plugin = api->create(&table, malformed, 1, why, sizeof why);
    check(plugin == NULL, "a malformed value stops create");
    check(strstr(why, "offline_grace_s") != NULL, "the reason names the key (got '%s')", why);
    if (plugin) api->destroy(plugin);

    why[0] = '\0';
    presence_setting unknown[] = {{"presence.no_such_setting", "1"}};
    plugin = api->create(&table, unknown, 1, why, sizeof why);
    check(plugin == NULL, "an unknown presence key stops create");
    check(strstr(why, "no_such_setting") != NULL, "the reason names the unknown key (got '%s')",
          why);
    if (plugin) api->destroy(plugin);
}

static void test_session(const presence_plugin_api* api) {
    fake_host host;
    memset(&host, 0, sizeof host);
    host.now = 1800000000000LL;
    presence_host_api table = make_host_table(&host);
    presence_setting settings[] = {{"presence.offline_grace_s", "3"}};
    char why[256] = "";
    presence_plugin* plugin = api->create(&table, settings, 1, why, sizeof why);
    check(plugin != NULL, "create with the in-memory store (reason: '%s')", why);
    if (!plugin) return;
    check(api->tick_interval_ms(plugin) > 0, "tick interval is positive");

    char err[256] = "";
    check(api->friendship(plugin, PRESENCE_FRIENDSHIP_ADD, "alice", 5, "bob", 3, err, sizeof err) ==
              0,
          "friendship add alice-bob");
    check(api->friendship(plugin, PRESENCE_FRIENDSHIP_ADD, "alice", 5, "alice", 5, err,
                          sizeof err) != 0 &&
              err[0],
          "friendship with oneself is refused with a reason");
    check(api->friendship(plugin, 77, "alice", 5, "carol", 5, err, sizeof err) != 0,
          "unknown friendship op is refused");

    /* alice connects: a snapshot, with herself online. */
    check(api->on_connect(plugin, 1, "alice", 5) == 0, "alice's connection is accepted");
    pump(api, plugin, &host);
    check(find_frame(&host, 1, "\"type\":\"presence_snapshot\"", "\"user_id\":\"alice\"", NULL) !=
              NULL,
          "alice gets a presence_snapshot on connect");

    /* bob connects: his snapshot shows alice online; alice hears bob come online. */
    check(api->on_connect(plugin, 2, "bob", 3) == 0, "bob's connection is accepted");
    pump(api, plugin, &host);
    check(find_frame(&host, 2, "presence_snapshot", "\"alice\"", "\"online\"", NULL) != NULL,
          "bob's snapshot lists alice online");
    check(find_frame(&host, 1, "\"type\":\"presence\"", "\"user_id\":\"bob\"",
                     "\"status\":\"online\"", NULL) != NULL,
          "alice receives presence for bob online");

    /* A user id that breaks the rules is refused with a close code. */
    check(api->on_connect(plugin, 3, "bad id!", 7) != 0, "an invalid user id is refused");

    /* Heartbeat: acked with the host's (virtual) clock. */
    clear_frames(&host);
    host.now += 1000;
    const char* beat = "{\"type\":\"presence_heartbeat\",\"idle\":false}";
    api->on_message(plugin, 1, beat, strlen(beat));
    check(find_frame(&host, 1, "presence_heartbeat_ack", "1800000001000", NULL) != NULL,
          "heartbeat is acked with server_time from now_ms");
    check(host.conns[2].count == 0, "a heartbeat broadcasts nothing to friends");

    /* A status change reaches the friend and the user's own devices. */
    const char* update = "{\"type\":\"presence_update\",\"status\":\"dnd\",\"message\":\"focus\"}";
    api->on_message(plugin, 1, update, strlen(update));
    check(find_frame(&host, 1, "presence_self", "\"dnd\"", NULL) != NULL,
          "alice's devices get presence_self dnd");
    check(find_frame(&host, 2, "\"type\":\"presence\"", "\"alice\"", "\"dnd\"", "focus", NULL) !=
              NULL,
          "bob sees alice dnd with her message");
    check(host.changes > 0, "the host's change callback heard of the changes");

    /* Garbage gets an error frame, and the connection stays. */
    api->on_message(plugin, 1, "{nope", 5);
    check(find_frame(&host, 1, "\"type\":\"error\"", "bad_json", NULL) != NULL,
          "malformed JSON gets error bad_json");
    check(host.conns[1].closed_code == 0, "one bad frame does not close the connection");

    /* REST through on_http. */
    const http_answer* me = http(api, plugin, &host, 101, "GET", "/api/presence/me", "alice", NULL);
    check(me && me->status == 200, "GET /me answers 200");
    check(me && strstr(me->body, "\"user_id\":\"alice\"") && strstr(me->body, "\"dnd\""),
          "GET /me answers alice's own state");
    const http_answer* anon = http(api, plugin, &host, 102, "GET", "/api/presence/me", NULL, NULL);
    check(anon && anon->status == 401, "GET /me without a user answers 401");
    presence_http_request other;
    memset(&other, 0, sizeof other);
    other.struct_size = sizeof other;
    other.request_id = 103;
    other.method = "GET";
    other.path = "/not/presence";
    check(api->on_http(plugin, &other) == PRESENCE_HTTP_NOT_MINE,
          "a path outside the prefix is not the plugin's");

    /* bob leaves: nothing during the grace period, offline after it. */
    clear_frames(&host);
    api->on_disconnect(plugin, 2);
    pump(api, plugin, &host);
    check(find_frame(&host, 1, "\"bob\"", "offline", NULL) == NULL,
          "no offline during offline_grace_s");
    host.now += 4000;
    pump(api, plugin, &host);
    check(find_frame(&host, 1, "\"type\":\"presence\"", "\"bob\"", "\"offline\"", NULL) != NULL,
          "alice sees bob offline after the grace period");

    api->on_disconnect(plugin, 1);
    api->destroy(plugin);
    free_host(&host);
}

/* Refusals are on_connect's return value (a PRESENCE_CLOSE_* code that fits uint16_t); an
 * accepted connection can still be closed later through close(). */
static void test_close_codes(const presence_plugin_api* api) {
    fake_host host;
    presence_host_api table;
    char why[256];
    presence_setting settings[] = {{"presence.max_connections_per_user", "1"},
                                   {"presence.heartbeat_timeout_s", "1"}};
    presence_plugin* plugin = start(api, &host, &table, settings, 2, why, sizeof why);
    check(plugin != NULL, "create for the close-code checks ('%s')", why);
    if (!plugin) return;
    check(api->on_connect(plugin, 1, "alice", 5) == 0, "alice is accepted");
    int code = api->on_connect(plugin, 2, "alice", 5);
    check(code == PRESENCE_CLOSE_POLICY,
          "a connection over max_connections_per_user is refused with 1008 (got %d)", code);
    check(find_frame(&host, 2, "\"type\":\"error\"", "\"too_many\"", NULL) != NULL,
          "... after a too_many error frame sent to it");
    code = api->on_connect(plugin, 1, "bob", 3);
    check(code == PRESENCE_CLOSE_POLICY, "a conn_id already in use is refused with 1008 (got %d)",
          code);
    check(api->on_connect(plugin, 3, "bad id!", 7) == PRESENCE_CLOSE_POLICY,
          "an invalid user id is refused with 1008");
    check(api->on_connect(plugin, 3, NULL, 0) == PRESENCE_CLOSE_POLICY,
          "a NULL user is refused with 1008");
    check(host.closes == 0, "a refusal is the return value: close() is not called for it");

    /* A flood of bad frames on an accepted connection: close(1008) later. */
    check(api->on_connect(plugin, 4, "bob", 3) == 0, "bob is accepted");
    int frames = 0;
    while (frames < 40 && host.conns[4].closed_code == 0) {
        api->on_message(plugin, 4, "{", 1);
        frames++;
    }
    check(host.conns[4].closed_code == PRESENCE_CLOSE_POLICY && frames == 31,
          "the 31st error frame within 10 s closes with 1008 (closed %d after %d frames)",
          host.conns[4].closed_code, frames);
    api->on_disconnect(plugin, 4); /* still owed for an accepted connection */

    /* Silence past heartbeat_timeout_s: tick closes with 1001. */
    host.now += 2500;
    api->tick(plugin);
    check(host.conns[1].closed_code == PRESENCE_CLOSE_GOING_AWAY,
          "a connection silent past heartbeat_timeout_s is closed with 1001 (got %d)",
          host.conns[1].closed_code);
    api->on_disconnect(plugin, 1);
    api->destroy(plugin);
    free_host(&host);
}

/* friendships(): all or nothing, applied in order, the same as friendship() one by one. */
static void test_friendships_in_bulk(const presence_plugin_api* api) {
    fake_host host;
    presence_host_api table;
    char why[256], err[256] = "";
    presence_setting settings[] = {{"presence.offline_grace_s", "0"}};
    presence_plugin* plugin = start(api, &host, &table, settings, 1, why, sizeof why);
    check(plugin != NULL, "create for the friendships checks ('%s')", why);
    if (!plugin) return;
    check(PRESENCE_HAS_FIELD(api, presence_plugin_api, friendships),
          "the table has friendships (plugin 0.2)");
    check(api->on_connect(plugin, 1, "alice", 5) == 0, "alice is accepted");
    pump(api, plugin, &host);

    presence_friendship ops[] = {{PRESENCE_FRIENDSHIP_ADD, "alice", 5, "bob", 3},
                                 {PRESENCE_FRIENDSHIP_ADD, "carol", 5, "alice", 5},
                                 {PRESENCE_FRIENDSHIP_REMOVE, "alice", 5, "dave", 4}};
    check(api->friendships(plugin, ops, 3, err, sizeof err) == 0, "three ops in one call ('%s')",
          err);
    check(api->friendships(plugin, ops, 0, err, sizeof err) == 0, "no ops is a no-op");
    check(api->friendships(plugin, NULL, 2, err, sizeof err) != 0, "NULL ops with n_ops > 0 fails");
    check(api->on_connect(plugin, 2, "bob", 3) == 0, "bob is accepted");
    pump(api, plugin, &host);
    check(find_frame(&host, 1, "\"type\":\"presence\"", "\"bob\"", "\"online\"", NULL) != NULL,
          "an edge added in bulk is applied: alice sees bob come online");
    check(find_frame(&host, 2, "presence_snapshot", "\"alice\"", NULL) != NULL,
          "... and bob's snapshot lists alice");

    presence_friendship bad[] = {{PRESENCE_FRIENDSHIP_ADD, "alice", 5, "erin", 4},
                                 {PRESENCE_FRIENDSHIP_ADD, "erin", 4, "erin", 4}};
    err[0] = '\0';
    check(api->friendships(plugin, bad, 2, err, sizeof err) != 0, "a batch with a bad op fails");
    check(strstr(err, "op 1") != NULL, "the reason names the bad op's index (got '%s')", err);
    check(api->on_connect(plugin, 3, "erin", 4) == 0, "erin is accepted");
    pump(api, plugin, &host);
    check(find_frame(&host, 1, "\"erin\"", NULL) == NULL,
          "nothing of a refused batch was applied: alice hears nothing of erin");

    clear_frames(&host);
    check(api->friendships(plugin, ops, 1, err, sizeof err) == 0,
          "adding an existing edge is fine");
    pump(api, plugin, &host);
    check(host.conns[1].count == 0 && host.conns[2].count == 0, "... and changes nothing");

    presence_friendship unfriend[] = {{PRESENCE_FRIENDSHIP_REMOVE, "bob", 3, "alice", 5}};
    check(api->friendships(plugin, unfriend, 1, err, sizeof err) == 0, "remove alice-bob");
    pump(api, plugin, &host);
    check(find_frame(&host, 1, "\"bob\"", "\"offline\"", NULL) != NULL &&
              find_frame(&host, 2, "\"alice\"", "\"offline\"", NULL) != NULL,
          "an ended friendship sends each side offline for the other");

    for (uint64_t c = 1; c <= 3; c++) api->on_disconnect(plugin, c);
    api->destroy(plugin);
    free_host(&host);
}

/* destroy with connections still open: no on_disconnect needed, no frame, no close, no
 * change callback, and at once with the in-memory store. */
static void test_destroy_with_open_connections(const presence_plugin_api* api) {
    fake_host host;
    presence_host_api table;
    char why[256], err[256];
    presence_plugin* plugin = start(api, &host, &table, NULL, 0, why, sizeof why);
    check(plugin != NULL, "create for the destroy checks ('%s')", why);
    if (!plugin) return;
    api->friendship(plugin, PRESENCE_FRIENDSHIP_ADD, "alice", 5, "bob", 3, err, sizeof err);
    check(api->on_connect(plugin, 1, "alice", 5) == 0 && api->on_connect(plugin, 2, "bob", 3) == 0,
          "alice and bob are accepted");
    pump(api, plugin, &host);
    host.sends = host.closes = host.changes = 0;
    const int64_t started = monotonic_ms();
    api->destroy(plugin); /* no on_disconnect first */
    const int64_t took = monotonic_ms() - started;
    check(host.sends == 0 && host.closes == 0,
          "destroy with open connections sends nothing and closes nothing (%d sends, %d closes)",
          host.sends, host.closes);
    check(host.changes == 0, "destroy reports no presence change");
    check(took < 1000, "destroy with the in-memory store returns at once (%lld ms)",
          (long long)took);
    free_host(&host);
}

/* Inside on_disconnect the plugin sends to the user's other devices, never to the
 * connection being disconnected. */
static void test_sends_inside_on_disconnect(const presence_plugin_api* api) {
    fake_host host;
    presence_host_api table;
    char why[256], err[256];
    presence_setting settings[] = {{"presence.offline_grace_s", "0"}};
    presence_plugin* plugin = start(api, &host, &table, settings, 1, why, sizeof why);
    check(plugin != NULL, "create for the on_disconnect checks ('%s')", why);
    if (!plugin) return;
    api->friendship(plugin, PRESENCE_FRIENDSHIP_ADD, "alice", 5, "bob", 3, err, sizeof err);
    api->on_connect(plugin, 1, "alice", 5);
    api->on_connect(plugin, 2, "alice", 5);
    api->on_connect(plugin, 3, "bob", 3);
    pump(api, plugin, &host);
    clear_frames(&host);
    host.refused_id = 1; /* as presence-host does: sends to a closing connection fail */
    api->on_disconnect(plugin, 1);
    host.refused_id = 0;
    check(find_frame(&host, 2, "presence_self", "\"connections\":1", NULL) != NULL,
          "inside on_disconnect alice's other device gets presence_self with 1 connection");
    check(host.sends_to_refused == 0, "nothing is sent to the connection being disconnected");
    check(host.conns[3].count == 0, "bob hears nothing: alice is still online elsewhere");
    api->on_disconnect(plugin, 2);
    pump(api, plugin, &host);
    check(find_frame(&host, 3, "\"alice\"", "\"offline\"", NULL) != NULL,
          "after her last device (grace 0) bob sees alice offline");
    api->on_disconnect(plugin, 3);
    api->destroy(plugin);
    free_host(&host);
}

/* The host asks for the limit and hands oversized messages to on_message_too_large. */
static void test_message_size(const presence_plugin_api* api) {
    fake_host host;
    presence_host_api table;
    char why[256];
    check(PRESENCE_HAS_FIELD(api, presence_plugin_api, on_message_too_large),
          "the table has max_message_bytes and on_message_too_large (plugin 0.2)");
    presence_plugin* plugin = start(api, &host, &table, NULL, 0, why, sizeof why);
    check(plugin && api->max_message_bytes(plugin) == 65536, "max_message_bytes defaults to 65536");
    if (plugin) api->destroy(plugin);
    free_host(&host);

    presence_setting settings[] = {{"presence.max_message_bytes", "2048"}};
    plugin = start(api, &host, &table, settings, 1, why, sizeof why);
    check(plugin != NULL, "create with max_message_bytes 2048 ('%s')", why);
    if (!plugin) return;
    check(api->max_message_bytes(plugin) == 2048, "max_message_bytes answers the setting");
    api->on_connect(plugin, 1, "alice", 5);
    pump(api, plugin, &host);
    clear_frames(&host);
    api->on_message_too_large(plugin, 1, 5000);
    check(
        find_frame(&host, 1, "\"type\":\"error\"", "\"code\":\"too_large\"", "2048", NULL) != NULL,
        "on_message_too_large sends the too_large error frame naming the limit");
    check(host.conns[1].closed_code == 0, "... and the connection stays open");
    api->on_message_too_large(plugin, 7, 5000); /* unknown: ignored */
    api->on_disconnect(plugin, 1);
    api->destroy(plugin);
    free_host(&host);
}

/* How create reads the settings array; get_setting is never called. */
static void test_settings_rules(const presence_plugin_api* api) {
    fake_host host;
    presence_host_api table;
    char why[256];
    presence_setting mixed[] = {{NULL, "ignored"},
                                {"host.listen", "127.0.0.1:1"},
                                {"other.key", "anything"},
                                {"presence.db_url", NULL},
                                {"presence.offline_grace_s", "2"},
                                {"presence.offline_grace_s", "1"}};
    presence_plugin* plugin = start(api, &host, &table, mixed, 6, why, sizeof why);
    check(plugin != NULL,
          "a NULL key is skipped, non-presence keys are ignored, a NULL db_url is the default "
          "and the last of a repeated key wins ('%s')",
          why);
    if (plugin) {
        api->on_connect(plugin, 1, "alice", 5);
        const char* beat = "{\"type\":\"presence_heartbeat\",\"idle\":true}";
        api->on_message(plugin, 1, beat, strlen(beat));
        http(api, plugin, &host, 1, "GET", "/api/presence/me", "alice", NULL);
        pump(api, plugin, &host);
        api->on_disconnect(plugin, 1);
        api->destroy(plugin);
        check(host.setting_reads == 0, "the plugin never calls get_setting (%d calls)",
              host.setting_reads);
    }
    free_host(&host);

    presence_setting null_number[] = {{"presence.offline_grace_s", NULL}};
    plugin = start(api, &host, &table, null_number, 1, why, sizeof why);
    check(plugin == NULL && strstr(why, "presence.offline_grace_s") != NULL,
          "a NULL value is read as \"\" (malformed for a number, named: '%s')", why);
    if (plugin) api->destroy(plugin);

    memset(&host, 0, sizeof host);
    table = make_host_table(&host);
    table.get_setting = NULL;
    plugin = api->create(&table, NULL, 0, why, sizeof why);
    check(plugin != NULL, "a host without get_setting is fine ('%s')", why);
    if (plugin) api->destroy(plugin);
}

/* A host built before the 0.2 fields: shorter structs are read only as far as they go. */
static void test_older_host_structs(const presence_plugin_api* api) {
    fake_host host;
    char why[256];
    memset(&host, 0, sizeof host);
    host.now = 1800000000000LL;
    presence_host_api table = make_host_table(&host);
    table.respond_with_headers = host_respond_with_headers; /* beyond struct_size: unseen */
    table.struct_size = (uint32_t)offsetof(presence_host_api, respond_with_headers);
    presence_plugin* plugin = api->create(&table, NULL, 0, why, sizeof why);
    check(plugin != NULL, "a host table of the first 0.1 size is accepted ('%s')", why);
    if (!plugin) return;
    const http_answer* me = http(api, plugin, &host, 1, "GET", "/api/presence/me", "alice", NULL);
    check(me && me->status == 200 && !me->with_headers,
          "answers go through respond when respond_with_headers lies beyond struct_size");

    presence_http_request old;
    memset(&old, 0, sizeof old);
    old.struct_size = (uint32_t)offsetof(presence_http_request, headers);
    old.request_id = 2;
    old.method = "GET";
    old.path = "/api/presence/me";
    old.user_id = "alice";
    old.headers = (const presence_http_header*)&old; /* garbage past struct_size: never read */
    old.n_headers = 99;
    check(api->on_http(plugin, &old) == PRESENCE_HTTP_HANDLED && answer_for(&host, 2) &&
              answer_for(&host, 2)->status == 200,
          "a request struct without the headers fields is served");
    api->destroy(plugin);
    free_host(&host);

    memset(&host, 0, sizeof host);
    table = make_host_table(&host);
    table.struct_size = (uint32_t)offsetof(presence_host_api, on_presence_change);
    plugin = api->create(&table, NULL, 0, why, sizeof why);
    check(plugin != NULL, "a host table ending at wake is accepted ('%s')", why);
    if (plugin) {
        api->on_connect(plugin, 1, "alice", 5);
        pump(api, plugin, &host);
        check(host.changes == 0, "on_presence_change beyond struct_size is never called");
        check(host.conns[1].count > 0, "... and send (within it) is");
        api->on_disconnect(plugin, 1);
        api->destroy(plugin);
    }
    free_host(&host);
}

/* Response headers through respond_with_headers, request headers through the request. */
static void test_http_headers(const presence_plugin_api* api) {
    fake_host host;
    presence_host_api table;
    char why[256];
    presence_setting settings[] = {{"presence.updates_per_s", "0.1"}};
    presence_plugin* plugin = start(api, &host, &table, settings, 1, why, sizeof why);
    check(plugin != NULL, "create for the HTTP header checks ('%s')", why);
    if (!plugin) return;

    const http_answer* a = http(api, plugin, &host, 1, "GET", "/api/presence/me", "alice", NULL);
    check(a && a->status == 200 && a->with_headers,
          "GET /me answers 200 through respond_with_headers");
    const char* etag = header_of(a, "ETag");
    check(etag && etag[0] == '"', "a 200 GET carries a quoted ETag");
    check(header_of(a, "Cache-Control") && strcmp(header_of(a, "Cache-Control"), "no-cache") == 0,
          "... and Cache-Control: no-cache");
    char tag[64] = "";
    if (etag) snprintf(tag, sizeof tag, "%s", etag);

    presence_http_header match[] = {{"if-none-match", 13, tag, strlen(tag)}};
    a = http_with(api, plugin, &host, 2, "GET", "/api/presence/me", "alice", NULL, match, 1);
    check(a && a->status == 304 && a->body[0] == '\0',
          "If-None-Match with the current ETag answers 304 with no body (got %d)",
          a ? a->status : 0);
    check(a && header_of(a, "ETag") && strcmp(header_of(a, "ETag"), tag) == 0,
          "... carrying the same ETag");
    char list[128];
    snprintf(list, sizeof list, "\"other\", W/%s", tag);
    presence_http_header weak[] = {{"If-None-Match", 13, list, strlen(list)}};
    a = http_with(api, plugin, &host, 3, "GET", "/api/presence/me", "alice", NULL, weak, 1);
    check(a && a->status == 304, "a weak tag in a list matches too");

    a = http(api, plugin, &host, 4, "PUT", "/api/presence/status", "alice",
             "{\"status\":\"away\"}");
    check(a && a->status == 200 && !header_of(a, "ETag"), "PUT /status answers 200, no ETag");
    a = http_with(api, plugin, &host, 5, "GET", "/api/presence/me", "alice", NULL, match, 1);
    check(a && a->status == 200 && header_of(a, "ETag") && strcmp(header_of(a, "ETag"), tag) != 0,
          "after a change the old ETag no longer matches: 200 with a new ETag");

    a = http(api, plugin, &host, 6, "PUT", "/api/presence/status", "alice", "{\"status\":\"dnd\"}");
    check(a && a->status == 429, "a second update within the rate limit answers 429");
    check(a && header_of(a, "Retry-After") && strcmp(header_of(a, "Retry-After"), "10") == 0,
          "... with Retry-After: 10 (updates_per_s 0.1), got '%s'",
          a && header_of(a, "Retry-After") ? header_of(a, "Retry-After") : "(none)");
    a = http(api, plugin, &host, 7, "GET", "/api/presence/me", NULL, NULL);
    check(
        a && a->status == 401 && header_of(a, "WWW-Authenticate") &&
            strstr(header_of(a, "WWW-Authenticate"), "Bearer") == header_of(a, "WWW-Authenticate"),
        "401 carries WWW-Authenticate: Bearer ...");
    a = http(api, plugin, &host, 8, "DELETE", "/api/presence/visibility", "alice", NULL);
    check(a && a->status == 405 && header_of(a, "Allow") &&
              strcmp(header_of(a, "Allow"), "GET, PUT") == 0,
          "405 carries Allow: GET, PUT (got '%s')",
          a && header_of(a, "Allow") ? header_of(a, "Allow") : "(none)");
    api->destroy(plugin);
    free_host(&host);
}

/* Two instances in one process share nothing. */
static void test_two_instances(const presence_plugin_api* api) {
    fake_host one, two;
    presence_host_api table_one, table_two;
    char why[256], err[256];
    presence_plugin* a = start(api, &one, &table_one, NULL, 0, why, sizeof why);
    presence_plugin* b = start(api, &two, &table_two, NULL, 0, why, sizeof why);
    check(a && b, "two instances in one process");
    if (!a || !b) return;
    two.now = one.now + 5000;
    api->friendship(a, PRESENCE_FRIENDSHIP_ADD, "alice", 5, "bob", 3, err, sizeof err);
    api->on_connect(a, 1, "alice", 5);
    api->on_connect(b, 1, "alice", 5); /* the same connection id in the other instance */
    api->on_connect(a, 2, "bob", 3);
    api->on_connect(b, 2, "bob", 3);
    pump(api, a, &one);
    pump(api, b, &two);
    check(find_frame(&one, 1, "\"type\":\"presence\"", "\"bob\"", NULL) != NULL,
          "instance one: alice sees her friend bob");
    check(find_frame(&two, 1, "\"bob\"", NULL) == NULL,
          "instance two: the friendship given to instance one is not there");
    api->destroy(a);
    const char* beat = "{\"type\":\"presence_heartbeat\",\"idle\":false}";
    api->on_message(b, 1, beat, strlen(beat));
    check(find_frame(&two, 1, "presence_heartbeat_ack", "1800000005000", NULL) != NULL,
          "instance two still serves, with its own host's clock, after one is destroyed");
    api->destroy(b);
    free_host(&one);
    free_host(&two);
}

/* ---- debug-build checks (run in a forked child, which must die of SIGABRT) ---------- */

typedef struct hook_target {
    const presence_plugin_api* api;
    presence_plugin* plugin;
    presence_plugin* other; /* a second instance */
    fake_host* host;
} hook_target;

static void* tick_on_a_thread(void* arg) {
    hook_target* t = arg;
    t->api->tick(t->plugin);
    return NULL;
}

static void hook_from_another_thread(hook_target* t) {
    pthread_t thread;
    if (pthread_create(&thread, NULL, tick_on_a_thread, t) == 0) pthread_join(thread, NULL);
}

static void heartbeat_with_reentry(hook_target* t, presence_plugin* reentered) {
    t->host->reenter_api = t->api;
    t->host->reenter_plugin = reentered;
    const char* beat = "{\"type\":\"presence_heartbeat\",\"idle\":false}";
    t->api->on_message(t->plugin, 1, beat, strlen(beat)); /* its ack's send re-enters */
}

static void hook_from_inside_a_callback(hook_target* t) {
    heartbeat_with_reentry(t, t->plugin);
}

static void other_instance_from_inside_a_callback(hook_target* t) {
    heartbeat_with_reentry(t, t->other);
}

/* Runs `fn` in a child process: the signal that ended it, or 0 when it returned. */
static int signal_of_child(void (*fn)(hook_target*), hook_target* t) {
    fflush(stdout);
    fflush(stderr);
    const pid_t pid = fork();
    if (pid == 0) {
        fn(t);
        _exit(0);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid) return -1;
    return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

static void* create_on_a_thread(void* arg) {
    hook_target* t = arg;
    char why[256];
    presence_host_api table = make_host_table(t->host);
    t->plugin = t->api->create(&table, NULL, 0, why, sizeof why);
    return NULL;
}

static void* destroy_on_a_thread(void* arg) {
    hook_target* t = arg;
    t->api->destroy(t->plugin);
    return NULL;
}

static void test_loop_thread_checks(const presence_plugin_api* api, int debug_checks) {
    /* create and destroy may run on other threads than the loop (the main thread here). */
    fake_host host;
    memset(&host, 0, sizeof host);
    host.now = 1800000000000LL;
    hook_target t = {api, NULL, NULL, &host};
    pthread_t thread;
    pthread_create(&thread, NULL, create_on_a_thread, &t);
    pthread_join(thread, NULL);
    check(t.plugin != NULL, "create on another thread than the loop's");
    if (!t.plugin) return;
    check(api->on_connect(t.plugin, 1, "alice", 5) == 0, "hooks on the loop thread after that");
    pump(api, t.plugin, &host);

    fake_host other_host;
    presence_host_api other_table;
    char why[256];
    t.other = start(api, &other_host, &other_table, NULL, 0, why, sizeof why);
    if (t.other) api->tick(t.other); /* binds the second instance to this thread too */
    check(signal_of_child(other_instance_from_inside_a_callback, &t) == 0,
          "a callback of one instance may call a hook of another instance");
    if (debug_checks) {
        check(signal_of_child(hook_from_another_thread, &t) == SIGABRT,
              "debug build: a hook on another thread than the loop thread aborts");
        check(signal_of_child(hook_from_inside_a_callback, &t) == SIGABRT,
              "debug build: a hook called from inside a host callback aborts");
    } else {
        printf("(release build of the plugin: the abort-on-misuse checks are not compiled in)\n");
    }
    api->on_disconnect(t.plugin, 1);
    pthread_create(&thread, NULL, destroy_on_a_thread, &t);
    pthread_join(thread, NULL);
    check(1, "destroy on another thread than the loop's");
    if (t.other) api->destroy(t.other);
    free_host(&host);
    free_host(&other_host);
}

int main(int argc, char** argv) {
    /* ctest passes "" instead of --debug-checks for a release build of the plugin. */
    const int debug_checks = argc == 3 && strcmp(argv[2], "--debug-checks") == 0;
    if (argc < 2 || (argc == 3 && !debug_checks && argv[2][0] != '\0') || argc > 3) {
        fprintf(stderr, "usage: %s /path/to/libpresence.so [--debug-checks]\n", argv[0]);
        return 2;
    }
    void* so = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!so) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 1;
    }
    /* POSIX allows this conversion; C11 alone does not, hence the memcpy. */
    void* symbol = dlsym(so, PRESENCE_ENTRY_SYMBOL);
    presence_entry_fn entry = NULL;
    memcpy(&entry, &symbol, sizeof entry);
    check(entry != NULL, "the entry symbol is exported");
    if (entry) {
        test_version_handshake(entry);
        char why[256];
        const presence_plugin_api* api = entry(PRESENCE_ABI_VERSION, why, sizeof why);
        if (api) {
            test_bad_settings(api);
            test_session(api);
            test_close_codes(api);
            test_friendships_in_bulk(api);
            test_destroy_with_open_connections(api);
            test_sends_inside_on_disconnect(api);
            test_message_size(api);
            test_settings_rules(api);
            test_older_host_structs(api);
            test_http_headers(api);
            test_two_instances(api);
            test_loop_thread_checks(api, debug_checks);
        }
    }
    dlclose(so);
    printf("%d passed, %d failed\n", g_passed, g_failed);
    return g_failed ? 1 : 0;
}
