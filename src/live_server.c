/*
 * live_server.c - `--metrics-listen`: a tiny HTTP/1.1 server for Prometheus scrapes on its own
 * thread and libuv loop (reporters box; reads live snapshots, never touches the run loops).
 * One request per connection: parse with http-parser, answer, shut down, close. At most
 * LIVE_MAX_CONNS connections at once and LIVE_IDLE_NS each, so a stuck or hostile client costs a
 * bounded amount. Invariant: after start returns, only the server's thread touches the loop; the
 * main thread reaches it only through the stop uv_async.
 */
#include "llmload/live_server.h"

#include <http_parser.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "llmload/clock.h"
#include "llmload/error.h"
#include "llmload/runsig.h"

#define LIVE_MAX_CONNS 16
#define LIVE_IDLE_NS (10 * CLOCK_NS_PER_S)
#define LIVE_URL_MAX 256
#define LIVE_READ_BUF 2048

typedef struct conn conn;

struct live_server {
    uv_loop_t loop;
    uv_tcp_t listener;
    uv_timer_t sweep;   /* closes connections idle past LIVE_IDLE_NS */
    uv_async_t stop;
    pthread_t thread;
    int thread_started;
    live_read_fn read;
    void *ud;
    char *model;
    char url[128];
    conn *conns;
    size_t n_conns;
};

struct conn {
    uv_tcp_t tcp;
    uv_write_t wr;
    uv_shutdown_t shut;
    http_parser parser;
    live_server *srv;
    conn *prev, *next;
    uint64_t opened_ns;
    int answered, closing;
    char url[LIVE_URL_MAX];
    size_t url_len;
    int url_long;
    char in[LIVE_READ_BUF];
    char head[256];
    char *body; /* owned (open_memstream), freed with the conn */
    size_t body_len;
};

static void on_conn_closed(uv_handle_t *h)
{
    conn *c = h->data;
    free(c->body);
    free(c);
}

static void conn_close(conn *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    live_server *srv = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv->n_conns--;
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)status;
    conn_close(req->data);
}

static void on_written(uv_write_t *req, int status)
{
    conn *c = req->data;
    /* A shutdown after the response lets the client read all of it; closing at once could reset
     * the connection under bytes it has not read yet. */
    if (status < 0 || c->closing || uv_shutdown(&c->shut, (uv_stream_t *)&c->tcp, on_shutdown) != 0)
        conn_close(c);
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    conn *c = p->data;
    if (c->url_len + len >= sizeof c->url) {
        c->url_long = 1;
        return 0;
    }
    memcpy(c->url + c->url_len, at, len);
    c->url_len += len;
    c->url[c->url_len] = '\0';
    return 0;
}

static void respond(conn *c, int status, const char *reason, const char *extra_header, int head_only)
{
    int n = snprintf(c->head, sizeof c->head,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%sConnection: close\r\n\r\n",
                     status, reason, status == 200 ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain",
                     c->body_len, extra_header);
    uv_buf_t bufs[2] = {uv_buf_init(c->head, (unsigned)n), uv_buf_init(c->body, (unsigned)c->body_len)};
    c->wr.data = c;
    c->shut.data = c;
    uv_read_stop((uv_stream_t *)&c->tcp);
    if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, bufs, head_only || !c->body_len ? 1 : 2, on_written) != 0)
        conn_close(c);
}

/* A plain-text body for an error answer. */
static int set_body(conn *c, const char *text)
{
    free(c->body);
    c->body_len = strlen(text);
    if (!(c->body = strdup(text))) {
        c->body_len = 0;
        return LL_ENOMEM;
    }
    return 0;
}

static int on_message_complete(http_parser *p)
{
    conn *c = p->data;
    c->answered = 1;
    /* Whatever a client pipelines after its first request is ignored: one answer, then close. */
    http_parser_pause(p, 1);
    size_t path_len = c->url_long ? 0 : strcspn(c->url, "?#");
    if (path_len != 8 || memcmp(c->url, "/metrics", 8) != 0) {
        set_body(c, "not found: the metrics are at /metrics\n");
        respond(c, 404, "Not Found", "", p->method == HTTP_HEAD);
        return 0;
    }
    if (p->method != HTTP_GET && p->method != HTTP_HEAD) {
        set_body(c, "method not allowed: use GET\n");
        respond(c, 405, "Method Not Allowed", "Allow: GET, HEAD\r\n", 0);
        return 0;
    }
    live_snapshot snap;
    c->srv->read(c->srv->ud, &snap);
    FILE *m = open_memstream(&c->body, &c->body_len);
    int rc = m ? live_render(&snap, c->srv->model, m) : LL_ENOMEM;
    if (m && fclose(m) != 0 && rc == 0)
        rc = LL_ENOMEM;
    if (rc != 0) {
        set_body(c, "cannot render the metrics\n");
        respond(c, 500, "Internal Server Error", "", 0);
        return 0;
    }
    respond(c, 200, "OK", "", p->method == HTTP_HEAD);
    return 0;
}

static const http_parser_settings parser_settings = {
    .on_url = on_url,
    .on_message_complete = on_message_complete,
};

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    conn *c = h->data;
    (void)suggested;
    *buf = uv_buf_init(c->in, sizeof c->in);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    conn *c = s->data;
    if (nread < 0) {
        conn_close(c);
        return;
    }
    if (nread == 0 || c->answered)
        return;
    http_parser_execute(&c->parser, &parser_settings, buf->base, (size_t)nread);
    enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
    if (!c->answered && e != HPE_OK)
        conn_close(c); /* not HTTP: nothing useful to answer */
}

static void on_connection(uv_stream_t *server, int status)
{
    live_server *srv = server->data;
    if (status < 0)
        return;
    conn *c = calloc(1, sizeof *c);
    if (!c)
        return; /* the connection waits in the backlog; the next accept may have memory */
    c->srv = srv;
    if (uv_tcp_init(&srv->loop, &c->tcp) != 0) {
        free(c);
        return;
    }
    c->tcp.data = c;
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->n_conns++;
    c->opened_ns = clock_now_ns();
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 || srv->n_conns > LIVE_MAX_CONNS) {
        conn_close(c);
        return;
    }
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
        conn_close(c);
}

static void on_sweep(uv_timer_t *t)
{
    live_server *srv = t->data;
    uint64_t now = clock_now_ns();
    for (conn *c = srv->conns, *next; c; c = next) {
        next = c->next;
        if (now - c->opened_ns > LIVE_IDLE_NS)
            conn_close(c);
    }
}

static void on_stop(uv_async_t *a)
{
    live_server *srv = a->data;
    uv_close((uv_handle_t *)&srv->listener, NULL);
    uv_close((uv_handle_t *)&srv->sweep, NULL);
    uv_close((uv_handle_t *)&srv->stop, NULL);
    while (srv->conns)
        conn_close(srv->conns);
}

static void *serve(void *arg)
{
    live_server *srv = arg;
    /* The run's stop signals belong to the load loops (and, between benchmarks, to cmd_run, which
     * holds them): delivered here, libuv would queue them for a loop that may never run again. */
    sigset_t stop;
    runsig_block(&stop);
    uv_run(&srv->loop, UV_RUN_DEFAULT);
    return NULL;
}

/* "host:port" or "[v6]:port" -> host and port strings (validated as ADDR:PORT by the config). */
static int split_listen(const char *listen, char *host, size_t hostlen, char *port, size_t portlen)
{
    const char *colon = strrchr(listen, ':');
    if (!colon)
        return LL_EUSAGE;
    const char *h = listen;
    size_t n = (size_t)(colon - listen);
    if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
        h++;
        n -= 2;
    }
    if (n >= hostlen || strlen(colon + 1) >= portlen)
        return LL_EUSAGE;
    memcpy(host, h, n);
    host[n] = '\0';
    snprintf(port, portlen, "%s", colon + 1);
    return 0;
}

static int bind_and_listen(live_server *srv, const char *listen, char *err, size_t errlen)
{
    char host[256], port[16];
    if (split_listen(listen, host, sizeof host, port, sizeof port) != 0) {
        snprintf(err, errlen, "--metrics-listen %.200s: not ADDR:PORT", listen);
        return LL_EUSAGE;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV}, *ai = NULL;
    int g = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai);
    if (g != 0) {
        snprintf(err, errlen, "--metrics-listen %.200s: cannot resolve %.200s: %s", listen, host, gai_strerror(g));
        return LL_ECONNECT;
    }
    int rc = uv_tcp_bind(&srv->listener, ai->ai_addr, 0);
    freeaddrinfo(ai);
    /* libuv may report a port in use at listen rather than at bind. */
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&srv->listener, 64, on_connection);
    if (rc != 0) {
        snprintf(err, errlen, "--metrics-listen %.200s: cannot listen: %s", listen, uv_strerror(rc));
        return LL_ECONNECT;
    }
    struct sockaddr_storage ss;
    int len = sizeof ss;
    char name[INET6_ADDRSTRLEN] = "";
    if ((rc = uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&ss, &len)) != 0) {
        snprintf(err, errlen, "--metrics-listen %.200s: %s", listen, uv_strerror(rc));
        return LL_ELIB;
    }
    if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&ss;
        uv_ip6_name(a6, name, sizeof name);
        snprintf(srv->url, sizeof srv->url, "http://[%s]:%u/metrics", name, (unsigned)ntohs(a6->sin6_port));
    } else {
        const struct sockaddr_in *a4 = (const struct sockaddr_in *)&ss;
        uv_ip4_name(a4, name, sizeof name);
        snprintf(srv->url, sizeof srv->url, "http://%s:%u/metrics", name, (unsigned)ntohs(a4->sin_port));
    }
    return 0;
}

int live_server_start(live_server **out, const char *listen, const char *model, live_read_fn read, void *ud,
                      char *err, size_t errlen)
{
    int rc;
    live_server *srv = calloc(1, sizeof *srv);
    if (!srv || !(srv->model = strdup(model ? model : ""))) {
        free(srv);
        snprintf(err, errlen, "out of memory");
        return LL_ENOMEM;
    }
    srv->read = read;
    srv->ud = ud;
    if (uv_loop_init(&srv->loop) != 0) {
        free(srv->model);
        free(srv);
        snprintf(err, errlen, "libuv: cannot create the metrics server's loop");
        return LL_ELIB;
    }
    int opened = 0; /* handles initialised so far, in order: listener, sweep, stop */
    if (uv_tcp_init(&srv->loop, &srv->listener) != 0 || (opened++, uv_timer_init(&srv->loop, &srv->sweep) != 0) ||
        (opened++, uv_async_init(&srv->loop, &srv->stop, on_stop) != 0)) {
        snprintf(err, errlen, "libuv: cannot create the metrics server's handles");
        rc = LL_ELIB;
        goto fail;
    }
    opened++;
    srv->listener.data = srv->sweep.data = srv->stop.data = srv;
    if ((rc = bind_and_listen(srv, listen, err, errlen)) != 0)
        goto fail;
    if (uv_timer_start(&srv->sweep, on_sweep, 1000, 1000) != 0) {
        snprintf(err, errlen, "libuv: cannot start the metrics server's timer");
        rc = LL_ELIB;
        goto fail;
    }
    if (pthread_create(&srv->thread, NULL, serve, srv) != 0) {
        snprintf(err, errlen, "cannot start the metrics server's thread");
        rc = LL_ELIB;
        goto fail;
    }
    srv->thread_started = 1;
    *out = srv;
    return 0;
fail:
    /* No thread yet: this one still owns the loop, closes what it opened and lets the close
     * callbacks run so that the loop can be closed. */
    if (opened > 0)
        uv_close((uv_handle_t *)&srv->listener, NULL);
    if (opened > 1)
        uv_close((uv_handle_t *)&srv->sweep, NULL);
    if (opened > 2)
        uv_close((uv_handle_t *)&srv->stop, NULL);
    uv_run(&srv->loop, UV_RUN_DEFAULT);
    uv_loop_close(&srv->loop);
    free(srv->model);
    free(srv);
    return rc;
}

const char *live_server_url(const live_server *s)
{
    return s->url;
}

void live_server_stop(live_server *s)
{
    if (!s)
        return;
    if (s->thread_started) {
        uv_async_send(&s->stop);
        pthread_join(s->thread, NULL);
    }
    uv_loop_close(&s->loop);
    free(s->model);
    free(s);
}

int live_server__feed(const char *model, live_read_fn read, void *ud, const char *data, const size_t *lens, size_t n)
{
    live_server srv;
    memset(&srv, 0, sizeof srv);
    srv.read = read;
    srv.ud = ud;
    srv.model = (char *)model; /* borrowed: this server is never stopped with live_server_stop */
    int sv[2];
    if (uv_loop_init(&srv.loop) != 0)
        return LL_ELIB;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        uv_loop_close(&srv.loop);
        return LL_EIO;
    }
    int rc = LL_ENOMEM;
    conn *c = calloc(1, sizeof *c);
    if (!c || uv_tcp_init(&srv.loop, &c->tcp) != 0) {
        free(c);
        close(sv[0]);
        goto out;
    }
    c->srv = &srv;
    c->tcp.data = c;
    srv.conns = c;
    srv.n_conns = 1;
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    if (uv_tcp_open(&c->tcp, sv[0]) != 0) {
        close(sv[0]);
        conn_close(c);
    }
    /* The reads arrive as the loop would deliver them; the loop then runs once so a response's
     * write and shutdown complete as they would for a client. */
    for (size_t i = 0, off = 0; i < n && !c->closing; off += lens[i++])
        if (lens[i]) {
            uv_buf_t b = uv_buf_init((char *)data + off, (unsigned)lens[i]);
            on_read((uv_stream_t *)&c->tcp, (ssize_t)lens[i], &b);
        }
    uv_run(&srv.loop, UV_RUN_NOWAIT);
    rc = 0;
out:
    while (srv.conns)
        conn_close(srv.conns);
    uv_run(&srv.loop, UV_RUN_DEFAULT);
    uv_loop_close(&srv.loop);
    close(sv[1]);
    return rc;
}
