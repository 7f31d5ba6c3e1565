/*
 * A host written in plain C11, with nothing but abi/presence_plugin.h: it dlopens the real
 * libpresence.so and drives it through the function tables with a fake host (virtual clock,
 * recorded frames, closes and HTTP answers). This proves the header alone is enough to host
 * the plugin without libwebsockets, and pins the behaviour a host can see.
 *
 * Usage: abi_host_test /path/to/libpresence.so      Prints "N passed, N failed".
 */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi/presence_plugin.h"

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

typedef struct http_answer {
    uint64_t request_id;
    int status;
    char* body;
} http_answer;

typedef struct fake_host {
    int64_t now;
    frame_log conns[MAX_CONNS];
    http_answer answers[MAX_ANSWERS];
    int n_answers;
    int wakes;
    int changes;
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

static const char* host_get_setting(void* ctx, const char* key) {
    (void)ctx;
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
    return api;
}

static void clear_frames(fake_host* host) {
    for (int c = 0; c < MAX_CONNS; c++) {
        for (int i = 0; i < host->conns[c].count; i++) free(host->conns[c].frames[i]);
        host->conns[c].count = 0;
    }
}

static void free_host(fake_host* host) {
    clear_frames(host);
    for (int i = 0; i < host->n_answers; i++) free(host->answers[i].body);
    host->n_answers = 0;
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

static const http_answer* http(const presence_plugin_api* api, presence_plugin* plugin,
                               fake_host* host, uint64_t id, const char* method, const char* path,
                               const char* user, const char* body) {
    presence_http_request request;
    memset(&request, 0, sizeof request);
    request.struct_size = sizeof request;
    request.request_id = id;
    request.method = method;
    request.path = path;
    request.user_id = user;
    request.body = body;
    request.body_len = body ? strlen(body) : 0;
    int handled = api->on_http(plugin, &request);
    check(handled == PRESENCE_HTTP_HANDLED, "%s %s is handled by the plugin", method, path);
    for (int i = 0; i < 50 && !answer_for(host, id); i++) pump(api, plugin, host);
    return answer_for(host, id);
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

int main(int argc, char** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s /path/to/libpresence.so\n", argv[0]);
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
        }
    }
    dlclose(so);
    printf("%d passed, %d failed\n", g_passed, g_failed);
    return g_failed ? 1 : 0;
}
