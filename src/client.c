/*
 * client.c - libcurl multi on a libuv loop, with preallocated request slots (scheduler -> client
 * -> sse -> chunk -> record). The wiring is curl's docs/examples/multi-uv.c with every return
 * checked: CURLMOPT_SOCKETFUNCTION keeps one uv_poll per socket, CURLMOPT_TIMERFUNCTION one
 * uv_timer. Invariant: a slot is either on the free list or attached to the multi handle, never
 * both; records leave the slot by copy before the slot is reused.
 */
#include "llmload/client.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "llmload/chunk.h"
#include "llmload/clock.h"
#include "llmload/error.h"
#include "llmload/request.h"
#include "llmload/sse.h"

#define CLIENT_ERRBUF 512 /* bytes of a non-2xx body kept for the error message */
/* Slots per curl multi handle. curl looks for a reusable connection by walking every connection
 * to the host in its cache, so one multi handle with 10,000 connections costs O(n) per request
 * and O(n^2) to open them all; groups of this size keep the walk short. */
#define CLIENT_GROUP_SLOTS 256

typedef struct client_group {
    CURLM *multi;
    uv_timer_t timer;
    int timer_open;
    client *owner;
} client_group;

typedef struct slot {
    CURL *easy;
    client *owner;
    client_group *group;  /* the multi handle this slot's easy handle and connections live in */
    struct slot *next_free;
    int active;
    char *body;            /* owned, reused */
    size_t body_cap;
    sse_parser sse;
    chunk_prefix prefix; /* what this stream's events repeat, skipped after the first */
    record rec;
    char error_msg[RECORD_ERROR_MSG_MAX]; /* the failure's message, handed out with the record */
    uint64_t last_rx_ns;
    long last_completion_tokens; /* running usage seen so far (continuous_usage_stats) */
    int fail_kind;         /* a failure found while parsing, reported at the end */
    int saw_status;
    int measured;
    size_t errbuf_len;
    char errbuf[CLIENT_ERRBUF];
    char curl_err[CURL_ERROR_SIZE]; /* curl's detailed text for a failed transfer (CURLOPT_ERRORBUFFER) */
} slot;

typedef struct sock_ctx {
    uv_poll_t poll;
    curl_socket_t fd;
    client_group *group;
} sock_ctx;

struct client {
    uv_loop_t *loop;
    client_group *groups;
    size_t n_groups;
    const config *cfg;
    client_done_fn on_done;
    void *ud;
    request_template *tmpl;
    struct curl_slist *headers; /* shared by every slot; freed after the easy handles */
    char *url;
    slot *slots;
    size_t n_slots;
    slot *free_list;
    size_t in_flight;
    sock_ctx **by_fd;  /* poll contexts of open sockets, kept between requests; indexed by fd */
    size_t by_fd_cap;
    uint64_t stamp_ns; /* clock read when the socket being serviced became readable */
    client_sinks sinks;
};

/* ---- receive path --------------------------------------------------------------------- */

static int on_sse_event(void *ud, const sse_event *ev)
{
    slot *s = ud;
    client *c = s->owner;
    record *r = &s->rec;
    chunk_info ci;

    if (ev->done) {
        r->done_seen = 1;
        return 0;
    }
    if (chunk_scan_stream(ev->data, ev->data_len, &s->prefix, &ci) != 0) {
        if (!s->fail_kind) {
            s->fail_kind = RECORD_ERR_MALFORMED;
            /* The event's first bytes tell a reader of first_errors what the server sent. */
            int n = snprintf(s->error_msg, sizeof s->error_msg, "event is not valid JSON: %.*s",
                             (int)(ev->data_len < 60 ? ev->data_len : 60), ev->data);
            for (int i = 0; i < n && i < (int)sizeof s->error_msg; i++)
                if ((unsigned char)s->error_msg[i] < 0x20)
                    s->error_msg[i] = ' ';
        }
        return 0;
    }
    if (ci.has_error) {
        if (!s->fail_kind)
            s->fail_kind = RECORD_ERR_SERVER_ERROR;
        if (ci.error_msg && !s->error_msg[0]) {
            size_t n = ci.error_msg_len < sizeof s->error_msg - 1 ? ci.error_msg_len : sizeof s->error_msg - 1;
            memcpy(s->error_msg, ci.error_msg, n);
            s->error_msg[n] = '\0';
        }
    }
    long tokens_in_event = 1;
    if (ci.has_usage) {
        if (ci.prompt_tokens >= 0)
            r->prompt_tokens = (int32_t)ci.prompt_tokens;
        if (ci.completion_tokens >= 0) {
            tokens_in_event = ci.completion_tokens - s->last_completion_tokens;
            s->last_completion_tokens = ci.completion_tokens;
            r->output_tokens = (int32_t)ci.completion_tokens;
            r->usage_seen = 1;
        }
    }
    if (!chunk_has_token(&ci))
        return 0;

    uint64_t now = c->stamp_ns;
    if (r->first_token_ns == 0) {
        r->first_token_ns = now;
    } else {
        uint64_t gap = now > r->last_token_ns ? now - r->last_token_ns : 0;
        r->itl_sum_ns += gap;
        r->itl_count++;
        if (gap > r->itl_max_ns)
            r->itl_max_ns = gap;
        if (s->measured) {
            if (c->sinks.itl)
                hist_record(c->sinks.itl, gap);
            if (c->sinks.itl_token) {
                /* A gap that carried n tokens stands for n per-token gaps of gap/n. */
                if (tokens_in_event > 1)
                    hist_record_n(c->sinks.itl_token, gap / (uint64_t)tokens_in_event, (uint64_t)tokens_in_event);
                else
                    hist_record(c->sinks.itl_token, gap);
            }
        }
    }
    if (r->first_output_ns == 0 && (ci.output_chars > 0 || ci.tool_call))
        r->first_output_ns = now;
    r->last_token_ns = now;
    r->token_events++;
    return 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    slot *s = ud;
    size_t len = size * nmemb;
    s->last_rx_ns = s->owner->stamp_ns;
    if (s->rec.http_status < 200 || s->rec.http_status >= 300) {
        size_t room = sizeof s->errbuf - 1 - s->errbuf_len;
        size_t n = len < room ? len : room;
        memcpy(s->errbuf + s->errbuf_len, data, n);
        s->errbuf_len += n;
        return len;
    }
    int rc = sse_feed(&s->sse, data, len, on_sse_event, s);
    if (rc == LL_EOVERSIZE) {
        s->fail_kind = RECORD_ERR_OVERSIZE;
        snprintf(s->error_msg, sizeof s->error_msg, "an SSE event passed the %zu-byte cap", s->sse.max_event);
        return 0; /* curl ends the transfer with CURLE_WRITE_ERROR */
    }
    if (rc != 0) {
        s->fail_kind = RECORD_ERR_OTHER;
        snprintf(s->error_msg, sizeof s->error_msg, "SSE parser: %s", ll_strerror(rc));
        return 0;
    }
    return len;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
    slot *s = ud;
    size_t len = size * nmemb;
    /* A status line starts every response (also interim 1xx ones, which are overwritten). */
    if (len > 12 && memcmp(data, "HTTP/", 5) == 0) {
        const char *sp = memchr(data, ' ', len);
        if (sp && sp + 4 <= data + len) {
            int code = (sp[1] - '0') * 100 + (sp[2] - '0') * 10 + (sp[3] - '0');
            s->rec.http_status = (int16_t)code;
            if (!s->saw_status) {
                s->saw_status = 1;
                s->rec.first_byte_ns = s->owner->stamp_ns;
            }
        }
    }
    /* Retry-After in delta-seconds (the form servers send with 429); an HTTP-date counts as 1 s. */
    if (len > 12 && strncasecmp(data, "retry-after:", 12) == 0) {
        const char *p = data + 12, *e = data + len;
        while (p < e && (*p == ' ' || *p == '\t'))
            p++;
        double secs = 0;
        int digits = 0;
        while (p < e && *p >= '0' && *p <= '9' && secs < 86400) {
            secs = secs * 10 + (*p++ - '0');
            digits++;
        }
        if (p < e && *p == '.') /* some servers send fractions */
            for (double f = 0.1; ++p < e && *p >= '0' && *p <= '9'; f /= 10)
                secs += f * (*p - '0');
        if (!digits && p < e && *p != '\r' && *p != '\n')
            secs = 1;
        s->rec.retry_after_ms = (uint32_t)(secs * 1000.0);
    }
    s->last_rx_ns = s->owner->stamp_ns;
    return len;
}

/* curl calls this once the connection is ready and just before the request goes out: the
 * design's `sent`. A fresh clock read: it runs inside curl, after the stamp was taken. */
static int on_prereq(void *ud, char *conn_primary_ip, char *conn_local_ip, int conn_primary_port,
                     int conn_local_port)
{
    slot *s = ud;
    (void)conn_primary_ip;
    (void)conn_local_ip;
    (void)conn_primary_port;
    (void)conn_local_port;
    s->rec.sent_ns = clock_now_ns();
    return CURL_PREREQFUNC_OK;
}

/* ---- completion ------------------------------------------------------------------------ */

static int classify_curl(CURLcode res, const slot *s)
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
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
        return RECORD_ERR_DISCONNECT;
    default:
        return RECORD_ERR_OTHER;
    }
}

static void copy_error_text(char *msg, const char *text, size_t len)
{
    if (msg[0] || len == 0)
        return;
    /* Prefer the JSON error message; fall back to the raw body's start. */
    chunk_info ci;
    if (chunk_scan(text, len, &ci) == 0 && ci.error_msg) {
        text = ci.error_msg;
        len = ci.error_msg_len;
    }
    size_t n = len < RECORD_ERROR_MSG_MAX - 1 ? len : RECORD_ERROR_MSG_MAX - 1;
    for (size_t i = 0; i < n; i++)
        msg[i] = (text[i] == '\n' || text[i] == '\r') ? ' ' : text[i];
    msg[n] = '\0';
}

/* Ends slot s: detaches it from curl, fills in the outcome, frees the slot, then reports. */
static void finish(client *c, slot *s, record_status status, int kind, int curl_done, CURLcode res)
{
    record r;
    char msg[RECORD_ERROR_MSG_MAX];
    long connects = 0;
    if (curl_easy_getinfo(s->easy, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK && connects > 0)
        s->rec.new_connection = 1;
    curl_multi_remove_handle(s->group->multi, s->easy);
    s->rec.end_ns = c->stamp_ns > s->rec.sent_ns ? c->stamp_ns : clock_now_ns();
    if (status == RECORD_OK && curl_done) {
        int st = s->rec.http_status;
        if (res != CURLE_OK)
            kind = s->fail_kind ? s->fail_kind : classify_curl(res, s);
        else if (st == 429)
            kind = RECORD_ERR_RATE_LIMITED;
        else if (st >= 400 && st < 500)
            kind = RECORD_ERR_HTTP_4XX;
        else if (st >= 500)
            kind = RECORD_ERR_HTTP_5XX;
        else if (st < 200 || st >= 300)
            kind = RECORD_ERR_OTHER; /* a 3xx (redirects are not followed) is not a server error */
        else if (s->fail_kind)
            kind = s->fail_kind;
        else if (!s->rec.done_seen)
            kind = sse_pending(&s->sse) ? RECORD_ERR_DISCONNECT : RECORD_ERR_NO_DONE;
        if (kind != RECORD_ERR_NONE)
            status = RECORD_ERROR;
    }
    if (s->errbuf_len)
        copy_error_text(s->error_msg, s->errbuf, s->errbuf_len);
    if (status == RECORD_ERROR && !s->error_msg[0]) {
        /* Every failure gets a line for first_errors, even when the server said nothing. */
        char why[128];
        const char *text = why;
        if (curl_done && res != CURLE_OK)
            text = s->curl_err[0] ? s->curl_err : curl_easy_strerror(res);
        else if (kind == RECORD_ERR_TIMEOUT)
            snprintf(why, sizeof why, "no response within --request-timeout %gs", c->cfg->request_timeout_s);
        else if (kind == RECORD_ERR_STREAM_TIMEOUT)
            snprintf(why, sizeof why, "no data for --stream-timeout %gs mid-stream", c->cfg->stream_timeout_s);
        else if (kind == RECORD_ERR_NO_DONE)
            snprintf(why, sizeof why, "the stream ended without data: [DONE]");
        else if (kind == RECORD_ERR_DISCONNECT)
            snprintf(why, sizeof why, "the stream ended inside an event");
        else
            snprintf(why, sizeof why, "HTTP %d", s->rec.http_status);
        copy_error_text(s->error_msg, text, strlen(text));
    }
    s->rec.status = (uint8_t)status;
    s->rec.error_kind = (uint8_t)kind;
    if (!s->rec.usage_seen)
        s->rec.output_tokens = (int32_t)s->rec.token_events;
    if (status == RECORD_OK && c->cfg->ignore_eos && s->rec.max_tokens > 0 &&
        s->rec.output_tokens < s->rec.max_tokens)
        s->rec.short_output = 1;
    r = s->rec;
    /* Out of the slot before it is freed: the callback may start the next request in it. */
    memcpy(msg, s->error_msg, sizeof msg);
    s->active = 0;
    s->next_free = c->free_list;
    c->free_list = s;
    c->in_flight--;
    c->on_done(c->ud, &r, msg);
}

static void drain_messages(client_group *g)
{
    client *c = g->owner;
    CURLMsg *msg;
    int pending;
    while ((msg = curl_multi_info_read(g->multi, &pending)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        slot *s = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
        if (!s || !s->active)
            continue;
        /* msg points into curl's memory and is invalid after remove_handle: copy the result. */
        CURLcode res = msg->data.result;
        finish(c, s, RECORD_OK, RECORD_ERR_NONE, 1, res);
    }
}

/* ---- libuv <-> curl wiring --------------------------------------------------------------- */

static void on_socket_ready(uv_poll_t *h, int status, int events)
{
    sock_ctx *ctx = h->data;
    client_group *g = ctx->group;
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
        if (events & UV_READABLE)
            flags |= CURL_CSELECT_IN;
        if (events & UV_WRITABLE)
            flags |= CURL_CSELECT_OUT;
    }
    curl_multi_socket_action(g->multi, ctx->fd, flags, &running);
    drain_messages(g);
}

static void on_curl_timer(uv_timer_t *t)
{
    client_group *g = t->data;
    int running;
    g->owner->stamp_ns = clock_now_ns();
    curl_multi_socket_action(g->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    drain_messages(g);
}

static int curl_timer_cb(CURLM *multi, long timeout_ms, void *ud)
{
    client_group *g = ud;
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
    if ((size_t)fd >= c->by_fd_cap) {
        size_t cap = c->by_fd_cap ? c->by_fd_cap : 1024;
        while (cap <= (size_t)fd)
            cap *= 2;
        sock_ctx **t = realloc(c->by_fd, cap * sizeof *t);
        if (!t)
            return -1;
        memset(t + c->by_fd_cap, 0, (cap - c->by_fd_cap) * sizeof *t);
        c->by_fd = t;
        c->by_fd_cap = cap;
    }
    c->by_fd[fd] = ctx;
    return 0;
}

/* curl closes a socket: the only moment its poll context may go (the fd number is reused next). */
static int on_close_socket(void *ud, curl_socket_t fd)
{
    client *c = ud;
    if (fd >= 0 && (size_t)fd < c->by_fd_cap && c->by_fd[fd]) {
        sock_ctx *ctx = c->by_fd[fd];
        c->by_fd[fd] = NULL;
        uv_poll_stop(&ctx->poll);
        /* Closing the handle while the fd is still open lets libuv drop it from epoll cleanly. */
        uv_close((uv_handle_t *)&ctx->poll, on_sock_closed);
    }
    return close(fd);
}

static int curl_socket_cb(CURL *easy, curl_socket_t fd, int what, void *ud, void *sockp)
{
    client_group *g = ud;
    client *c = g->owner;
    sock_ctx *ctx = sockp;
    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (ctx) {
            uv_poll_stop(&ctx->poll);
            curl_multi_assign(g->multi, fd, NULL);
        }
        return 0;
    }
    if (!ctx && fd >= 0 && (size_t)fd < c->by_fd_cap && c->by_fd[fd]) {
        ctx = c->by_fd[fd];
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

static int slot_setup(client *c, slot *s, char *err, size_t errlen)
{
    const config *cfg = c->cfg;
    s->owner = c;
    sse_init(&s->sse, 0);
    s->easy = curl_easy_init();
    if (!s->easy) {
        snprintf(err, errlen, "curl: cannot create a handle");
        return LL_ENOMEM;
    }
    SETOPT(s->easy, CURLOPT_URL, c->url);
    SETOPT(s->easy, CURLOPT_POST, 1L);
    SETOPT(s->easy, CURLOPT_HTTPHEADER, c->headers);
    SETOPT(s->easy, CURLOPT_WRITEFUNCTION, on_body);
    SETOPT(s->easy, CURLOPT_WRITEDATA, s);
    SETOPT(s->easy, CURLOPT_HEADERFUNCTION, on_header);
    SETOPT(s->easy, CURLOPT_HEADERDATA, s);
    SETOPT(s->easy, CURLOPT_PREREQFUNCTION, on_prereq);
    SETOPT(s->easy, CURLOPT_PREREQDATA, s);
    SETOPT(s->easy, CURLOPT_PRIVATE, s);
    SETOPT(s->easy, CURLOPT_CLOSESOCKETFUNCTION, on_close_socket);
    SETOPT(s->easy, CURLOPT_CLOSESOCKETDATA, c);
    SETOPT(s->easy, CURLOPT_ERRORBUFFER, s->curl_err);
    SETOPT(s->easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    SETOPT(s->easy, CURLOPT_NOSIGNAL, 1L);
    SETOPT(s->easy, CURLOPT_TCP_NODELAY, 1L);
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
    c->headers = l;
    return 0;
nomem:
    curl_slist_free_all(l);
    snprintf(err, errlen, "out of memory building request headers");
    return LL_ENOMEM;
}

int client_create(client **out, uv_loop_t *loop, const client_options *opt, char *err, size_t errlen)
{
    int rc = LL_ENOMEM;
    client *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return LL_ENOMEM;
    }
    c->loop = loop;
    c->cfg = opt->cfg;
    c->on_done = opt->on_done;
    c->ud = opt->ud;
    c->n_slots = opt->slots ? opt->slots : 1;
    const char *path = request_path(opt->cfg->api);
    size_t ulen = strlen(opt->cfg->target) + strlen(path) + 1;
    c->url = malloc(ulen);
    c->slots = calloc(c->n_slots, sizeof *c->slots);
    if (!c->url || !c->slots) {
        snprintf(err, errlen, "out of memory for %zu request slots", c->n_slots);
        goto fail;
    }
    snprintf(c->url, ulen, "%s%s", opt->cfg->target, path);
    if ((rc = request_template_create(&c->tmpl, opt->cfg, opt->model)) != 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if ((rc = build_headers(c, err, errlen)) != 0)
        goto fail;
    c->n_groups = (c->n_slots + CLIENT_GROUP_SLOTS - 1) / CLIENT_GROUP_SLOTS;
    if (!(c->groups = calloc(c->n_groups, sizeof *c->groups))) {
        snprintf(err, errlen, "out of memory");
        rc = LL_ENOMEM;
        goto fail;
    }
    for (size_t gi = 0; gi < c->n_groups; gi++) {
        client_group *g = &c->groups[gi];
        size_t in_group = c->n_slots - gi * CLIENT_GROUP_SLOTS;
        if (in_group > CLIENT_GROUP_SLOTS)
            in_group = CLIENT_GROUP_SLOTS;
        g->owner = c;
        g->multi = curl_multi_init();
        if (!g->multi) {
            snprintf(err, errlen, "curl: cannot create a multi handle");
            rc = LL_ELIB;
            goto fail;
        }
        if (curl_multi_setopt(g->multi, CURLMOPT_SOCKETFUNCTION, curl_socket_cb) != CURLM_OK ||
            curl_multi_setopt(g->multi, CURLMOPT_SOCKETDATA, g) != CURLM_OK ||
            curl_multi_setopt(g->multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb) != CURLM_OK ||
            curl_multi_setopt(g->multi, CURLMOPT_TIMERDATA, g) != CURLM_OK ||
            /* One cached connection per slot so that every keep-alive connection is reused. */
            curl_multi_setopt(g->multi, CURLMOPT_MAXCONNECTS, (long)in_group) != CURLM_OK) {
            snprintf(err, errlen, "curl: cannot configure the multi handle");
            rc = LL_ELIB;
            goto fail;
        }
    }
    for (size_t i = c->n_slots; i-- > 0;) {
        c->slots[i].group = &c->groups[i / CLIENT_GROUP_SLOTS];
        if ((rc = slot_setup(c, &c->slots[i], err, errlen)) != 0)
            goto fail;
        c->slots[i].next_free = c->free_list;
        c->free_list = &c->slots[i];
    }
    /* Last, so that every failure above has nothing on the loop to close. */
    for (size_t gi = 0; gi < c->n_groups; gi++) {
        client_group *g = &c->groups[gi];
        if (uv_timer_init(loop, &g->timer) != 0) {
            snprintf(err, errlen, "libuv: cannot create a timer");
            rc = LL_ELIB;
            goto fail;
        }
        g->timer_open = 1;
        g->timer.data = g;
    }
    *out = c;
    return 0;
fail:
    client_close(c);
    client_free(c);
    *out = NULL;
    return rc ? rc : LL_ENOMEM;
}

void client_set_sinks(client *c, const client_sinks *s)
{
    c->sinks = *s;
}

int client_start(client *c, const char *prompt, size_t prompt_len, long prompt_tokens,
                 long max_tokens, uint64_t id, uint64_t scheduled_ns)
{
    slot *s = c->free_list;
    if (!s)
        return LL_ESTATE;
    long n = request_body_build(c->tmpl, prompt, prompt_len, max_tokens, &s->body, &s->body_cap);
    if (n < 0)
        return (int)n;
    memset(&s->rec, 0, sizeof s->rec);
    s->error_msg[0] = '\0';
    s->rec.id = id;
    s->rec.scheduled_ns = scheduled_ns;
    s->rec.prompt_tokens = (int32_t)prompt_tokens;
    s->rec.max_tokens = (int32_t)max_tokens;
    s->last_completion_tokens = 0;
    s->fail_kind = 0;
    s->saw_status = 0;
    s->errbuf_len = 0;
    s->curl_err[0] = '\0';
    s->last_rx_ns = 0;
    s->measured = scheduled_ns >= c->sinks.window_start_ns && scheduled_ns < c->sinks.window_end_ns;
    sse_reset(&s->sse);
    chunk_prefix_reset(&s->prefix);
    if (curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, s->body) != CURLE_OK ||
        curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE, n) != CURLE_OK)
        return LL_ELIB;
    c->free_list = s->next_free;
    s->active = 1;
    c->in_flight++;
    if (curl_multi_add_handle(s->group->multi, s->easy) != CURLM_OK) {
        s->active = 0;
        s->next_free = c->free_list;
        c->free_list = s;
        c->in_flight--;
        return LL_ELIB;
    }
    return 0;
}

size_t client_in_flight(const client *c) { return c->in_flight; }
size_t client_slots(const client *c) { return c->n_slots; }

void client_check_timeouts(client *c, uint64_t now_ns)
{
    uint64_t req_to = (uint64_t)(c->cfg->request_timeout_s * 1e9);
    uint64_t stream_to = (uint64_t)(c->cfg->stream_timeout_s * 1e9);
    c->stamp_ns = now_ns;
    for (size_t i = 0; i < c->n_slots; i++) {
        slot *s = &c->slots[i];
        if (!s->active)
            continue;
        if (!s->saw_status) {
            uint64_t from = s->rec.sent_ns ? s->rec.sent_ns : 0;
            if (from && req_to && now_ns - from > req_to)
                finish(c, s, RECORD_ERROR, RECORD_ERR_TIMEOUT, 0, CURLE_OK);
        } else if (stream_to && s->last_rx_ns && now_ns > s->last_rx_ns && now_ns - s->last_rx_ns > stream_to) {
            finish(c, s, RECORD_ERROR, RECORD_ERR_STREAM_TIMEOUT, 0, CURLE_OK);
        }
    }
}

void client_cancel_all(client *c)
{
    c->stamp_ns = clock_now_ns();
    for (size_t i = 0; i < c->n_slots; i++)
        if (c->slots[i].active)
            finish(c, &c->slots[i], RECORD_INCOMPLETE, RECORD_ERR_NONE, 0, CURLE_OK);
}

void client_close(client *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_slots; i++) {
        slot *s = &c->slots[i];
        if (s->easy) {
            if (s->active)
                curl_multi_remove_handle(s->group->multi, s->easy);
            curl_easy_cleanup(s->easy);
            s->easy = NULL;
        }
    }
    for (size_t gi = 0; gi < c->n_groups; gi++) {
        client_group *g = &c->groups[gi];
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

void client_free(client *c)
{
    if (!c)
        return;
    if (c->slots) {
        for (size_t i = 0; i < c->n_slots; i++) {
            free(c->slots[i].body);
            sse_free(&c->slots[i].sse);
        }
    }
    free(c->slots);
    free(c->groups);
    free(c->by_fd);
    curl_slist_free_all(c->headers);
    request_template_destroy(c->tmpl);
    free(c->url);
    free(c);
}
