/*
 * sim_server.c - the simulator's loop: listener, signals, and the engine clock. The engine's next
 * deadline is armed as an absolute CLOCK_MONOTONIC time on a timerfd watched by uv_poll (uv_timer
 * is per-millisecond and uses the cached uv_now, too coarse for token timing); each wake-up
 * advances the engine to the current clock and writes what it emitted.
 * Invariant: the timerfd is re-armed after every change to the engine (submit, cancel, advance).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "llmload/clock.h"
#include "llmload/error.h"
#include "sim_server.h"
#include "sim_prefix.h"

void sim_server_reschedule(sim_server *srv)
{
    /* Called after every change to the engine: the running count only changes before it. */
    sim_gpu_update(&srv->gpu, clock_now_ns(), sim_engine_running(srv->engine));
    uint64_t d = sim_engine_next_deadline(srv->engine);
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    if (d != UINT64_MAX) {
        /* A zero it_value would disarm: a deadline at time 0 is due anyway, so fire at 1 ns. */
        if (d == 0)
            d = 1;
        its.it_value.tv_sec = (time_t)(d / CLOCK_NS_PER_S);
        its.it_value.tv_nsec = (long)(d % CLOCK_NS_PER_S);
    }
    if (timerfd_settime(srv->tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
        fprintf(stderr, "llmload sim: timerfd_settime: %s\n", strerror(errno));
}

/* Runs the engine up to now, writes what it emitted, then the work the emit callback could not
 * do without re-entering the engine. */
static void advance(sim_server *srv, uint64_t now)
{
    sim_engine_advance(srv->engine, now, sim_conn_emit, srv);
    sim_metrics_iteration_flush(&srv->metrics);
    while (srv->drain) {
        sim_conn *c = srv->drain;
        srv->drain = c->drain_next;
        sim_conn_drain(c);
    }
    sim_server_reschedule(srv);
}

static void on_tick(uv_poll_t *p, int status, int events)
{
    sim_server *srv = p->data;
    (void)events;
    uint64_t expirations;
    if (status < 0)
        fprintf(stderr, "llmload sim: timer poll: %s\n", uv_strerror(status));
    /* Non-blocking read: clears readiness; EAGAIN just means a re-arm raced the wake-up. */
    if (read(srv->tfd, &expirations, sizeof expirations) < 0 && errno != EAGAIN)
        fprintf(stderr, "llmload sim: timerfd read: %s\n", strerror(errno));
    advance(srv, clock_now_ns());
}

static void on_connection(uv_stream_t *server, int status)
{
    sim_server *srv = server->data;
    if (status < 0) {
        fprintf(stderr, "llmload sim: accept: %s\n", uv_strerror(status));
        return;
    }
    sim_conn_accept(srv);
}

static void on_signal(uv_signal_t *s, int signum)
{
    sim_server *srv = s->data;
    (void)signum;
    if (srv->stopping)
        return;
    srv->stopping = 1;
    fprintf(stderr, "llmload sim: stopping\n");
    uv_close((uv_handle_t *)&srv->listener, NULL);
    uv_close((uv_handle_t *)&srv->tick, NULL);
    uv_close((uv_handle_t *)&srv->sigint, NULL);
    uv_close((uv_handle_t *)&srv->sigterm, NULL);
    while (srv->conns)
        sim_conn_close(srv->conns);
}

static int bind_listener(sim_server *srv)
{
    struct sockaddr_storage ss;
    const sim_config *cfg = &srv->cfg;
    int rc = uv_ip4_addr(cfg->host, cfg->port, (struct sockaddr_in *)&ss);
    if (rc < 0)
        rc = uv_ip6_addr(cfg->host, cfg->port, (struct sockaddr_in6 *)&ss);
    if (rc < 0) {
        fprintf(stderr, "llmload sim: cannot listen on %s:%d: not a numeric IP address\n", cfg->host, cfg->port);
        return rc;
    }
    rc = uv_tcp_bind(&srv->listener, (const struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&srv->listener, (int)cfg->listen_backlog, on_connection);
    if (rc < 0) {
        fprintf(stderr, "llmload sim: cannot listen on %s:%d: %s\n", cfg->host, cfg->port, uv_strerror(rc));
        return rc;
    }
    struct sockaddr_storage got;
    int len = sizeof got;
    rc = uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&got, &len);
    if (rc < 0) {
        fprintf(stderr, "llmload sim: getsockname: %s\n", uv_strerror(rc));
        return rc;
    }
    int port = got.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&got)->sin6_port)
                                          : ntohs(((struct sockaddr_in *)&got)->sin_port);
    int v6 = strchr(cfg->host, ':') != NULL;
    printf("listening on http://%s%s%s:%d\n", v6 ? "[" : "", cfg->host, v6 ? "]" : "", port);
    fflush(stdout);
    return 0;
}

static void walk_close(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

/* The server without its listener and signals: metrics, engine, random source, loop and the
 * engine clock. 0, or -1 with one line on stderr; server_close undoes any part of it (every step
 * is safe on the zeroed state calloc left, so there is one cleanup path). */
static int server_open(sim_server **out, const sim_config *cfg)
{
    sim_server *srv = calloc(1, sizeof *srv);
    *out = srv;
    if (!srv) {
        fprintf(stderr, "llmload sim: out of memory\n");
        return -1;
    }
    srv->cfg = *cfg;
    sim_config_fix_model(&srv->cfg);
    srv->tfd = -1;
    sim_engine_timing timing[SIM_MAX_MODELS];
    for (uint32_t i = 0; i < srv->cfg.n_models; i++) {
        const sim_model *m = &srv->cfg.models[i];
        srv->model_names[i] = m->name;
        timing[i].ttft_ns = (uint64_t)((m->timed ? m->ttft_ms : cfg->ttft_ms) * 1e6 + 0.5);
        timing[i].itl_ns = (uint64_t)((m->timed ? m->itl_ms : cfg->itl_ms) * 1e6 + 0.5);
    }
    if (sim_metrics_init(&srv->metrics) < 0) {
        fprintf(stderr, "llmload sim: out of memory\n");
        return -1;
    }
    srv->started_wall = (uint64_t)clock_wall_s();
    sim_buf_init(&srv->scratch, 0);
    sim_conn_settings(&srv->settings);
    sim_engine_config ec = {
        .max_num_seqs = cfg->max_num_seqs,
        .kv_cache_tokens = cfg->kv_cache_tokens,
        .ttft_ns = (uint64_t)(cfg->ttft_ms * 1e6 + 0.5),
        .prefill_ns_per_1k = (uint64_t)(cfg->prefill_ms_per_1k * 1e6 + 0.5),
        .itl_ns = (uint64_t)(cfg->itl_ms * 1e6 + 0.5),
        .itl_ns_per_seq = (uint64_t)(cfg->itl_ms_per_seq * 1e6 + 0.5),
        .tokens_per_event = cfg->tokens_per_event,
        .preempt = cfg->preemption,
        .models = timing,
        .n_models = srv->cfg.n_models,
    };
    int rc = sim_engine_create(&ec, &srv->engine);
    if (rc < 0) {
        fprintf(stderr, "llmload sim: engine: %s\n", ll_strerror(rc));
        return -1;
    }
    if (cfg->prefix_cache_tokens && (rc = sim_prefix_create(cfg->prefix_cache_tokens, &srv->prefix)) < 0) {
        fprintf(stderr, "llmload sim: prefix cache: %s\n", ll_strerror(rc));
        return -1;
    }
    sim_gpu_init(&srv->gpu, cfg->gpu_idle_watts, cfg->gpu_watts_per_seq, cfg->gpu_full_batch, clock_now_ns());
    srv->rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (!srv->rng) {
        fprintf(stderr, "llmload sim: out of memory\n");
        return -1;
    }
    gsl_rng_set(srv->rng, (unsigned long)cfg->seed);
    if ((rc = uv_loop_init(&srv->loop)) < 0) {
        fprintf(stderr, "llmload sim: uv_loop_init: %s\n", uv_strerror(rc));
        return -1;
    }
    srv->loop_open = 1;
    srv->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (srv->tfd < 0) {
        fprintf(stderr, "llmload sim: timerfd_create: %s\n", strerror(errno));
        return -1;
    }
    srv->tick.data = srv;
    if ((rc = uv_poll_init(&srv->loop, &srv->tick, srv->tfd)) < 0 ||
        (rc = uv_poll_start(&srv->tick, UV_READABLE, on_tick)) < 0) {
        fprintf(stderr, "llmload sim: libuv init: %s\n", uv_strerror(rc));
        return -1;
    }
    return 0;
}

static void server_close(sim_server *srv)
{
    if (!srv)
        return;
    if (srv->loop_open) {
        /* Close whatever is still open (all of it on an early failure) and let the callbacks run. */
        srv->stopping = 1;
        while (srv->conns)
            sim_conn_close(srv->conns);
        uv_walk(&srv->loop, walk_close, NULL);
        uv_run(&srv->loop, UV_RUN_DEFAULT);
        if (uv_loop_close(&srv->loop) != 0)
            fprintf(stderr, "llmload sim: handles still open at exit\n");
    }
    if (srv->tfd >= 0)
        close(srv->tfd);
    gsl_rng_free(srv->rng);
    sim_engine_destroy(srv->engine);
    sim_prefix_destroy(srv->prefix);
    sim_metrics_free(&srv->metrics);
    sim_buf_free(&srv->scratch);
    free(srv);
}

int sim_server_run(const sim_config *cfg)
{
    int exit_code = 1, rc;
    sim_server *srv;
    if (server_open(&srv, cfg) < 0)
        goto out;
    srv->listener.data = srv->sigint.data = srv->sigterm.data = srv;
    if ((rc = uv_tcp_init(&srv->loop, &srv->listener)) < 0 || (rc = uv_signal_init(&srv->loop, &srv->sigint)) < 0 ||
        (rc = uv_signal_init(&srv->loop, &srv->sigterm)) < 0) {
        fprintf(stderr, "llmload sim: libuv init: %s\n", uv_strerror(rc));
        goto out;
    }
    srv->listener.data = srv->sigint.data = srv->sigterm.data = srv;
    if ((rc = uv_signal_start(&srv->sigint, on_signal, SIGINT)) < 0 ||
        (rc = uv_signal_start(&srv->sigterm, on_signal, SIGTERM)) < 0) {
        fprintf(stderr, "llmload sim: libuv start: %s\n", uv_strerror(rc));
        goto out;
    }
    if (bind_listener(srv) < 0)
        goto out;
    uv_run(&srv->loop, UV_RUN_DEFAULT);
    exit_code = srv->stopping ? 0 : 1;
out:
    server_close(srv);
    return exit_code;
}

int sim_server__feed(const sim_config *cfg, const char *data, const size_t *lens, size_t n)
{
    sim_server *srv;
    int rc = -1, sv[2] = {-1, -1};
    if (server_open(&srv, cfg) < 0)
        goto out;
    /* The response side is a socketpair nobody reads: writes succeed until its buffer is full,
     * then wait behind uv_write as they would for a slow client. */
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        goto out;
    sim_conn *c = sim_conn__open(srv, sv[0]);
    sv[0] = -1; /* the connection owns it now, or has closed it */
    if (!c)
        goto out;
    /* Each part arrives as one read; between reads the engine runs far ahead, so a stream ends
     * and a pipelined request behind it is served. */
    for (size_t i = 0, off = 0; i < n; off += lens[i++]) {
        if (lens[i] && !c->closing)
            sim_conn__receive(c, data + off, lens[i]);
        advance(srv, clock_now_ns() + 3600 * CLOCK_NS_PER_S);
    }
    rc = 0;
out:
    server_close(srv);
    if (sv[0] >= 0)
        close(sv[0]);
    if (sv[1] >= 0)
        close(sv[1]);
    return rc;
}
