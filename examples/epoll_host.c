/*
 * epoll_host.c - libpresence.so inside an event loop of its own: epoll, real sockets, no
 * libwebsockets. Everything a host does, in one file a host author can read top to bottom:
 *
 *   - load the plugin, check the ABI version and the slots added later (PRESENCE_HAS_FIELD);
 *   - a host table whose send/close/respond queue bytes for sockets the loop writes later;
 *   - wake through an eventfd (any thread), tick through a timerfd, SIGINT/SIGTERM through a
 *     signalfd, all in the one epoll set: every hook runs on this one thread;
 *   - WebSocket (RFC 6455: handshake, masked client frames, fragments, ping, close) with the
 *     plugin's size limit (max_message_bytes, on_message_too_large);
 *   - HTTP/1.1 requests handed to on_http with their headers; answers with the plugin's
 *     headers (respond_with_headers); one request per connection;
 *   - on_disconnect for every accepted connection once its socket is gone, on a later loop
 *     turn than the close() that asked for it; destroy() with connections still open.
 *
 * Not a production server: no TLS and NO AUTHENTICATION. The user is taken from ?user=NAME
 * (WebSocket and HTTP alike), as presence-host does only in --demo mode from loopback. A real
 * host authenticates first and passes the user it verified. Connections live in a small array
 * searched linearly; a real host uses a hash map.
 *
 *   epoll_host [--plugin PATH] [--port N] [--friend A,B]... [presence.KEY=VALUE]...
 *
 * Listens on 127.0.0.1:N (0, the default, picks a free port) and prints
 * "listening on http://127.0.0.1:PORT". Exit status 0 after SIGINT/SIGTERM.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "presence_plugin.h"

#define MAX_CONNS 1024
#define MAX_REQUEST_HEAD 8192
#define MAX_HEADERS 32
#define MAX_OUTGOING (4u << 20) /* a reader this far behind is cut off */

/* ---- buffers ------------------------------------------------------------------------ */

typedef struct buffer {
    char* data;
    size_t len, cap;
} buffer;

static void buffer_append(buffer* b, const void* data, size_t len) {
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + len) cap *= 2;
        char* grown = realloc(b->data, cap);
        if (!grown) abort();
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

static void buffer_consume(buffer* b, size_t n) {
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

static void buffer_free(buffer* b) {
    free(b->data);
    memset(b, 0, sizeof *b);
}

/* ---- connections ---------------------------------------------------------------------- */

enum conn_kind { READING_REQUEST, HTTP_WAITING, WEBSOCKET };

typedef struct conn {
    int fd;
    enum conn_kind kind;
    uint64_t id;      /* WebSocket: the host-chosen conn_id; HTTP: the request_id */
    buffer in, out;   /* bytes read and not yet used; bytes to write */
    buffer message;   /* a fragmented WebSocket message being put together */
    int accepted;     /* on_connect said 0: on_disconnect is owed */
    int closing;      /* a close was queued: no more sends, shut down once `out` is out */
    int dead;         /* the socket is done: on_disconnect and free on the next turn */
    int too_large;    /* the current message passed max_message_bytes: dropping it */
    uint64_t dropped; /* its length so far */
    uint64_t skip;    /* payload bytes of the current frame still to drop */
    int skip_fin;     /* that frame ends its message */
    int want_out;     /* EPOLLOUT is on */
} conn;

/* Sentinels for the epoll set's non-connection descriptors. */
static int tag_listener, tag_wake, tag_timer, tag_signal;

typedef struct host {
    const presence_plugin_api* api;
    presence_plugin* plugin;
    int epoll_fd, listen_fd, wake_fd, timer_fd, signal_fd;
    conn* conns[MAX_CONNS];
    uint64_t next_id;
    size_t max_message;
    int have_dead;
} host;

static conn* find_conn(host* h, enum conn_kind kind, uint64_t id) {
    for (int i = 0; i < MAX_CONNS; i++) {
        conn* c = h->conns[i];
        if (c && c->kind == kind && c->id == id && !c->dead) return c;
    }
    return NULL;
}

static void watch(host* h, conn* c) {
    struct epoll_event ev = {.events = EPOLLIN | (c->want_out ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(h->epoll_fd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void mark_dead(host* h, conn* c) {
    if (c->dead) return;
    c->dead = 1;
    h->have_dead = 1;
}

/* Writes what `c` is owed; EPOLLOUT while the socket cannot take it all. */
static void flush(host* h, conn* c) {
    while (c->out.len > 0 && !c->dead) {
        const ssize_t n = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL);
        if (n > 0) {
            buffer_consume(&c->out, (size_t)n);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        } else {
            mark_dead(h, c);
            return;
        }
    }
    const int want_out = c->out.len > 0;
    if (want_out != c->want_out) {
        c->want_out = want_out;
        watch(h, c);
    }
    if (c->out.len == 0 && c->closing) mark_dead(h, c); /* the close (or answer) is out */
}

/* ---- WebSocket framing ---------------------------------------------------------------- */

static void queue_ws_frame(conn* c, int opcode, const void* data, size_t len) {
    unsigned char head[10];
    size_t n = 0;
    head[n++] = (unsigned char)(0x80 | opcode); /* FIN, one frame per message */
    if (len < 126) {
        head[n++] = (unsigned char)len;
    } else if (len <= 0xffff) {
        head[n++] = 126;
        head[n++] = (unsigned char)(len >> 8);
        head[n++] = (unsigned char)len;
    } else {
        head[n++] = 127;
        for (int shift = 56; shift >= 0; shift -= 8) head[n++] = (unsigned char)(len >> shift);
    }
    buffer_append(&c->out, head, n);
    buffer_append(&c->out, data, len);
}

static void queue_ws_close(conn* c, uint16_t code, const char* reason) {
    char payload[125];
    size_t reason_len = reason ? strlen(reason) : 0;
    if (reason_len > sizeof payload - 2) reason_len = sizeof payload - 2;
    payload[0] = (char)(code >> 8);
    payload[1] = (char)code;
    if (reason_len) memcpy(payload + 2, reason, reason_len);
    queue_ws_frame(c, 0x8, payload, 2 + reason_len);
    c->closing = 1;
}

/* ---- the host table: what the plugin calls ------------------------------------------- */

static int host_send(void* ctx, uint64_t conn_id, const char* data, size_t len) {
    host* h = ctx;
    conn* c = find_conn(h, WEBSOCKET, conn_id);
    if (!c || c->closing) return -1;
    if (c->out.len + len > MAX_OUTGOING) { /* a slow reader: cut off (no close frame) */
        mark_dead(h, c);
        return -1;
    }
    queue_ws_frame(c, 0x1, data, len); /* copied: `data` is only borrowed */
    return 0;                          /* written at the end of this loop turn */
}

static size_t host_send_many(void* ctx, const uint64_t* ids, size_t n, const char* data,
                             size_t len) {
    size_t sent = 0;
    for (size_t i = 0; i < n; i++) sent += host_send(ctx, ids[i], data, len) == 0;
    return sent;
}

static void host_close(void* ctx, uint64_t conn_id, uint16_t code, const char* reason) {
    conn* c = find_conn(ctx, WEBSOCKET, conn_id);
    /* Queued behind the frames before it (the error that explains it); never on_disconnect
     * from in here: the socket is reaped on a later turn, then on_disconnect is called. */
    if (c && !c->closing) queue_ws_close(c, code, reason);
}

static const char* reason_phrase(int status) {
    switch (status) {
        case 200:
            return "OK";
        case 304:
            return "Not Modified";
        case 400:
            return "Bad Request";
        case 401:
            return "Unauthorized";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 413:
            return "Content Too Large";
        case 422:
            return "Unprocessable Content";
        case 429:
            return "Too Many Requests";
        case 503:
            return "Service Unavailable";
        default:
            return "Status";
    }
}

static void answer_http(conn* c, int status, const char* content_type,
                        const presence_http_header* headers, size_t n_headers, const char* body,
                        size_t len) {
    char line[512];
    if (status == 304) len = 0; /* never a body */
    int n =
        snprintf(line, sizeof line,
                 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                 "Connection: close\r\n",
                 status, reason_phrase(status), content_type ? content_type : "text/plain", len);
    buffer_append(&c->out, line, (size_t)n);
    for (size_t i = 0; i < n_headers; i++) {
        buffer_append(&c->out, headers[i].name, headers[i].name_len);
        buffer_append(&c->out, ": ", 2);
        buffer_append(&c->out, headers[i].value, headers[i].value_len);
        buffer_append(&c->out, "\r\n", 2);
    }
    buffer_append(&c->out, "\r\n", 2);
    if (len) buffer_append(&c->out, body, len);
    c->closing = 1; /* one request per connection */
}

static void host_respond_with_headers(void* ctx, uint64_t request_id, int status,
                                      const char* content_type, const presence_http_header* headers,
                                      size_t n_headers, const char* body, size_t len) {
    conn* c = find_conn(ctx, HTTP_WAITING, request_id);
    if (c) answer_http(c, status, content_type, headers, n_headers, body, len);
    /* else: the client left; the answer has nowhere to go */
}

static void host_respond(void* ctx, uint64_t request_id, int status, const char* content_type,
                         const char* body, size_t len) {
    host_respond_with_headers(ctx, request_id, status, content_type, NULL, 0, body, len);
}

static void host_log(void* ctx, int level, const char* message) {
    (void)ctx; /* any thread: one fprintf is one line */
    static const char* names[] = {"error", "warn", "info", "debug"};
    if (level <= PRESENCE_LOG_INFO) fprintf(stderr, "[%s] %s\n", names[level & 3], message);
}

static int64_t host_now_ms(void* ctx) {
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void host_wake(void* ctx) {
    const uint64_t one = 1; /* any thread: the loop sees the eventfd and calls on_wake */
    if (write(((host*)ctx)->wake_fd, &one, sizeof one) < 0) { /* full counter: wakes anyway */
    }
}

static void host_on_presence_change(void* ctx, const presence_change* change) {
    (void)ctx; /* where a host would send a push notification */
    static const char* names[] = {"offline", "online", "away", "dnd"};
    if (change->status >= 0 && change->status <= 3) {
        printf("change: %.*s is %s for friends (%d connections)\n", (int)change->user_id_len,
               change->user_id, names[change->status], change->connections);
        fflush(stdout);
    }
}

/* ---- HTTP requests (and the WebSocket upgrade) ---------------------------------------- */

/* The value of `name` in a query string ("a=1&user=bob"), copied into out; 0 when absent. */
static int query_param(const char* query, const char* name, char* out, size_t cap) {
    const size_t name_len = strlen(name);
    for (const char* p = query; p && *p;) {
        const char* end = strchr(p, '&');
        const size_t item = end ? (size_t)(end - p) : strlen(p);
        if (item > name_len && strncmp(p, name, name_len) == 0 && p[name_len] == '=') {
            const size_t len = item - name_len - 1;
            if (len == 0 || len >= cap) return 0;
            memcpy(out, p + name_len + 1, len);
            out[len] = '\0';
            return 1;
        }
        p = end ? end + 1 : NULL;
    }
    return 0;
}

static const presence_http_header* header_named(const presence_http_header* headers, size_t n,
                                                const char* name) {
    for (size_t i = 0; i < n; i++) {
        if (headers[i].name_len == strlen(name) &&
            strncasecmp(headers[i].name, name, headers[i].name_len) == 0) {
            return &headers[i];
        }
    }
    return NULL;
}

static int value_has(const presence_http_header* h, const char* word) {
    if (!h) return 0;
    for (size_t i = 0; i + strlen(word) <= h->value_len; i++) {
        if (strncasecmp(h->value + i, word, strlen(word)) == 0) return 1;
    }
    return 0;
}

static void upgrade_to_websocket(host* h, conn* c, const presence_http_header* key,
                                 const char* user) {
    /* Sec-WebSocket-Accept = base64(SHA-1(key + the RFC 6455 GUID)) */
    char material[128];
    const int n = snprintf(material, sizeof material, "%.*s258EAFA5-E914-47DA-95CA-C5AB0DC85B11",
                           (int)(key->value_len < 64 ? key->value_len : 64), key->value);
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char*)material, (size_t)n, digest);
    unsigned char accept[64];
    EVP_EncodeBlock(accept, digest, SHA_DIGEST_LENGTH);
    char answer[256];
    const int len = snprintf(answer, sizeof answer,
                             "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                             "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                             accept);
    buffer_append(&c->out, answer, (size_t)len);
    c->kind = WEBSOCKET;
    c->id = h->next_id++;
    /* The connection can take sends before on_connect: the snapshot is sent from inside it. */
    const int verdict = h->api->on_connect(h->plugin, c->id, user, strlen(user));
    if (verdict == 0) {
        c->accepted = 1;
    } else {
        queue_ws_close(c, (uint16_t)verdict, "refused"); /* a close code, 1000-4999 */
    }
}

/* A whole request head (and body) is in c->in: hand it to the plugin. 0, or -1 to wait. */
static int serve_request(host* h, conn* c) {
    const char* head_end = memmem(c->in.data, c->in.len, "\r\n\r\n", 4);
    if (!head_end) {
        if (c->in.len > MAX_REQUEST_HEAD) mark_dead(h, c);
        return -1;
    }
    const size_t head_len = (size_t)(head_end - c->in.data) + 4;
    if (head_len > MAX_REQUEST_HEAD) {
        mark_dead(h, c);
        return 0;
    }
    /* Parsed in a copy, so c->in stays whole while the body is still arriving. */
    char head[MAX_REQUEST_HEAD + 1];
    memcpy(head, c->in.data, head_len - 4);
    head[head_len - 4] = '\0';
    /* Request line: METHOD SP TARGET SP VERSION */
    char* save = NULL;
    char* method = strtok_r(head, " ", &save);
    char* target = strtok_r(NULL, " ", &save);
    char* rest = strtok_r(NULL, "\r\n", &save);
    if (!method || !target || !rest) {
        answer_http(c, 400, "text/plain", NULL, 0, "bad request\n", 12);
        c->in.len = 0;
        return 0;
    }
    presence_http_header headers[MAX_HEADERS];
    size_t n_headers = 0;
    for (char* line = strtok_r(NULL, "\r\n", &save); line && n_headers < MAX_HEADERS;
         line = strtok_r(NULL, "\r\n", &save)) {
        char* colon = strchr(line, ':');
        if (!colon) continue;
        char* value = colon + 1;
        while (*value == ' ' || *value == '\t') value++;
        headers[n_headers++] =
            (presence_http_header){line, (size_t)(colon - line), value, strlen(value)};
    }
    const presence_http_header* length = header_named(headers, n_headers, "Content-Length");
    const size_t body_len = length ? strtoul(length->value, NULL, 10) : 0;
    if (body_len > h->max_message) { /* answered without reading it */
        answer_http(c, 413, "application/json", NULL, 0, "{}", 2);
        c->in.len = 0;
        return 0;
    }
    if (c->in.len < head_len + body_len) return -1; /* the body is still coming */
    char* query = strchr(target, '?');
    if (query) *query++ = '\0';
    char user[65];
    const int has_user = query_param(query, "user", user, sizeof user);

    if (strcmp(method, "GET") == 0 &&
        value_has(header_named(headers, n_headers, "Upgrade"), "websocket")) {
        const presence_http_header* key = header_named(headers, n_headers, "Sec-WebSocket-Key");
        if (strcmp(target, "/ws") != 0 || !key) {
            answer_http(c, 404, "text/plain", NULL, 0, "not found\n", 10);
        } else if (!has_user) {
            answer_http(c, 401, "text/plain", NULL, 0, "?user=NAME\n", 11);
        } else {
            upgrade_to_websocket(h, c, key, user);
        }
        buffer_consume(&c->in, head_len); /* frames may follow at once */
        return 0;
    }
    c->kind = HTTP_WAITING;
    c->id = h->next_id++;
    presence_http_request request;
    memset(&request, 0, sizeof request);
    request.struct_size = sizeof request;
    request.request_id = c->id;
    request.method = method;
    request.path = target;
    request.query = query;
    request.user_id = has_user ? user : NULL; /* a real host: the user it authenticated */
    request.body = body_len ? c->in.data + head_len : NULL;
    request.body_len = body_len;
    request.headers = headers; /* every header, borrowed for the call */
    request.n_headers = n_headers;
    if (h->api->on_http(h->plugin, &request) == PRESENCE_HTTP_NOT_MINE) {
        answer_http(c, 404, "text/plain", NULL, 0, "not found\n", 10);
    } /* else respond() came from inside on_http, or comes from a later hook */
    c->in.len = 0;
    return 0;
}

/* ---- WebSocket frames from the client ------------------------------------------------- */

static void message_done(host* h, conn* c) {
    if (c->too_large) {
        h->api->on_message_too_large(h->plugin, c->id, (size_t)c->dropped);
    } else {
        h->api->on_message(h->plugin, c->id, c->message.data ? c->message.data : "",
                           c->message.len);
    }
    c->too_large = 0;
    c->dropped = 0;
    c->message.len = 0;
}

/* Uses every complete frame in c->in; drops payloads past the limit without keeping them. */
static void read_frames(host* h, conn* c) {
    for (;;) {
        if (c->skip > 0) { /* inside a frame of a message that is being dropped */
            const size_t n = c->in.len < c->skip ? c->in.len : (size_t)c->skip;
            buffer_consume(&c->in, n);
            c->skip -= n;
            if (c->skip > 0) return;
            if (c->skip_fin) message_done(h, c);
            continue;
        }
        const unsigned char* p = (const unsigned char*)c->in.data;
        if (c->in.len < 2) return;
        const int fin = p[0] & 0x80, opcode = p[0] & 0x0f, masked = p[1] & 0x80;
        uint64_t len = p[1] & 0x7f;
        size_t at = 2;
        if (len == 126) {
            if (c->in.len < 4) return;
            len = (uint64_t)p[2] << 8 | p[3];
            at = 4;
        } else if (len == 127) {
            if (c->in.len < 10) return;
            len = 0;
            for (int i = 0; i < 8; i++) len = len << 8 | p[2 + i];
            at = 10;
        }
        if (!masked) { /* clients must mask: a protocol error */
            queue_ws_close(c, 1002, "unmasked frame");
            return;
        }
        if (c->in.len < at + 4) return;
        const unsigned char* mask = p + at;
        at += 4;
        const int data = opcode == 0x0 || opcode == 0x1 || opcode == 0x2;
        if (data && (c->too_large || c->message.len + len > h->max_message)) {
            /* Past max_message_bytes: drop it as it arrives; the plugin answers too_large. */
            c->too_large = 1;
            c->dropped += len + (c->message.len ? c->message.len : 0);
            c->message.len = 0;
            c->skip = len;
            c->skip_fin = fin != 0;
            buffer_consume(&c->in, at);
            if (len == 0 && fin) message_done(h, c);
            continue;
        }
        if (!data && len > 125) {
            queue_ws_close(c, 1002, "control frame too long");
            return;
        }
        if (c->in.len < at + len) return; /* the rest of the frame is still coming */
        char* payload = c->in.data + at;
        for (uint64_t i = 0; i < len; i++) payload[i] ^= (char)mask[i % 4];
        if (data) {
            /* Text and binary alike: the plugin answers what is not UTF-8 JSON with bad_json. */
            buffer_append(&c->message, payload, (size_t)len);
            if (fin) message_done(h, c);
        } else if (opcode == 0x8) { /* close: answer it, then the socket goes */
            if (!c->closing) queue_ws_close(c, 1000, NULL);
        } else if (opcode == 0x9) { /* ping: pong with the same payload */
            queue_ws_frame(c, 0xA, payload, (size_t)len);
        }
        buffer_consume(&c->in, at + (size_t)len);
        if (c->closing) return;
    }
}

static void on_readable(host* h, conn* c) {
    char chunk[65536];
    for (;;) {
        const ssize_t n = recv(c->fd, chunk, sizeof chunk, 0);
        if (n > 0) {
            buffer_append(&c->in, chunk, (size_t)n);
            if (c->kind == READING_REQUEST && !c->closing) {
                if (serve_request(h, c) < 0) continue;
            }
            if (c->kind == WEBSOCKET && !c->closing) read_frames(h, c);
            if (c->kind == HTTP_WAITING) c->in.len = 0; /* one request per connection */
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        mark_dead(h, c); /* EOF or error */
        return;
    }
}

/* ---- the loop ------------------------------------------------------------------------- */

static void accept_all(host* h) {
    for (;;) {
        const int fd = accept4(h->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return; /* EAGAIN: none left (or out of descriptors: try next turn) */
        int slot = 0;
        while (slot < MAX_CONNS && h->conns[slot]) slot++;
        if (slot == MAX_CONNS) {
            close(fd);
            continue;
        }
        const int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        conn* c = calloc(1, sizeof *c);
        if (!c) abort();
        c->fd = fd;
        h->conns[slot] = c;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        epoll_ctl(h->epoll_fd, EPOLL_CTL_ADD, fd, &ev);
    }
}

/* Connections that finished last turn: on_disconnect for the accepted ones, then free. */
static void reap(host* h) {
    h->have_dead = 0;
    for (int i = 0; i < MAX_CONNS; i++) {
        conn* c = h->conns[i];
        if (!c || !c->dead) continue;
        if (c->accepted && h->plugin) h->api->on_disconnect(h->plugin, c->id);
        close(c->fd);
        buffer_free(&c->in);
        buffer_free(&c->out);
        buffer_free(&c->message);
        free(c);
        h->conns[i] = NULL;
    }
}

static int run(host* h) {
    int stopping = 0;
    struct epoll_event events[64];
    while (!stopping) {
        if (h->have_dead) reap(h);
        const int n = epoll_wait(h->epoll_fd, events, 64, h->have_dead ? 0 : -1);
        if (n < 0 && errno != EINTR) return 1;
        for (int i = 0; i < n; i++) {
            void* tag = events[i].data.ptr;
            uint64_t count;
            if (tag == &tag_listener) {
                accept_all(h);
            } else if (tag == &tag_wake) {
                if (read(h->wake_fd, &count, sizeof count) > 0) h->api->on_wake(h->plugin);
            } else if (tag == &tag_timer) {
                if (read(h->timer_fd, &count, sizeof count) > 0) h->api->tick(h->plugin);
            } else if (tag == &tag_signal) {
                stopping = 1;
            } else {
                conn* c = tag;
                if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(h, c);
                if (events[i].events & EPOLLOUT) flush(h, c);
            }
        }
        /* End of the turn: everything the hooks of this turn queued leaves now. */
        for (int i = 0; i < MAX_CONNS; i++) {
            if (h->conns[i] && h->conns[i]->out.len > 0) flush(h, h->conns[i]);
        }
    }
    /* Stop: destroy with connections still open (no on_disconnect needed); it may answer
     * requests still waiting (503), which get one last write; then every socket goes. */
    h->api->destroy(h->plugin);
    h->plugin = NULL;
    for (int i = 0; i < MAX_CONNS; i++) {
        if (!h->conns[i]) continue;
        if (h->conns[i]->kind == WEBSOCKET && !h->conns[i]->closing) {
            queue_ws_close(h->conns[i], 1001, "server stopping");
        }
        flush(h, h->conns[i]);
        h->conns[i]->dead = 1;
    }
    reap(h);
    return 0;
}

/* ---- start-up ------------------------------------------------------------------------- */

static int add_to_epoll(host* h, int fd, void* tag) {
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = tag};
    return epoll_ctl(h->epoll_fd, EPOLL_CTL_ADD, fd, &ev);
}

static int fail(const char* format, ...) {
    va_list args;
    va_start(args, format);
    fprintf(stderr, "epoll_host: ");
    vfprintf(stderr, format, args);
    fprintf(stderr, "\n");
    va_end(args);
    return 1;
}

int main(int argc, char** argv) {
    const char* plugin_path = "libpresence.so.1";
    int port = 0;
    presence_setting settings[64];
    size_t n_settings = 0;
    presence_friendship friends[64];
    size_t n_friends = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--plugin") == 0 && i + 1 < argc) {
            plugin_path = argv[++i];
        } else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            port = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--friend") == 0 && i + 1 < argc && n_friends < 64) {
            char* a = argv[++i];
            char* comma = strchr(a, ',');
            if (!comma) return fail("--friend A,B");
            friends[n_friends++] = (presence_friendship){
                PRESENCE_FRIENDSHIP_ADD, a, (size_t)(comma - a), comma + 1, strlen(comma + 1)};
        } else if (strchr(argv[i], '=') && n_settings < 64) {
            char* eq = strchr(argv[i], '=');
            *eq = '\0';
            settings[n_settings++] = (presence_setting){argv[i], eq + 1};
        } else {
            return fail(
                "usage: epoll_host [--plugin PATH] [--port N] [--friend A,B]... "
                "[presence.KEY=VALUE]...");
        }
    }

    void* so = dlopen(plugin_path, RTLD_NOW | RTLD_LOCAL);
    if (!so) return fail("%s", dlerror());
    presence_entry_fn entry;
    void* symbol = dlsym(so, PRESENCE_ENTRY_SYMBOL);
    memcpy(&entry, &symbol, sizeof entry);
    char why[512] = "";
    host h;
    memset(&h, 0, sizeof h);
    h.next_id = 1;
    h.api = entry ? entry(PRESENCE_ABI_VERSION, why, sizeof why) : NULL;
    if (!h.api) return fail("plugin refused: %s", entry ? why : "no entry symbol");

    /* Signals, wake-ups and ticks come through descriptors, so every hook runs in the loop. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigprocmask(SIG_BLOCK, &stop_signals, NULL); /* before create: its threads inherit it */
    h.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    h.wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    h.timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    h.signal_fd = signalfd(-1, &stop_signals, SFD_NONBLOCK | SFD_CLOEXEC);
    h.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const int one = 1;
    setsockopt(h.listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_port = htons((uint16_t)port),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(h.listen_fd, (struct sockaddr*)&addr, sizeof addr) != 0 ||
        listen(h.listen_fd, 128) != 0) {
        return fail("cannot listen on 127.0.0.1:%d: %s", port, strerror(errno));
    }
    socklen_t addr_len = sizeof addr;
    getsockname(h.listen_fd, (struct sockaddr*)&addr, &addr_len);

    presence_host_api table;
    memset(&table, 0, sizeof table);
    table.struct_size = sizeof table;
    table.host_ctx = &h;
    table.send = host_send;
    table.close = host_close;
    table.respond = host_respond;
    table.log = host_log;
    table.now_ms = host_now_ms;
    table.wake = host_wake;
    table.on_presence_change = host_on_presence_change;
    table.send_many = host_send_many;
    table.respond_with_headers = host_respond_with_headers;
    h.plugin = h.api->create(&table, settings, n_settings, why, sizeof why); /* may block */
    if (!h.plugin) return fail("create failed: %s", why);

    /* Slots appended after the first release: check before use (an older plugin lacks them). */
    if (!PRESENCE_HAS_FIELD(h.api, presence_plugin_api, friendships) ||
        !PRESENCE_HAS_FIELD(h.api, presence_plugin_api, on_message_too_large)) {
        return fail("this example needs libpresence 0.2 or later");
    }
    h.max_message = h.api->max_message_bytes(h.plugin);
    if (h.api->friendships(h.plugin, friends, n_friends, why, sizeof why) != 0) {
        return fail("friendships: %s", why);
    }

    const uint32_t every_ms = h.api->tick_interval_ms(h.plugin);
    struct itimerspec tick = {{every_ms / 1000, (long)(every_ms % 1000) * 1000000},
                              {every_ms / 1000, (long)(every_ms % 1000) * 1000000}};
    timerfd_settime(h.timer_fd, 0, &tick, NULL);
    add_to_epoll(&h, h.listen_fd, &tag_listener);
    add_to_epoll(&h, h.wake_fd, &tag_wake);
    add_to_epoll(&h, h.timer_fd, &tag_timer);
    add_to_epoll(&h, h.signal_fd, &tag_signal);
    printf("listening on http://127.0.0.1:%d\n", ntohs(addr.sin_port));
    fflush(stdout);

    const int status = run(&h);
    close(h.listen_fd);
    close(h.wake_fd);
    close(h.timer_fd);
    close(h.signal_fd);
    close(h.epoll_fd);
    dlclose(so);
    return status;
}
