/*
 * client.h - the HTTP client: libcurl's multi interface driven by a libuv loop (scheduler ->
 * client -> sse -> record).
 *
 * A pool of request slots is allocated at creation, one per request that may be in flight; each
 * slot keeps its curl easy handle (so connections are reused), its body buffer, SSE parser and the
 * record being filled. Starting a request takes a free slot; when it ends, the record is handed to
 * the done callback and the slot goes back to the free list. The receive path reads the clock once
 * per socket readiness, before curl reads and before any parsing, and every event found in those
 * bytes carries that stamp. Per-token gaps go to the histograms given (for measured requests
 * only), never to per-request storage.
 */
#ifndef LLMLOAD_CLIENT_H
#define LLMLOAD_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "llmload/config.h"
#include "llmload/hist.h"
#include "llmload/record.h"

typedef struct client client;

/* Called when a request has ended (ok, failed or cancelled). r and error_msg ("" when none) are
 * borrowed for the call. The slot is already free, so the callback may call client_start
 * (closed-loop schedules do). */
typedef void (*client_done_fn)(void *ud, const record *r, const char *error_msg);

typedef struct client_options {
    const config *cfg;     /* borrowed; must outlive the client */
    const char *model;     /* borrowed; copied into the body template */
    /* A model mix (config's models, n_models >= 2): one body template per model, and
     * client_start_ex picks one per request; NULL/0 means `model` alone. Borrowed for the call. */
    const char *const *models;
    size_t n_models;
    size_t slots;          /* most requests in flight at once */
    client_done_fn on_done;
    void *ud;
} client_options;

/* Token-gap sinks and the measured window (by scheduled time, [start, end)). Borrowed. */
typedef struct client_sinks {
    hist *itl;        /* gaps between token events */
    hist *itl_token;  /* per-token gaps (continuous usage splits a gap by its token count) */
    uint64_t window_start_ns, window_end_ns;
    hist *read_wait;  /* curl: sampled reads' time in the socket before the loop read them; or NULL */
} client_sinks;

/* *out owned by caller: client_close, then run the loop until it has no more handles, then
 * client_free. Returns 0, LL_ENOMEM or LL_ELIB (a curl setup call failed; err says which). */
int client_create(client **out, uv_loop_t *loop, const client_options *opt, char *err, size_t errlen);

/* Where token gaps go from now on (swap between benchmarks). */
void client_set_sinks(client *c, const client_sinks *s);

/* Starts one request. prompt is copied into the slot. Returns 0, LL_ESTATE when every slot is
 * busy, LL_ENOMEM or LL_ELIB. */
int client_start(client *c, const char *prompt, size_t prompt_len, long prompt_tokens,
                 long max_tokens, uint64_t id, uint64_t scheduled_ns);

/* What a request carries beyond client_start's arguments (docs/workloads.md). */
typedef struct client_request_opts {
    unsigned model;            /* index into client_options.models (0 without a mix) */
    /* > 0: the client abandons the stream this long after its send (closing its connection, or
     * removing its curl handle) and records it as RECORD_CANCELLED; a stream that ended before is
     * simply complete. 0: never. */
    uint64_t cancel_after_ns;
} client_request_opts;

/* client_start with those options (NULL: as client_start). Same returns, and LL_EINVAL for a
 * model index past the mix. */
int client_start_ex(client *c, const char *prompt, size_t prompt_len, long prompt_tokens, long max_tokens,
                    uint64_t id, uint64_t scheduled_ns, const client_request_opts *o);

size_t client_in_flight(const client *c);
size_t client_slots(const client *c);
/* Reads stamped by the loop (curl) whose bytes' kernel arrival time was sampled, and of those the
 * ones that waited over 2 ms in the socket first; counters since creation. Both stay 0 for the
 * built-in client, whose stamps are the kernel's arrival times already. */
void client_read_waits(const client *c, uint64_t *sampled, uint64_t *waited);

/* Ends requests that broke a timeout (no first byte within request_timeout, silence past
 * stream_timeout); call every ~100 ms. */
void client_check_timeouts(client *c, uint64_t now_ns);

/* Ends every in-flight request as RECORD_INCOMPLETE (done callback called for each). */
void client_cancel_all(client *c);

/* Starts closing the libuv handles; call client_free once the loop has run them closed. */
void client_close(client *c);
void client_free(client *c);

#endif
