/*
 * client_curl.c - the libcurl transport of the client: curl's multi interface on the libuv loop
 * (scheduler -> client -> [curl] -> client.c's receive path). Used for https:// targets, proxies,
 * and whenever --http-client curl is given. The wiring is curl's docs/examples/multi-uv.c with
 * every return checked: CURLMOPT_SOCKETFUNCTION keeps one uv_poll per socket,
 * CURLMOPT_TIMERFUNCTION one uv_timer per multi handle. Invariant: an active slot's easy handle
 * is attached to its group's multi handle, an idle slot's is not.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "client_internal.h"
#include "llmload/clock.h"
#include "llmload/error.h"
#include "llmload/version.h"

/* One readable event in this many peeks at its bytes' kernel arrival time (one extra syscall). */
#define READ_SAMPLE_EVERY 4
#define READ_WAIT_NS (2 * CLOCK_NS_PER_MS)

/* Slots per curl multi handle. curl looks for a reusable connection by walking every connection
 * to the host in its cache, so one multi handle with 10,000 connections costs O(n) per request
 * and O(n^2) to open them all; groups of this size keep the walk short. */
#define CURL_GROUP_SLOTS 256

struct client__group {
    CURLM *multi;
    uv_timer_t timer;
    int timer_open;
    client *owner;
};

typedef struct sock_ctx {
    uv_poll_t poll;
    curl_socket_t fd;
    client__group *group;
} sock_ctx;

typedef struct curl_state {
    client__group *groups;
    size_t n_groups;
    struct curl_slist *headers; /* shared by every slot; freed after the easy handles */
    char *url;
    sock_ctx **by_fd; /* poll contexts of open sockets, kept between requests; indexed by fd */
    size_t by_fd_cap;
    char user_agent[48];
    /* A server that closes after every response (see client_http1.c): once learnt, every easy
     * handle gets CURLOPT_FORBID_REUSE, so curl opens a connection per request instead of
     * writing into one the server is closing and resending. */
    int resend_streak; /* transfers in a row that curl had to resend */
    int no_reuse;      /* learnt */
} curl_state;

/* Transfers in a row resent before the server counts as closing after every response. */
#define CURL_RESEND_STREAK 3

/* ---- curl's callbacks into the receive path ---------------------------------------------- */

/* The stamp of this callback's bytes. curl may send a request and read its answer inside one
 * curl_multi_socket_action call (a reused connection, a near server), and the stamp taken before
 * that call is then older than the send: its bytes would get a 0 ms (clamped) or negative TTFB.
 * Such bytes get a fresh clock read, which is after the send. */
static void stamp_after_send(client__slot *s)
{
    if (s->owner->stamp_ns <= s->rec.sent_ns)
        s->owner->stamp_ns = clock_now_ns();
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    size_t len = size * nmemb;
    stamp_after_send(ud);
    /* 0 makes curl end the transfer with CURLE_WRITE_ERROR; the reason is in the slot. */
    return client__on_body(ud, data, len) == 0 ? len : 0;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
    client__slot *s = ud;
    size_t len = size * nmemb;
    stamp_after_send(s);
    /* A status line starts every response (also interim 1xx ones, which are overwritten). */
    if (len > 12 && memcmp(data, "HTTP/", 5) == 0) {
        const char *sp = memchr(data, ' ', len);
        if (sp && sp + 4 <= data + len)
            client__on_status(s, (sp[1] - '0') * 100 + (sp[2] - '0') * 10 + (sp[3] - '0'));
    }
    if (len > 12 && strncasecmp(data, "retry-after:", 12) == 0)
        client__on_retry_after(s, data + 12, len - 12);
    if (len > 17 && strncasecmp(data, "content-encoding:", 17) == 0)
        client__on_content_encoding(s, data + 17, len - 17);
    /* A 2xx that announces the server's close: it closes after every response (learnt once). */
    if (len > 11 && strncasecmp(data, "connection:", 11) == 0 && s->rec.http_status >= 200 &&
        s->rec.http_status < 300) {
        for (size_t i = 11; i + 5 <= len; i++)
            if (strncasecmp(data + i, "close", 5) == 0) {
                curl_state *cs = s->owner->tp_state;
                cs->no_reuse = 1;
                break;
            }
    }
    s->last_rx_ns = s->owner->stamp_ns;
    return len;
}

/* curl calls this once the connection is ready and just before the request goes out: the
 * design's `sent`. A fresh clock read: it runs inside curl, after the stamp was taken. */
static int on_prereq(void *ud, char *conn_primary_ip, char *conn_local_ip, int conn_primary_port,
                     int conn_local_port)
{
    client__slot *s = ud;
    (void)conn_primary_ip;
    (void)conn_local_ip;
    (void)conn_primary_port;
    (void)conn_local_port;
    s->rec.sent_ns = clock_now_ns(); /* at a resend too: timings start at the send answered */
    /* Called again for the same transfer: curl found its kept-alive connection dead with nothing
     * received and sends the request again on a new one (the server saw it twice, or not). */
    if (s->curl_sends++ > 0)
        s->rec.resent = RECORD_RESEND_PEER_CLOSED;
    client__gate_done(s->owner, 1); /* the server is reachable: a backing-off gate opens */
    return CURL_PREREQFUNC_OK;
}

/* ---- completion ------------------------------------------------------------------------ */

static int classify_curl(CURLcode res, const client__slot *s)
{
    switch (res) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
        return RECORD_ERR_CONNECT;
    case CURLE_OPERATION_TIMEDOUT:
        return s->saw_status ? RECORD_ERR_STREAM_TIMEOUT : (s->rec.sent_ns ? RECORD_ERR_TIMEOUT : RECORD_ERR_CONNECT);
    case CURLE_OUT_OF_MEMORY:
        /* curl 7.88 refuses a response header past its 100 KiB cap (CURL_MAX_HTTP_HEADER) with
         * this code and no other text; later versions say CURLE_TOO_LARGE. Once the response has
         * begun, that is what it means. */
        return s->saw_status ? RECORD_ERR_OVERSIZE : RECORD_ERR_OTHER;
#if LIBCURL_VERSION_NUM >= 0x080600
    case CURLE_TOO_LARGE:
        return RECORD_ERR_OVERSIZE;
#endif
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
        return RECORD_ERR_DISCONNECT;
    default:
        return RECORD_ERR_OTHER;
    }
}

/* libcurl (7.88 here; curl discussion 18926 and PR 19066 in 2025) counts the resends of an easy
 * handle over its whole life and does not reset the count between transfers: the sixth resend on
 * a reused handle fails with "Connection died, tried 5 times before giving up", a request lost to a server
 * that closes kept-alive connections. A handle that has resent is swapped for a duplicate (same
 * options, fresh state); if duplicating fails, the old handle stays (it still works, up to curl's
 * limit). */
static void renew_handle(client__slot *s)
{
    CURL *fresh = curl_easy_duphandle(s->easy);
    if (!fresh)
        return;
    curl_easy_cleanup(s->easy);
    s->easy = fresh;
}

static void curl_release(client *c, client__slot *s)
{
    curl_state *cs = c->tp_state;
    long connects = 0;
    curl_off_t connect_us = 0;
    if (s->gate_queued) { /* never added to the multi handle */
        client__gate_leave(c, s);
        return;
    }
    if (curl_easy_getinfo(s->easy, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK && connects > 0) {
        s->rec.new_connection = 1;
        if (curl_easy_getinfo(s->easy, CURLINFO_CONNECT_TIME_T, &connect_us) == CURLE_OK && connect_us > 0)
            s->rec.connect_us = connect_us > UINT32_MAX ? UINT32_MAX : (uint32_t)connect_us;
    }
    curl_multi_remove_handle(s->group->multi, s->easy);
    if (s->curl_sends > 1) {
        renew_handle(s);
        if (++cs->resend_streak >= CURL_RESEND_STREAK)
            cs->no_reuse = 1;
    } else if (s->curl_sends == 1 && !connects) {
        cs->resend_streak = 0; /* a reused connection answered */
    }
}

static void drain_messages(client__group *g)
{
    client *c = g->owner;
    CURLMsg *msg;
    int pending;
    while ((msg = curl_multi_info_read(g->multi, &pending)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        client__slot *s = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
        if (!s || !s->active)
            continue;
        /* msg points into curl's memory and is invalid after remove_handle: copy the result. */
        CURLcode res = msg->data.result;
        if (res == CURLE_OK) {
            client__finish(c, s, RECORD_OK, RECORD_ERR_NONE, NULL);
        } else {
            int kind = classify_curl(res, s);
            if (kind == RECORD_ERR_CONNECT)
                client__gate_done(c, 0); /* backs off new transfers (client_gate.c) */
            if (kind == RECORD_ERR_OVERSIZE && !s->curl_err[0])
                client__finish(c, s, RECORD_OK, kind, "a response header past curl's 100 KiB cap (curl: Out of memory)");
            else
                client__finish(c, s, RECORD_OK, kind, s->curl_err[0] ? s->curl_err : curl_easy_strerror(res));
        }
    }
}

/* ---- libuv <-> curl wiring --------------------------------------------------------------- */

/* curl stamps a read with the loop's clock when the socket is serviced; bytes that arrived while
 * the loop was busy elsewhere carry a late stamp. Peeking (MSG_PEEK, one byte) at the kernel's
 * receive time of the oldest queued bytes measures that wait for a sample of reads, for the
 * client's verdict on itself (aggregate.c). Nothing is consumed; curl reads as before. */
static void sample_read_wait(client *c, curl_socket_t fd)
{
    if (++c->read_sample_tick % READ_SAMPLE_EVERY)
        return;
    char byte;
    union {
        char buf[CMSG_SPACE(sizeof(struct timespec)) * 2];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = {&byte, 1};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
    if (recvmsg(fd, &msg, MSG_PEEK | MSG_DONTWAIT) <= 0)
        return;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
            struct timespec ts;
            memcpy(&ts, CMSG_DATA(cm), sizeof ts);
            uint64_t arrived = clock_mono_from_real(ts.tv_sec, ts.tv_nsec, clock_now_ns());
            c->reads_sampled++;
            c->reads_waited += c->stamp_ns > arrived + READ_WAIT_NS;
            if (c->sinks.read_wait)
                hist_record(c->sinks.read_wait, c->stamp_ns > arrived ? c->stamp_ns - arrived : 0);
            return;
        }
    }
}

/* Asks the kernel to timestamp arrivals on curl's sockets (read by sample_read_wait only). */
static int on_sockopt(void *ud, curl_socket_t fd, curlsocktype purpose)
{
    int one = 1;
    (void)ud;
    (void)purpose;
    (void)setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one); /* else no samples */
    return CURL_SOCKOPT_OK;
}

static void on_socket_ready(uv_poll_t *h, int status, int events)
{
    sock_ctx *ctx = h->data;
    client__group *g = ctx->group;
    client *c = g->owner;
    int flags = 0, running;
    /* The one clock read for this socket's bytes: taken before curl reads and parses them. */
    c->stamp_ns = clock_now_ns();
    if (status < 0)
        /* libuv turns a pending socket error (POLLERR) into a negative status. CSELECT_ERR alone
         * makes curl fail with "select/poll returned error"; letting it read and write too makes
         * the syscall fail with the real errno (reset, refused), which curl reports. */
        flags = CURL_CSELECT_ERR | CURL_CSELECT_IN | CURL_CSELECT_OUT;
    else {
        if (events & UV_READABLE) {
            flags |= CURL_CSELECT_IN;
            sample_read_wait(c, ctx->fd);
        }
        if (events & UV_WRITABLE)
            flags |= CURL_CSELECT_OUT;
    }
    curl_multi_socket_action(g->multi, ctx->fd, flags, &running);
    drain_messages(g);
}

static void on_curl_timer(uv_timer_t *t)
{
    client__group *g = t->data;
    int running;
    g->owner->stamp_ns = clock_now_ns();
    curl_multi_socket_action(g->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    drain_messages(g);
}

static int curl_timer_cb(CURLM *multi, long timeout_ms, void *ud)
{
    client__group *g = ud;
    (void)multi;
    if (timeout_ms < 0) {
        uv_timer_stop(&g->timer);
        return 0;
    }
    /* curl must not be re-entered from inside this callback. curl's multi-uv.c turns 0 into 1 ms
     * for that; libuv already never runs a timer from inside uv_timer_start, and a 0 ms timer fires
     * on the next loop iteration. 1 ms would add up to 2 ms (timer granularity) to every request's
     * schedule lag, since curl asks for 0 each time a request is added. */
    return uv_timer_start(&g->timer, on_curl_timer, (uint64_t)timeout_ms, 0) == 0 ? 0 : -1;
}

static void on_sock_closed(uv_handle_t *h)
{
    free(h->data);
}

/* A kept-alive connection goes back to curl's cache after each request, and curl says REMOVE for
 * its socket. The poll context is kept (stopped) until curl closes the socket, so the next request
 * on that connection reuses it instead of paying malloc, uv_poll_init and uv_close again. */
static int keep_ctx(client *c, curl_socket_t fd, sock_ctx *ctx)
{
    curl_state *cs = c->tp_state;
    if ((size_t)fd >= cs->by_fd_cap) {
        size_t cap = cs->by_fd_cap ? cs->by_fd_cap : 1024;
        while (cap <= (size_t)fd)
            cap *= 2;
        sock_ctx **t = realloc(cs->by_fd, cap * sizeof *t);
        if (!t)
            return -1;
        memset(t + cs->by_fd_cap, 0, (cap - cs->by_fd_cap) * sizeof *t);
        cs->by_fd = t;
        cs->by_fd_cap = cap;
    }
    cs->by_fd[fd] = ctx;
    return 0;
}

/* curl closes a socket: the only moment its poll context may go (the fd number is reused next). */
static int on_close_socket(void *ud, curl_socket_t fd)
{
    client *c = ud;
    curl_state *cs = c->tp_state;
    if (fd >= 0 && (size_t)fd < cs->by_fd_cap && cs->by_fd[fd]) {
        sock_ctx *ctx = cs->by_fd[fd];
        cs->by_fd[fd] = NULL;
        uv_poll_stop(&ctx->poll);
        /* Closing the handle while the fd is still open lets libuv drop it from epoll cleanly. */
        uv_close((uv_handle_t *)&ctx->poll, on_sock_closed);
    }
    return close(fd);
}

static int curl_socket_cb(CURL *easy, curl_socket_t fd, int what, void *ud, void *sockp)
{
    client__group *g = ud;
    client *c = g->owner;
    curl_state *cs = c->tp_state;
    sock_ctx *ctx = sockp;
    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (ctx) {
            uv_poll_stop(&ctx->poll);
            curl_multi_assign(g->multi, fd, NULL);
        }
        return 0;
    }
    if (!ctx && fd >= 0 && (size_t)fd < cs->by_fd_cap && cs->by_fd[fd]) {
        ctx = cs->by_fd[fd];
        ctx->group = g;
        curl_multi_assign(g->multi, fd, ctx);
    }
    if (!ctx) {
        ctx = malloc(sizeof *ctx);
        if (!ctx)
            return -1;
        if (uv_poll_init_socket(c->loop, &ctx->poll, fd) != 0) {
            free(ctx);
            return -1;
        }
        ctx->fd = fd;
        ctx->group = g;
        ctx->poll.data = ctx;
        if (keep_ctx(c, fd, ctx) != 0) {
            uv_close((uv_handle_t *)&ctx->poll, on_sock_closed);
            return -1;
        }
        curl_multi_assign(g->multi, fd, ctx);
    }
    int ev = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        ev |= UV_READABLE;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        ev |= UV_WRITABLE;
    return uv_poll_start(&ctx->poll, ev, on_socket_ready) == 0 ? 0 : -1;
}

/* ---- setup ------------------------------------------------------------------------------ */

#define SETOPT(h, o, v)                                                        \
    do {                                                                       \
        if (curl_easy_setopt((h), (o), (v)) != CURLE_OK) {                     \
            snprintf(err, errlen, "curl: cannot set %s", #o);                  \
            return LL_ELIB;                                                    \
        }                                                                      \
    } while (0)

static int slot_setup(client *c, client__slot *s, char *err, size_t errlen)
{
    const config *cfg = c->cfg;
    curl_state *cs = c->tp_state;
    s->easy = curl_easy_init();
    if (!s->easy) {
        snprintf(err, errlen, "curl: cannot create a handle");
        return LL_ENOMEM;
    }
    SETOPT(s->easy, CURLOPT_URL, cs->url);
    SETOPT(s->easy, CURLOPT_POST, 1L);
    SETOPT(s->easy, CURLOPT_HTTPHEADER, cs->headers);
    SETOPT(s->easy, CURLOPT_WRITEFUNCTION, on_body);
    SETOPT(s->easy, CURLOPT_WRITEDATA, s);
    SETOPT(s->easy, CURLOPT_HEADERFUNCTION, on_header);
    SETOPT(s->easy, CURLOPT_HEADERDATA, s);
    SETOPT(s->easy, CURLOPT_PREREQFUNCTION, on_prereq);
    SETOPT(s->easy, CURLOPT_PREREQDATA, s);
    SETOPT(s->easy, CURLOPT_PRIVATE, s);
    SETOPT(s->easy, CURLOPT_CLOSESOCKETFUNCTION, on_close_socket);
    SETOPT(s->easy, CURLOPT_CLOSESOCKETDATA, c);
    SETOPT(s->easy, CURLOPT_SOCKOPTFUNCTION, on_sockopt);
    SETOPT(s->easy, CURLOPT_ERRORBUFFER, s->curl_err);
    SETOPT(s->easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    SETOPT(s->easy, CURLOPT_NOSIGNAL, 1L);
    SETOPT(s->easy, CURLOPT_TCP_NODELAY, 1L);
    SETOPT(s->easy, CURLOPT_USERAGENT, cs->user_agent);
    SETOPT(s->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)(cfg->connect_timeout_s * 1000.0));
    SETOPT(s->easy, CURLOPT_SSL_VERIFYPEER, cfg->insecure ? 0L : 1L);
    SETOPT(s->easy, CURLOPT_SSL_VERIFYHOST, cfg->insecure ? 0L : 2L);
    if (cfg->ca_cert)
        SETOPT(s->easy, CURLOPT_CAINFO, cfg->ca_cert);
    return 0;
}

static int build_headers(client *c, char *err, size_t errlen)
{
    const config *cfg = c->cfg;
    curl_state *cs = c->tp_state;
    struct curl_slist *l = NULL, *t;
    const char *fixed[] = {"Content-Type: application/json", "Accept: text/event-stream", "Expect:"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        if (!(t = curl_slist_append(l, fixed[i])))
            goto nomem;
        l = t;
    }
    if (cfg->api_key && cfg->api_key[0]) {
        size_t n = strlen(cfg->api_key) + 32;
        char *h = malloc(n);
        if (!h)
            goto nomem;
        snprintf(h, n, "Authorization: Bearer %s", cfg->api_key);
        t = curl_slist_append(l, h);
        /* The key is a secret: wipe the temporary copy. */
        memset(h, 0, n);
        free(h);
        if (!t)
            goto nomem;
        l = t;
    }
    for (size_t i = 0; i < cfg->n_headers; i++) {
        if (!(t = curl_slist_append(l, cfg->headers[i])))
            goto nomem;
        l = t;
    }
    cs->headers = l;
    return 0;
nomem:
    curl_slist_free_all(l);
    snprintf(err, errlen, "out of memory building request headers");
    return LL_ENOMEM;
}


static int curl_create(client *c, char *err, size_t errlen)
{
    int rc;
    curl_state *cs = calloc(1, sizeof *cs);
    if (!cs) {
        snprintf(err, errlen, "out of memory");
        return LL_ENOMEM;
    }
    c->tp_state = cs;
    snprintf(cs->user_agent, sizeof cs->user_agent, "llmload/%s", version_string());
    const char *path = request_path(c->cfg->api);
    size_t ulen = strlen(c->cfg->target) + strlen(path) + 2;
    if (!(cs->url = malloc(ulen))) {
        snprintf(err, errlen, "out of memory");
        return LL_ENOMEM;
    }
    /* A trailing /v1 and the query string (Azure's api-version) follow the one rule for every
     * request and probe. */
    config_target_url(c->cfg->target, path, cs->url, ulen);
    if ((rc = build_headers(c, err, errlen)) != 0)
        return rc;
    cs->n_groups = (c->n_slots + CURL_GROUP_SLOTS - 1) / CURL_GROUP_SLOTS;
    if (!(cs->groups = calloc(cs->n_groups, sizeof *cs->groups))) {
        snprintf(err, errlen, "out of memory");
        return LL_ENOMEM;
    }
    for (size_t gi = 0; gi < cs->n_groups; gi++) {
        client__group *g = &cs->groups[gi];
        size_t in_group = c->n_slots - gi * CURL_GROUP_SLOTS;
        if (in_group > CURL_GROUP_SLOTS)
            in_group = CURL_GROUP_SLOTS;
        g->owner = c;
        if (!(g->multi = curl_multi_init())) {
            snprintf(err, errlen, "curl: cannot create a multi handle");
            return LL_ELIB;
        }
        if (curl_multi_setopt(g->multi, CURLMOPT_SOCKETFUNCTION, curl_socket_cb) != CURLM_OK ||
            curl_multi_setopt(g->multi, CURLMOPT_SOCKETDATA, g) != CURLM_OK ||
            curl_multi_setopt(g->multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb) != CURLM_OK ||
            curl_multi_setopt(g->multi, CURLMOPT_TIMERDATA, g) != CURLM_OK ||
            /* One cached connection per slot so that every keep-alive connection is reused. */
            curl_multi_setopt(g->multi, CURLMOPT_MAXCONNECTS, (long)in_group) != CURLM_OK) {
            snprintf(err, errlen, "curl: cannot configure the multi handle");
            return LL_ELIB;
        }
    }
    for (size_t i = 0; i < c->n_slots; i++) {
        c->slots[i].group = &cs->groups[i / CURL_GROUP_SLOTS];
        if ((rc = slot_setup(c, &c->slots[i], err, errlen)) != 0)
            return rc;
    }
    /* Last, so that every failure above has nothing on the loop to close. */
    for (size_t gi = 0; gi < cs->n_groups; gi++) {
        client__group *g = &cs->groups[gi];
        if (uv_timer_init(c->loop, &g->timer) != 0) {
            snprintf(err, errlen, "libuv: cannot create a timer");
            return LL_ELIB;
        }
        g->timer_open = 1;
        g->timer.data = g;
    }
    /* No limit on connects outstanding (curl opens them, and whether a transfer needs one is
     * curl's to know), but the backoff after failed connects; added from the gate's timer only,
     * never from inside curl's callbacks. */
    if (client__gate_init(c, 0, 0) != 0) {
        snprintf(err, errlen, "libuv: cannot create a timer");
        return LL_ELIB;
    }
    return 0;
}

static int curl_start(client *c, client__slot *s)
{
    curl_state *cs = c->tp_state;
    s->curl_err[0] = '\0';
    s->curl_sends = 0;
    if (cs->no_reuse && curl_easy_setopt(s->easy, CURLOPT_FORBID_REUSE, 1L) != CURLE_OK)
        return LL_ELIB;
    if (curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, s->body) != CURLE_OK ||
        curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE, (long)s->body_len) != CURLE_OK)
        return LL_ELIB;
    if (!client__gate_enter(c, s))
        return 0; /* backing off after failed connects: curl_gate_go adds it later */
    return curl_multi_add_handle(s->group->multi, s->easy) == CURLM_OK ? 0 : LL_ELIB;
}

static void curl_gate_go(client *c, client__slot *s)
{
    c->stamp_ns = clock_now_ns();
    if (curl_multi_add_handle(s->group->multi, s->easy) != CURLM_OK)
        client__finish(c, s, RECORD_OK, RECORD_ERR_OTHER, "curl: cannot add the transfer");
}

/* curl enforces CURLOPT_CONNECTTIMEOUT_MS itself. */
static void curl_check_timeouts(client *c, uint64_t now_ns)
{
    (void)c;
    (void)now_ns;
}

static void curl_close(client *c)
{
    curl_state *cs = c->tp_state;
    if (!cs)
        return;
    for (size_t i = 0; i < c->n_slots; i++) {
        client__slot *s = &c->slots[i];
        if (s->easy) {
            if (s->active)
                curl_multi_remove_handle(s->group->multi, s->easy);
            curl_easy_cleanup(s->easy);
            s->easy = NULL;
        }
    }
    for (size_t gi = 0; gi < cs->n_groups; gi++) {
        client__group *g = &cs->groups[gi];
        /* Closes cached connections; curl calls curl_socket_cb(REMOVE) for each, closing the polls. */
        if (g->multi) {
            curl_multi_cleanup(g->multi);
            g->multi = NULL;
        }
        if (g->timer_open) {
            uv_timer_stop(&g->timer);
            uv_close((uv_handle_t *)&g->timer, NULL);
            g->timer_open = 0;
        }
    }
}

static void curl_transport_free(client *c)
{
    curl_state *cs = c->tp_state;
    if (!cs)
        return;
    free(cs->groups);
    free(cs->by_fd);
    curl_slist_free_all(cs->headers);
    free(cs->url);
    free(cs);
    c->tp_state = NULL;
}

const client__transport client__curl = {
    .create = curl_create,
    .start = curl_start,
    .release = curl_release,
    .check_timeouts = curl_check_timeouts,
    .close = curl_close,
    .free = curl_transport_free,
    .gate_go = curl_gate_go,
};
