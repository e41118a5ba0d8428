/*
 * client_http1.c - the built-in HTTP/1.1 transport for plain http:// targets (scheduler -> client
 * -> [tcp + http-parser] -> client.c's receive path). Each slot owns at most one keep-alive TCP
 * connection, a non-blocking socket watched by a uv_poll, opened on its first request and reused
 * until the server closes it or a request ends mid-response. A request is one writev (the fixed
 * head, the Content-Length line, the body); the response is read with recvmsg into one buffer
 * shared by the whole client (the loop runs one callback at a time) and parsed by http-parser,
 * whose de-chunked body goes straight to the SSE scan. Per request this is one send and about one
 * read per burst of events, with no allocation and no epoll change: the read watch stays on for
 * the connection's life, so a server closing an idle connection is seen at once.
 *
 * Time of arrival: each read is stamped with the kernel's receive timestamp of its bytes
 * (SO_TIMESTAMPNS), brought onto CLOCK_MONOTONIC by clock_mono_from_real, not with the time the
 * loop got round to the socket. With thousands of streams the server's writes come in bursts,
 * and the loop's own queue in a burst would otherwise be added to TTFT and ITL. A read without a
 * timestamp (option refused) is stamped with clock_now_ns() as before.
 *
 * Invariants: conn->s is the slot the connection belongs to, or NULL once it is closing; a
 * connection carries a new request only in state CONN_IDLE (its last response was parsed to the
 * end with nothing after it and the server allowed keep-alive); the done callback is never
 * called from inside client_start (a failure found there is reported from the defer timer).
 */
#include <errno.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "client_internal.h"
#include "llmload/clock.h"
#include "llmload/error.h"
#include "llmload/version.h"

#define HTTP1_RXBUF (64 * 1024) /* one read; bigger than a burst of events, shared by all slots */
#define HTTP1_MAX_ADDRS 8         /* addresses of the target's name tried in order */
/* A connect not done after RESYN (doubling per try) most likely lost its SYN to a full listen
 * queue, and the kernel would resend it only after 1 s, then 3 s: a fresh socket asks again
 * sooner. RESYN is 4x the usual connect time seen (so a far server is not asked twice for one
 * slow answer), between 10 ms and 1 s, and 100 ms until a connect has been timed. A 10 ms timer
 * looks while connects are out. */
#define HTTP1_RESYN_MIN_MS 10
#define HTTP1_RESYN_MAX_MS 1000
#define HTTP1_RESYN_FIRST_MS 100
#define HTTP1_RESYN_TICK_MS 10

enum conn_state { CONN_CONNECTING, CONN_IDLE, CONN_BUSY, CONN_CLOSING };

struct client__conn {
    uv_poll_t poll;
    int fd;
    client__slot *s;
    client *c;
    enum conn_state state;
    int reused;             /* has carried a request before the current one */
    int events;             /* what the poll watches now */
    uint64_t connect_start_ns;
    size_t addr;            /* index in http1_state.addrs of the address it connects to */
    unsigned resyns;        /* connects to this address abandoned for a fresh SYN so far */
    struct iovec out[3];    /* the part of the request not yet written */
    int n_out;
};

typedef struct http1_addr {
    struct sockaddr_storage sa;
    socklen_t len;
    char label[340]; /* for messages: "127.0.0.1:8000", or "localhost:8000 ([::1]:8000)" */
} http1_addr;

typedef struct http1_state {
    http1_addr addrs[HTTP1_MAX_ADDRS]; /* what the target's name resolved to, in getaddrinfo's order */
    size_t n_addrs;
    size_t pref;         /* the address the last successful connect used: tried first */
    char *head;          /* request line and fixed headers, up to "Content-Length: " */
    size_t head_len;
    char *rxbuf;
    http_parser_settings settings;
    uint64_t connect_timeout_ns;
    uint64_t connect_est_ns; /* moving average of first-SYN connect times (0: none yet) */
    uv_timer_t resyn;        /* runs http1_check_timeouts every 10 ms while connects are out */
    int resyn_open;
    uv_timer_t defer;  /* reports failures found inside client_start, one loop turn later */
    int defer_open;
    client__slot *deferred; /* slots waiting for it (defer_next) */
    /* A server that closes after every response (llama-server does, a few ms after each stream,
     * while announcing keep-alive): once learnt, every request gets a new connection instead of
     * one the server is about to close, which would cost a resend. */
    int closed_streak;      /* reused connections found closed in a row */
    int no_reuse;           /* learnt: the server closes after every response */
    int detached;           /* client__http1_feed: start requests without a socket */
} http1_state;

/* Reused connections found closed in a row before the server counts as one that closes after every
 * response: one or two are a keep-alive timeout racing a request; three in a row are a habit. */
#define HTTP1_CLOSED_STREAK 3

static void conn_close(client__conn *k);
static void send_request(client *c, client__slot *s);

/* Every state change goes through here, so that the count of connecting ones stays exact: the
 * connect gate's limit and the timeout scan (which runs only while some are connecting) use it. */
static void on_resyn(uv_timer_t *t);

static void conn_set_state(client__conn *k, enum conn_state to)
{
    client__gate *g = &k->c->gate;
    http1_state *st = k->c->tp_state;
    if (k->state == CONN_CONNECTING && to != CONN_CONNECTING) {
        if (--g->connecting == 0 && st->resyn_open)
            uv_timer_stop(&st->resyn);
    } else if (k->state != CONN_CONNECTING && to == CONN_CONNECTING) {
        if (g->connecting++ == 0 && st->resyn_open && !k->c->closing)
            uv_timer_start(&st->resyn, on_resyn, HTTP1_RESYN_TICK_MS, HTTP1_RESYN_TICK_MS);
    }
    k->state = to;
}

/* ---- http-parser callbacks (response side) ----------------------------------------------- */

/* The value of a wanted header is complete (the next header or the end of the headers began). */
static void header_done(client__slot *s)
{
    if (s->hdr_state == CLIENT__HDR_RETRY_AFTER)
        client__on_retry_after(s, s->hdr, s->hdr_len);
    else if (s->hdr_state == CLIENT__HDR_ENCODING)
        client__on_content_encoding(s, s->hdr, s->hdr_len);
    s->hdr_state = CLIENT__HDR_NAME;
    s->hdr_len = 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    client__slot *s = p->data;
    if (s->hdr_state != CLIENT__HDR_NAME)
        header_done(s); /* a new header starts */
    /* Header names arrive in pieces at read boundaries: collect up to "content-encoding". */
    if (s->hdr_len + len <= 16)
        memcpy(s->hdr + s->hdr_len, at, len);
    s->hdr_len += len;
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    client__slot *s = p->data;
    if (s->hdr_state == CLIENT__HDR_NAME) {
        s->hdr_state = s->hdr_len == 11 && strncasecmp(s->hdr, "retry-after", 11) == 0        ? CLIENT__HDR_RETRY_AFTER
                       : s->hdr_len == 16 && strncasecmp(s->hdr, "content-encoding", 16) == 0 ? CLIENT__HDR_ENCODING
                                                                                             : CLIENT__HDR_SKIP;
        s->hdr_len = 0;
    }
    if (s->hdr_state != CLIENT__HDR_SKIP) {
        size_t room = sizeof s->hdr - 1 - s->hdr_len;
        size_t n = len < room ? len : room;
        memcpy(s->hdr + s->hdr_len, at, n);
        s->hdr_len += n;
    }
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    client__slot *s = p->data;
    header_done(s);
    client__on_status(s, p->status_code);
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    return client__on_body(p->data, at, len);
}

static int on_message_complete(http_parser *p)
{
    client__slot *s = p->data;
    if (p->status_code >= 100 && p->status_code < 200)
        return 0; /* an interim response; the real one follows on the same connection */
    s->message_done = 1;
    /* Stop here: the request ends after http_parser_execute returns, never inside it. */
    http_parser_pause(p, 1);
    return 0;
}

/* ---- connection ------------------------------------------------------------------------ */

static void on_conn_closed(uv_handle_t *h)
{
    client__conn *k = h->data;
    close(k->fd);
    free(k);
}

static void conn_close(client__conn *k)
{
    if (k->state == CONN_CLOSING)
        return;
    conn_set_state(k, CONN_CLOSING);
    if (k->s && k->s->conn == k)
        k->s->conn = NULL;
    k->s = NULL;
    uv_poll_stop(&k->poll);
    uv_close((uv_handle_t *)&k->poll, on_conn_closed);
}

static void on_io(uv_poll_t *h, int status, int events);

static int conn_watch(client__conn *k, int events)
{
    if (events == k->events)
        return 0;
    k->events = events;
    return uv_poll_start(&k->poll, events, on_io);
}

/* The request on s cannot go on over this connection. */
static void fail_request(client *c, client__slot *s, int kind, const char *why)
{
    if (s->conn)
        conn_close(s->conn);
    client__finish(c, s, RECORD_OK, kind, why);
}

static void on_defer(uv_timer_t *t)
{
    client *c = t->data;
    http1_state *st = c->tp_state;
    c->stamp_ns = clock_now_ns();
    /* The list as it is now: a failure deferred while these are reported (a done callback that
     * starts a request against a server that refuses at once) waits for the next loop turn. */
    client__slot *list = st->deferred;
    st->deferred = NULL;
    while (list) {
        client__slot *s = list;
        list = s->defer_next;
        s->defer_next = NULL;
        s->on_defer_list = 0;
        int kind = s->deferred_kind;
        s->deferred_kind = 0;
        if (kind && s->active && !c->closing)
            client__finish(c, s, RECORD_OK, kind, NULL); /* the text is in s->error_msg */
    }
}

/* A failure found while starting a request: reported from the defer timer, so that client_start
 * never calls the done callback (which may call client_start) itself. */
static void defer_failure(client *c, client__slot *s, int kind, const char *why)
{
    http1_state *st = c->tp_state;
    snprintf(s->error_msg, sizeof s->error_msg, "%s", why);
    s->deferred_kind = kind;
    if (!s->on_defer_list) {
        s->on_defer_list = 1;
        s->defer_next = st->deferred;
        st->deferred = s;
    }
    uv_timer_start(&st->defer, on_defer, 0, 0);
}

static int connect_slot(client *c, client__slot *s);

/* A kept-alive connection may have been closed by the server just as the request went out. Like
 * curl and browsers, resend once on a new connection if not one byte of the response came. */
static int may_retry(const client__slot *s, const client__conn *k)
{
    return k->reused && s->rx_bytes == 0 && !s->retried;
}

/* A kept-alive connection turned out closed when it was about to carry a request (or did carry
 * it, unanswered): learn from a run of them. */
static void found_closed(http1_state *st)
{
    if (++st->closed_streak >= HTTP1_CLOSED_STREAK)
        st->no_reuse = 1;
}

static void retry_request(client *c, client__slot *s, int reason)
{
    conn_close(s->conn);
    s->retried = 1;
    s->rec.resent = (uint8_t)reason; /* counted in report.json client.resent_by_reason */
    found_closed(c->tp_state);
    int rc = connect_slot(c, s);
    if (rc != 0)
        client__finish(c, s, RECORD_OK, RECORD_ERR_CONNECT, ll_strerror(rc));
}

/* The bytes of this read arrived when the kernel's timestamp says (see the top of the file). */
static uint64_t read_stamp(struct msghdr *msg)
{
    uint64_t now = clock_now_ns();
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
            struct timespec ts;
            memcpy(&ts, CMSG_DATA(cm), sizeof ts);
            return clock_mono_from_real(ts.tv_sec, ts.tv_nsec, now);
        }
    }
    return now;
}

/* The response ended by the connection's end (EOF) or an error (-errno). */
static void on_conn_end(client *c, client__conn *k, client__slot *s, int err)
{
    http1_state *st = c->tp_state;
    /* EOF ends a body that runs to the close of the connection; a reset does not. */
    if (err == 0 && s->rx_bytes > 0)
        http_parser_execute(&s->parser, &st->settings, NULL, 0);
    if (s->message_done) {
        conn_close(k);
        client__finish(c, s, RECORD_OK, RECORD_ERR_NONE, NULL);
    } else if (may_retry(s, k)) {
        retry_request(c, s, err == 0 ? RECORD_RESEND_PEER_CLOSED : RECORD_RESEND_RESET);
    } else {
        char why[96];
        if (err == 0)
            snprintf(why, sizeof why, "transfer closed by the server %s",
                     s->rx_bytes ? "mid-response" : "before any response");
        else
            snprintf(why, sizeof why, "receive failed: %s", uv_strerror(uv_translate_sys_error(err)));
        fail_request(c, s, RECORD_ERR_DISCONNECT, why);
    }
}

static void feed_response(client *c, client__conn *k, client__slot *s, const char *buf, size_t n);

/* One read of connection k. Returns 1 when bytes were read and the request on k goes on, else 0
 * (nothing to read, or the request or the connection ended). */
static int read_response(client *c, client__conn *k)
{
    http1_state *st = c->tp_state;
    client__slot *s = k->s;
    union {
        char buf[CMSG_SPACE(sizeof(struct timespec)) * 2];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = {st->rxbuf, HTTP1_RXBUF};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                         .msg_controllen = sizeof ctl.buf};
    ssize_t n = recvmsg(k->fd, &msg, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return 0;
    int err = n < 0 ? errno : 0;
    c->stamp_ns = n > 0 ? read_stamp(&msg) : clock_now_ns();
    /* The bytes of a request's answer cannot have arrived before it was sent. A kernel stamp that
     * says so (a clock conversion off by more than the round trip) is not used; the read's own
     * time is, which is after the send. Never clamped to the send: that would be a 0 ms TTFB. */
    if (s && c->stamp_ns <= s->rec.sent_ns)
        c->stamp_ns = clock_now_ns();
    if (k->state != CONN_BUSY || !s) {
        /* Idle: the server closed the connection (or sent bytes nobody asked for). */
        conn_close(k);
        return 0;
    }
    if (n <= 0) {
        on_conn_end(c, k, s, err);
        return 0;
    }
    feed_response(c, k, s, st->rxbuf, (size_t)n);
    return k->s == s && k->state == CONN_BUSY;
}

/* n response bytes for the request on slot s, read from connection k (NULL: client__http1_feed). */
static void feed_response(client *c, client__conn *k, client__slot *s, const char *buf, size_t n)
{
    http1_state *st = c->tp_state;
    s->rx_bytes += n;
    s->last_rx_ns = c->stamp_ns;
    size_t used = http_parser_execute(&s->parser, &st->settings, buf, n);
    enum http_errno e = HTTP_PARSER_ERRNO(&s->parser);
    if (s->message_done) {
        int keep = http_should_keep_alive(&s->parser);
        /* A 2xx answer that says the server will close (Connection: close, or HTTP/1.0 without
         * keep-alive): it does so after every response. Error answers often close alone. */
        if (!keep && s->parser.status_code >= 200 && s->parser.status_code < 300)
            st->no_reuse = 1;
        if (k && k->reused && keep)
            st->closed_streak = 0;
        /* Bytes after the response, a server that will close, or a request body still being
         * written (the server answered early): this connection is done. */
        if (k && keep && used == n && k->n_out == 0 && !st->no_reuse)
            conn_set_state(k, CONN_IDLE);
        else if (k)
            conn_close(k);
        client__finish(c, s, RECORD_OK, RECORD_ERR_NONE, NULL);
        return;
    }
    if (e == HPE_CB_body) {
        fail_request(c, s, RECORD_ERR_OTHER, NULL); /* s->fail_kind says why */
    } else if (e == HPE_HEADER_OVERFLOW) {
        char why[96];
        snprintf(why, sizeof why, "the response headers passed http-parser's %d-byte cap", HTTP_MAX_HEADER_SIZE);
        fail_request(c, s, RECORD_ERR_OVERSIZE, why);
    } else if (e != HPE_OK) {
        char why[128];
        snprintf(why, sizeof why, "the response is not valid HTTP/1.1: %s", http_errno_description(e));
        fail_request(c, s, RECORD_ERR_OTHER, why);
    }
}

/* Writes what is left of the request. Returns 0 (all written or waiting for room) or -errno. */
static int write_pending(client__conn *k)
{
    while (k->n_out > 0) {
        /* sendmsg, not writev: MSG_NOSIGNAL makes a server that hangs up mid-body an EPIPE error of
         * this request instead of a SIGPIPE that kills the process and its reports. */
        struct msghdr mh = {.msg_iov = k->out, .msg_iovlen = (size_t)k->n_out};
        ssize_t w = sendmsg(k->fd, &mh, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            return -errno;
        }
        size_t left = (size_t)w;
        int first = 0;
        while (first < k->n_out && left >= k->out[first].iov_len)
            left -= k->out[first++].iov_len;
        if (first < k->n_out) {
            k->out[first].iov_base = (char *)k->out[first].iov_base + left;
            k->out[first].iov_len -= left;
        }
        memmove(k->out, k->out + first, (size_t)(k->n_out - first) * sizeof k->out[0]);
        k->n_out -= first;
    }
    /* A body larger than the socket buffer (a very long prompt): wait for room. */
    return conn_watch(k, k->n_out ? UV_READABLE | UV_WRITABLE : UV_READABLE) == 0 ? 0 : -EIO;
}

static void send_failed(client *c, client__slot *s, client__conn *k, int err)
{
    /* A server may answer and close before it has read the whole request (a 413 for a body it
     * will not take): what it answered decides, not the refused write. Bounded: the socket is
     * closed for writing, so what it holds is what the server sent before its close. The unsent
     * rest (n_out) stays, so an answer read here closes the connection instead of idling it. */
    for (int i = 0; i < 64 && k->s == s && k->state == CONN_BUSY; i++)
        if (!read_response(c, k))
            break;
    if (k->s != s || k->state != CONN_BUSY)
        return; /* the answer (or the connection's end) ended the request */
    if (may_retry(s, k)) {
        retry_request(c, s, RECORD_RESEND_SEND_FAILED);
        return;
    }
    char why[96];
    snprintf(why, sizeof why, "send failed: %s", uv_strerror(uv_translate_sys_error(err)));
    fail_request(c, s, RECORD_ERR_DISCONNECT, why);
}

/* The response side of slot s, ready for a new answer. */
static void prepare_response(client__slot *s)
{
    http_parser_init(&s->parser, HTTP_RESPONSE);
    s->parser.data = s;
    s->message_done = 0;
    s->rx_bytes = 0;
    s->hdr_state = CLIENT__HDR_NAME;
    s->hdr_len = 0;
}

static void send_request(client *c, client__slot *s)
{
    http1_state *st = c->tp_state;
    client__conn *k = s->conn;
    prepare_response(s);
    conn_set_state(k, CONN_BUSY);
    k->out[0] = (struct iovec){st->head, st->head_len};
    k->out[1] = (struct iovec){s->length_line, s->length_line_len};
    k->out[2] = (struct iovec){s->body, s->body_len};
    k->n_out = 3;
    s->rec.sent_ns = clock_now_ns();
    int rc = write_pending(k);
    if (rc != 0)
        send_failed(c, s, k, -rc);
}

static void connect_addr(client *c, client__slot *s);

/* The connect to k's address failed (why): the target's next address, or the request fails. */
static void connect_failed(client *c, client__conn *k, client__slot *s, const char *why)
{
    http1_state *st = c->tp_state;
    conn_close(k);
    if (++s->addrs_tried < st->n_addrs) {
        connect_addr(c, s);
        return;
    }
    client__gate_done(c, 0);
    fail_request(c, s, RECORD_ERR_CONNECT, why);
}

static void on_connected(client *c, client__conn *k, client__slot *s)
{
    http1_state *st = c->tp_state;
    int err = 0;
    socklen_t sl = sizeof err;
    if (getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &err, &sl) != 0)
        err = errno;
    if (err != 0) {
        char why[400];
        snprintf(why, sizeof why, "connect to %s failed: %s", st->addrs[k->addr].label,
                 uv_strerror(uv_translate_sys_error(err)));
        connect_failed(c, k, s, why);
        return;
    }
    st->pref = k->addr;
    uint64_t took_us = c->stamp_ns > s->connect_first_ns ? (c->stamp_ns - s->connect_first_ns) / 1000 : 0;
    s->rec.connect_us = took_us == 0 ? 1 : took_us > UINT32_MAX ? UINT32_MAX : (uint32_t)took_us;
    if (k->resyns == 0 && c->stamp_ns > k->connect_start_ns) {
        uint64_t t = c->stamp_ns - k->connect_start_ns;
        st->connect_est_ns = st->connect_est_ns ? (st->connect_est_ns * 7 + t) / 8 : t;
    }
    send_request(c, s);
    /* After the send, so that starting the next connects does not delay this request. */
    client__gate_done(c, 1);
}

static void on_io(uv_poll_t *h, int status, int events)
{
    client__conn *k = h->data;
    client *c = k->c;
    client__slot *s = k->s;
    if (k->state == CONN_CLOSING)
        return;
    if (status < 0) {
        /* POLLERR: libuv has stopped the watch; the socket's error comes out of the next call
         * below, and a connection that survives it is watched again at the end. */
        k->events = 0;
        events = UV_READABLE | UV_WRITABLE;
    }
    if (k->state == CONN_CONNECTING) {
        c->stamp_ns = clock_now_ns();
        on_connected(c, k, s);
        return;
    }
    if ((events & UV_WRITABLE) && k->n_out > 0 && s && k->state == CONN_BUSY) {
        int rc = write_pending(k);
        if (rc != 0) {
            c->stamp_ns = clock_now_ns();
            send_failed(c, s, k, -rc);
            return;
        }
    }
    if (events & UV_READABLE)
        read_response(c, k);
    if (k->state != CONN_CLOSING && k->events == 0)
        conn_watch(k, k->n_out ? UV_READABLE | UV_WRITABLE : UV_READABLE);
}

/* Opens a connection for s to the target's next untried address (the one that last worked
 * first); the request goes out once it is up. Never calls the done callback itself: a failure
 * here is deferred. */
static void connect_addr(client *c, client__slot *s)
{
    http1_state *st = c->tp_state;
    char why[400];
    int one = 1;
    for (;;) {
        size_t ai = (st->pref + s->addrs_tried) % st->n_addrs;
        const http1_addr *a = &st->addrs[ai];
        int fd = socket(a->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            /* Typically out of file descriptors: a connect failure of this request. */
            snprintf(why, sizeof why, "connect failed: %s", uv_strerror(uv_translate_sys_error(errno)));
            break;
        }
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        (void)setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one); /* else clock_now_ns() */
        client__conn *k = calloc(1, sizeof *k);
        if (!k) {
            close(fd);
            snprintf(why, sizeof why, "connect failed: out of memory");
            break;
        }
        k->fd = fd;
        k->c = c;
        k->addr = ai;
        if (uv_poll_init_socket(c->loop, &k->poll, fd) != 0) {
            close(fd);
            free(k);
            snprintf(why, sizeof why, "connect failed: cannot watch the socket");
            break;
        }
        k->poll.data = k;
        k->s = s;
        k->state = CONN_IDLE; /* not counted until it is connecting */
        conn_set_state(k, CONN_CONNECTING);
        k->connect_start_ns = clock_now_ns();
        if (!s->connect_first_ns)
            s->connect_first_ns = k->connect_start_ns;
        s->conn = k;
        int rc = connect(fd, (const struct sockaddr *)&a->sa, a->len);
        if ((rc == 0 || errno == EINPROGRESS) && conn_watch(k, UV_WRITABLE) == 0)
            return; /* on_io says when it is up (at once when it already is) */
        snprintf(why, sizeof why, "connect to %s failed: %s", a->label,
                 uv_strerror(uv_translate_sys_error(rc == 0 ? EIO : errno)));
        conn_close(k);
        if (++s->addrs_tried >= st->n_addrs)
            break;
    }
    client__gate_done(c, 0);
    defer_failure(c, s, RECORD_ERR_CONNECT, why);
}

/* A new connection for s, through the connect gate (client_gate.c): now, or when the gate lets it
 * go (http1_gate_go). Never calls the done callback itself. */
static int connect_slot(client *c, client__slot *s)
{
    s->rec.new_connection = 1;
    s->addrs_tried = 0;
    s->connect_first_ns = 0;
    if (client__gate_enter(c, s))
        connect_addr(c, s);
    return 0;
}

/* ---- transport hooks ------------------------------------------------------------------- */

/* Whether an idle kept-alive connection may carry a request: the server has not closed it (EOF
 * waiting), reset it, or sent bytes nobody asked for. The read watch would say so on the next
 * loop turn, but a closed-loop schedule starts the next request from the done callback, before
 * that turn; writing into a connection the server has closed costs a resend. One non-blocking
 * recv(MSG_PEEK) per reused request (docs/http-client.md has what it costs). */
static int conn_alive(const client__conn *k)
{
    char b;
    ssize_t r = recv(k->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

static int http1_start(client *c, client__slot *s)
{
    http1_state *st = c->tp_state;
    int n = snprintf(s->length_line, sizeof s->length_line, "%zu\r\n\r\n", s->body_len);
    s->length_line_len = (size_t)n;
    s->retried = 0;
    s->deferred_kind = 0;
    if (st->detached) {
        prepare_response(s);
        s->rec.sent_ns = clock_now_ns();
        return 0;
    }
    if (s->conn && s->conn->state == CONN_IDLE) {
        if (!st->no_reuse && conn_alive(s->conn)) {
            s->conn->reused = 1;
            send_request(c, s);
            return 0;
        }
        if (!st->no_reuse)
            found_closed(st);
    }
    if (s->conn) /* still connecting or closing from before: start afresh */
        conn_close(s->conn);
    return connect_slot(c, s);
}

static void http1_gate_go(client *c, client__slot *s)
{
    connect_addr(c, s);
}

static void http1_release(client *c, client__slot *s)
{
    if (s->gate_queued) { /* never got to connect */
        client__gate_leave(c, s);
        return;
    }
    s->deferred_kind = 0; /* ended another way first (cancel): nothing left to report */
    if (s->conn && s->conn->state == CONN_CONNECTING) {
        conn_close(s->conn);
        client__gate_kick(c); /* its place at the gate is free */
        return;
    }
    /* Only a connection whose response was read to its end may carry the next request. */
    if (s->conn && s->conn->state != CONN_IDLE && s->conn->state != CONN_CLOSING)
        conn_close(s->conn);
}

static uint64_t resyn_ns(const http1_state *st, unsigned tries)
{
    uint64_t base = st->connect_est_ns ? st->connect_est_ns * 4 : HTTP1_RESYN_FIRST_MS * CLOCK_NS_PER_MS;
    if (base < HTTP1_RESYN_MIN_MS * CLOCK_NS_PER_MS)
        base = HTTP1_RESYN_MIN_MS * CLOCK_NS_PER_MS;
    if (base > HTTP1_RESYN_MAX_MS * CLOCK_NS_PER_MS)
        base = HTTP1_RESYN_MAX_MS * CLOCK_NS_PER_MS;
    return base << (tries < 10 ? tries : 10);
}

static void http1_check_timeouts(client *c, uint64_t now_ns)
{
    http1_state *st = c->tp_state;
    /* With 10,000 slots a full walk every tick costs milliseconds of loop time (cache misses):
     * only walk while some connection is being opened. */
    for (size_t i = 0; i < c->n_slots && c->gate.connecting > 0; i++) {
        client__slot *s = &c->slots[i];
        client__conn *k = s->conn;
        if (!s->active || !k || k->state != CONN_CONNECTING)
            continue;
        uint64_t age = now_ns > k->connect_start_ns ? now_ns - k->connect_start_ns : 0;
        if (age > st->connect_timeout_ns) {
            char why[400];
            snprintf(why, sizeof why, "connect to %s timed out after %g s", st->addrs[k->addr].label,
                     c->cfg->connect_timeout_s);
            connect_failed(c, k, s, why);
        } else if (age > resyn_ns(st, k->resyns)) {
            /* The same address again on a fresh socket; the connect keeps its start time, so the
             * timeout and connect_ms still count from the first SYN. */
            uint64_t start = k->connect_start_ns;
            unsigned resyns = k->resyns + 1;
            conn_close(k);
            connect_addr(c, s);
            if (s->conn && s->conn->state == CONN_CONNECTING) {
                s->conn->connect_start_ns = start;
                s->conn->resyns = resyns;
            }
        }
    }
}

static void on_resyn(uv_timer_t *t)
{
    client *c = t->data;
    c->stamp_ns = clock_now_ns();
    http1_check_timeouts(c, c->stamp_ns);
}

/* The host, port and request target (path and query) of the URL requests go to: the target as
 * config_target_url makes it (a trailing /v1 dropped, the query string kept), taken apart by
 * curl's parser, the one the curl transport and the user's curl agree with. */
static int parse_target(client *c, char **host, char **port, char **path, char **query, char *err,
                        size_t errlen)
{
    const char *api_path = request_path(c->cfg->api);
    size_t ulen = strlen(c->cfg->target) + strlen(api_path) + 2;
    char *url = malloc(ulen);
    CURLU *u = curl_url();
    int rc = LL_EUSAGE;
    *host = *port = *path = *query = NULL;
    if (!u || !url) {
        curl_url_cleanup(u);
        free(url);
        snprintf(err, errlen, "out of memory");
        return LL_ENOMEM;
    }
    config_target_url(c->cfg->target, api_path, url, ulen);
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PATH, path, 0) != CURLUE_OK) {
        char shown[300];
        snprintf(err, errlen, "target: cannot parse %s", config_redact_url(c->cfg->target, shown, sizeof shown));
        curl_free(*host);
        curl_free(*port);
        curl_free(*path);
        *host = *port = *path = NULL;
    } else {
        if (curl_url_get(u, CURLUPART_QUERY, query, 0) != CURLUE_OK)
            *query = NULL; /* none */
        rc = 0;
    }
    curl_url_cleanup(u);
    explicit_bzero(url, strlen(url)); /* it may carry the URL's password */
    free(url);
    return rc;
}

/* The name is looked up once: every connection of the run goes to the same addresses, and a
 * lookup per connection would be measured as connect time. A name may have several (localhost:
 * ::1 and 127.0.0.1); connects try them in getaddrinfo's order, starting from the one that last
 * worked, as curl does (without its parallel "happy eyeballs" attempts). */
static int resolve(http1_state *st, const char *host, const char *port, char *err, size_t errlen)
{
    char name[256];
    size_t n = strlen(host);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') { /* an IPv6 literal */
        host++;
        n -= 2;
    }
    if (n >= sizeof name) {
        snprintf(err, errlen, "target: host name too long");
        return LL_EUSAGE;
    }
    memcpy(name, host, n);
    name[n] = '\0';
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int gai = getaddrinfo(name, port, &hints, &res);
    if (gai != 0 || !res) {
        snprintf(err, errlen, "cannot resolve %.200s: %s", name, gai ? gai_strerror(gai) : "no address");
        return LL_EIO;
    }
    st->n_addrs = 0;
    for (struct addrinfo *ai = res; ai && st->n_addrs < HTTP1_MAX_ADDRS; ai = ai->ai_next) {
        if (ai->ai_addrlen > sizeof st->addrs[0].sa)
            continue;
        http1_addr *a = &st->addrs[st->n_addrs++];
        memcpy(&a->sa, ai->ai_addr, ai->ai_addrlen);
        a->len = (socklen_t)ai->ai_addrlen;
    }
    int several = st->n_addrs > 1;
    for (size_t i = 0; i < st->n_addrs; i++) {
        http1_addr *a = &st->addrs[i];
        char ip[INET6_ADDRSTRLEN] = "?";
        int v6 = a->sa.ss_family == AF_INET6;
        if (v6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&a->sa)->sin6_addr, ip, sizeof ip);
        else
            inet_ntop(AF_INET, &((struct sockaddr_in *)&a->sa)->sin_addr, ip, sizeof ip);
        if (several)
            snprintf(a->label, sizeof a->label, "%s:%s (%s%s%s:%s)", host, port, v6 ? "[" : "", ip, v6 ? "]" : "", port);
        else
            snprintf(a->label, sizeof a->label, "%s:%s", host, port);
    }
    freeaddrinfo(res);
    if (!st->n_addrs) {
        snprintf(err, errlen, "cannot resolve %.200s: no usable address", name);
        return LL_EIO;
    }
    return 0;
}

static int has_header(const config *cfg, const char *name)
{
    size_t n = strlen(name);
    for (size_t j = 0; j < cfg->n_headers; j++)
        if (strncasecmp(cfg->headers[j], name, n) == 0 && cfg->headers[j][n] == ':')
            return 1;
    return 0;
}

/* The request head every request shares, up to the Content-Length value. A --header of the same
 * name replaces a fixed one; "Name:" with no value removes it, as with curl. Credentials in the
 * target URL go as Basic auth, as curl sends them, unless a key or an Authorization header is
 * given (curl's rule too: a custom Authorization header wins). */
static int build_head(client *c, http1_state *st, const char *host, const char *port,
                      const char *path, const char *query, char *err, size_t errlen)
{
    const config *cfg = c->cfg;
    const char *fixed[] = {"Content-Type: application/json", "Accept: text/event-stream", NULL};
    char ua[64];
    char *basic = NULL;
    snprintf(ua, sizeof ua, "User-Agent: llmload/%s", version_string());
    fixed[2] = ua;
    int use_key = cfg->api_key && cfg->api_key[0];
    if (!use_key && !has_header(cfg, "Authorization") && secret_basic_auth(cfg->target, &basic) == LL_ENOMEM) {
        snprintf(err, errlen, "out of memory building request headers");
        return LL_ENOMEM;
    }
    size_t cap = 512 + strlen(path) + (query ? strlen(query) : 0) + strlen(host) +
                 (cfg->api_key ? strlen(cfg->api_key) : 0) + (basic ? strlen(basic) : 0);
    for (size_t i = 0; i < cfg->n_headers; i++)
        cap += strlen(cfg->headers[i]) + 2;
    char *h = malloc(cap);
    if (!h) {
        secret_free(basic);
        snprintf(err, errlen, "out of memory building request headers");
        return LL_ENOMEM;
    }
    int default_port = strcmp(port, "80") == 0;
    size_t len = (size_t)snprintf(h, cap, "POST %s%s%s HTTP/1.1\r\nHost: %s%s%s\r\n", path, query ? "?" : "",
                                  query ? query : "", host, default_port ? "" : ":", default_port ? "" : port);
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        size_t name_len = (size_t)(strchr(fixed[i], ':') - fixed[i]);
        int overridden = 0;
        for (size_t j = 0; j < cfg->n_headers; j++)
            if (strncasecmp(cfg->headers[j], fixed[i], name_len + 1) == 0)
                overridden = 1;
        if (!overridden)
            len += (size_t)snprintf(h + len, cap - len, "%s\r\n", fixed[i]);
    }
    if (use_key)
        len += (size_t)snprintf(h + len, cap - len, "Authorization: Bearer %s\r\n", cfg->api_key);
    else if (basic)
        len += (size_t)snprintf(h + len, cap - len, "Authorization: %s\r\n", basic);
    secret_free(basic);
    for (size_t j = 0; j < cfg->n_headers; j++) {
        const char *hv = cfg->headers[j], *colon = strchr(hv, ':');
        if (!colon)
            continue;
        const char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        if (*v == '\0')
            continue; /* "Name:" removes the header */
        len += (size_t)snprintf(h + len, cap - len, "%s\r\n", hv);
    }
    len += (size_t)snprintf(h + len, cap - len, "Content-Length: ");
    st->head = h;
    st->head_len = len;
    return 0;
}

static int http1_create(client *c, char *err, size_t errlen)
{
    http1_state *st = calloc(1, sizeof *st);
    char *host = NULL, *port = NULL, *path = NULL, *query = NULL;
    int rc;
    if (!st) {
        snprintf(err, errlen, "out of memory");
        return LL_ENOMEM;
    }
    c->tp_state = st;
    if (!(st->rxbuf = malloc(HTTP1_RXBUF))) {
        snprintf(err, errlen, "out of memory");
        return LL_ENOMEM;
    }
    if ((rc = parse_target(c, &host, &port, &path, &query, err, errlen)) != 0)
        return rc;
    rc = resolve(st, host, port, err, errlen);
    if (rc == 0)
        rc = build_head(c, st, host, port, path, query, err, errlen);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_free(query);
    if (rc != 0)
        return rc;
    st->connect_timeout_ns = (uint64_t)(c->cfg->connect_timeout_s * 1e9);
    st->settings.on_header_field = on_header_field;
    st->settings.on_header_value = on_header_value;
    st->settings.on_headers_complete = on_headers_complete;
    st->settings.on_body = on_body;
    st->settings.on_message_complete = on_message_complete;
    if (uv_timer_init(c->loop, &st->defer) != 0) {
        snprintf(err, errlen, "libuv: cannot create a timer");
        return LL_ELIB;
    }
    st->defer.data = c;
    st->defer_open = 1;
    if (uv_timer_init(c->loop, &st->resyn) != 0) {
        snprintf(err, errlen, "libuv: cannot create a timer");
        return LL_ELIB;
    }
    st->resyn.data = c;
    st->resyn_open = 1;
    /* Connects paced through the gate; it may start them from inside this transport's callbacks. */
    if (client__gate_init(c, CLIENT__GATE_CONNECTING, 1) != 0) {
        snprintf(err, errlen, "libuv: cannot create a timer");
        return LL_ELIB;
    }
    return 0;
}

static void http1_close(client *c)
{
    http1_state *st = c->tp_state;
    if (!st)
        return;
    for (size_t i = 0; i < c->n_slots; i++)
        if (c->slots[i].conn)
            conn_close(c->slots[i].conn);
    if (st->defer_open) {
        uv_timer_stop(&st->defer);
        uv_close((uv_handle_t *)&st->defer, NULL);
        st->defer_open = 0;
    }
    if (st->resyn_open) {
        uv_timer_stop(&st->resyn);
        uv_close((uv_handle_t *)&st->resyn, NULL);
        st->resyn_open = 0;
    }
}

static void http1_free(client *c)
{
    http1_state *st = c->tp_state;
    if (!st)
        return;
    if (st->head) {
        /* The head holds the API key: wipe it. */
        memset(st->head, 0, st->head_len);
        free(st->head);
    }
    free(st->rxbuf);
    free(st);
    c->tp_state = NULL;
}

int client__http1_feed(client *c, const char *const *parts, const size_t *lens, size_t n_parts)
{
    http1_state *st = c->tp_state;
    client__slot *s = c->free_list;
    if (!s)
        return LL_ESTATE;
    st->detached = 1;
    int rc = client_start(c, "hi", 2, 1, 16, 0, 0);
    st->detached = 0;
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < n_parts && s->active; i++) {
        c->stamp_ns = clock_now_ns();
        if (lens[i] > 0)
            feed_response(c, NULL, s, parts[i], lens[i]);
    }
    if (s->active) {
        /* The connection's end: a body that runs to the close ends here; anything else is cut. */
        c->stamp_ns = clock_now_ns();
        if (s->rx_bytes > 0)
            http_parser_execute(&s->parser, &st->settings, NULL, 0);
        if (s->message_done)
            client__finish(c, s, RECORD_OK, RECORD_ERR_NONE, NULL);
        else
            client__finish(c, s, RECORD_OK, RECORD_ERR_DISCONNECT, "transfer closed by the server mid-response");
    }
    return 0;
}

const client__transport client__http1 = {
    .create = http1_create,
    .start = http1_start,
    .release = http1_release,
    .check_timeouts = http1_check_timeouts,
    .close = http1_close,
    .free = http1_free,
    .gate_go = http1_gate_go,
};
