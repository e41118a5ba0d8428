/*
 * live_server.h - the `--metrics-listen ADDR:PORT` endpoint: GET /metrics answers the live
 * snapshot (live.h) as Prometheus text while the run goes; every other path is 404 (reporters box,
 * beside the report: it reads what the run loops publish and never writes to them).
 *
 * It runs on its own thread with its own small libuv loop (uv_tcp + http-parser, one response per
 * connection, then close), so a scrape costs the load loops nothing but a mutex-guarded copy of
 * their snapshot each tick. The socket is bound and listening when live_server_start returns.
 */
#ifndef LLMLOAD_LIVE_SERVER_H
#define LLMLOAD_LIVE_SERVER_H

#include <stddef.h>

#include "llmload/live.h"

typedef struct live_server live_server;

/* Fills *out with the current snapshot; called on the server's thread for each scrape. */
typedef void (*live_read_fn)(void *ud, live_snapshot *out);

/* Binds listen ("127.0.0.1:9400", "[::1]:0", "localhost:9400"; port 0 picks a free one) and starts
 * the thread. model is copied; ud is borrowed and must stay valid, and read safe to call from
 * another thread, until live_server_stop. *out owned by caller (live_server_stop). Returns 0, or
 * LL_ECONNECT (cannot resolve or bind: in use, not a local address), LL_ENOMEM or LL_ELIB, with
 * one line in err. */
int live_server_start(live_server **out, const char *listen, const char *model, live_read_fn read, void *ud,
                      char *err, size_t errlen);

/* "http://127.0.0.1:PORT/metrics" with the port actually bound. Borrowed, valid until
 * live_server_stop. */
const char *live_server_url(const live_server *s);

/* Closes the listener and every connection, joins the thread, frees s. NULL is fine. */
void live_server_stop(live_server *s);

/* Internal, for tests/fuzz/fuzz_live_server.c: one connection with no client and no thread; the
 * bytes in data arrive as n reads of lens[i] bytes each, through the real parser and handlers (read
 * answers a /metrics scrape); the response goes to a socketpair nobody reads. 0, LL_ENOMEM,
 * LL_ELIB or LL_EIO. */
int live_server__feed(const char *model, live_read_fn read, void *ud, const char *data, const size_t *lens,
                      size_t n);

#endif
