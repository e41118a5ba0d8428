/*
 * sim_server.h - internal to the simulator tree: the loop state (the one piece of mutable state the
 * project allows to be process-wide, though it is passed by pointer, never global) and the
 * per-connection state shared by sim_server.c (loop, listener, engine clock, lifecycle) and
 * sim_conn.c (HTTP parsing, routing, response writing).
 * Invariant: the engine is only called from outside its emit callback; work the callback cannot do
 * (admitting a pipelined request, closing) is deferred through the drain list or uv_close.
 */
#ifndef LLMLOAD_SIM_SERVER_H
#define LLMLOAD_SIM_SERVER_H

#include <stdint.h>

#include <gsl/gsl_rng.h>
#include <http_parser.h>
#include <uv.h>

#include "llmload/sim_engine.h"
#include "sim_api.h"
#include "sim_buf.h"
#include "sim_config.h"
#include "sim_gpu.h"
#include "sim_metrics.h"

typedef struct sim_server sim_server;
typedef struct sim_conn sim_conn;

enum sim_route { SIM_ROUTE_NONE, SIM_ROUTE_STREAM, SIM_ROUTE_FULL };

struct sim_conn {
    uv_tcp_t tcp;                 /* first: the handle's pointer is the conn's */
    uv_timer_t stall_timer;       /* ms resolution is fine: only bounds how long a stall lasts */
    uv_write_t wreq;
    int open_handles;             /* freed when both handles' close callbacks have run */
    sim_server *srv;
    sim_conn *prev, *next;        /* server's connection list */
    sim_conn *drain_next;         /* deferred-work list */
    int on_drain_list;
    http_parser parser;

    /* request being parsed */
    char url[1024];
    size_t url_len;
    int url_overflow;
    char field[32];
    size_t field_len;
    int last_was_value;
    int hdr_target;               /* 0 none, 1 authorization, 2 x-api-key */
    char auth[512], xkey[512];
    size_t auth_len, xkey_len;
    int hdr_overflow;
    sim_buf body;
    sim_buf pending_in;           /* bytes received while a response was in progress */

    /* response in progress */
    int in_request;
    int keep_alive;
    int closing;
    int close_after_write;
    enum sim_route route;
    sim_api_request req;
    sim_api_stream st;
    sim_engine_seq seq;
    const char *finish;           /* "length" or "stop" for a complete response */
    uint64_t arrival_ns, last_write_ns, tokens_sent;
    uint64_t events, total_events;
    int fault;                    /* SIM_FAULT_* for a stream fault, or -1 */
    uint64_t fault_at;            /* event after which (or before which, malformed) it strikes */
    int stalled;

    sim_buf out;                  /* bytes waiting to go out */
    sim_buf inflight;             /* bytes handed to uv_write, valid until its callback */
    int writing;
    int late_close;               /* --close-after-response late: closing soon, answers nothing more */
    uint64_t last_at_ns;          /* engine time of this request's last emission (0: none yet) */
};

struct sim_server {
    uv_loop_t loop;
    uv_tcp_t listener;
    uv_poll_t tick;               /* watches tfd */
    uv_signal_t sigint, sigterm;
    int tfd;                      /* absolute CLOCK_MONOTONIC timerfd at the engine's next deadline */
    sim_config cfg;
    sim_engine *engine;
    gsl_rng *rng;
    sim_metrics metrics;
    http_parser_settings settings;
    sim_conn *conns;
    sim_conn *drain;
    uint64_t serial;
    uint64_t started_wall;
    int stopping;
    sim_buf scratch;              /* one event's text before chunk framing */
    char readbuf[65536];          /* shared: every read is consumed before the callback returns */
    int loop_open;                /* uv_loop_init succeeded: server_close must close it */
    struct sim_prefix *prefix;    /* --prefix-cache-tokens, or NULL */
    sim_gpu gpu;                  /* --gpu-metrics: updated at every reschedule */
    const char *model_names[SIM_MAX_MODELS]; /* cfg.models[i].name, for sim_api's model check */
};

/* sim_server.c */
/* Runs the server for `cfg` (copied) until SIGINT/SIGTERM; prints the listening line on stdout.
 * Returns the process exit code: 0 clean stop, 1 runtime failure (port in use, ...). */
int sim_server_run(const sim_config *cfg);
/* Re-arms the timerfd at the engine's next deadline (disarms when none). */
void sim_server_reschedule(sim_server *srv);
/* Internal, for tests/fuzz/fuzz_sim_request.c: a server for cfg with one connection and no
 * listener; the request bytes in data arrive as n reads of lens[i] bytes each, through the real
 * parser, router, JSON body parse and engine (run ahead an hour after each read). 0, or -1 when the
 * server could not be set up. */
int sim_server__feed(const sim_config *cfg, const char *data, const size_t *lens, size_t n);

/* sim_conn.c */
/* The engine's emit callback (ud is the server): writes the emission on the seq's connection.
 * Runs inside sim_engine_advance, so it never calls the engine. */
void sim_conn_emit(void *ud, sim_engine_seq *seq, uint64_t at_ns, uint32_t tokens, int finished);
/* Accepts one connection from the listener; logs and drops it on failure. */
void sim_conn_accept(sim_server *srv);
/* Starts closing `c` (idempotent); the engine seq is cancelled from the close callback. */
void sim_conn_close(sim_conn *c);
/* Deferred work after advance(): parse pipelined input, close what asked to be closed. */
void sim_conn_drain(sim_conn *c);
/* Fills the parser settings table. */
void sim_conn_settings(http_parser_settings *s);
/* Internal, for sim_server__feed: a connection on socket fd (ownership moves to it, closed on
 * failure) that reads nothing itself; NULL on failure. Valid until the loop runs its close. */
sim_conn *sim_conn__open(sim_server *srv, int fd);
/* Internal, for sim_server__feed: len bytes arrive on c as one read. */
void sim_conn__receive(sim_conn *c, const char *data, size_t len);

#endif
