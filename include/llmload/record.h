/*
 * record.h - what one request leaves behind (sse/chunk -> record -> aggregate).
 *
 * One fixed-size struct per request, filled in place by the client while the stream runs and
 * appended to the benchmark's record_log when it ends. Per-token gaps are NOT stored here (they go
 * to histograms), so a record's size does not depend on the number of tokens. All times are
 * CLOCK_MONOTONIC nanoseconds (clock.h); 0 means "did not happen".
 */
#ifndef LLMLOAD_RECORD_H
#define LLMLOAD_RECORD_H

#include <stddef.h>
#include <stdint.h>

typedef enum record_status {
    RECORD_OK = 0,       /* HTTP 2xx, stream ended cleanly after a finish_reason or [DONE] */
    RECORD_ERROR,        /* failed; error_kind says how */
    RECORD_INCOMPLETE,   /* cut by the end of the run (signal or drain); not a server failure */
    RECORD_CANCELLED     /* abandoned by the client on purpose (--cancel-rate); never an error */
} record_status;

/* Failure kinds: the keys of report.json's errors_by_kind. Append only. */
#define RECORD_ERROR_KINDS(X)                                                         \
    X(NONE, "none")                                                                   \
    X(CONNECT, "connect")               /* refused, unreachable, DNS, TLS handshake */ \
    X(TIMEOUT, "timeout")               /* no first byte within --request-timeout */    \
    X(STREAM_TIMEOUT, "stream_timeout") /* silence mid-stream past --stream-timeout */  \
    X(RATE_LIMITED, "rate_limited")     /* HTTP 429 */                                  \
    X(HTTP_4XX, "http_4xx")                                                           \
    X(HTTP_5XX, "http_5xx")                                                           \
    X(MALFORMED, "malformed")           /* an SSE event or JSON payload that does not parse */ \
    X(DISCONNECT, "disconnect")         /* connection reset or closed mid-stream */     \
    X(NO_DONE, "no_done")               /* clean end without finish_reason nor [DONE] (or \
                                           without [DONE] under --require-done) */     \
    X(SERVER_ERROR, "server_error")     /* an error object inside the stream */        \
    X(OVERSIZE, "oversize")             /* an event past the SSE size cap */           \
    X(OTHER, "other")

typedef enum record_error_kind {
#define RECORD_KIND_ENUM_(n, s) RECORD_ERR_##n,
    RECORD_ERROR_KINDS(RECORD_KIND_ENUM_)
#undef RECORD_KIND_ENUM_
    RECORD_ERR_COUNT_
} record_error_kind;

/* Why a request was sent a second time (the built-in client resends once, on a new connection, when
 * a kept-alive connection dies before one byte of the answer; curl does the same on its own).
 * The keys of report.json's client.resent_by_reason. Append only. */
#define RECORD_RESEND_REASONS(X)                                                        \
    X(NONE, "none")                                                                   \
    X(PEER_CLOSED, "peer_closed") /* the server closed the connection (EOF) */        \
    X(RESET, "reset")             /* the connection was reset (ECONNRESET) */          \
    X(SEND_FAILED, "send_failed") /* the write itself was refused (EPIPE, reset) */

typedef enum record_resend_reason {
#define RECORD_RESEND_ENUM_(n, s) RECORD_RESEND_##n,
    RECORD_RESEND_REASONS(RECORD_RESEND_ENUM_)
#undef RECORD_RESEND_ENUM_
    RECORD_RESEND_COUNT_
} record_resend_reason;

/* How the server said the output ended (the stream's last finish_reason): the keys of report.json's
 * finish_reasons and requests.csv's finish_reason ("" for none). Append only. */
#define RECORD_FINISH_REASONS(X)                                                       \
    X(NONE, "")                                                                        \
    X(STOP, "stop")                     /* also TGI's eos_token / stop_sequence */       \
    X(LENGTH, "length")                 /* max_tokens (or the context) ended it */       \
    X(TOOL_CALLS, "tool_calls")         /* also the legacy function_call */              \
    X(OTHER, "other")                   /* any other non-empty string (abort, ...) */    \
    X(CONTENT_FILTER, "content_filter")

typedef enum record_finish {
#define RECORD_FINISH_ENUM_(n, s) RECORD_FINISH_##n,
    RECORD_FINISH_REASONS(RECORD_FINISH_ENUM_)
#undef RECORD_FINISH_ENUM_
    RECORD_FINISH_COUNT_
} record_finish;

typedef struct record {
    uint64_t id;                  /* request number within its benchmark, from 0 */
    uint64_t scheduled_ns;        /* when the schedule meant it to start */
    uint64_t sent_ns;             /* handed to the socket (curl's pre-request callback) */
    uint64_t first_byte_ns;       /* status line arrived */
    uint64_t first_token_ns;      /* first token-bearing event (reasoning counts) */
    uint64_t first_output_ns;     /* first non-reasoning token-bearing event */
    uint64_t last_token_ns;
    uint64_t end_ns;              /* stream finished (or failed) */
    uint64_t itl_sum_ns;          /* sum of gaps between token events (itl_count of them) */
    uint64_t itl_max_ns;
    uint32_t itl_count;
    uint32_t token_events;        /* token-bearing events */
    int32_t prompt_tokens;        /* from usage; else the source's count */
    int32_t output_tokens;        /* from usage when has_usage, else token_events */
    int32_t max_tokens;           /* asked */
    uint32_t retry_after_ms;      /* a 429's Retry-After, in ms (0 when absent) */
    int16_t http_status;
    uint8_t status;               /* record_status */
    uint8_t error_kind;           /* record_error_kind */
    uint8_t usage_seen;           /* output_tokens came from the server's usage */
    uint8_t short_output;         /* asked max_tokens with ignore_eos and got fewer */
    uint8_t done_seen;            /* data: [DONE] arrived */
    uint8_t measured;             /* inside the measured window (set by the aggregator) */
    uint8_t new_connection;       /* had to open a connection (0: reused a kept-alive one) */
    /* The one-byte fields sit together: the record is copied once per request and kept for the
     * whole run, so its padding is memory a million-request run pays for. */
    uint8_t resent;               /* record_resend_reason: sent again on a new connection, and why */
    uint8_t finish_reason;        /* record_finish */
    uint8_t usage_running;        /* usage came on more than one event with a growing count */
    uint8_t has_timings;          /* the server sent llama.cpp's timings (server_* below) */
    uint32_t error_ref;           /* 1-based index of its message in the log (0: none) */
    int32_t prompt_tokens_asked;  /* the length the source built the prompt to (docs/metrics.md) */
    int32_t server_prompt_n, server_predicted_n; /* timings.prompt_n / predicted_n */
    float server_prompt_ms, server_predicted_ms; /* timings.prompt_ms / predicted_ms */
    uint32_t connect_us;          /* TCP connect of its new connection, in us (4,295 s at most); 0 when
                                   * reused or failed: 4 bytes, not 8, a million requests keep one each */
    /* Workloads (docs/workloads.md): which conversation and turn a request belongs to, and which
     * model of a --model mix it asked for. session is 1-based (0: not part of a session); turn is
     * 1-based within its session; model indexes the run's model list (0 for a single model). */
    uint32_t session;
    uint16_t turn;
    uint8_t model;
    uint8_t spare_;               /* padding made explicit; free for the next one-byte field */
} record;

/* Error messages are kept beside the records, not in them: only failed requests have one, and a
 * message field in every record would double the memory a long run needs per request. */
#define RECORD_ERROR_MSG_MAX 96

/* Name of an error kind ("rate_limited"); static string. */
const char *record_error_kind_name(int kind);
/* Name of a resend reason ("peer_closed"); static string. */
const char *record_resend_reason_name(int reason);
/* Name of a finish reason ("length"; "" for none); static string. */
const char *record_finish_name(int finish);

/* Growable array of records for one benchmark, with the failed ones' messages. Zero-initialised is
 * valid and empty. */
typedef struct record_log {
    record *items; /* owned; freed by record_log_free */
    size_t len, cap;
    char (*msgs)[RECORD_ERROR_MSG_MAX]; /* owned; error_ref - 1 indexes it */
    size_t n_msgs, cap_msgs;
} record_log;

/* Appends a copy of r and, when error_msg is non-empty, the message (made valid UTF-8 without
 * control characters by text_sanitize, and truncated to fit on a character boundary). 0 or
 * LL_ENOMEM (the log is unchanged then). Amortised O(1). */
int record_log_append(record_log *log, const record *r, const char *error_msg);
/* Appends all of src to dst, messages included (merging workers). 0 or LL_ENOMEM. */
int record_log_extend(record_log *dst, const record_log *src);
/* The message of a record of this log; "" when it has none. Borrowed, valid until the log changes. */
const char *record_log_error(const record_log *log, const record *r);
void record_log_free(record_log *log);

#endif
