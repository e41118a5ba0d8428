/*
 * sse.h - incremental Server-Sent Events parser (client receive path: client -> sse -> chunk).
 *
 * Shape of picohttpparser: the caller feeds whatever bytes a socket read produced, in any split;
 * complete events are handed to a callback as slices. Nothing is allocated per event: a slice
 * points into the caller's buffer when the event's single data line lies wholly inside it, and
 * into the parser's carry buffer otherwise (an event spanning reads, or multi-line data).
 * The carry buffer grows (doubling) up to max_event_bytes and is kept across sse_reset(), so a
 * reused parser stops allocating once it has seen its largest event.
 * Accepts LF, CR and CRLF line ends (including a CRLF split across feeds), `:` comments, the
 * `event`, `data`, `id` and `retry` fields, an optional UTF-8 BOM, and `data: [DONE]`; also a
 * non-standard `error` field (flagged on the event, its value read as data).
 */
#ifndef LLMLOAD_SSE_H
#define LLMLOAD_SSE_H

#include <stddef.h>
#include <stdint.h>

typedef struct sse_event {
    const char *data;  /* data lines joined with '\n'; borrowed, valid only during the callback */
    size_t data_len;
    const char *type;  /* value of the last `event:` field; NULL when absent */
    size_t type_len;
    int done;          /* 1 when data is exactly "[DONE]" (and no error line) */
    int error;         /* 1 when the event had an `error:` field line (not in the SSE spec; some
                        * servers send one mid-stream): its value is joined into data like a
                        * data line's */
} sse_event;

/* Called once per dispatched event (an event with no data lines is not dispatched).
 * Return 0 to go on; anything else stops sse_feed, which returns that value. */
typedef int (*sse_event_fn)(void *ud, const sse_event *ev);

/* Embed in the owner's struct. A zeroed sse_parser is NOT ready: call sse_init (cannot fail).
 * Only carry, carry_cap, max_event and events are meant to be read from outside; the rest is
 * private state. Carry layout: [joined data | unfinished tail line | ... free ... | event type]. */
typedef struct sse_parser {
    char *carry;          /* owned; freed by sse_free */
    size_t carry_len;     /* bytes of the unfinished event held in carry (updated on return) */
    size_t carry_cap;
    size_t max_event;     /* cap on one event's bytes (field names and line ends included) */
    size_t line_len;      /* private: unfinished tail line, held right after the data */
    size_t data_len;      /* private: joined data, at d_ptr when direct else at carry[0] */
    size_t type_len;      /* private: event type, at t_ptr when direct else at the end of carry */
    size_t ev_bytes;      /* private: raw bytes of the event so far, checked against max_event */
    const char *d_ptr;    /* private: direct data slice of the current feed's buffer */
    const char *t_ptr;    /* private: direct type slice of the current feed's buffer */
    unsigned flags;       /* private: SSE_F_* bits in sse.c */
    uint64_t events;      /* events dispatched since init/reset */
} sse_parser;

/* Prepares p; max_event_bytes of 0 means the default (1 MiB). Cannot fail. */
void sse_init(sse_parser *p, size_t max_event_bytes);
/* Forget any partial event; keeps the carry buffer for reuse. */
void sse_reset(sse_parser *p);
/* Release the carry buffer; p may be sse_init'ed again afterwards. */
void sse_free(sse_parser *p);

/* Feed len bytes. Returns 0 when all were consumed, the callback's non-zero return when it
 * stopped the parse, LL_EOVERSIZE when one event passes max_event_bytes (the parser is then
 * reset), or LL_ENOMEM when the carry buffer could not grow. */
int sse_feed(sse_parser *p, const char *buf, size_t len, sse_event_fn fn, void *ud);

/* Bytes of an unfinished event still held: non-zero at end of stream means it was cut short. */
size_t sse_pending(const sse_parser *p);

#endif
