/*
 * sim_buf.c - capped growable buffer for the simulator (see sim_buf.h). Growth doubles, so the
 * per-event appends on the streaming hot path stop allocating once a connection's buffer is warm.
 * Invariant: len <= cap, and len <= max whenever max is set.
 */
#include "sim_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmload/error.h"

void sim_buf_init(sim_buf *b, size_t max)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->max = max;
}

static int reserve(sim_buf *b, size_t extra)
{
    if (b->max && (extra > b->max || b->len > b->max - extra))
        return LL_EOVERSIZE;
    size_t need = b->len + extra + 1;   /* +1 keeps room for a terminating NUL */
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p)
        return LL_ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int sim_buf_append(sim_buf *b, const void *p, size_t n)
{
    int rc = reserve(b, n);
    if (rc < 0)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int sim_buf_puts(sim_buf *b, const char *s)
{
    return sim_buf_append(b, s, strlen(s));
}

int sim_buf_printf(sim_buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return LL_EINTERNAL;
    if ((size_t)n < sizeof small)
        return sim_buf_append(b, small, (size_t)n);
    int rc = reserve(b, (size_t)n);
    if (rc < 0)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void sim_buf_consume(sim_buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
    } else {
        memmove(b->data, b->data + n, b->len - n);
        b->len -= n;
    }
    if (b->data)
        b->data[b->len] = '\0';
}

void sim_buf_reset(sim_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void sim_buf_free(sim_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
