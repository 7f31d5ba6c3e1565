/*
 * mini_host.c - the smallest complete host: load libpresence.so, give it a host table, drive a
 * few hooks by hand and print what the plugin sends. No sockets, no event loop: a real host
 * puts sends on its sockets and calls tick/on_wake from its loop (see epoll_host.c).
 *
 *   cc -std=c11 $(pkg-config --cflags presence) mini_host.c -ldl -o mini_host
 *   ./mini_host [path/to/libpresence.so]      (default: the installed soname, libpresence.so.1)
 *
 * Prints alice's snapshot, bob's online event, bob's snapshot and the heartbeat ack, then
 * "mini_host: ok" (exit 0), or what went wrong (exit 1).
 */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "presence_plugin.h"

static int frames_seen;

static int send_frame(void* ctx, uint64_t conn, const char* data, size_t len) {
    (void)ctx; /* a real host copies the bytes into the socket's queue */
    printf("to %llu: %.*s\n", (unsigned long long)conn, (int)len, data);
    frames_seen++;
    return 0;
}

static void close_conn(void* ctx, uint64_t conn, uint16_t code, const char* reason) {
    (void)ctx;
    printf("close %llu: %u %s\n", (unsigned long long)conn, code, reason ? reason : "");
}

static void respond(void* ctx, uint64_t request, int status, const char* type, const char* body,
                    size_t len) {
    (void)ctx;
    (void)type;
    printf("answer %llu: %d %.*s\n", (unsigned long long)request, status, (int)len, body);
}

static int64_t now_ms(void* ctx) {
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void wake(void* ctx) {
    (void)ctx; /* any thread: a real host wakes its loop, which then calls api->on_wake */
}

int main(int argc, char** argv) {
    const char* path = argc > 1 ? argv[1] : "libpresence.so.1";
    void* so = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!so) {
        fprintf(stderr, "mini_host: %s\n", dlerror());
        return 1;
    }
    presence_entry_fn entry;
    void* symbol = dlsym(so, PRESENCE_ENTRY_SYMBOL);
    memcpy(&entry, &symbol, sizeof entry); /* object to function pointer, as POSIX allows */
    char why[256] = "";
    const presence_plugin_api* api = entry ? entry(PRESENCE_ABI_VERSION, why, sizeof why) : NULL;
    if (!api) {
        fprintf(stderr, "mini_host: plugin refused: %s\n", entry ? why : "no entry symbol");
        return 1;
    }

    presence_host_api host;
    memset(&host, 0, sizeof host); /* optional callbacks stay NULL */
    host.struct_size = sizeof host;
    host.send = send_frame;
    host.close = close_conn;
    host.respond = respond;
    host.now_ms = now_ms;
    host.wake = wake;
    const presence_setting settings[] = {{"presence.offline_grace_s", "1"}};
    presence_plugin* p = api->create(&host, settings, 1, why, sizeof why);
    if (!p) {
        fprintf(stderr, "mini_host: create failed: %s\n", why);
        return 1;
    }

    int ok =
        api->friendship(p, PRESENCE_FRIENDSHIP_ADD, "alice", 5, "bob", 3, why, sizeof why) == 0;
    ok = ok && api->on_connect(p, 1, "alice", 5) == 0; /* alice gets her snapshot */
    ok = ok && api->on_connect(p, 2, "bob", 3) == 0;   /* bob his; alice hears bob is online */
    const char* hb = "{\"type\":\"presence_heartbeat\",\"idle\":false}";
    api->on_message(p, 2, hb, strlen(hb)); /* bob gets the ack */
    api->tick(p);                          /* from the loop, every tick_interval_ms() */
    api->on_disconnect(p, 1);
    api->on_disconnect(p, 2);
    api->destroy(p);
    dlclose(so);

    if (!ok || frames_seen < 4) {
        fprintf(stderr, "mini_host: FAILED (%d frames, expected at least 4)\n", frames_seen);
        return 1;
    }
    printf("mini_host: ok\n");
    return 0;
}
