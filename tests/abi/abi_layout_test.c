/*
 * Compiles abi/presence_plugin.h as plain C11 and pins its layout: a host written in C (or
 * through an FFI) relies on these offsets, so a change here is an ABI break, not a refactor.
 * The structs only ever grow at their end, and struct_size always comes first.
 */
#include <stddef.h>
#include <stdio.h>

#include "presence_plugin.h"

_Static_assert(PRESENCE_ABI_VERSION == 1u, "ABI version 1");
_Static_assert(sizeof(void*) == 8, "layout checks below assume an LP64 target");

/* struct_size first, everywhere it exists. */
_Static_assert(offsetof(presence_change, struct_size) == 0, "struct_size first");
_Static_assert(offsetof(presence_http_request, struct_size) == 0, "struct_size first");
_Static_assert(offsetof(presence_host_api, struct_size) == 0, "struct_size first");
_Static_assert(offsetof(presence_plugin_api, struct_size) == 0, "struct_size first");
_Static_assert(sizeof(((presence_host_api*)0)->struct_size) == 4, "uint32_t struct_size");

/* presence_setting: two borrowed C strings. */
_Static_assert(offsetof(presence_setting, key) == 0, "setting.key");
_Static_assert(offsetof(presence_setting, value) == 8, "setting.value");
_Static_assert(sizeof(presence_setting) == 16, "setting size");

/* presence_change */
_Static_assert(offsetof(presence_change, user_id) == 8, "change.user_id");
_Static_assert(offsetof(presence_change, user_id_len) == 16, "change.user_id_len");
_Static_assert(offsetof(presence_change, status) == 20, "change.status");
_Static_assert(offsetof(presence_change, chosen_status) == 24, "change.chosen_status");
_Static_assert(offsetof(presence_change, connections) == 28, "change.connections");
_Static_assert(offsetof(presence_change, message) == 32, "change.message");
_Static_assert(offsetof(presence_change, last_seen_ms) == 40, "change.last_seen_ms");
_Static_assert(offsetof(presence_change, at_ms) == 48, "change.at_ms");
_Static_assert(sizeof(presence_change) == 56, "change size");

/* presence_http_request */
_Static_assert(offsetof(presence_http_request, request_id) == 8, "http.request_id");
_Static_assert(offsetof(presence_http_request, method) == 16, "http.method");
_Static_assert(offsetof(presence_http_request, path) == 24, "http.path");
_Static_assert(offsetof(presence_http_request, query) == 32, "http.query");
_Static_assert(offsetof(presence_http_request, user_id) == 40, "http.user_id");
_Static_assert(offsetof(presence_http_request, body) == 48, "http.body");
_Static_assert(offsetof(presence_http_request, body_len) == 56, "http.body_len");
_Static_assert(offsetof(presence_http_request, headers) == 64, "http.headers (plugin 0.2)");
_Static_assert(offsetof(presence_http_request, n_headers) == 72, "http.n_headers (plugin 0.2)");
_Static_assert(offsetof(presence_http_request, flags) == 80, "http.flags (plugin 0.2)");
_Static_assert(sizeof(presence_http_request) == 88, "http size");

/* Frozen array elements (no struct_size: they never grow). */
_Static_assert(offsetof(presence_http_header, name) == 0, "header.name");
_Static_assert(offsetof(presence_http_header, name_len) == 8, "header.name_len");
_Static_assert(offsetof(presence_http_header, value) == 16, "header.value");
_Static_assert(offsetof(presence_http_header, value_len) == 24, "header.value_len");
_Static_assert(sizeof(presence_http_header) == 32, "header size");
_Static_assert(offsetof(presence_friendship, op) == 0, "friendship.op");
_Static_assert(offsetof(presence_friendship, a) == 8, "friendship.a");
_Static_assert(offsetof(presence_friendship, a_len) == 16, "friendship.a_len");
_Static_assert(offsetof(presence_friendship, b) == 24, "friendship.b");
_Static_assert(offsetof(presence_friendship, b_len) == 32, "friendship.b_len");
_Static_assert(sizeof(presence_friendship) == 40, "friendship size");

/* presence_host_api: append-only, so every existing slot keeps its offset. */
_Static_assert(offsetof(presence_host_api, host_ctx) == 8, "host.host_ctx");
_Static_assert(offsetof(presence_host_api, send) == 16, "host.send");
_Static_assert(offsetof(presence_host_api, close) == 24, "host.close");
_Static_assert(offsetof(presence_host_api, respond) == 32, "host.respond");
_Static_assert(offsetof(presence_host_api, get_setting) == 40, "host.get_setting");
_Static_assert(offsetof(presence_host_api, log) == 48, "host.log");
_Static_assert(offsetof(presence_host_api, now_ms) == 56, "host.now_ms");
_Static_assert(offsetof(presence_host_api, wake) == 64, "host.wake");
_Static_assert(offsetof(presence_host_api, on_presence_change) == 72, "host.on_presence_change");
_Static_assert(offsetof(presence_host_api, send_many) == 80, "host.send_many");
_Static_assert(offsetof(presence_host_api, respond_with_headers) == 88,
               "host.respond_with_headers (plugin 0.2)");
_Static_assert(sizeof(presence_host_api) == 96, "host size");

/* presence_plugin_api */
_Static_assert(offsetof(presence_plugin_api, abi_version) == 4, "plugin.abi_version");
_Static_assert(offsetof(presence_plugin_api, name) == 8, "plugin.name");
_Static_assert(offsetof(presence_plugin_api, version) == 16, "plugin.version");
_Static_assert(offsetof(presence_plugin_api, create) == 24, "plugin.create");
_Static_assert(offsetof(presence_plugin_api, destroy) == 32, "plugin.destroy");
_Static_assert(offsetof(presence_plugin_api, on_connect) == 40, "plugin.on_connect");
_Static_assert(offsetof(presence_plugin_api, on_disconnect) == 48, "plugin.on_disconnect");
_Static_assert(offsetof(presence_plugin_api, on_message) == 56, "plugin.on_message");
_Static_assert(offsetof(presence_plugin_api, on_http) == 64, "plugin.on_http");
_Static_assert(offsetof(presence_plugin_api, tick) == 72, "plugin.tick");
_Static_assert(offsetof(presence_plugin_api, on_wake) == 80, "plugin.on_wake");
_Static_assert(offsetof(presence_plugin_api, friendship) == 88, "plugin.friendship");
_Static_assert(offsetof(presence_plugin_api, tick_interval_ms) == 96, "plugin.tick_interval_ms");
_Static_assert(offsetof(presence_plugin_api, max_message_bytes) == 104,
               "plugin.max_message_bytes (plugin 0.2)");
_Static_assert(offsetof(presence_plugin_api, on_message_too_large) == 112,
               "plugin.on_message_too_large (plugin 0.2)");
_Static_assert(offsetof(presence_plugin_api, friendships) == 120,
               "plugin.friendships (plugin 0.2)");
_Static_assert(sizeof(presence_plugin_api) == 128, "plugin size");

/* The wire constants are part of the contract too. */
_Static_assert(PRESENCE_STATUS_OFFLINE == 0 && PRESENCE_STATUS_ONLINE == 1 &&
                   PRESENCE_STATUS_AWAY == 2 && PRESENCE_STATUS_DND == 3 &&
                   PRESENCE_STATUS_INVISIBLE == 4,
               "status values");
_Static_assert(PRESENCE_FRIENDSHIP_ADD == 1 && PRESENCE_FRIENDSHIP_REMOVE == 2, "ops");
_Static_assert(PRESENCE_HTTP_NOT_MINE == 0 && PRESENCE_HTTP_HANDLED == 1, "on_http results");
_Static_assert(PRESENCE_CLOSE_GOING_AWAY == 1001 && PRESENCE_CLOSE_POLICY == 1008 &&
                   PRESENCE_CLOSE_INTERNAL == 1011 && PRESENCE_CLOSE_TRY_AGAIN == 1013,
               "close codes");

int main(void) {
    /* PRESENCE_HAS_FIELD must say "no" for a struct from an older, shorter peer. */
    presence_host_api old_host = {0};
    old_host.struct_size = (uint32_t)offsetof(presence_host_api, on_presence_change);
    int failures = 0;
    if (PRESENCE_HAS_FIELD(&old_host, presence_host_api, send_many)) failures++;
    if (PRESENCE_HAS_FIELD(&old_host, presence_host_api, on_presence_change)) failures++;
    if (!PRESENCE_HAS_FIELD(&old_host, presence_host_api, wake)) failures++;
    /* ... and for a table from a plugin released before the 0.2 slots were appended. */
    presence_plugin_api old_plugin = {0};
    old_plugin.struct_size = (uint32_t)offsetof(presence_plugin_api, max_message_bytes);
    if (PRESENCE_HAS_FIELD(&old_plugin, presence_plugin_api, max_message_bytes)) failures++;
    if (PRESENCE_HAS_FIELD(&old_plugin, presence_plugin_api, friendships)) failures++;
    if (!PRESENCE_HAS_FIELD(&old_plugin, presence_plugin_api, tick_interval_ms)) failures++;
    printf("%d passed, %d failed\n", 6 - failures, failures);
    return failures ? 1 : 0;
}
