/*
 * sim_buf.h - internal to the simulator tree: a growable byte buffer with a hard cap, used for
 * request bodies, response events and /metrics text. Valid when zeroed (then uncapped until
 * sim_buf_init sets one); memory is kept across sim_buf_reset so a connection reuses it per event.
 */
#ifndef LLMLOAD_SIM_BUF_H
#define LLMLOAD_SIM_BUF_H

#include <stddef.h>

typedef struct sim_buf {
    char *data;      /* owned; free with sim_buf_free */
    size_t len, cap;
    size_t max;      /* 0: no cap */
} sim_buf;

void sim_buf_init(sim_buf *b, size_t max);
/* Appends n bytes; LL_EOVERSIZE past the cap (nothing appended), LL_ENOMEM. */
int sim_buf_append(sim_buf *b, const void *p, size_t n);
int sim_buf_puts(sim_buf *b, const char *s);
/* printf-style append; same errors. */
int sim_buf_printf(sim_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drops the first n bytes (n <= len). */
void sim_buf_consume(sim_buf *b, size_t n);
void sim_buf_reset(sim_buf *b);
void sim_buf_free(sim_buf *b);

/* Returns from the calling function when an append failed: the writers build a response from many
 * appends, and any failure (cap, memory) ends it with that code. */
#define SIM_BUF_TRY(x)      \
    do {                    \
        int rc_ = (x);      \
        if (rc_ < 0)        \
            return rc_;     \
    } while (0)

#endif
