/*
 * client_http1.c - the built-in HTTP/1.1 transport for plain http:// targets (scheduler -> client
 * -> [tcp + http-parser] -> client.c's receive path). Each slot owns at most one keep-alive TCP
 * connection (uv_tcp_t), opened on its first request and reused until the server closes it or a
 * request ends mid-response. A request is one writev (the fixed head, the Content-Length line,
 * the body); the response is read into one buffer shared by the whole client (the loop runs one
 * callback at a time) and parsed by http-parser, whose de-chunked body goes straight to the SSE
 * scan. Per request this is one send and about one read per burst of events, with no
 * allocation and no epoll change: the read watch stays on for the connection's life, so a server
 * closing an idle connection is seen at once.
 *
 * Invariants: conn->s is the slot the connection belongs to, or NULL once it is closing; a
 * connection carries a new request only in state CONN_IDLE (its last response was parsed to the
 * end with nothing after it and the server allowed keep-alive).
 */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "client_internal.h"
#include "llmload/clock.h"
#include "llmload/error.h"
#include "llmload/version.h"

#define HTTP1_RXBUF (64 * 1024) /* one read; bigger than a burst of events, shared by all slots */

enum conn_state { CONN_CONNECTING, CONN_IDLE, CONN_BUSY, CONN_CLOSING };

struct client__conn {
    uv_tcp_t tcp;
    uv_connect_t connect_req;
    uv_write_t write_req;
    client__slot *s;
    client *c;
    enum conn_state state;
    int reused;             /* has carried a request before the current one */
    int writing;            /* a uv_write of the request is still queued (write_req busy) */
    int deferred_kind;      /* a connect failure reported from the close callback */
    uint64_t connect_start_ns;
    char deferred_why[96];
};

typedef struct http1_state {
    struct sockaddr_storage addr;
    char host_port[300]; /* for messages: "127.0.0.1:8000" */
    char *head;          /* request line and fixed headers, up to "Content-Length: " */
    size_t head_len;
    char *rxbuf;
    http_parser_settings settings;
    uint64_t connect_timeout_ns;
    size_t connecting; /* connections in CONN_CONNECTING: the timeout scan runs only when > 0 */
} http1_state;

static void conn_close(client__conn *k);
static void send_request(client *c, client__slot *s);

/* Every state change goes through here, so that the count of connecting ones stays exact. */
static void conn_set_state(client__conn *k, enum conn_state to)
{
    http1_state *st = k->c->tp_state;
    if (k->state == CONN_CONNECTING && to != CONN_CONNECTING)
        st->connecting--;
    else if (k->state != CONN_CONNECTING && to == CONN_CONNECTING)
        st->connecting++;
    k->state = to;
}

/* ---- http-parser callbacks (response side) ----------------------------------------------- */

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    client__slot *s = p->data;
    if (s->in_retry_after || s->hdr_len == (size_t)-1) {
        /* A new header starts: finish the value of the previous one. */
        if (s->in_retry_after)
            client__on_retry_after(s, s->hdr, s->hdr_len);
        s->in_retry_after = 0;
        s->hdr_len = 0;
    }
    /* Header names arrive in pieces at read boundaries: collect up to "retry-after". */
    if (s->hdr_len + len <= 11)
        memcpy(s->hdr + s->hdr_len, at, len);
    s->hdr_len += len;
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    client__slot *s = p->data;
    if (!s->in_retry_after && s->hdr_len != (size_t)-1) {
        s->in_retry_after = s->hdr_len == 11 && strncasecmp(s->hdr, "retry-after", 11) == 0;
        s->hdr_len = s->in_retry_after ? 0 : (size_t)-1; /* -1: inside some other value */
    }
    if (s->in_retry_after) {
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
    if (s->in_retry_after)
        client__on_retry_after(s, s->hdr, s->hdr_len);
    s->in_retry_after = 0;
    s->hdr_len = 0;
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
    client__slot *s = k->s;
    client *c = k->c;
    /* A connect that failed before it began is reported here, one loop turn later, so that
     * client_start never calls the done callback (which may call client_start) itself. */
    if (s && k->deferred_kind && s->conn == k && s->active && !c->closing) {
        s->conn = NULL;
        c->stamp_ns = clock_now_ns();
        client__finish(c, s, RECORD_OK, k->deferred_kind, k->deferred_why);
    } else if (s && s->conn == k) {
        s->conn = NULL;
    }
    free(k);
}

static void conn_close(client__conn *k)
{
    if (k->state == CONN_CLOSING)
        return;
    conn_set_state(k, CONN_CLOSING);
    if (k->s && k->s->conn == k && !k->deferred_kind)
        k->s->conn = NULL;
    if (!k->deferred_kind)
        k->s = NULL;
    uv_close((uv_handle_t *)&k->tcp, on_conn_closed);
}

/* The request on s cannot go on over this connection. */
static void fail_request(client *c, client__slot *s, int kind, const char *why)
{
    if (s->conn)
        conn_close(s->conn);
    client__finish(c, s, RECORD_OK, kind, why);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    client__conn *k = h->data;
    http1_state *st = k->c->tp_state;
    (void)suggested;
    *buf = uv_buf_init(st->rxbuf, HTTP1_RXBUF);
}

static int connect_slot(client *c, client__slot *s);

/* A kept-alive connection may have been closed by the server just as the request went out. Like
 * curl and browsers, resend once on a new connection if not one byte of the response came. */
static int may_retry(const client__slot *s, const client__conn *k)
{
    return k->reused && s->rx_bytes == 0 && !s->retried;
}

static void retry_request(client *c, client__slot *s)
{
    conn_close(s->conn);
    s->retried = 1;
    int rc = connect_slot(c, s);
    if (rc != 0)
        client__finish(c, s, RECORD_OK, RECORD_ERR_CONNECT, ll_strerror(rc));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    client__conn *k = stream->data;
    client *c = k->c;
    client__slot *s = k->s;
    /* The one clock read for these bytes: taken before any of them is parsed. */
    c->stamp_ns = clock_now_ns();
    if (nread == 0)
        return;
    if (k->state != CONN_BUSY || !s) {
        /* Idle: the server closed the connection (or sent bytes nobody asked for). */
        conn_close(k);
        return;
    }
    if (nread < 0) {
        /* libuv reports a reset that follows data (POLLHUP) as EOF: the socket still holds the
         * real error, and a reset must not pass for the clean end of a body read to the close. */
        if (nread == UV_EOF) {
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            uv_os_fd_t fd;
            if (uv_fileno((uv_handle_t *)stream, &fd) == 0 &&
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr != 0)
                nread = uv_translate_sys_error(soerr);
        }
        /* EOF ends a body that runs to the close of the connection; anything else is cut. */
        if (nread == UV_EOF && s->rx_bytes > 0)
            http_parser_execute(&s->parser, &((http1_state *)c->tp_state)->settings, NULL, 0);
        if (s->message_done) {
            conn_close(k);
            client__finish(c, s, RECORD_OK, RECORD_ERR_NONE, NULL);
        } else if (may_retry(s, k)) {
            retry_request(c, s);
        } else {
            char why[96];
            if (nread == UV_EOF)
                snprintf(why, sizeof why, "transfer closed by the server %s",
                         s->rx_bytes ? "mid-response" : "before any response");
            else
                snprintf(why, sizeof why, "receive failed: %s", uv_strerror((int)nread));
            fail_request(c, s, RECORD_ERR_DISCONNECT, why);
        }
        return;
    }
    http1_state *st = c->tp_state;
    s->rx_bytes += (size_t)nread;
    s->last_rx_ns = c->stamp_ns;
    size_t used = http_parser_execute(&s->parser, &st->settings, buf->base, (size_t)nread);
    enum http_errno e = HTTP_PARSER_ERRNO(&s->parser);
    if (s->message_done) {
        /* Bytes after the response, a server that will close, or a request body still being
         * written (the server answered early): this connection is done. */
        if (http_should_keep_alive(&s->parser) && used == (size_t)nread && !k->writing)
            conn_set_state(k, CONN_IDLE);
        else
            conn_close(k);
        client__finish(c, s, RECORD_OK, RECORD_ERR_NONE, NULL);
        return;
    }
    if (e == HPE_CB_body) {
        fail_request(c, s, RECORD_ERR_OTHER, NULL); /* s->fail_kind says why */
    } else if (e != HPE_OK) {
        char why[128];
        snprintf(why, sizeof why, "the response is not valid HTTP/1.1: %s", http_errno_description(e));
        fail_request(c, s, RECORD_ERR_OTHER, why);
    }
}

static void on_write(uv_write_t *req, int status)
{
    client__conn *k = req->data;
    client__slot *s = k->s;
    k->writing = 0;
    if (status == 0 || status == UV_ECANCELED || !s || k->state != CONN_BUSY)
        return;
    k->c->stamp_ns = clock_now_ns();
    if (may_retry(s, k)) {
        retry_request(k->c, s);
        return;
    }
    char why[96];
    snprintf(why, sizeof why, "send failed: %s", uv_strerror(status));
    fail_request(k->c, s, RECORD_ERR_DISCONNECT, why);
}

static void send_request(client *c, client__slot *s)
{
    http1_state *st = c->tp_state;
    client__conn *k = s->conn;
    uv_buf_t bufs[3] = {uv_buf_init(st->head, (unsigned)st->head_len),
                        uv_buf_init(s->length_line, (unsigned)s->length_line_len),
                        uv_buf_init(s->body, (unsigned)s->body_len)};
    size_t total = st->head_len + s->length_line_len + s->body_len;
    http_parser_init(&s->parser, HTTP_RESPONSE);
    s->parser.data = s;
    s->message_done = 0;
    s->rx_bytes = 0;
    s->in_retry_after = 0;
    s->hdr_len = 0;
    conn_set_state(k, CONN_BUSY);
    s->rec.sent_ns = clock_now_ns();
    int n = uv_try_write((uv_stream_t *)&k->tcp, bufs, 3);
    if (n == (int)total)
        return;
    if (n < 0 && n != UV_EAGAIN) {
        if (may_retry(s, k)) {
            retry_request(c, s);
            return;
        }
        char why[96];
        snprintf(why, sizeof why, "send failed: %s", uv_strerror(n));
        fail_request(c, s, RECORD_ERR_DISCONNECT, why);
        return;
    }
    /* The socket buffer is full (a very long prompt): queue the rest, in order. */
    size_t skip = n > 0 ? (size_t)n : 0, first = 0;
    while (first < 3 && skip >= bufs[first].len)
        skip -= bufs[first++].len;
    bufs[first].base += skip;
    bufs[first].len -= skip;
    k->write_req.data = k;
    k->writing = 1;
    int rc = uv_write(&k->write_req, (uv_stream_t *)&k->tcp, bufs + first, 3 - first, on_write);
    if (rc != 0) {
        char why[96];
        k->writing = 0;
        snprintf(why, sizeof why, "send failed: %s", uv_strerror(rc));
        fail_request(c, s, RECORD_ERR_DISCONNECT, why);
    }
}

static void on_connect(uv_connect_t *req, int status)
{
    client__conn *k = req->data;
    client *c = k->c;
    client__slot *s = k->s;
    if (k->state != CONN_CONNECTING || !s)
        return; /* given up on (timeout, cancel): the close is under way */
    c->stamp_ns = clock_now_ns();
    http1_state *st = c->tp_state;
    char why[400];
    if (status != 0) {
        snprintf(why, sizeof why, "connect to %s failed: %s", st->host_port, uv_strerror(status));
        fail_request(c, s, RECORD_ERR_CONNECT, why);
        return;
    }
    int rc = uv_tcp_nodelay(&k->tcp, 1);
    if (rc == 0)
        rc = uv_read_start((uv_stream_t *)&k->tcp, on_alloc, on_read);
    if (rc != 0) {
        snprintf(why, sizeof why, "connection to %s: %s", st->host_port, uv_strerror(rc));
        fail_request(c, s, RECORD_ERR_CONNECT, why);
        return;
    }
    send_request(c, s);
}

/* Opens a new connection for s; the request goes out once it is up. Never calls the done
 * callback itself: a failure is reported from the close callback. */
static int connect_slot(client *c, client__slot *s)
{
    http1_state *st = c->tp_state;
    client__conn *k = calloc(1, sizeof *k);
    if (!k)
        return LL_ENOMEM;
    if (uv_tcp_init(c->loop, &k->tcp) != 0) {
        free(k);
        return LL_ELIB;
    }
    k->tcp.data = k;
    k->c = c;
    k->s = s;
    k->state = CONN_IDLE; /* not counted until it is connecting */
    conn_set_state(k, CONN_CONNECTING);
    k->connect_start_ns = clock_now_ns();
    k->connect_req.data = k;
    s->conn = k;
    s->rec.new_connection = 1;
    int rc = uv_tcp_connect(&k->connect_req, &k->tcp, (const struct sockaddr *)&st->addr, on_connect);
    if (rc != 0) {
        /* Typically out of file descriptors: a connect failure of this request. */
        k->deferred_kind = RECORD_ERR_CONNECT;
        snprintf(k->deferred_why, sizeof k->deferred_why, "connect failed: %s", uv_strerror(rc));
        conn_close(k);
    }
    return 0;
}

/* ---- transport hooks ------------------------------------------------------------------- */

static int http1_start(client *c, client__slot *s)
{
    int n = snprintf(s->length_line, sizeof s->length_line, "%zu\r\n\r\n", s->body_len);
    s->length_line_len = (size_t)n;
    s->retried = 0;
    if (s->conn && s->conn->state == CONN_IDLE) {
        s->conn->reused = 1;
        send_request(c, s);
        return 0;
    }
    if (s->conn) /* still connecting or closing from before: start afresh */
        conn_close(s->conn);
    return connect_slot(c, s);
}

static void http1_release(client *c, client__slot *s)
{
    (void)c;
    /* Only a connection whose response was read to its end may carry the next request. */
    if (s->conn && s->conn->state != CONN_IDLE && s->conn->state != CONN_CLOSING)
        conn_close(s->conn);
}

static void http1_check_timeouts(client *c, uint64_t now_ns)
{
    http1_state *st = c->tp_state;
    /* With 10,000 slots a full walk every tick costs milliseconds of loop time (cache misses):
     * only walk while some connection is being opened. */
    for (size_t i = 0; i < c->n_slots && st->connecting > 0; i++) {
        client__slot *s = &c->slots[i];
        client__conn *k = s->conn;
        if (!s->active || !k || k->state != CONN_CONNECTING || k->deferred_kind)
            continue;
        if (now_ns > k->connect_start_ns && now_ns - k->connect_start_ns > st->connect_timeout_ns) {
            char why[400];
            snprintf(why, sizeof why, "connect to %s timed out after %g s", st->host_port,
                     c->cfg->connect_timeout_s);
            fail_request(c, s, RECORD_ERR_CONNECT, why);
        }
    }
}

/* The target's host, port and path from its URL (curl's parser, the one the rest of llmload
 * and the user's curl agree with). */
static int parse_target(client *c, char **host, char **port, char **path, char *err, size_t errlen)
{
    CURLU *u = curl_url();
    int rc = LL_EUSAGE;
    *host = *port = *path = NULL;
    if (!u) {
        snprintf(err, errlen, "out of memory");
        return LL_ENOMEM;
    }
    if (curl_url_set(u, CURLUPART_URL, c->cfg->target, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PATH, path, 0) != CURLUE_OK) {
        snprintf(err, errlen, "target: cannot parse %.200s", c->cfg->target);
        curl_free(*host);
        curl_free(*port);
        curl_free(*path);
        *host = *port = *path = NULL;
    } else {
        rc = 0;
    }
    curl_url_cleanup(u);
    return rc;
}

/* The address is looked up once: every connection of the run goes to the same one, and a name
 * lookup per connection would be measured as connect time. */
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
    memcpy(&st->addr, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

/* The request head every request shares, up to the Content-Length value. A --header of the same
 * name replaces a fixed one; "Name:" with no value removes it, as with curl. */
static int build_head(client *c, http1_state *st, const char *host, const char *port,
                      const char *base_path, char *err, size_t errlen)
{
    const config *cfg = c->cfg;
    const char *fixed[] = {"Content-Type: application/json", "Accept: text/event-stream", NULL};
    char ua[64];
    snprintf(ua, sizeof ua, "User-Agent: llmload/%s", version_string());
    fixed[2] = ua;
    size_t cap = 512 + strlen(base_path) + strlen(host) + (cfg->api_key ? strlen(cfg->api_key) : 0);
    for (size_t i = 0; i < cfg->n_headers; i++)
        cap += strlen(cfg->headers[i]) + 2;
    char *h = malloc(cap);
    if (!h) {
        snprintf(err, errlen, "out of memory building request headers");
        return LL_ENOMEM;
    }
    size_t bp = strlen(base_path);
    while (bp > 0 && base_path[bp - 1] == '/')
        bp--;
    int default_port = strcmp(port, "80") == 0;
    size_t len = (size_t)snprintf(h, cap, "POST %.*s%s HTTP/1.1\r\nHost: %s%s%s\r\n", (int)bp, base_path,
                                  request_path(cfg->api), host, default_port ? "" : ":",
                                  default_port ? "" : port);
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        size_t name_len = (size_t)(strchr(fixed[i], ':') - fixed[i]);
        int overridden = 0;
        for (size_t j = 0; j < cfg->n_headers; j++)
            if (strncasecmp(cfg->headers[j], fixed[i], name_len + 1) == 0)
                overridden = 1;
        if (!overridden)
            len += (size_t)snprintf(h + len, cap - len, "%s\r\n", fixed[i]);
    }
    if (cfg->api_key && cfg->api_key[0])
        len += (size_t)snprintf(h + len, cap - len, "Authorization: Bearer %s\r\n", cfg->api_key);
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
    char *host = NULL, *port = NULL, *path = NULL;
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
    if ((rc = parse_target(c, &host, &port, &path, err, errlen)) != 0)
        return rc;
    snprintf(st->host_port, sizeof st->host_port, "%s:%s", host, port);
    rc = resolve(st, host, port, err, errlen);
    if (rc == 0)
        rc = build_head(c, st, host, port, path, err, errlen);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    if (rc != 0)
        return rc;
    st->connect_timeout_ns = (uint64_t)(c->cfg->connect_timeout_s * 1e9);
    st->settings.on_header_field = on_header_field;
    st->settings.on_header_value = on_header_value;
    st->settings.on_headers_complete = on_headers_complete;
    st->settings.on_body = on_body;
    st->settings.on_message_complete = on_message_complete;
    return 0;
}

static void http1_close(client *c)
{
    for (size_t i = 0; i < c->n_slots; i++) {
        client__slot *s = &c->slots[i];
        if (s->conn) {
            client__conn *k = s->conn;
            k->deferred_kind = 0; /* nobody is left to report to */
            k->s = s;
            conn_close(k);
        }
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

const client__transport client__http1 = {
    .create = http1_create,
    .start = http1_start,
    .release = http1_release,
    .check_timeouts = http1_check_timeouts,
    .close = http1_close,
    .free = http1_free,
};
