/*
 * client_internal.h - what client.c and its two transports share and nobody else may use (the
 * `client__` prefix marks it internal, as config_internal.h does). The public face is
 * include/llmload/client.h.
 *
 * client.c owns the slots, the receive path above HTTP (status, Retry-After, body -> sse ->
 * chunk -> record) and how a request's end is classified. A transport moves the bytes:
 * client_curl.c drives libcurl's multi interface (any URL curl takes: https, proxies);
 * client_http1.c is the built-in HTTP/1.1 client on libuv TCP and http-parser for plain http://,
 * which costs a fraction of curl's CPU per request (docs/performance.md). Both call the
 * client__on_* functions below as bytes arrive and client__finish once a request has ended.
 */
#ifndef LLMLOAD_CLIENT_INTERNAL_H
#define LLMLOAD_CLIENT_INTERNAL_H

#include <curl/curl.h>
#include <http_parser.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "llmload/chunk.h"
#include "llmload/client.h"
#include "llmload/record.h"
#include "llmload/request.h"
#include "llmload/secret.h"
#include "llmload/sse.h"

#define CLIENT__ERRBUF 512 /* bytes of a non-2xx body kept for the error message */

typedef struct client__group client__group; /* client_curl.c: one curl multi handle */
typedef struct client__conn client__conn;   /* client_http1.c: one TCP connection */

typedef struct client__slot {
    client *owner;
    struct client__slot *next_free;
    int active;
    char *body; /* owned, reused */
    size_t body_cap;
    size_t body_len;
    sse_parser sse;
    chunk_prefix prefix; /* what this stream's events repeat, skipped after the first */
    record rec;
    char error_msg[RECORD_ERROR_MSG_MAX]; /* the failure's message, handed out with the record */
    uint64_t last_rx_ns;
    long last_completion_tokens; /* running usage seen so far (continuous_usage_stats) */
    long usage_events;           /* events that carried usage.completion_tokens so far */
    int fail_kind;               /* a failure found while parsing, reported at the end */
    int saw_status;
    int measured;
    size_t errbuf_len;
    char errbuf[CLIENT__ERRBUF];
    /* --cancel-rate: the client abandons this request cancel_after_ns after its send (0: never);
     * cancel_timer is initialised for every slot when the run cancels at all (c->cancel_timers). */
    uint64_t cancel_after_ns;
    uv_timer_t cancel_timer;

    /* curl transport */
    CURL *easy;
    client__group *group; /* the multi handle this slot's easy handle and connections live in */
    char curl_err[CURL_ERROR_SIZE]; /* curl's detailed text for a failed transfer */
    int curl_sends;                 /* times curl sent this request (more than 1: it resent it) */

    /* built-in HTTP/1.1 transport */
    client__conn *conn; /* this slot's connection (kept alive between its requests), or NULL */
    http_parser parser;
    int message_done;   /* the response's last byte has been parsed */
    int retried;        /* already resent once after a kept-alive connection turned out closed */
    size_t rx_bytes;    /* response bytes read for this request */
    char length_line[48]; /* "Content-Length: N\r\n\r\n" */
    size_t length_line_len;
    int deferred_kind;    /* a failure found in client_start, reported by the defer timer */
    int on_defer_list;
    struct client__slot *defer_next;
    int hdr_state;        /* CLIENT__HDR_*: what the header bytes being parsed belong to */
    size_t hdr_len;       /* bytes of the header name or wanted value collected */
    char hdr[24];
    char encoding[24];    /* a Content-Encoding other than identity ("" when none) */

    /* connect gate (client_gate.c) */
    int gate_queued;          /* waiting on the gate's queue for its turn to connect */
    uint64_t gate_since_ns;   /* when it started waiting */
    struct client__slot *gate_next, *gate_prev; /* the queue is doubly linked: leaving is O(1) */
    /* built-in transport: one connect attempt over the target's addresses, in order */
    size_t addrs_tried;       /* addresses this attempt has already failed on */
    uint64_t connect_first_ns; /* the attempt's first connect() */
} client__slot;

/* Where the built-in client's header parse is (client_http1.c's http-parser callbacks). */
enum { CLIENT__HDR_NAME, CLIENT__HDR_SKIP, CLIENT__HDR_RETRY_AFTER, CLIENT__HDR_ENCODING };

/* A transport: every hook gets the client; slot hooks run only for an active slot. */
typedef struct client__transport {
    int (*create)(client *c, char *err, size_t errlen); /* after the slots exist */
    int (*start)(client *c, client__slot *s);           /* s->body is ready: send it */
    /* s is ending (ok or not): let go of it. A connection that is not known to sit at a message
     * boundary (the transport marks that before calling client__finish) must not carry another
     * request. */
    void (*release)(client *c, client__slot *s);
    void (*check_timeouts)(client *c, uint64_t now_ns); /* connect timeouts the transport owns */
    void (*close)(client *c);
    void (*free)(client *c);
    /* The connect gate lets s go now (it waited on the queue): open its connection and send. Runs
     * from the gate's timer or a transport callback, never inside client_start. */
    void (*gate_go)(client *c, client__slot *s);
} client__transport;

/* The connect gate (client_gate.c): at most `max_connecting` connects outstanding per loop, the
 * rest queued in order; after a failed connect no new one starts for a backoff that doubles from
 * GATE_BACKOFF_MIN_MS to GATE_BACKOFF_MAX_MS while rounds of probes keep failing, and a success
 * opens it again. See docs/reliability.md. */
#define CLIENT__GATE_CONNECTING 16
#define CLIENT__GATE_BACKOFF_MIN_MS 10
#define CLIENT__GATE_BACKOFF_MAX_MS 1000
typedef struct client__gate {
    size_t max_connecting;    /* 0: no limit (the curl transport, whose connects curl opens) */
    size_t connecting;        /* connects outstanding (kept by the transport that has a limit) */
    client__slot *head, *tail; /* queued slots, oldest first */
    size_t queued;
    unsigned streak;          /* failed probe rounds in a row (0: healthy) */
    int probing;              /* a round of probes is out; its first outcome decides */
    uint64_t open_at_ns;      /* closed until then (a backoff, or a round's outcome) */
    int sync_go;              /* gate_go may run from inside the transport's callbacks */
    uv_timer_t timer;         /* wakes the queue when a backoff ends */
    int timer_open;
    uint64_t failures;        /* connects that failed */
} client__gate;

extern const client__transport client__curl;
extern const client__transport client__http1;

struct client {
    uv_loop_t *loop;
    const config *cfg;
    const client__transport *tp;
    client_done_fn on_done;
    void *ud;
    request_template *tmpl;
    request_template **mix_tmpls; /* a model mix: one template per model (n_mix of them), or NULL */
    size_t n_mix;
    int cancel_timers;   /* every slot's cancel_timer was initialised (closed by client_close) */
    client__slot *slots;
    size_t n_slots;
    uint64_t *next_look; /* per slot: when client_check_timeouts must look at it next (0: idle) */
    client__slot *free_list;
    size_t in_flight;
    uint64_t stamp_ns; /* clock read when the socket being serviced became readable */
    client_sinks sinks;
    int closing;       /* client_close was called: no more done callbacks */
    void *tp_state;    /* the transport's own state, owned by it */
    secret_set *secrets; /* owned: what a server's error text must not carry into a record */
    client__gate gate;
    /* Loop-stamped reads (curl): a sample of them peeks at the kernel's arrival time of the bytes
     * waiting, to count how long they sat in the socket before the loop read (and stamped) them. */
    uint64_t reads_sampled, reads_waited, read_sample_tick;
};

/* The response's status line (1xx interim ones too, overwritten by the final one). */
void client__on_status(client__slot *s, int code);
/* A Retry-After header's value (delta-seconds; an HTTP-date counts as 1 s). */
void client__on_retry_after(client__slot *s, const char *v, size_t len);
/* A Content-Encoding header's value; anything but identity fails a 2xx body (llmload sends no
 * Accept-Encoding and decodes nothing). */
void client__on_content_encoding(client__slot *s, const char *v, size_t len);
/* Response body bytes (de-chunked). Returns 0, or -1 when the request must end now (the reason
 * is in s->fail_kind and s->error_msg). */
int client__on_body(client__slot *s, const char *data, size_t len);

/* Ends slot s: releases it from the transport, classifies the outcome, frees the slot, then calls
 * the done callback (which may start the next request in the same slot).
 *   status RECORD_OK, kind NONE: the response ended cleanly; status and stream decide the rest.
 *   status RECORD_OK, kind K:    the transport failed with K (a parse failure already noted
 *                                in s->fail_kind wins); why is its text or NULL.
 *   status RECORD_ERROR, kind K: a timeout K found by client_check_timeouts.
 *   status RECORD_INCOMPLETE:    cut by the run's end.
 *   status RECORD_CANCELLED:     abandoned on purpose (--cancel-rate). */
void client__finish(client *c, client__slot *s, record_status status, int kind, const char *why);

/* The built-in client's response path without a socket, for tests/fuzz/fuzz_http1_response.c: starts
 * one request on a free slot as if its connection were up and the request sent, feeds the n_parts
 * pieces of response bytes to the same parser and receive path a socket read would, and ends the
 * request as the connection's EOF would if it is still open. c must use the built-in transport.
 * Returns 0 (the done callback has run once) or LL_ESTATE (no free slot). */
int client__http1_feed(client *c, const char *const *parts, const size_t *lens, size_t n_parts);
/* ---- the connect gate (client_gate.c) ---- */
/* Sets the gate up (max_connecting 0: no limit; sync_go: see the struct). 0 or LL_ELIB. */
int client__gate_init(client *c, size_t max_connecting, int sync_go);
/* s needs a new connection: 1 when it may connect now, 0 when it was queued (the transport's
 * gate_go starts it later). A transport with a limit keeps `connecting` up to date itself. */
int client__gate_enter(client *c, client__slot *s);
/* A connect attempt that went through the gate ended: ok (up) or not (refused, timed out, no
 * socket). Lets the next queued ones go. */
void client__gate_done(client *c, int ok);
/* Room was made another way (a connect abandoned): let queued ones go on the next loop turn. */
void client__gate_kick(client *c);
/* s ends while still queued (cancelled, timed out): out of the queue. */
void client__gate_leave(client *c, client__slot *s);
/* Queued requests that waited past --connect-timeout fail as `connect` (from the 100 ms tick). */
void client__gate_check(client *c, uint64_t now_ns);
void client__gate_close(client *c);

#endif
